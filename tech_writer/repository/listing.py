"""Which files a repository has: git's view in a work tree, a ``.gitignore``-aware walk elsewhere.

A :class:`Listing` keeps only what a tool can read: regular files, and symlinks (of the file or of a
parent directory) that resolve to a regular file inside the repository and outside ``.git``. FIFOs,
sockets, devices, submodules, nested repositories, tracked-but-deleted entries and symlinks that
lead out are dropped here, so no later step ever opens them. Each kept path comes with its size
(one ``lstat``, taken anyway to check the type) so searches can plan without touching the disk.

Listing 50k files takes one ``git ls-files`` call plus one ``lstat`` per file; directories are
checked once each for symlinks, not once per file. The walk is iterative (a tree thousands of
levels deep cannot overflow the stack) and never follows directory symlinks.
"""

from __future__ import annotations

import bisect
import logging
import os
import stat
import sys
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from tech_writer.repository.gitrun import git_environment, run_together
from tech_writer.repository.paths import GIT_DIR_NAME, PathOutsideRepo, resolve_in_repo

__all__ = [
    "LISTING_GIT", "LISTING_WALK", "READ_FLAGS", "Listing", "ListingDraft", "PathFilter", "PlainDirectories",
    "list_repository",
]

logger = logging.getLogger("tech_writer.listing")

LISTING_GIT = "git"
LISTING_WALK = "walk"
_GIT_TIMEOUT_S = 60.0
_MAX_IGNORE_FILE_BYTES = 1024 * 1024
# Opening a file of an untrusted tree to read it: O_NONBLOCK keeps a FIFO swapped in after a stat
# check from hanging the open, O_NOFOLLOW refuses a symlink swapped in; fstat then re-checks what
# was opened.
READ_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


@dataclass(frozen=True)
class Listing:
    """Sorted repository-relative POSIX paths with their sizes in bytes (``sizes[i]`` is the size of
    ``paths[i]``, the target's for a symlink). ``real_paths`` maps each entry reached through a
    symlink to the real path to open, relative to the root. ``capped``: more files existed than
    the limit; the first ones in sorted order were kept. ``source``: "git" or "walk".

    ``excluded``: what else is in the tree that a directory walker would read but is not listed:
    ignored files and directories (a directory as its path), nested repositories and submodules;
    not ``.git`` directories, which walkers exclude by name. None when it could not be learnt. A
    search engine may walk any directory with nothing excluded below it instead of naming its files.
    """

    paths: list[str]
    sizes: array[int]
    real_paths: dict[str, str] = field(default_factory=dict)
    source: str = LISTING_WALK
    capped: bool = False
    excluded: tuple[str, ...] | None = ()

    def size(self, rel_path: str) -> int | None:
        """Size of a listed path, or None if it is not listed."""
        index = bisect.bisect_left(self.paths, rel_path)
        if index < len(self.paths) and self.paths[index] == rel_path:
            return self.sizes[index]
        return None

    def read_path(self, rel_path: str) -> str:
        """The path to open for a listed path: itself, or its symlink's real target."""
        return self.real_paths.get(rel_path, rel_path)


@dataclass(frozen=True)
class ListingDraft:
    """The names a listing starts from, before any is checked on disk: sorted, unique, possibly
    including symlinks, FIFOs, deleted files and submodule directories. ``excluded`` as in
    :class:`Listing` (as far as known before checking). Lets a caller start work that needs only
    names (a search engine walking the tree) while the sizes are taken."""

    names: list[str]
    excluded: tuple[str, ...] | None
    source: str


