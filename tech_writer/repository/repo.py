"""Read-only access to the repository being documented: which files exist, and their text.

Independent of the LLM: the tools (``tools.py``), the search engines (``search.py``) and the citation
checker (``citations.py``) all read through a :class:`Repository`, and every path goes through
:func:`tech_writer.repository.paths.resolve_in_repo`.

Exceptions raised for a file the caller asked about (all are ``OSError`` / ``ValueError`` subclasses
so callers can turn them into messages): ``PathOutsideRepo``, ``FileNotFoundError``,
``NotARegularFile`` (directory, FIFO, device, socket), ``BinaryFile``.

A *line* is a piece of text ended by ``"\\n"`` (a trailing ``"\\r"`` is dropped), plus a final piece
without one if the file does not end with a newline. ``"a\\nb\\n"`` and ``"a\\nb"`` both have two lines;
an empty file has none. Citations, ``read_file`` and search all count lines this way.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tech_writer.repository.listing import READ_FLAGS, Listing, ListingDraft, PathFilter, list_repository
from tech_writer.repository.paths import PathOutsideRepo, resolve_in_repo

if TYPE_CHECKING:
    from tech_writer.repository.cache import CacheStore

__all__ = [
    "BINARY_SNIFF_BYTES",
    "BinaryFile",
    "FileProbe",
    "FileText",
    "NotARegularFile",
    "Repository",
    "ToolCaps",
    "is_binary",
    "split_lines",
]

BINARY_SNIFF_BYTES = 8 * 1024  # a NUL byte in this prefix marks a file as binary (as git and grep do)
_CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ToolCaps:
    """Limits that keep every tool result small and every repository operation bounded.

    ``max_lines_per_read``: lines one ``read_file`` call returns (the model pages with start_line).
    ``max_result_bytes``: UTF-8 bytes of any tool result (~6k tokens), cut at a line boundary.
    ``max_matches``: search hits returned. ``max_listed``: paths one ``list_files`` call returns.
    ``max_file_bytes``: bytes read from one file; larger files are read up to here and marked
    truncated, and search skips them. ``max_listed_files``: files the repository listing keeps.
    ``structure_depth`` / ``structure_max_entries``: how deep and how long ``get_structure`` goes.
    ``max_line_chars``: characters shown of one source line (minified files have megabyte lines).
    ``max_search_bytes``: total bytes of the files one search covers; past it, it stops and says so.
    ``max_scan_bytes``: bytes of one file read to count its lines and hash it (~0.25 s; past it,
    the line count is a lower bound and results say so).
    """

    max_lines_per_read: int = 400
    max_result_bytes: int = 24_000
    max_matches: int = 100
    max_listed: int = 500
    max_file_bytes: int = 2 * 1024 * 1024
    max_listed_files: int = 200_000
    structure_depth: int = 3
    structure_max_entries: int = 300
    max_line_chars: int = 500
    max_search_bytes: int = 1024 * 1024 * 1024
    max_scan_bytes: int = 256 * 1024 * 1024


class BinaryFile(ValueError):
    """The file has a NUL byte in its first 8 KiB."""


class NotARegularFile(ValueError):
    """The path is a directory, FIFO, socket or device: nothing a reader should open.
    ``kind`` names it ("a directory", "a FIFO", …)."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"not a regular file ({kind})")
        self.kind = kind


@dataclass(frozen=True)
class FileText:
    """Text of one file. ``lines``/``text`` cover what was read; ``total_lines`` and ``content_hash``
    (sha256 of the bytes) and ``size`` describe the whole file, even when ``truncated``, unless it
    is larger than ``caps.max_scan_bytes``: then they describe that much (``lines_complete``)."""

    path: str
    text: str
    lines: list[str]
    total_lines: int
    content_hash: str
    truncated: bool
    size: int
    lines_complete: bool = True  # False: the file is larger than caps.max_scan_bytes, which was counted


