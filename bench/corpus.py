"""A generated big repository for the search and listing benchmarks.

``files`` text files of 20-80 lines (about 2 KiB each) in a two-level tree, as a git work tree
with everything committed, plus what a search must leave out: an ignored ``build/`` directory and
a binary file, both containing the needle, and lower-case look-alikes of the needle (the query
has an upper-case letter, so smart case makes it case-sensitive). The needle is planted on one
line of :data:`PLANTED_FILES` files, so a search finds fewer matches than any tool's cap and every
engine must return all of them.
"""

from __future__ import annotations

import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["NEEDLE", "PLANTED_FILES", "Corpus", "make_corpus"]

NEEDLE = "QuasarFlux"
PLANTED_FILES = 40
_FILES_PER_DIR = 100
_SUBDIRS_PER_TOP = 20
_IGNORED_FILES = 25
_WORDS = (
    "alpha", "beta", "gamma", "delta", "route", "parcel", "depot", "store", "index", "cache",
    "token", "query", "value", "result", "config", "loader", "parser", "render", "window",
    "buffer", "stream", "socket", "thread", "worker", "queue", "signal", "handler", "event",
    "record", "schema", "column", "table", "field", "vector", "matrix", "tensor", "graph",
    "node", "edge", "weight", "score", "filter", "mapper", "reducer", "client", "server",
    "request", "response"
)
_EXTENSIONS = (".py", ".py", ".md", ".txt", ".js", ".go")
_POOL_LINES = 4096
_GIT_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Corpus:
    root: Path
    files: int  # searchable files (the ignored and binary ones are extra)
    planted: int  # lines holding the needle among the searchable files
    size_bytes: int


def make_corpus(root: Path, files: int, *, seed: int = 20240607) -> Corpus:
    """Write the corpus under ``root`` (created); deterministic for a given ``files`` and seed."""
    rng = random.Random(seed)
    pool = [_pool_line(rng, index) for index in range(_POOL_LINES)]
    every = max(1, files // PLANTED_FILES)
    planted = 0
    size = 0
    for index in range(files):
        top, rest = divmod(index, _FILES_PER_DIR * _SUBDIRS_PER_TOP)
        sub, number = divmod(rest, _FILES_PER_DIR)
        path = root / f"pkg{top:03d}" / f"sub{sub:02d}" / f"m{number:03d}{_EXTENSIONS[index % 6]}"
        lines = rng.choices(pool, k=rng.randint(20, 80))
        if index % every == every // 2 and planted < PLANTED_FILES:
            lines[len(lines) // 2] = f"    result = {NEEDLE}(config).render()  # planted {index}"
            planted += 1
        elif index % 997 == 5:
            lines[0] = f"# {NEEDLE.lower()}: a lower-case look-alike that smart case must skip"
        data = ("\n".join(lines) + "\n").encode()
        if number == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        size += len(data)
    _write_excluded(root)
    commit_all(root, "corpus")
    return Corpus(root, files, planted, size)


def _pool_line(rng: random.Random, index: int) -> str:
    words = " ".join(rng.choices(_WORDS, k=rng.randint(3, 9)))
    indent = "    " * (index % 3)
    return f"{indent}{words}_{index} = {rng.randint(0, 10**6)}"


def _write_excluded(root: Path) -> None:
    """Needle-bearing files every engine must skip: git-ignored ones and a binary one."""
    (root / ".gitignore").write_text("build/\n*.log\n", encoding="utf-8")
    build = root / "build"
    build.mkdir(exist_ok=True)
    for index in range(_IGNORED_FILES):
        (build / f"gen{index:02d}.py").write_text(f"{NEEDLE}()  # ignored\n", encoding="utf-8")
    (root / "pkg000" / "blob.bin").write_bytes(b"\x00\x01binary\n" + NEEDLE.encode() + b"\n")


def commit_all(root: Path, message: str, timeout_s: float = _GIT_TIMEOUT_S) -> None:
    """Make ``root`` a git repository with everything in it committed once, as a throwaway
    identity and whatever the user's git configuration says about signing or fsmonitor.

    Automatic gc is off: after a commit of 50k loose objects git would start ``gc --auto`` in
    the background, still writing in ``.git/objects`` while the benchmark deletes the directory
    (seen as "Directory not empty: 'objects'")."""
    git = ["git", "-c", "user.email=bench@example.invalid", "-c", "user.name=bench",
           "-c", "commit.gpgsign=false", "-c", "core.fsmonitor=false", "-c", "gc.auto=0",
           "-c", "maintenance.auto=false"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", message]):
        subprocess.run([*git, *args], cwd=root, check=True, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=timeout_s)