@dataclass(frozen=True)
class PathFilter:
    """``--include`` / ``--exclude``: globs in ``.gitignore`` syntax (``node_modules``,
    ``*.min.js``, ``src/**``, ``docs/``) over repository-relative paths. A path is listed when it
    matches an include glob (or none was given) and no exclude glob. An invalid glob raises
    ``ValueError`` naming it when the filter is made."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    _specs: tuple[pathspec.GitIgnoreSpec | None, pathspec.GitIgnoreSpec | None] = field(
        init=False, repr=False, compare=False, default=(None, None))

    def __post_init__(self) -> None:
        object.__setattr__(self, "_specs", (_spec("include", self.include),
                                            _spec("exclude", self.exclude)))

    @property
    def active(self) -> bool:
        return bool(self.include or self.exclude)

    def keeps(self, rel_path: str) -> bool:
        include, exclude = self._specs
        if include is not None and not include.match_file(rel_path):
            return False
        return exclude is None or not exclude.match_file(rel_path)


def _spec(kind: str, globs: tuple[str, ...]) -> pathspec.GitIgnoreSpec | None:
    if not globs:
        return None
    for glob in globs:
        if not glob.strip() or glob.lstrip().startswith("#"):
            raise ValueError(f"the {kind} glob {glob!r} is empty or a comment: it matches nothing")
        try:
            pathspec.GitIgnoreSpec.from_lines([glob])
        except (ValueError, TypeError) as exc:
            raise ValueError(f"the {kind} glob {glob!r} is not a valid glob ({exc})") from None
    return pathspec.GitIgnoreSpec.from_lines(globs)


def _filtered(draft: ListingDraft, path_filter: PathFilter | None) -> ListingDraft:
    """The draft without the paths the filter drops; those become excluded (a search engine must
    not walk into them)."""
    if path_filter is None or not path_filter.active:
        return draft
    kept: list[str] = []
    dropped: list[str] = []
    for name in draft.names:
        (kept if path_filter.keeps(name) else dropped).append(name)
    excluded = None if draft.excluded is None else (*draft.excluded, *dropped)
    return ListingDraft(kept, excluded, draft.source)


def list_repository(
    root: Path, limit: int, on_draft: Callable[[ListingDraft], object] | None = None,
    path_filter: PathFilter | None = None,
) -> Listing:
    """List ``root`` (already a real path): git's tracked and untracked-not-ignored files when git
    can answer, else a walk honouring ``.gitignore`` files; at most ``limit`` paths, only those
    ``path_filter`` keeps. ``on_draft`` is called with the names before they are checked one by
    one (the slow part)."""
    # A walk stops after ``limit`` files counted before the filter: a bound on the work, whatever
    # the globs (git lists everything at once anyway).
    draft = _filtered(_draft(root, limit), path_filter)
    if on_draft is not None:
        on_draft(draft)
    return _readable(root, draft, limit)


def _draft(root: Path, limit: int) -> ListingDraft:
    answer = _git_names(root)
    if answer is not None:
        names, excluded = answer
        return ListingDraft(_sorted_unique(names), excluded, LISTING_GIT)
    walked = _walk(root, limit + 1)
    return ListingDraft(_sorted_unique(walked.files), tuple(walked.excluded), LISTING_WALK)


def _sorted_unique(names: list[str]) -> list[str]:
    """Sorted without repeats (git prints an unmerged path once per conflict stage)."""
    names.sort()
    return [name for index, name in enumerate(names) if index == 0 or names[index - 1] != name]


# --- keeping what can be read -----------------------------------------------------------------
def _readable(root: Path, draft: ListingDraft, limit: int) -> Listing:
    """Keep the draft's names that are regular files, or symlinks to regular files inside; one
    ``lstat`` each (this loop is most of a listing's cost, hence the local names)."""
    root_text = os.fspath(root)
    excluded = None if draft.excluded is None else list(draft.excluded)
    paths: list[str] = []
    sizes: array[int] = array("q")
    real_paths: dict[str, str] = {}
    plain_dirs = PlainDirectories(root_text)
    lstat, is_regular, keep_path, keep_size = os.lstat, stat.S_ISREG, paths.append, sizes.append
    checked_parent, parent_is_plain = None, False
    for rel in draft.names:
        if len(paths) == limit:
            return _listing(draft, paths, sizes, real_paths, excluded, capped=True)
        parent, _, name = rel.rpartition("/")
        if not name or (len(name) == len(GIT_DIR_NAME) and name.casefold() == GIT_DIR_NAME):
            continue  # "dir/" is how git shows a nested repository (the draft excludes it)
        if parent != checked_parent:  # names are sorted: a directory's files come together
            checked_parent, parent_is_plain = parent, plain_dirs.is_plain(parent)
        if parent_is_plain:
            try:
                mode_and_size = lstat(f"{root_text}/{rel}")
            except (OSError, ValueError):
                continue  # deleted since git listed it, unencodable, too long
            mode = mode_and_size.st_mode
            if is_regular(mode):
                keep_path(rel)
                keep_size(mode_and_size.st_size)
                continue
            if stat.S_ISDIR(mode):  # a submodule
                if excluded is not None:
                    excluded.append(rel)
                continue
            if not stat.S_ISLNK(mode):
                continue  # FIFO, socket, device: no reader opens them, walkers skip them
        target = _symlinked_file(root, rel)
        if target is not None:
            real_rel, size = target
            keep_path(rel)
            keep_size(size)
            real_paths[rel] = real_rel
    return _listing(draft, paths, sizes, real_paths, excluded, capped=False)


def _listing(
    draft: ListingDraft, paths: list[str], sizes: array[int], real_paths: dict[str, str],
    excluded: list[str] | None, capped: bool,
) -> Listing:
    excluded_entries = None if excluded is None else tuple(excluded)
    return Listing(paths, sizes, real_paths, draft.source, capped, excluded_entries)


def _symlinked_file(root: Path, rel: str) -> tuple[str, int] | None:
    """(real path relative to root, size) when ``rel`` leads through symlinks to a regular file
    inside the repository and outside .git; None otherwise."""
    try:
        real = resolve_in_repo(root, rel)
        info = os.stat(real)
    except (PathOutsideRepo, OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None  # a directory, or /dev/null and friends reached through a link
    return real.relative_to(root).as_posix(), info.st_size


class PlainDirectories:
    """Whether a directory path has no symlink and no .git among its components; each directory is
    checked once (a symlinked parent would let ``root/a/b`` leave the repository)."""

    def __init__(self, root_text: str) -> None:
        self._root = root_text
        self._known: dict[str, bool] = {"": True}

    def is_plain(self, rel_dir: str) -> bool:
        """``rel_dir`` ("" for the root) and each directory above it is a real directory, not .git."""
        unknown = []  # from rel_dir up to the deepest directory already checked
        current = rel_dir
        while current not in self._known:
            unknown.append(current)
            current = current.rpartition("/")[0]
        plain = self._known[current]
        for directory in reversed(unknown):  # iteratively: trees can be thousands of levels deep
            if plain:
                plain = directory.rpartition("/")[2].casefold() != GIT_DIR_NAME and self._is_directory(directory)
            self._known[directory] = plain
        return plain

    def _is_directory(self, rel_dir: str) -> bool:
        try:
            return stat.S_ISDIR(os.lstat(f"{self._root}/{rel_dir}").st_mode)
        except (OSError, ValueError):
            return False


# --- git --------------------------------------------------------------------------------------
def _git_names(root: Path) -> tuple[list[str], tuple[str, ...] | None] | None:
    """Paths git shows for root (tracked, and untracked not ignored) and what a walker should
    leave out (ignored entries and nested repositories; None if that part failed); None when git
    cannot answer at all: not a work tree, git missing or refusing, or root ignored by an
    enclosing repository. The two questions run concurrently."""
    # A repository under study is untrusted: its config must not make us run a program.
    ls_files = ["git", "-c", "core.fsmonitor=false", "-C", os.fspath(root), "ls-files", "-z"]
    listed, ignored = run_together(
        [([*ls_files, "--cached", "--others", "--exclude-standard", "--"], (0,)),
         ([*ls_files, "--others", "--ignored", "--exclude-standard", "--directory", "--"], (0,))],
        root, git_environment(), _GIT_TIMEOUT_S,
    )
    names = _decoded_names(listed)
    ignored_names = _decoded_names(ignored)
    if not names:
        return None
    excluded = None
    if ignored_names is not None:
        nested_repositories = [name for name in names if name.endswith("/")]
        excluded = tuple(name.rstrip("/") for name in [*ignored_names, *nested_repositories])
    return names, excluded


def _decoded_names(output: bytes | None) -> list[str] | None:
    """The NUL-separated names git printed, or None if it failed."""
    if output is None:
        return None
    # One decode for the whole output: what os.fsdecode does name by name, 10x faster.
    text = output.decode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())
    return [name for name in text.split("\x00") if name]


# --- walk -------------------------------------------------------------------------------------
_IgnoreChain = tuple[tuple[str, pathspec.GitIgnoreSpec], ...]


@dataclass
class _Walked:
    files: list[str] = field(default_factory=list)  # files and symlinks, checked later
    excluded: list[str] = field(default_factory=list)  # ignored, unreadable or .GIT-like entries


def _walk(root: Path, limit: int) -> _Walked:
    """Walk without git, depth first in sorted order: skip .git, honour every .gitignore (deeper
    files override shallower ones, an ignored directory is not entered), never follow directory
    symlinks. Stops after ``limit`` files."""
    root_text = os.fspath(root)
    base: _IgnoreChain = ()
    info_exclude = _load_ignore_file(f"{root_text}/{GIT_DIR_NAME}/info/exclude")
    if info_exclude is not None:
        base = (("", info_exclude),)
    walked = _Walked()
    pending: list[tuple[str, _IgnoreChain]] = [("", base)]
    while pending:
        rel_dir, chain = pending.pop()
        directory = f"{root_text}/{rel_dir}" if rel_dir else root_text
        own = _load_ignore_file(f"{directory}/.gitignore")
        if own is not None:
            chain = (*chain, (rel_dir, own))
        prefix = f"{rel_dir}/" if rel_dir else ""
        subdirectories = []
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except (OSError, ValueError):
            walked.excluded.append(rel_dir)  # vanished, unreadable, or a path too long for the system
            continue
        for entry in entries:
            rel = prefix + entry.name
            if entry.name.casefold() == GIT_DIR_NAME:
                if entry.name != GIT_DIR_NAME:
                    walked.excluded.append(rel)  # walkers exclude ".git" by its exact name only
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                walked.excluded.append(rel)
                continue
            if _ignored(rel, is_dir, chain):
                walked.excluded.append(rel)
            elif is_dir:
                subdirectories.append(rel)
            else:
                walked.files.append(rel)
                if len(walked.files) >= limit:
                    return walked
        pending.extend((sub, chain) for sub in reversed(subdirectories))
    return walked


def _load_ignore_file(path: str) -> pathspec.GitIgnoreSpec | None:
    """Patterns of an ignore file that is a regular file (a FIFO, a device or a symlink to one must
    not block or flood the walk), reading at most ``_MAX_IGNORE_FILE_BYTES``."""
    try:
        fd = os.open(path, READ_FLAGS)
    except (OSError, ValueError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, _MAX_IGNORE_FILE_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)
    return pathspec.GitIgnoreSpec.from_lines(data.decode("utf-8", errors="replace").splitlines())


def _ignored(rel: str, is_dir: bool, chain: _IgnoreChain) -> bool:
    """Git's rule: the deepest .gitignore with a matching pattern decides (negations included)."""
    for base, spec in reversed(chain):
        sub = rel[len(base) + 1 :] if base else rel
        result = spec.check_file(sub + "/" if is_dir else sub)
        if result.include is not None:
            return bool(result.include)
    return False
