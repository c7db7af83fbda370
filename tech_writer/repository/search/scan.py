"""The engine-independent half of a search: which files it covers, and which lines match.

:func:`plan_search` decides the files from the listing alone (no disk access); a :class:`Collector`
reads the files an engine proposes, in sorted order, and keeps the exact matches. Every engine goes
through both, which is what makes their results identical. Semantics: see :mod:`tech_writer.repository.search.text`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tech_writer.repository.paths import compile_glob
from tech_writer.repository.repo import Repository, ToolCaps, is_binary
from tech_writer.repository.search.textmatch import LiteralMatcher

__all__ = ["MAX_MATCH_TEXT_CHARS", "Collector", "Match", "SearchPlan", "SearchResult", "plan_search"]

MAX_MATCH_TEXT_CHARS = 200


@dataclass(frozen=True)
class Match:
    path: str
    line: int
    text: str


@dataclass(frozen=True)
class SearchResult:
    """Matches in path/line order; ``truncated``: more than ``max_matches`` existed. The counts
    are described in :mod:`tech_writer.repository.search.text`; ``engine`` is the engine that ran."""

    matches: list[Match]
    truncated: bool
    engine: str
    files_searched: int = 0
    skipped_large: int = 0
    skipped_binary: int = 0
    budget_exhausted: bool = False


@dataclass
class SearchPlan:
    """The files to search, sorted, with their sizes; the same for every engine."""

    files: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    skipped_large: int = 0
    budget_exhausted: bool = False


def plan_search(repo: Repository, path_glob: str, caps: ToolCaps) -> SearchPlan:
    """Listed files matching the glob, without those over the size cap, up to the byte budget."""
    listing = repo.listing()
    wanted = compile_glob(path_glob)
    plan = SearchPlan()
    total = 0
    for path, size in zip(listing.paths, listing.sizes, strict=True):
        if not wanted(path):
            continue
        if size > caps.max_file_bytes:
            plan.skipped_large += 1
            continue
        if total + size > caps.max_search_bytes:
            plan.budget_exhausted = True
            break
        total += size
        plan.files.append(path)
        plan.sizes.append(size)
    return plan


class Collector:
    """Reads proposed files in sorted order and keeps the exact matches until one past the cap."""

    def __init__(self, repo: Repository, matcher: LiteralMatcher, caps: ToolCaps) -> None:
        self.repo = repo
        self.matcher = matcher
        self.caps = caps
        self.matches: list[Match] = []
        self.skipped_binary = 0
        self.done = False

    def scan(self, files: Iterable[str]) -> None:
        """Decide ``files``: they must come in sorted order, each at most once, across all calls."""
        for path in files:
            if self.done:
                return
            try:
                data = self.repo.read_listed(path, self.caps.max_file_bytes)
            except (OSError, ValueError):
                continue  # deleted or replaced since listing: nothing to report
            wanted = self.caps.max_matches + 1 - len(self.matches)  # one past the cap proves truncation
            lines = self.matcher.matching_lines(data, limit=wanted)
            if not lines:
                continue  # most files: no need to look for a NUL
            if is_binary(data):
                self.skipped_binary += 1
                continue
            self.matches.extend(_make_match(path, line.line, line.text) for line in lines)
            self.done = len(self.matches) > self.caps.max_matches

    def result(self, plan: SearchPlan, engine: str) -> SearchResult:
        return SearchResult(
            matches=self.matches[: self.caps.max_matches],
            truncated=len(self.matches) > self.caps.max_matches,
            engine=engine,
            files_searched=len(plan.files),
            skipped_large=plan.skipped_large,
            skipped_binary=self.skipped_binary,
            budget_exhausted=plan.budget_exhausted,
        )


def _make_match(path: str, line: int, raw_text: str) -> Match:
    text = raw_text.strip()
    if len(text) > MAX_MATCH_TEXT_CHARS:
        text = text[: MAX_MATCH_TEXT_CHARS - 1] + "…"
    return Match(path, line, text)
