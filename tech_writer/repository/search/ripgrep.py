"""How the ripgrep engine covers a search's files with as few and as cheap ``rg`` runs as it can.

ripgrep walks a directory about 1.6x faster than it reads the same files named one by one, so:

- on a fresh :class:`~tech_writer.repository.repo.Repository` searched with the default glob, ripgrep starts
  walking as soon as the listing knows the names, while the listing takes the sizes
  (:class:`EarlyWalk`);
- otherwise a small first batch of the sorted files runs first (a common query ends there), then
  one run that walks every directory holding only planned files and names the others; when most
  files would have to be named (a narrow glob), sorted batches growing 4x instead.

A directory is walked only when nothing below it is excluded (ignored, nested repository,
submodule) or unplanned, and only after checking that it is a real directory inside the
repository; symlinked entries are always named by their real path. ripgrep proposes, the
:class:`~tech_writer.repository.search.scan.Collector` decides: results are exact whichever route ran.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tech_writer.repository.listing import Listing, ListingDraft, PlainDirectories
from tech_writer.repository.repo import Repository
from tech_writer.repository.search.engines import RipgrepRun, ripgrep_files_with_matches
from tech_writer.repository.search.scan import Collector, SearchPlan
from tech_writer.repository.search.textmatch import LiteralMatcher

__all__ = ["EarlyWalk", "WalkCover", "run_ripgrep"]

# The first batch is small so a common query stops early; each next one is 4x larger.
_FIRST_BATCH_FILES = 500
_FIRST_BATCH_BYTES = 4 * 1024 * 1024
_BATCH_GROWTH = 4
_MAX_WALK_ROOTS = 2000  # more would mean a tree full of exclusions: name the files instead


class WalkCover:
    """Which directories ripgrep may walk whole: those with no *unclean* entry below them, where
    unclean means excluded from the listing or not part of the plan."""

    def __init__(self, excluded: Iterable[str], unplanned_files: Iterable[str]) -> None:
        self._unclean: set[str] = set()
        for path in excluded:
            self._unclean.add(path)  # an ignored directory is never walked, even for a force-added file
            self._mark_ancestors(path)
        for path in unplanned_files:
            self._mark_ancestors(path)
        self._roots: dict[str, str | None] = {}

    def _mark_ancestors(self, path: str) -> None:
        parent = path.rpartition("/")[0]
        while parent not in self._unclean:
            self._unclean.add(parent)
            if not parent:
                return
            parent = parent.rpartition("/")[0]

    def root_for(self, file_path: str) -> str | None:
        """The shallowest clean directory holding ``file_path`` ("" for the whole tree), or None
        when even its own directory is unclean."""
        directory = file_path.rpartition("/")[0]
        if directory not in self._roots:
            self._roots[directory] = self._shallowest_clean(directory)
        return self._roots[directory]

    def _shallowest_clean(self, directory: str) -> str | None:
        if "" not in self._unclean:
            return ""
        prefix = ""
        for part in directory.split("/") if directory else []:
            prefix = f"{prefix}/{part}" if prefix else part
            if prefix not in self._unclean:
                return prefix
        return None


class EarlyWalk:
    """ripgrep walking the tree during a fresh repository's listing. Pass :meth:`start` as the
    listing's ``on_draft``; :meth:`result` says which planned files it searched and found."""

    def __init__(self, rg: str, repo: Repository, matcher: LiteralMatcher, max_file_bytes: int) -> None:
        self._rg = rg
        self._repo = repo
        self._matcher = matcher
        self._max_file_bytes = max_file_bytes  # the search's cap: ripgrep skips nothing the plan keeps
        self._run: RipgrepRun | None = None
        self._cover: WalkCover | None = None
        self._roots: set[str] = set()

    def start(self, draft: ListingDraft) -> None:
        if draft.excluded is None:
            return  # what to leave out is unknown: the search names files instead
        cover = WalkCover(draft.excluded, ())
        files = (name for name in draft.names if not name.endswith("/"))  # "dir/": a nested repository
        roots = {root for name in files if (root := cover.root_for(name)) is not None}
        plain = PlainDirectories(str(self._repo.root))
        roots = {root for root in roots if plain.is_plain(root)}  # never walk through a symlink
        if not roots or len(roots) > _MAX_WALK_ROOTS:
            return
        self._cover, self._roots = cover, roots
        try:
            self._run = RipgrepRun(
                self._rg, self._repo.root, sorted(root or "." for root in roots),
                self._matcher.query, self._matcher.case_sensitive, self._max_file_bytes,
            )
        except OSError:
            self._run = None

    def covers(self, path: str, listing: Listing) -> bool:
        """Whether the walk searched ``path`` (a planned file)."""
        if self._cover is None or path in listing.real_paths:
            return False
        return self._cover.root_for(path) in self._roots

    def result(self) -> set[str] | None:
        """Paths the walk found the query in, or None if no walk ran or it failed."""
        return self._run.result() if self._run is not None else None


