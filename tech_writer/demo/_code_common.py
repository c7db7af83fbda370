"""Helpers shared by the Python and brace-language fact extractors."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ._conversation import FileView
from ._fact import Fact

__all__ = [
    "ENTRY_NAMES",
    "MAX_SCAN",
    "NOT_CALLS",
    "calls_in",
    "describe",
    "imports_fact",
    "indent_of",
    "name_list",
    "shorten",
    "without_strings",
]

MAX_SCAN = 200  # lines scanned for a block's end or a signature, so odd input stays cheap
_SIGNATURE_CAP = 60
NOT_CALLS = frozenset(
    [
        "if", "for", "while", "return", "print", "len", "str", "int", "float", "dict", "list", "set",
        "tuple", "super", "isinstance", "range", "open", "not", "and", "or", "in", "is", "elif",
        "except", "with", "assert", "yield", "lambda", "raise", "del", "await", "async", "function",
        "catch", "switch", "typeof", "new", "sizeof", "defer", "go", "func", "fn", "match", "Some",
        "Ok", "Err", "None", "self", "this"
    ]
)
_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
ENTRY_NAMES = frozenset({"main", "run", "cli", "app", "serve", "start"})  # where execution begins


def indent_of(text: str) -> int:
    return len(text) - len(text.lstrip())


def shorten(text: str, cap: int = _SIGNATURE_CAP) -> str:
    """``text`` on one line, at most ``cap`` characters; a longer one is cut after its last
    whole parameter or word that fits (never mid-word), then ``...``."""
    text = " ".join(text.split())
    if len(text) <= cap:
        return text
    kept = text[: cap - 3]
    cut = max(kept.rfind(", "), kept.rfind(" "))
    if text[cap - 3].isalnum() or text[cap - 3] == "_":  # the cap falls inside a word
        kept = kept[:cut] if cut > 0 else ""
    return kept.rstrip(" ,") + "..."


def calls_in(view: FileView, first: int, last: int, own_name: str) -> list[str]:
    found: list[str] = []
    for number in range(first, last + 1):
        for name in _CALL.findall(without_strings(view.lines.get(number, ""))):
            if name not in NOT_CALLS and name != own_name and name not in found:
                found.append(name)
    return found


def without_strings(text: str) -> str:
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    text = re.sub(r"'(?:\\.|[^'\\])*'", "''", text)
    return re.sub(r"`(?:\\.|[^`\\])*`", "``", text)


def name_list(names: Iterable[str], limit: int = 5) -> str:
    listed = list(dict.fromkeys(names))  # overloads and re-definitions are named once
    shown = ", ".join(f"`{name}`" for name in listed[:limit])
    return shown + (f" and {len(listed) - limit} more" if len(listed) > limit else "")


def describe(path: str, title: str, doc: str | None, calls: list[str]) -> str:
    if doc and calls:
        return f"{title} in `{path}`: {doc} It calls {name_list(calls, 3)}."
    if doc:
        return f"{title} in `{path}`: {doc}"
    if calls:
        return f"{title} in `{path}` calls {name_list(calls, 4)}."
    return f"`{path}` defines {title}."


def imports_fact(view: FileView, imports: list[tuple[int, str]], dotted: bool) -> Fact:
    """One fact for a file's imports; ``dotted`` names (Python) are shortened to their package."""
    start = imports[0][0]
    run_end = view.run_end(start)
    inside = [(n, module) for n, module in imports if n <= run_end]
    modules: list[str] = []
    for _, module in inside:
        top = module.split(".")[0] if dotted and not module.startswith(".") else module
        if top and top != "__future__" and top not in modules:
            modules.append(top)
    sentence = f"`{view.path}` imports {name_list(modules, 6)}."
    return Fact(view.path, start, inside[-1][0], sentence, 2, tuple(modules), "imports")
