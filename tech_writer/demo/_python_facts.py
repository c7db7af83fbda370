"""Facts about Python source: module docstring, classes, functions, __all__, imports, __main__.

Blocks end by indentation; only top-level definitions become facts (a class fact names its
methods).
"""

from __future__ import annotations

import re

from ._code_common import (
    ENTRY_NAMES,
    MAX_SCAN,
    calls_in,
    describe,
    imports_fact,
    indent_of,
    name_list,
    shorten,
)
from ._conversation import FileView
from ._fact import Fact, sentence_of

__all__ = ["python_facts"]

_PY_DEF = re.compile(r"^(?:async\s+)?def\s+(\w+)\s*\(")
_PY_CLASS = re.compile(r"^class\s+(\w+)\s*(?:\(([^)]*)\))?\s*:")
_PY_METHOD = re.compile(r"^\s+(?:async\s+)?def\s+(\w+)\s*\(")
_PY_IMPORT = re.compile(r"^(?:from\s+(\.*[\w.]*)\s+import\b|import\s+([\w.]+))")
_PY_ALL = re.compile(r"^__all__\s*(?::[^=]*)?=\s*[\[(]")
_PY_MAIN = re.compile(r"""^if\s+__name__\s*==\s*['"]__main__['"]\s*:""")
_DOC_OPEN = re.compile(r"""^[rRuUbB]?("{3}|'{3})""")


def _python_block_end(view: FileView, start: int) -> int:
    base = indent_of(view.lines[start])
    end = start
    number = start + 1
    while number in view.lines and number - start <= MAX_SCAN * 5:
        text = view.lines[number]
        if text.strip():
            if indent_of(text) <= base and not text.lstrip().startswith((")", "]", "}")):
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
    return shorten(params, 40), number


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
    body = " ".join(_without_rest_titles(collected)).split(quote, 1)[0].strip()
    return (sentence_of(body) if body else None), closing


_REST_UNDERLINE = re.compile(r"^([=~\-^*#+])\1{2,}$")


def _without_rest_titles(lines: list[str]) -> list[str]:
    """Docstring lines without reStructuredText titles (``requests.models`` over ``~~~~``): a
    title is the module's name, not what it does."""
    kept: list[str] = []
    for line in lines:
        if _REST_UNDERLINE.match(line.strip()):
            if kept and kept[-1].strip():
                kept.pop()  # the title the underline belongs to
            continue
        kept.append(line)
    return kept


def python_facts(view: FileView) -> list[Fact]:
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
            calls = calls_in(view, number + 1, end, "")
            tail = f", which calls {name_list(calls, 3)}" if calls else ""
            sentence = f'`{path}` can be run as a script (`if __name__ == "__main__"`){tail}.'
            facts.append(Fact(path, number, end, sentence, 3, tuple(calls), "entry-point"))
    if imports:
        facts.append(imports_fact(view, imports, dotted=True))
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
    title = f"`class {name}({shorten(bases, 30)})`" if bases else f"`class {name}`"
    sentence = f"{title} in `{view.path}`" + (f": {doc}" if doc else ".")
    if public:
        sentence += f" Its methods include {name_list(public, 5)}."
    weight = 2 if name.startswith("_") else 5
    return Fact(view.path, start, end, sentence, weight, (name, *public), "type")


def _python_function_fact(view: FileView, start: int, name: str) -> Fact:
    end = _python_block_end(view, start)
    params, header_end = _python_signature(view, start)
    doc, doc_end = _python_docstring(view, header_end)
    calls = calls_in(view, max(header_end, doc_end) + 1, end, name)
    sentence = describe(view.path, f"`{name}({params})`", doc, calls)
    weight = (1 if name.startswith("_") else 4) + (2 if name in ENTRY_NAMES else 0)
    return Fact(view.path, start, end, sentence, weight, (name, *calls[:4]), "function")


def _python_exports_fact(view: FileView, start: int) -> list[Fact]:
    names: list[str] = []
    number = start
    while number in view.lines and number - start < MAX_SCAN:
        text = view.lines[number]
        names += re.findall(r"""["'](\w+)["']""", text)
        if "]" in text or ")" in text:
            sentence = f"`{view.path}` exports {name_list(names, 6)}."
            return (
                [Fact(view.path, start, number, sentence, 4, tuple(names), "exports")]
                if names
                else []
            )
        number += 1
    return []