def run_ripgrep(
    rg: str, repo: Repository, matcher: LiteralMatcher, plan: SearchPlan, collector: Collector,
    early: EarlyWalk | None = None,
) -> None:
    listing = repo.listing()
    found_early = early.result() if early is not None else None
    if early is not None and found_early is not None:
        named = [path for path in plan.files if not early.covers(path, listing)]
        found_named = _ripgrep(rg, repo, matcher, named) if named else set()
        if found_named is None:  # ripgrep failed on the named files: read them all here
            found_named = set(map(listing.read_path, named))
        planned = set(plan.files)
        # Sorting what was found is cheaper than testing every planned file: most find nothing.
        proposed = {path for path in found_early if path in planned and early.covers(path, listing)}
        proposed.update(path for path in named if listing.read_path(path) in found_named)
        collector.scan(sorted(proposed))
        return
    batches = _batches(plan)
    first = next(batches, [])
    _scan_with(rg, repo, matcher, first, first, collector)
    rest = plan.files[len(first) :]
    if collector.done or not rest:
        return
    targets = _walk_targets(listing, plan)
    if targets is not None:
        _scan_with(rg, repo, matcher, targets, rest, collector)
        return
    for batch in batches:
        _scan_with(rg, repo, matcher, batch, batch, collector)
        if collector.done:
            return


def _scan_with(
    rg: str, repo: Repository, matcher: LiteralMatcher, targets: list[str], files: list[str], collector: Collector
) -> None:
    """ripgrep searches ``targets`` (files and directories); the collector decides ``files``."""
    found = _ripgrep(rg, repo, matcher, targets)
    if found is None:
        collector.scan(files)  # ripgrep failed: read every file here
    else:
        read_path = repo.listing().read_path
        collector.scan(path for path in files if read_path(path) in found)


def _ripgrep(rg: str, repo: Repository, matcher: LiteralMatcher, targets: list[str]) -> set[str] | None:
    listing = repo.listing()
    if listing.real_paths:  # a symlinked entry is searched at its real path
        targets = list(dict.fromkeys(map(listing.read_path, targets)))
    return ripgrep_files_with_matches(rg, repo.root, targets, matcher.query, matcher.case_sensitive)


def _walk_targets(listing: Listing, plan: SearchPlan) -> list[str] | None:
    """Directories to walk whole plus the planned files outside them; None when walking would not
    pay (most files would be named anyway) or what the tree holds besides the listing is unknown."""
    if listing.excluded is None:
        return None
    planned = set(plan.files)
    cover = WalkCover(listing.excluded, (path for path in listing.paths if path not in planned))
    roots: dict[str, None] = {}
    named = []
    for path in plan.files:
        root = cover.root_for(path)
        if root is None or path in listing.real_paths:  # a walk does not follow symlinks
            named.append(path)
        else:
            roots[root] = None
    if len(named) * 2 > len(plan.files) or len(roots) > _MAX_WALK_ROOTS:
        return None
    return [root or "." for root in roots] + named


def _batches(plan: SearchPlan) -> Iterator[list[str]]:
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
