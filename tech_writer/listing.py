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
import subprocess
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from .paths import GIT_DIR_NAME, PathOutsideRepo, resolve_in_repo

__all__ = ["LISTING_GIT", "LISTING_WALK", "Listing", "list_repository"]

logger = logging.getLogger(__name__)

LISTING_GIT = "git"
LISTING_WALK = "walk"
_GIT_TIMEOUT_S = 60.0
_MAX_IGNORE_FILE_BYTES = 1024 * 1024
# Variables that would point `git -C root` at some other repository or index than root's own.
_GIT_REDIRECT_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY")


@dataclass(frozen=True)
class Listing:
    """Sorted repository-relative POSIX paths with their sizes in bytes (``sizes[i]`` is the size of
    ``paths[i]``, the target's for a symlink). ``real_paths`` maps each entry reached through a
    symlink to the real path to open, relative to the root. ``capped``: more files existed than
    the limit; the first ones in sorted order were kept. ``source``: "git" or "walk"."""

    paths: list[str]
    sizes: array[int]
    real_paths: dict[str, str] = field(default_factory=dict)
    source: str = LISTING_WALK
    capped: bool = False

    def size(self, rel_path: str) -> int | None:
        """Size of a listed path, or None if it is not listed."""
        index = bisect.bisect_left(self.paths, rel_path)
        if index < len(self.paths) and self.paths[index] == rel_path:
            return self.sizes[index]
        return None

    def read_path(self, rel_path: str) -> str:
        """The path to open for a listed path: itself, or its symlink's real target."""
        return self.real_paths.get(rel_path, rel_path)


def list_repository(root: Path, limit: int) -> Listing:
    """List ``root`` (already a real path): git's tracked and untracked-not-ignored files when git
    can answer, else a walk honouring ``.gitignore`` files; at most ``limit`` paths."""
    names = _git_names(root)
    if names is not None:
        return _readable(root, sorted(names), limit, LISTING_GIT)
    return _readable(root, sorted(_walk_names(root, limit + 1)), limit, LISTING_WALK)


# --- keeping what can be read -----------------------------------------------------------------
def _readable(root: Path, names: Iterable[str], limit: int, source: str) -> Listing:
    root_text = os.fspath(root)
    paths: list[str] = []
    sizes: array[int] = array("q")
    real_paths: dict[str, str] = {}
    plain_dirs = _PlainDirectories(root_text)
    capped = False
    for rel in names:
        if len(paths) == limit:
            capped = True
            break
        parent, _, name = rel.rpartition("/")
        if name.casefold() == GIT_DIR_NAME:
            continue
        if plain_dirs.is_plain(parent):
            try:
                mode_and_size = os.lstat(f"{root_text}/{rel}")
            except (OSError, ValueError):
                continue  # deleted since git listed it, unencodable, too long
            if stat.S_ISREG(mode_and_size.st_mode):
                paths.append(rel)
                sizes.append(mode_and_size.st_size)
                continue
            if not stat.S_ISLNK(mode_and_size.st_mode):
                continue  # directory (submodule, nested repository), FIFO, socket, device
        target = _symlinked_file(root, rel)
        if target is not None:
            real_rel, size = target
            paths.append(rel)
            sizes.append(size)
            real_paths[rel] = real_rel
    return Listing(paths, sizes, real_paths, source, capped)


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


class _PlainDirectories:
    """Whether a directory path has no symlink and no .git among its components; each directory is
    checked once (a symlinked parent would let ``root/a/b`` leave the repository)."""

    def __init__(self, root_text: str) -> None:
        self._root = root_text
        self._known: dict[str, bool] = {"": True}

    def is_plain(self, rel_dir: str) -> bool:
        known = self._known.get(rel_dir)
        if known is not None:
            return known
        parent, _, name = rel_dir.rpartition("/")
        plain = self.is_plain(parent) and name.casefold() != GIT_DIR_NAME
        if plain:
            try:
                plain = stat.S_ISDIR(os.lstat(f"{self._root}/{rel_dir}").st_mode)
            except (OSError, ValueError):
                plain = False
        self._known[rel_dir] = plain
        return plain


# --- git --------------------------------------------------------------------------------------
def _git_names(root: Path) -> set[str] | None:
    """Paths git shows for root (tracked, and untracked not ignored), or None when git cannot
    answer: not a work tree, git missing or refusing, or root ignored by an enclosing repository."""
    env = {key: value for key, value in os.environ.items() if key not in _GIT_REDIRECT_VARS}
    command = [
        "git",
        # A repository under study is untrusted: its config must not make us run a program.
        "-c", "core.fsmonitor=false",
        "-C", os.fspath(root),
        "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--",
    ]
    try:
        completed = subprocess.run(
            command, capture_output=True, timeout=_GIT_TIMEOUT_S, env=env, stdin=subprocess.DEVNULL, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.debug("git ls-files unavailable for %s: %s", root, exc)
        return None
    if completed.returncode != 0 or not completed.stdout:
        return None
    # A set: unmerged paths appear once per conflict stage.
    return {os.fsdecode(raw) for raw in completed.stdout.split(b"\x00") if raw}


# --- walk -------------------------------------------------------------------------------------
_IgnoreChain = tuple[tuple[str, pathspec.GitIgnoreSpec], ...]


def _walk_names(root: Path, limit: int) -> list[str]:
    """Walk without git, depth first in sorted order: skip .git, honour every .gitignore (deeper
    files override shallower ones, an ignored directory is not entered), never follow directory
    symlinks, keep files and symlinks (checked later). Stops after ``limit`` names."""
    root_text = os.fspath(root)
    base: _IgnoreChain = ()
    info_exclude = _load_ignore_file(f"{root_text}/{GIT_DIR_NAME}/info/exclude")
    if info_exclude is not None:
        base = (("", info_exclude),)
    found: list[str] = []
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
            continue  # vanished, unreadable, or a path too long for the system
        for entry in entries:
            if entry.name.casefold() == GIT_DIR_NAME:
                continue
            rel = prefix + entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if _ignored(rel, is_dir, chain):
                continue
            if is_dir:
                subdirectories.append(rel)
            else:
                found.append(rel)
                if len(found) >= limit:
                    return found
        pending.extend((sub, chain) for sub in reversed(subdirectories))
    return found


def _load_ignore_file(path: str) -> pathspec.GitIgnoreSpec | None:
    """Patterns of an ignore file that is a regular file (a FIFO, a device or a symlink to one must
    not block or flood the walk), reading at most ``_MAX_IGNORE_FILE_BYTES``."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
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