@dataclass(frozen=True)
class FileProbe:
    """What the citation checker needs: the line count, or the reason there is none: one of
    "outside repository", "file not found", "not a file", "binary file", "unreadable".
    ``complete`` is False when the file is larger than ``caps.max_scan_bytes``: then only the
    lines in that part were counted."""

    line_count: int | None
    problem: str | None
    complete: bool = True


def is_binary(head: bytes) -> bool:
    """True when the first bytes of a file contain a NUL (the git/grep heuristic)."""
    return b"\x00" in head[:BINARY_SNIFF_BYTES]


def split_lines(text: str) -> list[str]:
    """Split into lines as described in the module docstring."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _count_lines(newlines: int, size: int, last_byte: bytes) -> int:
    if size == 0:
        return 0
    return newlines + (0 if last_byte == b"\n" else 1)


class Repository:
    """A directory tree (git work tree or not) that tools may read but never change."""

    def __init__(self, root: Path, cache: CacheStore | None = None, caps: ToolCaps | None = None,
                 path_filter: PathFilter | None = None) -> None:
        resolved = Path(os.path.realpath(root))
        if not resolved.is_dir():
            raise NotADirectoryError(f"repository root is not a directory: {root}")
        self.root: Path = resolved
        self.cache = cache
        self.caps = caps or ToolCaps()
        self.path_filter = path_filter  # --include / --exclude
        self._listing: Listing | None = None
        self._listing_lock = threading.Lock()
        self.files_capped = False
        self.listing_source: str | None = None  # "git" or "walk", once listed

    # --- listing ------------------------------------------------------------------------------
    def listing(self, on_draft: Callable[[ListingDraft], object] | None = None) -> Listing:
        """The repository's readable files with their sizes (see :mod:`tech_writer.repository.listing`):
        git's tracked + untracked-not-ignored files in a work tree, else a walk honouring
        ``.gitignore`` files. Capped at ``caps.max_listed_files`` (``files_capped`` says so).
        Computed once per instance (``on_draft`` is called only then, with the unchecked names);
        treat it as read-only."""
        with self._listing_lock:
            if self._listing is None:
                listing = list_repository(self.root, self.caps.max_listed_files, on_draft,
                                          self.path_filter)
                self.files_capped = listing.capped
                self.listing_source = listing.source
                self._listing = listing
            return self._listing

    def list_files(self) -> list[str]:
        """Sorted POSIX paths relative to the root (a fresh copy of ``listing().paths``)."""
        return list(self.listing().paths)

    def file_size(self, rel_path: str) -> int | None:
        """Size in bytes of a listed file when it was listed, or None if it is not listed."""
        return self.listing().size(rel_path)

    # --- reading ------------------------------------------------------------------------------
    def read_text(self, rel_path: str) -> FileText:
        """Read a text file (at most ``caps.max_file_bytes`` of it) with UTF-8 ``errors="replace"``.
        Lines are counted and the hash taken over at most ``caps.max_scan_bytes``."""
        real = self._regular_file(rel_path)
        limit = self.caps.max_file_bytes
        with _open_regular(real) as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(limit + 1)
            if is_binary(head):
                raise BinaryFile(f"{rel_path}: binary file")
            digest = hashlib.sha256(head)
            scan = _scan(handle, head, self.caps.max_scan_bytes, digest)
        if not scan.complete:  # the hash covers a prefix: make a change of size change it too
            digest.update(f"\x00size={size}".encode())
        truncated = len(head) > limit
        shown = _cut_at_line_end(head[:limit]) if truncated else head
        text = shown.decode("utf-8", errors="replace")
        return FileText(
            path=rel_path,
            text=text,
            lines=split_lines(text),
            total_lines=scan.lines,
            content_hash=digest.hexdigest(),
            truncated=truncated,
            size=max(size, scan.bytes),
            lines_complete=scan.complete,
        )

    def read_bytes(self, rel_path: str, limit: int) -> bytes:
        """The first ``limit`` bytes of a regular file (no binary check: callers decide)."""
        real = self._regular_file(rel_path)
        with _open_regular(real) as handle:
            return handle.read(limit)

    def read_listed(self, rel_path: str, limit: int) -> bytes:
        """The first ``limit`` bytes of a *listed* file, without resolving the path again: listing
        already checked that it is a regular file reached through no symlink leading out. For
        searches, which read thousands of files. Raises ``OSError`` / ``NotARegularFile``."""
        fd = os.open(f"{self.root}/{self.listing().read_path(rel_path)}", READ_FLAGS)
        try:  # plain descriptors, no file object: a search opens thousands of files
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise NotARegularFile(_kind(info.st_mode))
            # Asking for what is there avoids allocating `limit` bytes for every small file.
            wanted = min(info.st_size + 1, limit)
            data = os.read(fd, wanted)
            while len(data) < wanted and (more := os.read(fd, wanted - len(data))):
                data += more
            return data
        finally:
            os.close(fd)

    def probe(self, rel_path: str) -> FileProbe:
        """Line count of a text file on disk now, or why it has none (for citation checks);
        counted over at most ``caps.max_scan_bytes``."""
        try:
            real = self._regular_file(rel_path)
            with _open_regular(real) as handle:
                head = handle.read(BINARY_SNIFF_BYTES)
                if is_binary(head):
                    return FileProbe(None, "binary file")
                scan = _scan(handle, head, self.caps.max_scan_bytes)
        except PathOutsideRepo:
            return FileProbe(None, "outside repository")
        except FileNotFoundError:
            return FileProbe(None, "file not found")
        except NotARegularFile:
            return FileProbe(None, "not a file")
        except OSError:
            return FileProbe(None, "unreadable")
        return FileProbe(scan.lines, None, scan.complete)

    def line_count(self, rel_path: str) -> int | None:
        """Lines in the file now; None if missing, outside the repository, not a file or binary."""
        return self.probe(rel_path).line_count

    def _regular_file(self, rel_path: str) -> Path:
        real = resolve_in_repo(self.root, rel_path)
        try:
            mode = os.stat(real).st_mode
        except NotADirectoryError as exc:  # a parent component is a file
            raise FileNotFoundError(exc.errno, exc.strerror, rel_path) from exc
        if not stat.S_ISREG(mode):
            raise NotARegularFile(_kind(mode))
        return real


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _open_regular(real: str | Path) -> io.BufferedReader:
    """Open a regular file for reading without ever blocking (see ``READ_FLAGS``)."""
    fd = os.open(real, READ_FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile(_kind(mode))
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


@dataclass(frozen=True)
class _Scan:
    lines: int
    bytes: int
    complete: bool  # False: the file goes on past the scan limit


def _scan(handle: io.BufferedReader, head: bytes, limit: int, digest: Any | None = None) -> _Scan:
    """Count the lines of ``head`` plus what follows in ``handle``, reading in chunks (bounded
    memory) and stopping after ``limit`` bytes (bounded time: a sparse file can claim terabytes)."""
    newlines, scanned, last = head.count(b"\n"), len(head), head[-1:]
    for chunk in _chunks(handle, limit - scanned):
        if digest is not None:
            digest.update(chunk)
        newlines += chunk.count(b"\n")
        scanned, last = scanned + len(chunk), chunk[-1:]
    complete = scanned < limit or not handle.read(1)
    return _Scan(_count_lines(newlines, scanned, last), scanned, complete)


def _chunks(handle: io.BufferedReader, budget: int) -> Iterator[bytes]:
    while budget > 0 and (chunk := handle.read(min(_CHUNK_BYTES, budget))):
        budget -= len(chunk)
        yield chunk


def _cut_at_line_end(data: bytes) -> bytes:
    """Keep whole lines only, so a cut never splits a line or a multi-byte character; a single
    line longer than the limit is kept cut (there is no better boundary)."""
    end = data.rfind(b"\n")
    return data[: end + 1] if end >= 0 else data
