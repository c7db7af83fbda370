"""What git knows about a repository's history, for provenance and ``check``: the commit a report
was written at, the files that existed then, and what changed in a file since.

Every question runs git with the environment of :func:`git_environment` (nothing can point it at
another repository) and ``core.fsmonitor`` off (an untrusted repository's config must not make us
run a program). Each answers None when git cannot: not a work tree, git missing, a shallow clone
without that commit. Paths are relative to the directory asked about, as the listing's are.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tech_writer.repository.gitrun import git_environment, run_together

__all__ = ["diff_since", "files_at", "head_commit"]

_TIMEOUT_S = 20.0
_COMMIT = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


def _git(root: Path, *args: str) -> bytes | None:
    command = ["git", "-c", "core.fsmonitor=false", "-C", os.fspath(root), *args]
    return run_together([(command, (0,))], root, git_environment(), _TIMEOUT_S)[0]


def head_commit(root: Path) -> str | None:
    """The commit checked out in the work tree that holds ``root``; None outside one (or before
    the first commit)."""
    output = _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    text = output.decode("ascii", "replace").strip() if output else ""
    return text if _COMMIT.fullmatch(text) else None


def files_at(root: Path, commit: str) -> frozenset[str] | None:
    """The files under ``root`` in ``commit`` (relative to ``root``); None when the commit is not
    in this clone (a shallow CI checkout) or ``root`` is not in a work tree."""
    if not _COMMIT.fullmatch(commit):
        return None
    output = _git(root, "ls-tree", "-r", "-z", "--name-only", commit, "--", ".")
    if output is None:
        return None
    names = [name.decode("utf-8", "surrogateescape") for name in output.split(b"\0") if name]
    return frozenset(names)


def diff_since(root: Path, commit: str, path: str, max_bytes: int = 16_000) -> str | None:
    """The unified diff of one file from ``commit`` to the work tree (at most ``max_bytes``, cut
    at a line end and marked); None when git cannot say (no such commit here, not a work tree)."""
    if not _COMMIT.fullmatch(commit) or path.startswith("-"):
        return None
    output = _git(root, "diff", "--no-color", "--no-ext-diff", "--relative", commit, "--", path)
    if output is None:
        return None
    text = output.decode("utf-8", "replace")
    if len(text.encode()) <= max_bytes:
        return text
    cut = text.encode()[:max_bytes].decode("utf-8", "ignore")
    return cut[: cut.rfind("\n") + 1] + "… (diff cut)\n"
