"""Literal text search over the repository's listed files, with interchangeable engines.

Semantics, shared by every engine so that they return identical results:

- the query is a literal string (no regex: a model-written regex could backtrack for minutes, and
  Python's and ripgrep's regex dialects differ), one line, not empty;
- smart case, as in ripgrep: a query with an upper-case letter is case-sensitive, an all-lower-case
  query matches any case (``str.lower`` on both sides; exotic Unicode folds may differ between
  engines, ASCII and accented Latin letters do not);
- the files searched are ``repo.list_files()`` (so ``.gitignore`` is honoured) filtered by
  ``path_glob`` (see :func:`tech_writer.paths.glob_matches`), in sorted order, skipping binary files
  (NUL in the first 8 KiB), files larger than ``caps.max_file_bytes``, and stopping before the total
  bytes read would pass ``caps.max_search_bytes``;
- a match is one line (lines as in ``repo.py``), reported once however often the query occurs in
  it, ordered by path then line number; the text is stripped and cut at ``MAX_MATCH_TEXT_CHARS``;
- at most ``caps.max_matches`` matches; ``truncated`` says there were more.

Engines: ``"python"`` (default: predictable, no dependency) and ``"ripgrep"`` when an ``rg`` binary
is on PATH. ``engine="auto"`` picks ripgrep when present.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .paths import PathOutsideRepo, glob_matches, resolve_in_repo
from .repo import BINARY_SNIFF_BYTES, Repository, ToolCaps, is_binary, split_lines

__all__ = [
    "ENGINE_AUTO",
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
ENGINE_AUTO = "auto"
MAX_MATCH_TEXT_CHARS = 200
_RG_BATCH_FILES = 256  # files per rg call: keeps the command line short and lets a full result stop early
_RG_TIMEOUT_S = 60.0


class InvalidQuery(ValueError):
    """The query is empty or spans lines."""


@dataclass(frozen=True)
class Match:
    path: str
    line: int
    text: str


@dataclass(frozen=True)
class SearchResult:
    """Matches in path/line order; ``truncated``: more than ``max_matches`` existed.
    ``budget_exhausted``: the byte budget stopped the scan before every file was read."""

    matches: list[Match]
    truncated: bool
    engine: str
    files_searched: int = 0
    skipped_large: int = 0
    skipped_binary: int = 0
    budget_exhausted: bool = False


def is_case_sensitive(query: str) -> bool:
    """Smart case: any upper-case letter makes the search case-sensitive."""
    return any(char.isupper() for char in query)


def available_engines() -> tuple[str, ...]:
    return (ENGINE_PYTHON, ENGINE_RIPGREP) if shutil.which("rg") else (ENGINE_PYTHON,)


def search_text(
    repo: Repository,
    query: str,
    path_glob: str = "*",
    caps: ToolCaps | None = None,
    *,
    engine: str = ENGINE_PYTHON,
) -> SearchResult:
    """Search ``query`` in the repository; see the module docstring for the exact semantics."""
    if not query:
        raise InvalidQuery("the query is empty")
    if any(char in query for char in "\n\r\x00"):
        raise InvalidQuery("the query must be a single line of text")
    caps = caps or repo.caps
    if engine == ENGINE_AUTO:
        engine = available_engines()[-1]
    if engine == ENGINE_RIPGREP:
        rg = shutil.which("rg")
        if rg is not None:
            return _search_ripgrep(rg, repo, query, path_glob, caps)
    elif engine != ENGINE_PYTHON:
        raise ValueError(f"unknown search engine {engine!r}; choose from {available_engines()}")
    return _search_python(repo, query, path_glob, caps)


# --- shared file selection and match shaping -----------------------------------------------
@dataclass
class _Selection:
    """Which files a search reads; both engines run the same selection so they see the same files."""

    searched: int = 0
    skipped_large: int = 0
    skipped_binary: int = 0
    budget_exhausted: bool = False
    _bytes: int = field(default=0, repr=False)

    def admit(self, size: int, head: bytes, caps: ToolCaps) -> bool:
        """Count the file and say whether to search it; sets ``budget_exhausted`` when full."""
        if size > caps.max_file_bytes:
            self.skipped_large += 1
            return False
        if is_binary(head):
            self.skipped_binary += 1
            return False
        if self._bytes + size > caps.max_search_bytes:
            self.budget_exhausted = True
            return False
        self._bytes += size
        self.searched += 1
        return True


def _glob_files(repo: Repository, path_glob: str) -> Iterator[tuple[str, Path]]:
    """Listed files matching the glob that are regular files inside the repository, sorted."""
    for rel in repo.list_files():
        if not glob_matches(path_glob, rel):
            continue
        try:
            real = resolve_in_repo(repo.root, rel)
            if stat.S_ISREG(os.stat(real).st_mode):
                yield rel, real
        except (PathOutsideRepo, OSError):
            continue  # a symlink out of the repository, or a file deleted since listing


def _make_match(path: str, line: int, raw_text: str) -> Match:
    text = raw_text.strip()
    if len(text) > MAX_MATCH_TEXT_CHARS:
        text = text[: MAX_MATCH_TEXT_CHARS - 1] + "…"
    return Match(path, line, text)


def _result(matches: list[Match], selection: _Selection, caps: ToolCaps, engine: str) -> SearchResult:
    matches.sort(key=lambda match: (match.path, match.line))
    return SearchResult(
        matches=matches[: caps.max_matches],
        truncated=len(matches) > caps.max_matches,
        engine=engine,
        files_searched=selection.searched,
        skipped_large=selection.skipped_large,
        skipped_binary=selection.skipped_binary,
        budget_exhausted=selection.budget_exhausted,
    )


# --- Python engine --------------------------------------------------------------------------
def _search_python(repo: Repository, query: str, path_glob: str, caps: ToolCaps) -> SearchResult:
    sensitive = is_case_sensitive(query)
    needle = query if sensitive else query.lower()
    selection = _Selection()
    matches: list[Match] = []
    for rel, _real in _glob_files(repo, path_glob):
        try:
            data = repo.read_bytes(rel, caps.max_file_bytes + 1)
        except (PathOutsideRepo, OSError, ValueError):
            continue
        if not selection.admit(len(data), data[:BINARY_SNIFF_BYTES], caps):
            if selection.budget_exhausted:
                break
            continue
        text = data.decode("utf-8", errors="replace")
        haystack = text if sensitive else text.lower()
        if needle not in haystack:  # most files do not match: skip splitting them into lines
            continue
        for number, line in enumerate(split_lines(text), start=1):
            if needle in (line if sensitive else line.lower()):
                matches.append(_make_match(rel, number, line))
                if len(matches) > caps.max_matches:  # one extra proves truncation
                    return _result(matches, selection, caps, ENGINE_PYTHON)
    return _result(matches, selection, caps, ENGINE_PYTHON)


# --- ripgrep engine -------------------------------------------------------------------------
def _search_ripgrep(rg: str, repo: Repository, query: str, path_glob: str, caps: ToolCaps) -> SearchResult:
    selection = _Selection()
    admitted = _admitted_by_head(repo, path_glob, caps, selection)
    matches: list[Match] = []
    batch: list[str] = []
    for rel in admitted:
        batch.append(rel)
        if len(batch) == _RG_BATCH_FILES:
            matches.extend(_run_ripgrep(rg, repo.root, query, batch, caps))
            batch = []
            if len(matches) > caps.max_matches:
                return _result(matches, selection, caps, ENGINE_RIPGREP)
    if batch:
        matches.extend(_run_ripgrep(rg, repo.root, query, batch, caps))
    return _result(matches, selection, caps, ENGINE_RIPGREP)


def _admitted_by_head(repo: Repository, path_glob: str, caps: ToolCaps, selection: _Selection) -> Iterator[str]:
    """The Python engine's selection, deciding from the size and first 8 KiB instead of the whole file."""
    for rel, real in _glob_files(repo, path_glob):
        try:
            size = os.stat(real).st_size
            head = repo.read_bytes(rel, BINARY_SNIFF_BYTES)
        except (PathOutsideRepo, OSError, ValueError):
            continue
        if selection.admit(size, head, caps):
            yield rel
        elif selection.budget_exhausted:
            return


