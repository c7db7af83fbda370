"""Writing the report where the user asked, the way a shell redirection would.

``-o PATH`` means "put the report there", not "replace whatever PATH names":

* a symlink is written **through** (its target gets the report, the link stays a link);
* a device node, a FIFO or a socket is opened and written (``-o /dev/stdout`` reaches stdout);
* an existing regular file keeps its mode, owner and hard links; it is replaced atomically
  (temp file beside it, fsync, rename) when that can keep all three, else rewritten in place;
* a new file gets the mode the umask gives (``0666 & ~umask``), like ``>`` in a shell.

What is written passes the process secret mask first (:func:`tech_writer.secrets.mask_text`):
a model that repeats the key cannot put it in the file.

:func:`check_writable` answers "can the report be written there?" before the first paid call;
:func:`read_user_text` reads the text files the user names (``--prompt``, ``--report``) with one
set of checks.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from tech_writer.errors import UsageError
from tech_writer.secrets import mask_text

__all__ = ["OutputNotWritable", "check_writable", "read_user_text", "write_atomic", "write_report"]

_BINARY_SNIFF = 8192  # bytes looked at for a NUL: a text file has none

_NEW_FILE_MODE = 0o666  # the kernel applies the umask to it


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


class OutputNotWritable(OSError):
    """The output path cannot take the report; ``str()`` is one line naming why."""


def write_report(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` (see the module docstring for what each kind of path gets)."""
    data = mask_text(text).encode("utf-8")
    info = _stat(path)
    if info is not None and not stat.S_ISREG(info.st_mode):
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
        # Opened by the name given: /dev/stdout's real path is a pipe's, no file name at all.
        _write_in_place(Path(path), data, truncate=False)
        return
    target = Path(os.path.realpath(path))  # a regular file (or a new one): through links
    target.parent.mkdir(parents=True, exist_ok=True)
    if info is not None and info.st_nlink > 1:
        _write_in_place(target, data, truncate=True)  # a rename would split the hard links
        return
    try:
        temp = _create_temp_beside(target)
    except PermissionError:
        if info is None:
            raise
        _write_in_place(target, data, truncate=True)  # the folder is closed, the file is not
        return
    _replace_with(temp, target, data, info)


def _stat(path: str | Path) -> os.stat_result | None:
    """What ``path`` names, through symlinks; None when nothing (or a dangling link)."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def write_atomic(path: str | Path, text: str) -> None:
    """Kept for the callers that name it: the same as :func:`write_report`."""
    write_report(path, text)


def check_writable(path: str | Path, *, not_same_as: str | Path | None = None) -> None:
    """Raise :class:`OutputNotWritable` if the report could not be written to ``path``.

    ``not_same_as`` is an input file (the prompt) the output must not overwrite. Nothing is
    left behind: the probe file created to test a folder is removed at once.
    """
    if not_same_as is not None and _same_file(Path(path), Path(not_same_as)):
        raise OutputNotWritable(f"{path} is the prompt file; writing the report there would "
                                "overwrite the prompt (choose another -o)")
    try:
        info = _stat(path)
    except OSError as exc:
        raise OutputNotWritable(f"{path}: {exc.strerror or exc}") from None
    target = Path(os.path.realpath(path))
    if info is None:
        _check_folder(target.parent, path)
        return
    if stat.S_ISDIR(info.st_mode):
        raise OutputNotWritable(f"{path} is a directory; name a file")
    if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
        if not os.access(path, os.W_OK):
            raise OutputNotWritable(f"{path}: permission denied")
        return
    try:
        _check_folder(target.parent, path)
    except OutputNotWritable:
        # The folder is closed; the file itself may still be rewritten in place.
        if not os.access(target, os.W_OK):
            raise
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_APPEND))
        except OSError as exc:
            raise OutputNotWritable(f"{path}: {exc.strerror or exc}") from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(os.path.realpath(a)) == Path(os.path.realpath(b))


def _check_folder(folder: Path, shown: str | Path) -> None:
    """The nearest existing folder on the way must take a new file (probed for real: access()
    says yes to root on a read-only file system)."""
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise OutputNotWritable(f"{shown}: {existing} is not a directory")
    try:
        probe = _create_temp_beside(existing / ".probe")
    except OSError as exc:
        raise OutputNotWritable(f"{shown}: cannot create a file in {existing} "
                                f"({exc.strerror or exc})") from None
    os.close(probe[0])
    os.unlink(probe[1])


def _create_temp_beside(target: Path) -> tuple[int, Path]:
    """An exclusive new file next to ``target``, created with the umask's mode."""
    for _ in range(100):
        temp = target.with_name(f".{target.name}.{os.urandom(4).hex()}.tmp")
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _NEW_FILE_MODE), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target.parent))


def _replace_with(temp: tuple[int, Path], target: Path, data: bytes,
                  previous: os.stat_result | None) -> None:
    fd, temp_path = temp
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
            if previous is not None:
                _copy_mode_and_owner(fd, previous)
        finally:
            os.close(fd)
        os.replace(temp_path, target)
    except _OwnerNotKept:
        temp_path.unlink(missing_ok=True)
        _write_in_place(target, data, truncate=True)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise


class _OwnerNotKept(Exception):
    pass


def _copy_mode_and_owner(fd: int, previous: os.stat_result) -> None:
    os.fchmod(fd, stat.S_IMODE(previous.st_mode))
    mine = os.fstat(fd)
    if (mine.st_uid, mine.st_gid) == (previous.st_uid, previous.st_gid):
        return
    try:
        os.fchown(fd, previous.st_uid, previous.st_gid)
    except PermissionError:
        # Only root may give a file away: rewrite the file itself so its owner stays.
        raise _OwnerNotKept from None


def _write_in_place(target: Path, data: bytes, *, truncate: bool) -> None:
    flags = os.O_WRONLY | (os.O_TRUNC if truncate else 0)
    fd = os.open(target, flags)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
