"""Literal text search over the repository's listed files, with interchangeable engines.

Semantics, identical whichever engine runs (engines only propose files; the lines are decided by
:class:`tech_writer.textmatch.LiteralMatcher`, the same code for all):

- the query is a literal string (no regex: a model-written regex could backtrack for minutes),
  one line, not empty, valid text; smart case as in ripgrep (see :mod:`tech_writer.textmatch`);
- the files are ``repo.listing()`` (so ``.gitignore`` is honoured) filtered by ``path_glob`` (see
  :func:`tech_writer.paths.glob_matches`), in sorted order. Files larger than ``caps.max_file_bytes``
  are skipped (``skipped_large``); the others are taken in order while their sizes add up to at
  most ``caps.max_search_bytes`` (past that, ``budget_exhausted``); ``files_searched`` counts them;
- a file whose first 8 KiB hold a NUL byte is binary: its matches are not shown, and
  ``skipped_binary`` counts the binary files that contain the query (up to where the scan stopped);
- a match is one line (lines as in ``repo.py``), reported once however often the query occurs in
  it, ordered by path then line number; the text is stripped and cut at ``MAX_MATCH_TEXT_CHARS``;
- at most ``caps.max_matches`` matches; ``truncated`` says there were more (the scan stops at the
  first match past the cap).

Engines (``available_engines(repo)`` lists those usable here):

- ``"ripgrep"``: ``rg`` filters sorted batches of files, growing 4x each, so a common query stops
  after a few hundred files and a rare one costs about one ripgrep pass;
- ``"git"``: one ``git grep`` over the work tree (git-listed repositories only);
- ``"python"``: reads every file itself; no dependency.
- ``"auto"`` (default): ripgrep when installed, else git in a git work tree, else python; an engine
  that fails mid-search hands its files to the Python reader, so a result is always exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .listing import LISTING_GIT
from .paths import compile_glob
from .repo import BINARY_SNIFF_BYTES, Repository, ToolCaps, is_binary
from .search_engines import git_files_with_matches, git_path, ripgrep_files_with_matches, ripgrep_path
from .textmatch import LiteralMatcher, is_case_sensitive

__all__ = [
    "ENGINE_AUTO",
    "ENGINE_GIT",
    "ENGINE_PYTHON",
    "ENGINE_RIPGREP",
    "MAX_MATCH_TEXT_CHARS",
    "InvalidQuery",
    "Match",
    "SearchResult",
    "available_engines",
    "is_case_sensitive",
    "search_text",
]

ENGINE_PYTHON = "python"
ENGINE_RIPGREP = "ripgrep"
ENGINE_GIT = "git"
ENGINE_AUTO = "auto"
MAX_MATCH_TEXT_CHARS = 200
# ripgrep batches: the first is small so a common query stops early; each next one is 4x larger.
_FIRST_BATCH_FILES = 500
_FIRST_BATCH_BYTES = 4 * 1024 * 1024
_BATCH_GROWTH = 4
# Below this many files, git grep gets them as pathspecs instead of searching the whole tree.
_GIT_PATHSPEC_FILES = 256


class InvalidQuery(ValueError):
    """The query is empty, spans lines, or is not valid text."""


@dataclass(frozen=True)
class Match:
    path: str
    line: int
    text: str


@dataclass(frozen=True)
class SearchResult:
    """Matches in path/line order; ``truncated``: more than ``max_matches`` existed. The counts
    are described in the module docstring; ``engine`` is the engine that ran."""

    matches: list[Match]
    truncated: bool
    engine: str
    files_searched: int = 0
    skipped_large: int = 0
    skipped_binary: int = 0
    budget_exhausted: bool = False


def available_engines(repo: Repository | None = None) -> tuple[str, ...]:
    """Engines usable here, ``"python"`` first; with ``repo``, only those that would run on it
    (git needs a git-listed work tree)."""
    engines = [ENGINE_PYTHON]
    if git_path() is not None and (repo is None or repo.listing().source == LISTING_GIT):
        engines.append(ENGINE_GIT)
    if ripgrep_path() is not None:
        engines.append(ENGINE_RIPGREP)
    return tuple(engines)


def search_text(
    repo: Repository,
    query: str,
    path_glob: str = "*",
    caps: ToolCaps | None = None,
    *,
    engine: str = ENGINE_AUTO,
) -> SearchResult:
    """Search ``query`` in the repository; see the module docstring for the exact semantics.
    An engine that is not available here falls back to ``"python"`` (``result.engine`` says so)."""
    matcher = _matcher(query)
    caps = caps or repo.caps
    if engine not in (ENGINE_AUTO, ENGINE_PYTHON, ENGINE_RIPGREP, ENGINE_GIT):
        raise ValueError(f"unknown search engine {engine!r}; choose from {available_engines()}")
    usable = available_engines(repo)
    if engine == ENGINE_AUTO:
        engine = ENGINE_RIPGREP if ENGINE_RIPGREP in usable else usable[-1]
    elif engine not in usable:
        engine = ENGINE_PYTHON
    plan = _plan(repo, path_glob, caps)
    collector = _Collector(repo, matcher, caps)
    if engine == ENGINE_RIPGREP:
        _run_ripgrep(repo, matcher, plan, collector)
    elif engine == ENGINE_GIT:
        _run_git(repo, matcher, plan, collector)
    else:
        collector.scan(plan.files)
    return collector.result(plan, engine)


def _matcher(query: str) -> LiteralMatcher:
    if not query:
        raise InvalidQuery("the query is empty")
    if any(char in query for char in "\n\r\x00"):
        raise InvalidQuery("the query must be a single line of text")
    try:
        return LiteralMatcher(query)
    except UnicodeEncodeError as exc:  # lone surrogates from a JSON "\udcxx" escape
        raise InvalidQuery("the query is not valid text (it contains a lone surrogate)") from exc


# --- which files a search covers -------------------------------------------------------------
@dataclass
class _Plan:
    """The files to search, sorted, with their sizes; the same for every engine."""

    files: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    skipped_large: int = 0
    budget_exhausted: bool = False


def _plan(repo: Repository, path_glob: str, caps: ToolCaps) -> _Plan:
    listing = repo.listing()
    wanted = compile_glob(path_glob)
    plan = _Plan()
    total = 0
    for path, size in zip(listing.paths, listing.sizes):
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


# --- deciding matches (shared by all engines) --------------------------------------------------
class _Collector:
    """Reads proposed files in sorted order and keeps the exact matches until one past the cap."""

    def __init__(self, repo: Repository, matcher: LiteralMatcher, caps: ToolCaps) -> None:
        self.repo = repo
        self.matcher = matcher
        self.caps = caps
        self.matches: list[Match] = []
        self.skipped_binary = 0
        self.done = False

    def scan(self, files: Iterable[str]) -> None:
        """Files must come in sorted order, each at most once, across all calls."""
        for path in files:
            if self.done:
                return
            try:
                data = self.repo.read_listed(path, self.caps.max_file_bytes)
            except (OSError, ValueError):
                continue  # deleted or replaced since listing: nothing to report
            if is_binary(data[:BINARY_SNIFF_BYTES]):
                if self.matcher.matching_lines(data, limit=1):
                    self.skipped_binary += 1
                continue
            wanted = self.caps.max_matches + 1 - len(self.matches)  # one past the cap proves truncation
            for line in self.matcher.matching_lines(data, limit=wanted):
                self.matches.append(_make_match(path, line.line, line.text))
            self.done = len(self.matches) > self.caps.max_matches

    def result(self, plan: _Plan, engine: str) -> SearchResult:
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


# --- engines ----------------------------------------------------------------------------------
def _run_ripgrep(repo: Repository, matcher: LiteralMatcher, plan: _Plan, collector: _Collector) -> None:
    rg = ripgrep_path()
    listing = repo.listing()
    for batch in _batches(plan):
        # A symlinked entry is searched at its real path (ripgrep reports what it was given).
        arguments = list(dict.fromkeys(map(listing.read_path, batch))) if listing.real_paths else batch
        proposed = None
        if rg is not None:
            proposed = ripgrep_files_with_matches(rg, repo.root, arguments, matcher.query, matcher.case_sensitive)
        if proposed is None:
            collector.scan(batch)  # ripgrep failed: read the batch here
        else:
            collector.scan(path for path in batch if listing.read_path(path) in proposed)
        if collector.done:
            return


def _batches(plan: _Plan) -> Iterator[list[str]]:
    """Consecutive slices of the plan, by file count and bytes, each ``_BATCH_GROWTH`` times larger."""
    max_files, max_bytes = _FIRST_BATCH_FILES, _FIRST_BATCH_BYTES
    start = 0
    while start < len(plan.files):
        end, used = start, 0
        while end < len(plan.files) and end - start < max_files and (end == start or used < max_bytes):
            used += plan.sizes[end]
            end += 1
        yield plan.files[start:end]
        start = end
        max_files, max_bytes = max_files * _BATCH_GROWTH, max_bytes * _BATCH_GROWTH


def _run_git(repo: Repository, matcher: LiteralMatcher, plan: _Plan, collector: _Collector) -> None:
    listing = repo.listing()
    pathspecs = None
    if len(plan.files) <= _GIT_PATHSPEC_FILES:
        if not plan.files:
            return
        pathspecs = [listing.read_path(path) for path in plan.files]
    proposed = git_files_with_matches(repo.root, matcher.filter_key, not matcher.case_sensitive, pathspecs)
    if proposed is None:
        collector.scan(plan.files)
        return
    # git greps a symlink's own text, not its target: those entries are always read here.
    collector.scan(path for path in plan.files if path in proposed or path in listing.real_paths)
