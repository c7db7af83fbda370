"""The one place that decides whether a path the model names is inside the repository.

Every tool, the citation checker and the repository itself go through :func:`resolve_in_repo`;
nothing else joins a user-supplied string onto the repository root.

Rules (a path that breaks one raises :class:`PathOutsideRepo` with a reason the model can act on):

- relative to the repository root; absolute paths (``/x``, ``C:\\x``, ``\\\\server\\x``) are refused;
- no ``..`` component at all, even one that would stay inside: with symlinked directories a lexical
  ``a/../b`` and the real path can disagree, and refusing is simpler than explaining;
- no ``.git`` component (compared case-insensitively, for case-insensitive file systems): git's
  internals are not source and may hold credentials in ``.git/config``;
- no NUL byte, no name the file system cannot encode;
- after following every symlink (of the file or of any parent directory) the real path must still
  be inside the root and outside ``.git``.

Names that are not valid UTF-8 arrive as ``os.fsdecode`` strings with lone surrogates; they are
handled like any other name, and :func:`display_path` turns them into printable text for the model.
When a path does not exist as written but its ``\\xNN`` / ``\\uNNNN`` escapes (as ``display_path``
writes them) name a file, that file is meant: the model can only repeat what it was shown.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
from collections.abc import Callable
from fnmatch import translate
from pathlib import Path, PureWindowsPath

__all__ = [
    "GIT_DIR_NAME",
    "PathOutsideRepo",
    "compile_glob",
    "display_path",
    "glob_matches",
    "glob_matches_everything",
    "normalize_rel_path",
    "relative_posix",
    "resolve_in_repo",
]

GIT_DIR_NAME = ".git"


class PathOutsideRepo(ValueError):
    """A path the repository refuses to open; ``reason`` says why in words the model can act on."""

    def __init__(self, user_path: str, reason: str) -> None:
        super().__init__(f"{display_path(user_path)!r}: {reason}")
        self.user_path = user_path
        self.reason = reason


def display_path(path: str) -> str:
    """Printable, valid-UTF-8 form of a path: undecodable bytes as ``\\xNN``, control characters escaped.

    Tool results and reports must be valid UTF-8 (the HTTP layer encodes them), and a file name
    containing a newline must not be able to forge extra lines in a listing.
    """
    try:
        raw = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # lone surrogates that did not come from os.fsdecode
        raw = path.encode("utf-8", "backslashreplace")
    text = raw.decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape_char(ch) for ch in text)


def _escape_char(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def normalize_rel_path(user_path: str) -> str:
    """Lexically clean a relative path: drop empty and ``.`` components; ``"."`` for the root.

    Does not touch the file system and does not validate; :func:`resolve_in_repo` does both.
    """
    parts = [part for part in user_path.split("/") if part not in ("", ".")]
    return "/".join(parts) if parts else "."


def _refusal_reason(user_path: str) -> str | None:
    """Why ``user_path`` is refused before the file system is consulted, or None if it is acceptable."""
    if "\x00" in user_path:
        return "the path contains a NUL byte"
    if user_path.startswith(("/", "\\")) or PureWindowsPath(user_path).anchor or os.path.isabs(user_path):
        return "absolute paths are not allowed; use a path relative to the repository root"
    parts = user_path.split("/")
    if ".." in parts:
        return "'..' is not allowed; use a path relative to the repository root"
    if any(part.casefold() == GIT_DIR_NAME for part in parts):
        return "paths inside .git are not part of the source tree"
    return None


def resolve_in_repo(root: Path, user_path: str) -> Path:
    """Resolve ``user_path`` against ``root`` following symlinks; refuse anything outside it.

    Returns the real path (symlinks resolved). The path need not exist: callers decide what a
    missing file means. Raises :class:`PathOutsideRepo` for every refusal.
    """
    real = _resolve_exactly(root, user_path)
    # A name the listing showed with escapes may stand for another name, but only when no entry
    # has this name itself: a broken symlink named ``a\x62`` is that entry, not the file ``ab``.
    if "\\" in user_path and not _entry_exists(root, user_path):
        for alternative in _unescaped_variants(user_path):
            try:
                candidate = _resolve_exactly(root, alternative)
            except PathOutsideRepo:
                continue
            if os.path.lexists(candidate):
                return candidate
    return real


def _entry_exists(root: Path, user_path: str) -> bool:
    """Whether ``user_path`` names an entry under ``root``, a broken symlink included."""
    relative = normalize_rel_path(user_path)
    return relative == "." or os.path.lexists(Path(root).joinpath(*relative.split("/")))


def _resolve_exactly(root: Path, user_path: str) -> Path:
    reason = _refusal_reason(user_path)
    if reason is not None:
        raise PathOutsideRepo(user_path, reason)
    real_root = Path(os.path.realpath(root))
    relative = normalize_rel_path(user_path)
    candidate = real_root if relative == "." else real_root.joinpath(*relative.split("/"))
    try:
        real = Path(os.path.realpath(candidate))
    except (OSError, ValueError, RuntimeError) as exc:  # symlink loops, unencodable names
        raise PathOutsideRepo(user_path, f"the path cannot be resolved ({type(exc).__name__})") from exc
    if real != real_root and real_root not in real.parents:
        raise PathOutsideRepo(user_path, "the path resolves outside the repository (through a symlink)")
    inner_parts = real.relative_to(real_root).parts
    if any(part.casefold() == GIT_DIR_NAME for part in inner_parts):
        raise PathOutsideRepo(user_path, "the path resolves into .git, which is not part of the source tree")
    return real


_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})")


def _unescaped_variants(shown: str) -> list[str]:
    """What a path written by :func:`display_path` may stand for: ``\\xNN`` of 80-ff is either an
    undecodable byte or a non-printable character, so both readings are offered."""
    def unescape(as_bytes: bool) -> str:
        def replace(match: re.Match[str]) -> str:
            code = int(match.group(1) or match.group(2), 16)
            if as_bytes and match.group(1) is not None and code >= 0x80:
                return chr(0xDC00 + code)  # how os.fsdecode spells an undecodable byte
            return chr(code)

        return _ESCAPE.sub(replace, shown)

    variants = [unescape(as_bytes=True), unescape(as_bytes=False)]
    return [variant for index, variant in enumerate(variants) if variant != shown and variant not in variants[:index]]


def relative_posix(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` with forward slashes; ``"."`` for the root itself.

    Both are compared as given (resolve them first if they may contain symlinks).
    """
    try:
        relative = Path(path).relative_to(root)
    except ValueError as exc:
        raise PathOutsideRepo(os.fspath(path), "the path is not inside the repository") from exc
    text = relative.as_posix()
    return posixpath.normpath(text) if text else "."


