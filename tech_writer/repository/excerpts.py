"""Numbered excerpts of the files a section is about: lines a model can cite by their numbers.

A model that drives the tools poorly still writes well about lines put in front of it, and can
copy a citation written above them. For each file, most important first, an excerpt holds:

- for a source file the symbol extractor understands: the module's docstring (never its
  imports), then each definition's signature and docstring (its first lines), top-level before
  nested, public before private, largest first; and the lines exploration read there;
- for any other text file (README, manifest): its first lines, and the lines exploration read.

Each excerpt is a contiguous run of lines, headed by the citation that covers it
(``[pkg/mod.py:12-30]``) and numbered as ``read_file`` numbers them. A budget of lines bounds
the whole, so the request fits a small model's context.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tech_writer.repository.filekinds import is_front_door
from tech_writer.repository.repo import BinaryFile, Repository
from tech_writer.repository.symbols import (
    SourceParseError,
    Symbol,
    UnsupportedLanguage,
    extract_symbols,
    language_for,
)

__all__ = ["DEFAULT_BUDGET_LINES", "Excerpt", "format_excerpts", "select_excerpts"]

DEFAULT_BUDGET_LINES = 160
MIN_FILE_LINES = 12  # a file worth showing gets at least this many of the budget
HEAD_LINES = 12  # a module's opening, or a text file's first lines
DEFINITION_LINES = 6  # a definition's signature and the start of its docstring
MAX_LINE_CHARS = 200


@dataclass(frozen=True)
class Excerpt:
    """Lines ``start``..``end`` of ``path`` (1-based, inclusive), as they are on disk."""

    path: str
    start: int
    end: int
    lines: tuple[str, ...]

    @property
    def citation(self) -> str:
        return f"[{self.path}:{self.start}-{self.end}]"

    def render(self) -> str:
        numbered = [f"{self.start + i}\t{line[:MAX_LINE_CHARS]}" for i, line in enumerate(self.lines)]
        return "\n".join([self.citation, *numbered])


def select_excerpts(repo: Repository, paths: Iterable[str], *,
                    read: Mapping[str, Iterable[int]] | None = None,
                    budget_lines: int = DEFAULT_BUDGET_LINES) -> list[Excerpt]:
    """Excerpts of ``paths`` (most important first; unreadable ones skipped) within
    ``budget_lines`` lines in all. ``read``: line numbers exploration read, by path."""
    wanted = list(dict.fromkeys(paths))
    files = [(path, _lines_of(repo, path)) for path in wanted]
    files = [(path, lines) for path, lines in files if lines]
    if not files:
        return []
    share = max(MIN_FILE_LINES, budget_lines // len(files))
    excerpts: list[Excerpt] = []
    left = budget_lines
    for path, lines in files:
        if left < MIN_FILE_LINES // 2:
            break
        numbers = _chosen_lines(path, lines, (read or {}).get(path, ()), min(share, left))
        left -= len(numbers)
        excerpts += _runs(path, lines, numbers)
    return excerpts


def format_excerpts(excerpts: Iterable[Excerpt]) -> str:
    return "\n\n".join(excerpt.render() for excerpt in excerpts)


def _lines_of(repo: Repository, path: str) -> list[str]:
    try:
        return repo.read_text(path).lines
    except (OSError, BinaryFile, ValueError):
        return []


def _chosen_lines(path: str, lines: list[str], read: Iterable[int], budget: int) -> list[int]:
    """Line numbers to show, in order of importance, cut to ``budget``, returned sorted."""
    spans = _definition_spans(path, lines)
    # A front door's imports are the package's public names: there they are the content.
    head = (_docstring_lines(lines) if spans and not is_front_door(path)
            else range(1, min(HEAD_LINES, len(lines)) + 1))
    wanted: list[int] = list(head)
    for start, end in spans:
        wanted += range(start, min(end, start + DEFINITION_LINES - 1) + 1)
    wanted += [n for n in read if 1 <= n <= len(lines)]
    # Blank lines cost budget and say nothing (a one-line gap is bridged when runs are made).
    chosen = list(dict.fromkeys(n for n in wanted if lines[n - 1].strip()))
    return sorted(chosen[:budget])


def _docstring_lines(lines: list[str]) -> range:
    """A source file's opening docstring or comment block (its own account of itself), never
    its imports: those say little a reader can cite and cost the budget the definitions need."""
    end = 0
    for number, line in enumerate(lines[:HEAD_LINES], start=1):
        stripped = line.strip()
        if stripped.startswith(("import ", "from ")) and end:
            break
        if stripped.startswith(("import ", "from ")):
            return range(1, 1)
        end = number
    return range(1, end + 1)


def _definition_spans(path: str, lines: list[str]) -> list[tuple[int, int]]:
    if language_for(path) is None:
        return []
    try:
        symbols = extract_symbols(path, "\n".join(lines)).symbols
    except (UnsupportedLanguage, SourceParseError, SyntaxError, ValueError):
        return []
    # The outline of a module before its details: top-level definitions first, public ones
    # before private helpers, the largest (the module's main classes) first among them.
    def importance(symbol: Symbol) -> tuple[int, bool, int, int]:
        private = symbol.name.rsplit(".", 1)[-1].startswith("_") and not \
            symbol.name.endswith("__")
        return (symbol.depth, private, symbol.start - symbol.end, symbol.start)
    return [(s.start, s.end) for s in sorted(symbols, key=importance)]


def _runs(path: str, lines: list[str], numbers: list[int]) -> list[Excerpt]:
    """Contiguous runs of ``numbers`` as excerpts (a gap of one line is bridged)."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number - runs[-1][1] <= 2:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return [Excerpt(path, start, end, tuple(lines[start - 1:end])) for start, end in runs]
