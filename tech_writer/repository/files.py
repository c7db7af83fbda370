"""The files the user names: a text file read with one set of checks, and the report written
so that a reader never sees half of it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tech_writer.errors import UsageError

__all__ = ["check_writable", "read_user_text", "write_atomic"]

_BINARY_SNIFF = 8192  # bytes looked at for a NUL: a text file has none


def read_user_text(option: str, file: str | Path, what: str, missing_hint: str = "") -> str:
    """A text file the user named with ``option``, or a one-line usage error if it is missing or
    binary (a NUL in its first 8 KiB); undecodable bytes are replaced, never fatal."""
    path = Path(file)
    if not path.is_file():
        raise UsageError(f"{option} {file}: no such file{missing_hint}")
    data = path.read_bytes()
    if b"\0" in data[:_BINARY_SNIFF]:
        raise UsageError(f"{option} {file}: a binary file, not {what}")
    return data.decode("utf-8", errors="replace")


def check_writable(path: str | Path, option: str = "-o") -> None:
    """Refuse, before a run pays for anything, an output path that cannot be written: the path a
    directory, a file where a folder should be, or no permission to create or replace it. A
    missing folder is fine when it can be created (:func:`write_atomic` creates it). A failure
    that happens anyway later still sends the report to stdout."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{option} {path}: a directory, not a file; name a file inside it")
    folder = target.absolute().parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the folders below it will be created
    if not existing.is_dir():
        raise UsageError(f"{option} {path}: {existing} is a file, not a folder; choose another "
                         "--output")
    if not os.access(existing, os.W_OK | os.X_OK) or (target.exists()
                                                       and not os.access(target, os.W_OK)):
        raise UsageError(f"{option} {path}: cannot write in {existing} (permission denied); "
                         "choose another --output")


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to a temp file beside ``path``, fsync it, then rename it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