def _run_ripgrep(rg: str, root: Path, query: str, files: list[str], caps: ToolCaps) -> list[Match]:
    """One rg call over ``files`` (paths relative to root), matches sorted by path and line."""
    command = [
        rg,
        "--no-config",  # a user's RIPGREP_CONFIG_PATH must not change results
        "--fixed-strings",
        "--case-sensitive" if is_case_sensitive(query) else "--ignore-case",
        "--text",  # binary files were excluded by the shared selection; search the rest as text
        "--encoding", "none",  # raw bytes, like the Python engine (no BOM sniffing or transcoding)
        "--no-ignore", "--hidden",
        "--line-number", "--with-filename", "--no-heading", "--null", "--color", "never",
        "--no-messages",
        "--max-count", str(caps.max_matches + 1),  # no file can contribute more than the cap
        "--",
        query,
        *files,
    ]
    try:
        completed = subprocess.run(
            command, cwd=root, capture_output=True, timeout=_RG_TIMEOUT_S, stdin=subprocess.DEVNULL, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    matches = []
    for record in completed.stdout.split(b"\n"):
        path_bytes, separator, rest = record.partition(b"\x00")
        number, colon, text = rest.partition(b":")
        if not separator or not colon or not number.isdigit():
            continue
        line_text = text.decode("utf-8", errors="replace")
        if line_text.endswith("\r"):
            line_text = line_text[:-1]
        matches.append(_make_match(os.fsdecode(path_bytes), int(number), line_text))
    matches.sort(key=lambda match: (match.path, match.line))
    return matches