def glob_matches(pattern: str, rel_path: str) -> bool:
    """Whether a repository-relative POSIX path matches a glob, the way every tool filters paths.

    ``fnmatch`` rules, case-sensitive (the same answer on every OS), tried on the whole path and,
    for patterns without ``/``, on the base name: ``*.py`` finds Python files at any depth. ``*``
    crosses ``/``; ``**/`` may match no directory (``**/x.py`` and ``a/**/x.py`` match ``x.py`` and
    ``a/x.py``); a trailing ``/`` means everything below (``src/`` = ``src/**``); braces are literal.
    """
    return compile_glob(pattern)(rel_path)


@functools.lru_cache(maxsize=256)
def compile_glob(pattern: str) -> Callable[[str], bool]:
    """:func:`glob_matches` for one pattern, compiled once: for filtering many paths."""
    pattern = pattern.strip()
    while pattern.startswith("./"):
        pattern = pattern[2:]
    if not pattern or pattern == ".":
        pattern = "*"
    if pattern.endswith("/"):
        pattern += "**"
    if pattern in ("*", "**"):
        return _everything
    variants = {pattern}
    if pattern.startswith("**/"):
        variants.add(pattern[3:])
    if "/**/" in pattern:
        variants.add(pattern.replace("/**/", "/"))
    whole = [re.compile(translate(variant)).match for variant in sorted(variants)]
    base = [re.compile(translate(variant)).match for variant in sorted(variants) if "/" not in variant]

    def matches(rel_path: str) -> bool:
        if any(match(rel_path) for match in whole):
            return True
        if base:
            basename = rel_path.rpartition("/")[2]
            return any(match(basename) for match in base)
        return False

    return matches


def glob_matches_everything(pattern: str) -> bool:
    """Whether ``pattern`` is one of the spellings of "every file" ("*", "**", ".", "", "./")."""
    return compile_glob(pattern) is _everything


def _everything(rel_path: str) -> bool:
    return True
