"""Whether a repository holds anything to document, decided before any model is paid.

An empty folder, a bare git repository (no work tree: only git's own files), a tree whose every
file is ignored (``.gitignore``, ``--exclude``) or a tree of binary files only: a run on any of
these would pay for an exploration that finds nothing and sections that cite nothing.
:func:`nothing_to_document` says so in one line instead; ``None`` means there is text to read.
"""

from __future__ import annotations

import os
from pathlib import Path

from tech_writer.repository.listing import READ_FLAGS
from tech_writer.repository.repo import BINARY_SNIFF_BYTES, Repository, is_binary

__all__ = ["nothing_to_document"]

_BARE_MARKERS = ("HEAD", "objects", "refs")  # what git itself looks for in a bare repository


def nothing_to_document(repo: Repository) -> str | None:
    """One line naming why ``repo`` has nothing to document, or None when some file is text.

    Reads at most the first 8 KiB of each listed file, and stops at the first text file."""
    root = repo.root
    if _is_bare(root):
        return (f"nothing to document in {root}: a bare git repository (no work tree); "
                "clone it (git clone) and point --repo at the clone")
    listing = repo.listing()
    ignored = len(listing.excluded or ())
    binary = 0
    for rel in listing.paths:
        if not _is_binary_file(root / listing.read_path(rel)):
            return None
        binary += 1
    if binary == 0 and ignored == 0:
        return f"nothing to document in {root}: it holds no files"
    parts = [f"{_files(binary)} binary"] if binary else []
    if ignored:
        parts.append(f"{_files(ignored)} ignored (.gitignore, --include/--exclude)")
    return f"nothing to document in {root}: {binary + ignored} files, all ignored or binary " \
           f"({', '.join(parts)})"


def _files(count: int) -> str:
    return f"{count} file{'s' if count != 1 else ''}"


def _is_bare(root: Path) -> bool:
    return (not (root / ".git").exists() and (root / "HEAD").is_file()
            and all((root / name).is_dir() for name in _BARE_MARKERS[1:]))


def _is_binary_file(path: Path) -> bool:
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError:
        return True  # unreadable: nothing a model could read either
    with os.fdopen(fd, "rb") as handle:
        return is_binary(handle.read(BINARY_SNIFF_BYTES))
