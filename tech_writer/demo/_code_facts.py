"""Facts about source files: definitions, their docs and calls, imports, exports, entry points.

Python blocks end by indentation; brace languages (JavaScript/TypeScript, Go, Rust, Java-like,
C-like) by brace depth on the seen lines, with string literals and line comments removed first.
Only top-level definitions become facts; a class fact names its methods.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ._conversation import FileView
from ._fact import Fact, sentence_of

__all__ = ["code_facts", "defined_names"]

_MAX_SCAN = 200  # lines scanned for a block's end or a signature, so odd input stays cheap
_SIGNATURE_CAP = 60
_NOT_CALLS = frozenset(
    "if for while return print len str int float dict list set tuple super isinstance range open "
    "not and or in is elif except with assert yield lambda raise del await async function catch "
    "switch typeof new sizeof defer go func fn match Some Ok Err None self this".split()
)
_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_ENTRY_NAMES = frozenset({"main", "run", "cli", "app", "serve", "start"})  # where execution begins


# --- shared helpers ---------------------------------------------------------------------------
def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def _shorten(text: str, cap: int = _SIGNATURE_CAP) -> str:
    text = " ".join(text.split())
    return text if len(text) <= cap else text[: cap - 3].rstrip() + "..."


def _calls(view: FileView, first: int, last: int, own_name: str) -> list[str]:
    found: list[str] = []
    for number in range(first, last + 1):
        for name in _CALL.findall(_without_strings(view.lines.get(number, ""))):
            if name not in _NOT_CALLS and name != own_name and name not in found:
                found.append(name)
    return found


def _without_strings(text: str) -> str:
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    text = re.sub(r"'(?:\\.|[^'\\])*'", "''", text)
    return re.sub(r"`(?:\\.|[^`\\])*`", "``", text)


def _names(names: Iterable[str], limit: int = 5) -> str:
    listed = list(names)
    shown = ", ".join(f"`{name}`" for name in listed[:limit])
    return shown + (f" and {len(listed) - limit} more" if len(listed) > limit else "")


def _describe(path: str, title: str, doc: str | None, calls: list[str]) -> str:
    if doc and calls:
        return f"{title} in `{path}`: {doc} It calls {_names(calls, 3)}."
    if doc:
        return f"{title} in `{path}`: {doc}"
    if calls:
        return f"{title} in `{path}` calls {_names(calls, 4)}."
    return f"`{path}` defines {title}."


# --- Python -----------------------------------------------------------------------------------
_PY_DEF = re.compile(r"^(?:async\s+)?def\s+(\w+)\s*\(")
_PY_CLASS = re.compile(r"^class\s+(\w+)\s*(?:\(([^)]*)\))?\s*:")
_PY_METHOD = re.compile(r"^\s+(?:async\s+)?def\s+(\w+)\s*\(")
_PY_IMPORT = re.compile(r"^(?:from\s+(\.*[\w.]*)\s+import\b|import\s+([\w.]+))")
_PY_ALL = re.compile(r"^__all__\s*(?::[^=]*)?=\s*[\[(]")
_PY_MAIN = re.compile(r"""^if\s+__name__\s*==\s*['"]__main__['"]\s*:""")
_DOC_OPEN = re.compile(r"""^[rRuUbB]?("{3}|'{3})""")


def _python_block_end(view: FileView, start: int) -> int:
    base = _indent(view.lines[start])
    end = start
    number = start + 1
    while number in view.lines and number - start <= _MAX_SCAN * 5:
        text = view.lines[number]
        if text.strip():
            if _indent(text) <= base and not text.lstrip().startswith((")", "]", "}")):
                break
            end = number
        number += 1
    return end


def _python_signature(view: FileView, start: int) -> tuple[str, int]:
    """The parameter list of a def and the line where its header ends."""
    parts: list[str] = []
    number = start
    while number in view.lines and number - start < 12:
        parts.append(view.lines[number].strip())
        if view.lines[number].rstrip().endswith(":"):
            break
        number += 1
    header = " ".join(parts)
    match = re.search(r"\((.*)\)", header)
    params = match[1] if match else "..."
    params = re.sub(r"^\s*(self|cls)\s*,?\s*", "", params)
    return _shorten(params, 40), number


def _python_docstring(view: FileView, header_end: int) -> tuple[str | None, int]:
    number = header_end + 1
    while number in view.lines and not view.lines[number].strip():
        number += 1
    opening = _DOC_OPEN.match(view.lines.get(number, "").strip())
    if opening is None:
        return None, header_end
    quote = opening[1]
    text = view.lines[number].strip()[opening.end() :]
    closing = number
    collected = [text]
    while quote not in collected[-1] and closing + 1 in view.lines and closing - number < 30:
        closing += 1
        collected.append(view.lines[closing].strip())
    body = " ".join(collected).split(quote, 1)[0].strip()
    return (sentence_of(body) if body else None), closing


