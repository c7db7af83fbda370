"""What kind of file a repository path is, judged from its name alone."""

from __future__ import annotations

import functools
from pathlib import PurePosixPath
from typing import Literal

__all__ = [
    "ENTRY_STEMS",
    "FRONT_DOORS",
    "MANIFEST_NAMES",
    "SOURCE_SUFFIXES",
    "FileRole",
    "file_role",
    "is_front_door",
    "is_readme",
    "language_of",
]

FileRole = Literal["readme", "docs", "manifest", "source", "test", "other"]

MANIFEST_NAMES = frozenset(
    {
        "pyproject.toml",
        "package.json",
        "Cargo.toml",
        "go.mod",
        "setup.py",
        "setup.cfg",
        "pom.xml",
        "build.gradle",
        "build.gradle.kts",
        "Gemfile",
        "composer.json",
        "CMakeLists.txt",
    }
)
_LANGUAGES = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".ts": "javascript",
    ".tsx": "javascript",
    ".mts": "javascript",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".kt": "java",
    ".scala": "java",
    ".cs": "java",
    ".swift": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "c",
    ".cpp": "c",
    ".hpp": "c",
    ".rb": "ruby",
    ".php": "php",
    ".lua": "lua",
    ".sh": "shell",
}
SOURCE_SUFFIXES = frozenset(_LANGUAGES)
# Names that usually hold a program's entry point or its public surface.
ENTRY_STEMS = ("__main__", "main", "cli", "app", "__init__", "index", "lib", "mod", "server")
_DOC_SUFFIXES = frozenset({".md", ".rst", ".txt", ".adoc"})
_TEST_DIRS = frozenset({"test", "tests", "__tests__", "spec", "specs", "testing"})


# A package's front door: what importing the package runs, usually re-exports of its API.
FRONT_DOORS = frozenset({"__init__.py", "index.js", "index.ts", "lib.rs", "mod.rs"})


def is_front_door(path: str) -> bool:
    return PurePosixPath(path).name in FRONT_DOORS


@functools.lru_cache(maxsize=65536)
def is_readme(path: str) -> bool:
    return PurePosixPath(path).name.lower().startswith("readme")


@functools.lru_cache(maxsize=65536)
def language_of(path: str) -> str | None:
    return _LANGUAGES.get(PurePosixPath(path).suffix.lower())


def _is_test(pure: PurePosixPath) -> bool:
    name = pure.name.lower()
    if any(part.lower() in _TEST_DIRS for part in pure.parts[:-1]):
        return True
    if name.startswith("test_") or name == "conftest.py":
        return True
    stem = pure.stem.lower()
    return stem.endswith(("_test", ".test", ".spec", "_spec"))


@functools.lru_cache(maxsize=65536)  # called per path, many times a turn
def file_role(path: str) -> FileRole:
    pure = PurePosixPath(path)
    if is_readme(path):
        return "readme"
    if pure.name in MANIFEST_NAMES:
        return "manifest"
    if pure.suffix.lower() in SOURCE_SUFFIXES:
        return "test" if _is_test(pure) else "source"
    if pure.suffix.lower() in _DOC_SUFFIXES:
        return "docs"
    return "other"
