"""Facts about brace-language source: JavaScript/TypeScript, Go, Rust, Java-like, C-like (and,
line by line, Ruby, PHP, Lua and shell).

Blocks end by brace depth on the seen lines, with string literals and line comments removed
first; doc comments directly above a definition describe it.
"""

from __future__ import annotations

import re

from ._code_common import (
    ENTRY_NAMES,
    MAX_SCAN,
    NOT_CALLS,
    calls_in,
    describe,
    imports_fact,
    name_list,
    shorten,
    without_strings,
)
from ._conversation import FileView
from ._fact import Fact, sentence_of

__all__ = ["brace_facts"]

_DEFINITIONS: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    "javascript": [
        (
            "function",
            re.compile(
                r"^(?:export\s+)?(?:default\s+)?(?:async\s+)?function\s*\*?\s*(?P<name>\w+)\s*\((?P<params>[^)]*)"
            ),
        ),
        (
            "class",
            re.compile(r"^(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+(?P<name>\w+)"),
        ),
        (
            "function",
            re.compile(
                r"^(?:export\s+)?(?:const|let)\s+(?P<name>\w+)\s*(?::[^=]+)?=\s*(?:async\s*)?(?:\((?P<params>[^)]*)\)|\w+)\s*(?::[^=]+)?=>"
            ),
        ),
        (
            "type",
            re.compile(r"^(?:export\s+)?(?:declare\s+)?(?:interface|type|enum)\s+(?P<name>\w+)"),
        ),
    ],
    "go": [
        (
            "function",
            re.compile(
                r"^func\s+(?:\((?P<receiver>[^)]*)\)\s*)?(?P<name>\w+)\s*(?:\[[^\]]*\])?\s*\((?P<params>[^)]*)"
            ),
        ),
        ("type", re.compile(r"^type\s+(?P<name>\w+)\s+(?:struct|interface)")),
    ],
    "rust": [
        (
            "function",
            re.compile(
                r"^(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(?P<name>\w+)\s*(?:<[^>]*>)?\s*\((?P<params>[^)]*)"
            ),
        ),
        (
            "type",
            re.compile(r"^(?:pub(?:\([^)]*\))?\s+)?(?:struct|enum|trait|union)\s+(?P<name>\w+)"),
        ),
        (
            "impl",
            re.compile(
                r"^impl(?:<[^>]*>)?\s+(?P<name>[\w:]+)(?:<[^>]*>)?(?:\s+for\s+(?P<target>\w+))?"
            ),
        ),
    ],
    "java": [
        (
            "class",
            re.compile(
                r"^(?:(?:public|private|protected|abstract|final|static|sealed|data|open)\s+)*(?:class|interface|enum|record|object|struct)\s+(?P<name>\w+)"
            ),
        ),
    ],
    "c": [
        (
            "type",
            re.compile(r"^(?:typedef\s+)?(?:struct|enum|union|class)\s+(?P<name>\w+)\s*\{?\s*$"),
        ),
        (
            "function",
            re.compile(
                r"^(?!if\b|for\b|while\b|switch\b|return\b)(?:[\w*&:<>]+\s+)+\**(?P<name>\w+)\s*\((?P<params>[^;]*?)\)?\s*\{?\s*$"
            ),
        ),
    ],
    "ruby": [
        ("class", re.compile(r"^(?:class|module)\s+(?P<name>[\w:]+)")),
        ("function", re.compile(r"^def\s+(?P<name>[\w?!.]+)(?:\((?P<params>[^)]*)\))?")),
    ],
    "php": [
        (
            "class",
            re.compile(r"^(?:(?:abstract|final)\s+)?(?:class|interface|trait)\s+(?P<name>\w+)"),
        ),
        ("function", re.compile(r"^function\s+(?P<name>\w+)\s*\((?P<params>[^)]*)")),
    ],
    "lua": [
        (
            "function",
            re.compile(r"^(?:local\s+)?function\s+(?P<name>[\w.:]+)\s*\((?P<params>[^)]*)"),
        )
    ],
    "shell": [("function", re.compile(r"^(?:function\s+)?(?P<name>[\w-]+)\s*\(\)\s*\{?"))],
}
_BRACED = frozenset({"javascript", "go", "rust", "java", "c", "php", "shell"})
_IMPORTS: dict[str, re.Pattern[str]] = {
    "javascript": re.compile(
        r"""^\s*(?:import\s.*?from\s+|import\s+|.*\brequire\(\s*)['"]([^'"]+)['"]"""
    ),
    "go": re.compile(r"""^\s*(?:import\s+)?(?:\w+\s+)?"([\w./-]+)"\s*$"""),
    "rust": re.compile(r"^\s*(?:pub\s+)?use\s+([\w:]+)"),
    "java": re.compile(r"^\s*import\s+(?:static\s+)?([\w.]+)"),
    "c": re.compile(r"""^\s*#\s*include\s*[<"]([^>"]+)[>"]"""),
}
_DOC_COMMENT = re.compile(r"^\s*(?:///?|/\*\*?|\*(?!/)|#(?!\[|!|include))\s?(.*?)\s*(?:\*/)?\s*$")
_ATTRIBUTE = re.compile(r"^\s*(?:@\w|#\[)")


