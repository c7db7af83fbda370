"""CacheStore: what this run read, derived data keyed by content hash, and a small text index.

One SQLite database (``":memory:"`` by default, or a file that persists across runs). Entries derived
from a file (symbols, index rows) carry the sha256 of the file's bytes and are reused only while
the file still has that hash: a changed file is a miss and its stale entry is replaced.

The schema is versioned with ``PRAGMA user_version``. A file that is not a SQLite database, or was
written by another schema version, is moved aside (``<name>.corrupt-N``) and recreated, with a
warning on the ``tech_writer.repository.cache`` logger: a cache must never stop a run.

A cache file that stops taking writes (a read-only file, a full disk) turns the persistent cache
off: one warning line, what it held so far is copied into memory and the run goes on there (one
that cannot be opened at all is refused before the run starts). What could not be saved is
listed (:attr:`CacheStore.unsaved`) and noted, when the disk allows, in ``<name>.unsaved.json``
beside the file, so a later ``--resume`` can say why pieces it expected are missing
(:attr:`CacheStore.previous_unsaved`).

Every text stored passes the process secret mask (:func:`tech_writer.secrets.mask_text`): a key
read from the repository or repeated by the model never reaches the cache file.

One connection is shared between threads (``check_same_thread=False``) and every use holds a lock,
so sections may run concurrently.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tech_writer.secrets import mask_text

__all__ = ["SCHEMA_VERSION", "CacheStore", "FileInfo"]

logger = logging.getLogger("tech_writer.cache")

SCHEMA_VERSION = 1
_MEMORY = ":memory:"
# The trigram tokenizer only matches queries of at least 3 characters; shorter ones scan with LIKE.
_MIN_TRIGRAM_QUERY = 3

_SCHEMA = """
CREATE TABLE files (
    path TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    line_count INTEGER NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE symbols (
    path TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    symbols_json TEXT NOT NULL
);
CREATE TABLE kv (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE TABLE text_index_files (
    path TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL
);
"""
_FTS_TABLE = "CREATE VIRTUAL TABLE text_index USING fts5(path UNINDEXED, content, tokenize='trigram')"
# For SQLite builds without FTS5 or the trigram tokenizer (before 3.34): same queries, full scans.
_PLAIN_TABLE = "CREATE TABLE text_index (path TEXT NOT NULL, content TEXT NOT NULL)"


@dataclass
class UnsavedNote:
    """Why a cache file stopped taking writes, and what it then did not get."""

    reason: str
    entries: list[str] = field(default_factory=list)  # the labelled writes (finished work)
    derived: int = 0  # file records, symbols, index rows: cheap to compute again

    def summary(self, limit: int = 5) -> str:
        """One line: what was not saved, and why."""
        parts = []
        if self.entries:
            more = f" and {len(self.entries) - limit} more" if len(self.entries) > limit else ""
            parts.append(", ".join(self.entries[:limit]) + more)
        if self.derived:
            parts.append(f"{self.derived} derived entr{'y' if self.derived == 1 else 'ies'}")
        return f"not saved: {'; '.join(parts) or 'nothing yet'} ({self.reason})"


@dataclass(frozen=True)
class FileInfo:
    """A file recorded as read: its repository-relative path, content hash, lines and bytes."""

    path: str
    content_hash: str
    line_count: int
    size: int


class CacheStore:
    """Thread-safe SQLite cache; see the module docstring for the reuse and recovery rules."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = _MEMORY if path is None or str(path) == _MEMORY else os.fspath(path)
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._recorded_here: set[str] = set()  # files() of this run, not of earlier runs on the same file
        self.unsaved: UnsavedNote | None = None  # set when the file stopped taking writes
        self.previous_unsaved = _read_note(self._note_path())
        self._conn = self._open_or_recreate()
        self.fts_enabled = self._has_fts()

    # --- files read -----------------------------------------------------------------------
    def record_file(self, path: str, content_hash: str, line_count: int, size: int) -> None:
        self._write(None, lambda conn: conn.execute(
            "INSERT OR REPLACE INTO files (path, content_hash, line_count, size) VALUES (?, ?, ?, ?)",
            (path, content_hash, line_count, size),
        ))
        with self._lock:
            self._recorded_here.add(path)

    def file_info(self, path: str) -> FileInfo | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT path, content_hash, line_count, size FROM files WHERE path = ?", (path,)
            ).fetchone()
        return FileInfo(*row) if row else None

    def files(self, include_previous: bool = False) -> list[FileInfo]:
        """Files recorded by this store (this run), sorted by path; with ``include_previous``, also
        those persisted by earlier runs in the same cache file."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT path, content_hash, line_count, size FROM files ORDER BY path"
            ).fetchall()
            wanted = None if include_previous else set(self._recorded_here)
        return [FileInfo(*row) for row in rows if wanted is None or row[0] in wanted]

    # --- symbols ----------------------------------------------------------------------------
    def get_symbols(self, path: str, content_hash: str) -> list[dict[str, Any]] | None:
        """Symbols stored for exactly this content, else None (a miss)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT symbols_json FROM symbols WHERE path = ? AND content_hash = ?", (path, content_hash)
            ).fetchone()
            self._count(row is not None)
        return json.loads(row[0]) if row else None

    def put_symbols(self, path: str, content_hash: str, symbols: list[dict[str, Any]]) -> None:
        """Store symbols for this content, replacing any entry for an older version of the file."""
        encoded = mask_text(json.dumps(symbols, sort_keys=True))
        self._write(None, lambda conn: conn.execute(
            "INSERT OR REPLACE INTO symbols (path, content_hash, symbols_json) VALUES (?, ?, ?)",
            (path, content_hash, encoded),
        ))

    # --- text index -------------------------------------------------------------------------
    def index_text(self, path: str, content_hash: str, text: str) -> None:
        """Index ``text`` as the content of ``path``; a no-op when this content is already indexed."""
        text = mask_text(text)

        def index(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT content_hash FROM text_index_files WHERE path = ?", (path,)).fetchone()
            if row is not None and row[0] == content_hash:
                return
            conn.execute("DELETE FROM text_index WHERE path = ?", (path,))
            conn.execute("INSERT INTO text_index (path, content) VALUES (?, ?)", (path, text))
            conn.execute(
                "INSERT OR REPLACE INTO text_index_files (path, content_hash) VALUES (?, ?)", (path, content_hash)
            )

        self._write(None, index)

    def search_index(self, query: str, limit: int) -> list[str]:
        """Sorted paths whose indexed content contains ``query`` (case-insensitive), at most ``limit``."""
        if not query or limit <= 0:
            return []
        if self.fts_enabled and len(query) >= _MIN_TRIGRAM_QUERY:
            sql = "SELECT DISTINCT path FROM text_index WHERE text_index MATCH ? ORDER BY path LIMIT ?"
            parameter = '"' + query.replace('"', '""') + '"'
        else:
            sql = "SELECT DISTINCT path FROM text_index WHERE content LIKE ? ESCAPE '\\' ORDER BY path LIMIT ?"
            parameter = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._lock:
            rows = self._conn.execute(sql, (parameter, limit)).fetchall()
        return [row[0] for row in rows]

    # --- generic key/value ------------------------------------------------------------------
    def get(self, namespace: str, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
            ).fetchone()
            self._count(row is not None)
        return row[0] if row else None

    def put(self, namespace: str, key: str, value: str, *, label: str | None = None) -> None:
        """Store ``value``; ``label`` names it for a person if it cannot be saved."""
        value = mask_text(value)
        self._write(label, lambda conn: conn.execute(
            "INSERT OR REPLACE INTO kv (namespace, key, value) VALUES (?, ?, ?)", (namespace, key, value)
        ))

    # --- housekeeping -----------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        """Counts of recorded files and symbol entries, and lookup hits/misses (symbols and kv)."""
        with self._lock:
            files = self._conn.execute("SELECT COUNT(*) FROM files").fetchone()[0]
            symbols = self._conn.execute("SELECT COUNT(*) FROM symbols").fetchone()[0]
            return {"files": files, "symbols": symbols, "hits": self._hits, "misses": self._misses}

    @property
    def persistent(self) -> bool:
        """True while writes still reach the cache file."""
        return self.path != _MEMORY and self.unsaved is None

    def acknowledge_previous_unsaved(self) -> None:
        """The earlier run's gaps have been reported (by ``--resume``): forget the note, unless
        this run cannot write either (its own note then stands)."""
        with self._lock:
            if self.persistent:
                _remove_note(self._note_path())
            self.previous_unsaved = None

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            if self.unsaved is not None:
                _write_note(self._note_path(), self.unsaved)
            elif self.persistent and self.previous_unsaved is not None:
                # This run saved everything: the earlier run's gaps are filled or reported already.
                _remove_note(self._note_path())

    def __enter__(self) -> CacheStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _count(self, hit: bool) -> None:
        if hit:
            self._hits += 1
        else:
            self._misses += 1

    def _write(self, what: str | None, statements: Callable[[sqlite3.Connection], object]) -> None:
        """Run ``statements`` in one transaction; if the file refuses it, go on in memory."""
        with self._lock:
            if self.unsaved is None or self.path == _MEMORY:
                try:
                    with self._conn:  # commits, or rolls back on error
                        statements(self._conn)
                    return
                except (sqlite3.OperationalError, sqlite3.DatabaseError, OSError) as exc:
                    if self.path == _MEMORY or isinstance(exc, sqlite3.IntegrityError):
                        raise
                    self._stop_persisting(_describe(exc))
            self._note_unsaved(what)
            with self._conn:
                statements(self._conn)

    def _stop_persisting(self, reason: str) -> None:
        """Called with the lock held: copy what the file holds into memory and carry on there."""
        logger.warning("cache %s cannot be written (%s); the cache is off for the rest of this "
                       "run, which goes on without it", self.path, reason)
        self.unsaved = UnsavedNote(reason)
        self._conn = _copy_to_memory(self._conn)

    def _note_unsaved(self, what: str | None) -> None:
        assert self.unsaved is not None
        if what is None:
            self.unsaved.derived += 1
            if self.unsaved.derived > 1:
                return  # the note is rewritten for finished work, and on close
        else:
            self.unsaved.entries.append(what)
        _write_note(self._note_path(), self.unsaved)

    def _note_path(self) -> Path | None:
        return None if self.path == _MEMORY else Path(f"{self.path}.unsaved.json")

    # --- opening ----------------------------------------------------------------------------
    def _open_or_recreate(self) -> sqlite3.Connection:
        if self.path == _MEMORY:
            return _open_current(self.path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            return _open_current(self.path)
        except sqlite3.OperationalError:
            # Cannot open or create it at all: refused before the run starts (a usage error
            # upstream); only a cache that stops taking writes later is turned off.
            raise
        except (sqlite3.DatabaseError, _IncompatibleSchema) as exc:
            moved_to = _move_aside(Path(self.path))
            logger.warning("cache %s is unusable (%s); moved it to %s and started a new one", self.path, exc, moved_to)
            return _open_current(self.path)

    def _has_fts(self) -> bool:
        with self._lock:
            row = self._conn.execute("SELECT sql FROM sqlite_master WHERE name = 'text_index'").fetchone()
        return bool(row) and "VIRTUAL" in str(row[0]).upper()


class _IncompatibleSchema(Exception):
    pass


def _open_current(path: str) -> sqlite3.Connection:
    """Open ``path``, creating the schema in an empty database; raise if it holds anything else."""
    conn = sqlite3.connect(path, check_same_thread=False, timeout=10.0)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
        if version == 0 and tables == 0:
            _create_schema(conn)
        elif version != SCHEMA_VERSION:
            raise _IncompatibleSchema(f"schema version {version}, expected {SCHEMA_VERSION}")
        else:
            conn.execute("SELECT COUNT(*) FROM files").fetchone()  # reads a page: catches a damaged file
    except BaseException:
        conn.close()
        raise
    return conn


def _create_schema(conn: sqlite3.Connection) -> None:
    with conn:
        conn.executescript(_SCHEMA)
        try:
            conn.execute(_FTS_TABLE)
        except sqlite3.OperationalError:  # no FTS5 or no trigram tokenizer in this SQLite build
            conn.execute(_PLAIN_TABLE)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _copy_to_memory(conn: sqlite3.Connection) -> sqlite3.Connection:
    memory = sqlite3.connect(_MEMORY, check_same_thread=False)
    try:
        conn.backup(memory)
    except sqlite3.Error:  # the file cannot even be read: start empty, the schema still holds
        memory.close()
        memory = _open_current(_MEMORY)
    conn.close()
    return memory


def _write_note(path: Path | None, note: UnsavedNote) -> None:
    """Best effort: the folder may be as full or closed as the cache file itself."""
    if path is None:
        return
    try:
        path.write_text(json.dumps({"reason": note.reason, "entries": note.entries,
                                    "derived": note.derived}), encoding="utf-8")
    except OSError:
        pass


def _read_note(path: Path | None) -> UnsavedNote | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return UnsavedNote(str(data["reason"]), [str(entry) for entry in data["entries"]],
                           int(data.get("derived", 0)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remove_note(path: Path | None) -> None:
    if path is not None:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


def _move_aside(path: Path) -> Path:
    """Rename an unusable cache file to the first free ``<name>.corrupt-N`` (its journal is dropped)."""
    for number in range(1, 1000):
        target = path.with_name(f"{path.name}.corrupt-{number}")
        if not target.exists():
            break
    os.replace(path, target)
    for suffix in ("-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return target
