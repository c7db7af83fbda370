"""What a repository defines and mentions, for checking the names a report uses.

:class:`RepoIndex` is built once per evaluation: every listed file the project's symbol extractor
understands (Python with the stdlib ``ast``, the tree-sitter languages when installed — the same
:func:`~tech_writer.repository.symbols.extract_symbols` behind the ``get_symbols`` tool) gives its
definitions; every readable text file gives the words it contains; the listing gives the paths.

A backticked name in a report is then:

- ``symbol``: a definition of that name (``Foo``, ``Foo.bar``, or the last part of ``pkg.mod.Foo``);
- ``path``: a listed file or directory (also as a dotted module path, ``pkg.mod`` → ``pkg/mod.py``,
  or a bare file name that some listed file has);
- ``text``: no definition, but the word is in the repository's files (a constant, an imported
  package, a config key);
- missing: none of these — a name the report made up.

Anything else in backticks (shell commands, flags, expressions) is not a name and is not checked.
"""

from __future__ import annotations

import builtins
import keyword
import posixpath
import re
from dataclasses import dataclass, field

from tech_writer.repository.repo import BinaryFile, Repository
from tech_writer.repository.symbols import (
    SourceParseError,
    Symbol,
    UnsupportedLanguage,
    extract_symbols,
    language_for,
)

__all__ = ["Entity", "RepoIndex", "parse_entity"]

# Bounds, so a huge repository costs seconds, not minutes: the files parsed for symbols and the
# bytes read for words (the listing itself is already capped by the repository).
MAX_SYMBOL_FILES = 5000
MAX_WORD_BYTES = 64 * 1024 * 1024
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_PATH = re.compile(r"\.?/?[\w.\-]+(?:/[\w.\-]+)*/?")
_NOT_NAMES = frozenset(keyword.kwlist) | frozenset(dir(builtins)) | {"self", "cls", "true", "false", "null"}


@dataclass(frozen=True)
class Entity:
    """A name the report uses: ``kind`` is ``"path"`` or ``"identifier"``; ``name`` is normalised
    (``bar()`` → ``bar``, ``./a/`` → ``a``); ``text`` is what the report wrote."""

    kind: str
    name: str
    text: str

    @property
    def last_part(self) -> str:
        if self.kind == "path":
            return posixpath.basename(self.name)
        return self.name.rsplit(".", 1)[-1]


def parse_entity(code: str, extensions: frozenset[str]) -> Entity | None:
    """The name in one inline-code span, or None when it is not a name (a command, a flag, ...)."""
    text = code.strip()
    call = _DOTTED.match(text)
    bare = text[:call.end()] if call and text[call.end():call.end() + 1] == "(" and text.endswith(")") else text
    if not bare or any(ch.isspace() for ch in bare):
        return None
    if "/" in bare and _PATH.fullmatch(bare) and not bare.startswith("//"):
        if bare.startswith("/") and "." not in posixpath.basename(bare.rstrip("/")):
            return None  # an endpoint or a system path (`/models`, `/etc/hosts`), not a file here
        name = bare.removeprefix("./").strip("/")
        return Entity("path", name, text) if name and ".." not in name.split("/") else None
    if not _DOTTED.fullmatch(bare):
        return None
    suffix = bare.rsplit(".", 1)[-1].lower() if "." in bare else ""
    if suffix and suffix in extensions:  # README.md, pyproject.toml
        return Entity("path", bare, text)
    if bare in _NOT_NAMES or len(bare) < 2:
        return None
    return Entity("identifier", bare, text)


@dataclass
class RepoIndex:
    """Paths, definitions and words of a repository (see the module docstring)."""

    paths: frozenset[str]
    directories: frozenset[str]
    # Every trailing run of path components of every file and directory: `encoding.py`,
    # `itsdangerous/encoding.py` and `itsdangerous` name `src/itsdangerous/encoding.py`'s parts,
    # as a reader writes a module's path relative to its package.
    tails: frozenset[str]
    extensions: frozenset[str]
    qualified_symbols: frozenset[str]
    simple_symbols: frozenset[str]
    words: frozenset[str]
    symbol_files: int = 0
    notes: list[str] = field(default_factory=list)
    # Each parsed source file's definitions (where each name is): the gate anchors claims to them.
    symbols: dict[str, tuple[Symbol, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, repo: Repository, exclude: frozenset[str] = frozenset()) -> RepoIndex:
        """``exclude``: listed paths to leave out (the report itself, when it lies in the repository:
        its own words must not vouch for it)."""
        paths = [path for path in repo.list_files() if path not in exclude]
        directories = {posixpath.dirname(p) for p in paths}
        for directory in list(directories):
            while directory:
                directories.add(directory)
                directory = posixpath.dirname(directory)
        directories.discard("")
        qualified: set[str] = set()
        symbols: dict[str, tuple[Symbol, ...]] = {}
        words: set[str] = set()
        parsed = 0
        read_bytes = 0
        notes = []
        for path in paths:
            language = language_for(path)
            if read_bytes >= MAX_WORD_BYTES and (language is None or parsed >= MAX_SYMBOL_FILES):
                continue
            try:
                file = repo.read_text(path)
            except (OSError, BinaryFile, ValueError):
                continue
            if read_bytes < MAX_WORD_BYTES:
                words.update(_WORD.findall(file.text))
                read_bytes += len(file.text)
            if language is not None and parsed < MAX_SYMBOL_FILES:
                parsed += 1
                try:
                    symbols[path] = tuple(extract_symbols(path, file.text).symbols)
                except (UnsupportedLanguage, SourceParseError, SyntaxError, ValueError):
                    continue
                qualified.update(symbol.name for symbol in symbols[path])
        if read_bytes >= MAX_WORD_BYTES:
            notes.append(f"words read from the first {MAX_WORD_BYTES // 2**20} MB of files only")
        if parsed >= MAX_SYMBOL_FILES:
            notes.append(f"symbols of the first {MAX_SYMBOL_FILES} source files only")
        simple = {name.rsplit(".", 1)[-1] for name in qualified}
        extensions = {posixpath.splitext(p)[1].lstrip(".").lower() for p in paths}
        extensions.discard("")
        tails = {"/".join(parts[i:]) for path in (*paths, *directories)
                 for parts in [path.split("/")] for i in range(len(parts))}
        return cls(frozenset(paths), frozenset(directories), frozenset(tails), frozenset(extensions),
                   frozenset(qualified), frozenset(simple), frozenset(words), parsed, notes,
                   symbols)

    def parse(self, code: str) -> Entity | None:
        return parse_entity(code, self.extensions)

    def lookup(self, entity: Entity) -> str | None:
        """How the repository knows the name: ``"symbol"``, ``"path"``, ``"text"``, or None."""
        if entity.kind == "path":
            name = entity.name
            if name in self.paths or name in self.directories or name.strip("/") in self.tails:
                return "path"
            return None
        name = entity.name
        if name in self.qualified_symbols or entity.last_part in self.simple_symbols:
            return "symbol"
        as_path = name.replace(".", "/")
        if (as_path + ".py" in self.tails or as_path in self.tails
                or as_path.rpartition("/")[0] + ".py" in self.tails and "." in name):
            return "path"
        if all(part in self.words for part in name.split(".")):
            return "text"
        return None