def _brace_block_end(view: FileView, start: int) -> int:
    """The line closing the block opened at (or just after) ``start``; ``start`` if none opens."""
    depth = 0
    opened = False
    number = start
    while number in view.lines and number - start <= MAX_SCAN * 5:
        code = without_strings(view.lines[number]).split("//", 1)[0]
        if not opened and "{" not in code and code.rstrip().endswith(";"):
            return number  # a declaration without a body
        depth += code.count("{") - code.count("}")
        opened = opened or "{" in code
        if opened and depth <= 0:
            return number
        if not opened and number - start >= 4:
            return start
        number += 1
    return number - 1  # the block runs past the lines that were seen


def _doc_comment_above(view: FileView, start: int) -> str | None:
    collected: list[str] = []
    number = start - 1
    while number in view.lines and start - number <= 30:
        text = view.lines[number]
        if _ATTRIBUTE.match(text):
            number -= 1
            continue
        comment = _DOC_COMMENT.match(text) if text.strip() else None
        if comment is None:
            break
        collected.append(comment[1])
        number -= 1
    text = " ".join(part for part in reversed(collected) if part and not part.startswith("@"))
    return sentence_of(text) if text.strip() else None


def _definition_fact(
    view: FileView, start: int, kind: str, match: re.Match[str], braced: bool
) -> Fact:
    name = match["name"]
    groups = match.groupdict()
    end = _brace_block_end(view, start) if braced else start
    doc = _doc_comment_above(view, start)
    if kind == "function":
        params = shorten(groups.get("params") or "", 40)
        receiver = groups.get("receiver")
        title = (
            f"`({shorten(receiver, 25)}) {name}({params})`" if receiver else f"`{name}({params})`"
        )
        calls = calls_in(view, start + 1, end, name) if braced else []
        sentence = describe(view.path, title, doc, calls)
        weight = (4 if _public(name, match) else 2) + (2 if name in ENTRY_NAMES else 0)
        return Fact(view.path, start, end, sentence, weight, (name, *calls[:4]), "function")
    if kind == "impl":
        target = groups.get("target")
        title = f"`impl {name} for {target}`" if target else f"`impl {name}`"
        methods = [
            m[1]
            for n in range(start + 1, end + 1)
            if (
                m := re.match(
                    r"^\s+(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?fn\s+(\w+)", view.lines.get(n, "")
                )
            )
        ]
        sentence = f"{title} in `{view.path}`" + (
            f" provides {name_list(methods, 5)}." if methods else "."
        )
        return Fact(view.path, start, end, sentence, 4, (target or name, *methods), "type")
    keyword = match[0].split(name, 1)[0].split()[-1]
    title = f"`{keyword} {name}`"
    sentence = f"{title} in `{view.path}`" + (f": {doc}" if doc else ".")
    methods = _member_functions(view, start, end) if braced and end > start else []
    if methods:
        sentence += f" Its methods include {name_list(methods, 5)}."
    return Fact(view.path, start, end, sentence, 5, (name, *methods), "type")


_MEMBER = re.compile(
    r"^\s+(?:(?:public|private|protected|static|async|override|readonly|final|virtual|pub(?:\([^)]*\))?)\s+)*"
    r"(?:fn\s+|func\s+|def\s+)?(?:[\w<>\[\],.]+\s+)?(\w+)\s*(?:<[^>]*>)?\s*\([^)]*\)[^{;=]*\{"
)


def _member_functions(view: FileView, start: int, end: int) -> list[str]:
    """Method-looking lines inside a class body (calls and control flow excluded)."""
    members: list[str] = []
    for number in range(start + 1, end + 1):
        text = view.lines.get(number, "")
        match = _MEMBER.match(text)
        if (
            match
            and match[1] not in NOT_CALLS
            and "=" not in text.split("(", 1)[0]
            and match[1] not in members
        ):
            members.append(match[1])
    return members


def _public(name: str, match: re.Match[str]) -> bool:
    text = match[0]
    if text.startswith(("export", "pub")):
        return True
    if name[:1].isupper() and text.startswith("func"):
        return True  # Go exports capitalised names
    return not name.startswith("_")


def brace_facts(view: FileView, language: str) -> list[Fact]:
    facts: list[Fact] = []
    patterns = _DEFINITIONS.get(language, [])
    imports: list[tuple[int, str]] = []
    import_pattern = _IMPORTS.get(language)
    in_go_import_block = False
    for number in sorted(view.lines):
        text = view.lines[number]
        if language == "go":
            if re.match(r"^import\s*\(", text):
                in_go_import_block = True
                continue
            if in_go_import_block and text.strip() == ")":
                in_go_import_block = False
                continue
        if import_pattern and (language != "go" or in_go_import_block or text.startswith("import")):
            imported = import_pattern.match(text)
            if imported:
                imports.append((number, imported[1]))
                continue
        for kind, pattern in patterns:
            match = pattern.match(text)
            if match:
                facts.append(_definition_fact(view, number, kind, match, language in _BRACED))
                break
    if imports:
        facts.append(imports_fact(view, imports, dotted=False))
    return facts
