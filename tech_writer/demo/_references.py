"""Which search hits are real references to a definition, for the "It is used in" sentences.

``search_text`` is a literal substring search: a query ``words`` also finds ``highlight_words``,
``main`` finds ``pytest.main``, and both find comments, strings and a ``require`` inside a JSDoc
example. A hit is kept only when the name occurs there as a whole identifier in code (comments
and string literals removed, definitions of the name excluded), and — in another file — only
when that file binds the name from the defining module (an import naming it, a ``require`` of
the module, or a use qualified by the module's name). A file that defines a name of its own
(``var convert = ...``) is someone else's ``convert``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from ._code_common import without_strings

__all__ = ["Hit", "code_part", "real_references"]

_DEFINES = r"(?:(?:async\s+)?def|class|function\*?|func|fn|struct|interface|type|enum|trait)"
_LINE_COMMENT = re.compile(r"(#|//).*$")
_DOC_LINE = re.compile(r"^\s*(?:\*|/\*|>>>|\.\.\.\s|#|//)")


@dataclass(frozen=True)
class Hit:
    path: str
    line: int
    text: str


def code_part(text: str) -> str:
    """The line without its string literals and trailing comment; empty for a comment or doc line."""
    if _DOC_LINE.match(text):
        return ""
    return _LINE_COMMENT.sub("", without_strings(text))


def _defines(code: str, name: str) -> bool:
    escaped = re.escape(name)
    return bool(re.search(rf"\b{_DEFINES}\s+{escaped}\b", code)
                or re.search(rf"^\s*(?:export\s+)?(?:var|let|const)\s+{escaped}\s*=(?!=)", code)
                or re.search(rf"^\s*{escaped}\s*=(?!=)", code))


def _imports_it(text: str, code: str, name: str, module: str) -> bool:
    """An import or require on this line binds ``name`` from ``module`` (its file's stem)."""
    escaped, mod = re.escape(name), re.escape(module)
    if re.match(rf"^\s*from\s+[\w.]*\b{mod}\s+import\b.*\b{escaped}\b", code):
        return True
    if re.match(rf"^\s*from\s+[\w.]+\s+import\b.*\b{escaped}\b", code) and module == "__init__":
        return True
    # JavaScript: the module's path is a string literal, which code_part blanked: read the line.
    required = re.search(r"""(?:require\(|from\s+)\s*['"]([^'"]+)['"]""", text)
    if required and PurePosixPath(required[1]).stem in (module, PurePosixPath(module).stem):
        return bool(re.search(rf"\b{escaped}\b", code)) or module == name
    return False


def _uses(code: str, name: str, module: str) -> bool:
    """``name`` as a whole identifier, unqualified or qualified by its module's name."""
    escaped = re.escape(name)
    for match in re.finditer(rf"(?<![\w$])({re.escape(module)}\.)?{escaped}(?![\w$])", code):
        before = code[:match.start()].rstrip()
        if match[1] or not before.endswith("."):
            return True
    return False


def real_references(name: str, defined_in: str, start: int, end: int,
                    hits: Iterable[Hit]) -> list[Hit]:
    """The hits that refer to ``name`` as defined in ``defined_in`` lines ``start``-``end``:
    uses first, then import lines, in the order the search gave them."""
    module = PurePosixPath(defined_in).stem
    by_file: dict[str, list[tuple[Hit, str]]] = {}
    for hit in hits:
        by_file.setdefault(hit.path, []).append((hit, code_part(hit.text)))
    uses: list[Hit] = []
    imports: list[Hit] = []
    for path, lines in by_file.items():
        if path == defined_in:
            uses += [hit for hit, code in lines if not start <= hit.line <= end
                     and _uses(code, name, module) and not _defines(code, name)]
            continue
        binding = [hit for hit, code in lines if _imports_it(hit.text, code, name, module)]
        if any(_defines(code, name) for hit, code in lines if hit not in binding):
            continue  # its own definition of the name
        qualified = [hit for hit, code in lines if re.search(
            rf"(?<![\w$]){re.escape(module)}\.{re.escape(name)}(?![\w$])", code)]
        if not binding and not qualified:
            continue
        imports += binding
        uses += [hit for hit, code in lines if hit not in binding and _uses(code, name, module)]
    return uses + imports