def _python_facts(view: FileView) -> list[Fact]:
    facts: list[Fact] = []
    path = view.path
    first = next(
        (
            n
            for n in sorted(view.lines)
            if view.lines[n].strip() and not view.lines[n].startswith("#")
        ),
        None,
    )
    if first is not None:
        doc, doc_end = _python_docstring(view, first - 1)
        if doc:
            facts.append(
                Fact(path, first, doc_end, f"`{path}` describes itself: {doc}", 6, (), "module-doc")
            )
    imports: list[tuple[int, str]] = []
    for number in sorted(view.lines):
        text = view.lines[number]
        if (match := _PY_IMPORT.match(text)) is not None:
            imports.append((number, match[1] or match[2]))
        elif (match := _PY_CLASS.match(text)) is not None:
            facts.append(_python_class_fact(view, number, match[1], match[2]))
        elif (match := _PY_DEF.match(text)) is not None:
            facts.append(_python_function_fact(view, number, match[1]))
        elif _PY_ALL.match(text):
            facts.extend(_python_exports_fact(view, number))
        elif _PY_MAIN.match(text):
            end = _python_block_end(view, number)
            calls = _calls(view, number + 1, end, "")
            tail = f", which calls {_names(calls, 3)}" if calls else ""
            sentence = f'`{path}` can be run as a script (`if __name__ == "__main__"`){tail}.'
            facts.append(Fact(path, number, end, sentence, 3, tuple(calls), "entry-point"))
    if imports:
        facts.append(_imports_fact(view, imports, dotted=True))
    return facts


def _python_class_fact(view: FileView, start: int, name: str, bases: str | None) -> Fact:
    end = _python_block_end(view, start)
    doc, _ = _python_docstring(view, start)
    methods = [
        m[1] for n in range(start + 1, end + 1) if (m := _PY_METHOD.match(view.lines.get(n, "")))
    ]
    public = [m for m in methods if not m.startswith("_")] or [
        m for m in methods if m == "__init__"
    ]
    title = f"`class {name}({_shorten(bases, 30)})`" if bases else f"`class {name}`"
    sentence = f"{title} in `{view.path}`" + (f": {doc}" if doc else ".")
    if public:
        sentence += f" Its methods include {_names(public, 5)}."
    weight = 2 if name.startswith("_") else 5
    return Fact(view.path, start, end, sentence, weight, (name, *public), "type")


def _python_function_fact(view: FileView, start: int, name: str) -> Fact:
    end = _python_block_end(view, start)
    params, header_end = _python_signature(view, start)
    doc, doc_end = _python_docstring(view, header_end)
    calls = _calls(view, max(header_end, doc_end) + 1, end, name)
    sentence = _describe(view.path, f"`{name}({params})`", doc, calls)
    weight = (1 if name.startswith("_") else 4) + (2 if name in _ENTRY_NAMES else 0)
    return Fact(view.path, start, end, sentence, weight, (name, *calls[:4]), "function")


def _python_exports_fact(view: FileView, start: int) -> list[Fact]:
    names: list[str] = []
    number = start
    while number in view.lines and number - start < _MAX_SCAN:
        text = view.lines[number]
        names += re.findall(r"""["'](\w+)["']""", text)
        if "]" in text or ")" in text:
            sentence = f"`{view.path}` exports {_names(names, 6)}."
            return (
                [Fact(view.path, start, number, sentence, 4, tuple(names), "exports")]
                if names
                else []
            )
        number += 1
    return []


def _imports_fact(view: FileView, imports: list[tuple[int, str]], dotted: bool) -> Fact:
    """One fact for a file's imports; ``dotted`` names (Python) are shortened to their package."""
    start = imports[0][0]
    run_end = view.run_end(start)
    inside = [(n, module) for n, module in imports if n <= run_end]
    modules: list[str] = []
    for _, module in inside:
        top = module.split(".")[0] if dotted and not module.startswith(".") else module
        if top and top != "__future__" and top not in modules:
            modules.append(top)
    sentence = f"`{view.path}` imports {_names(modules, 6)}."
    return Fact(view.path, start, inside[-1][0], sentence, 2, tuple(modules), "imports")


# --- brace languages --------------------------------------------------------------------------
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
    while number in view.lines and number - start <= _MAX_SCAN * 5:
        code = _without_strings(view.lines[number]).split("//", 1)[0]
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
        params = _shorten(groups.get("params") or "", 40)
        receiver = groups.get("receiver")
        title = (
            f"`({_shorten(receiver, 25)}) {name}({params})`" if receiver else f"`{name}({params})`"
        )
        calls = _calls(view, start + 1, end, name) if braced else []
        sentence = _describe(view.path, title, doc, calls)
        weight = (4 if _public(name, match) else 2) + (2 if name in _ENTRY_NAMES else 0)
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
            f" provides {_names(methods, 5)}." if methods else "."
        )
        return Fact(view.path, start, end, sentence, 4, (target or name, *methods), "type")
    keyword = match[0].split(name, 1)[0].split()[-1]
    title = f"`{keyword} {name}`"
    sentence = f"{title} in `{view.path}`" + (f": {doc}" if doc else ".")
    methods = _member_functions(view, start, end) if braced and end > start else []
    if methods:
        sentence += f" Its methods include {_names(methods, 5)}."
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
            and match[1] not in _NOT_CALLS
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


def _brace_facts(view: FileView, language: str) -> list[Fact]:
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
        facts.append(_imports_fact(view, imports, dotted=False))
    return facts


def code_facts(view: FileView, language: str) -> list[Fact]:
    if language == "python":
        return _python_facts(view)
    return _brace_facts(view, language)


def defined_names(view: FileView, language: str) -> list[str]:
    """Names of the top-level definitions seen in a source file, public ones first."""
    facts = [
        fact
        for fact in code_facts(view, language)
        if fact.kind in ("function", "type") and fact.names
    ]
    public = [fact.names[0] for fact in facts if fact.weight >= 4]
    return public + [fact.names[0] for fact in facts if fact.weight < 4]
