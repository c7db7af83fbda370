"""A repository of 100k files: listing, structure and search stay fast, small in memory, and say
when a cap cut them. The tree is generated in about a second (100k tiny files, mostly identical,
so ``git add`` stores one blob), once as a git work tree and once as a plain directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest

from tech_writer.repository.repo import Repository, ToolCaps
from tech_writer.repository.search.text import ENGINE_PYTHON, available_engines, search_text
from tech_writer.repository.tools import RepoTools

FILES = 100_000
FILES_PER_DIR = 100
RARE = "RareMarker"
RARE_EVERY = 9973  # file numbers divisible by this hold the rare marker: 11 of them
COMMON = "return"
MiB = 1024 * 1024
SHM = "/dev/shm"
# Bounds with room for a slow, shared CI machine; measured here: listing 0.25 s, peaks 9-20 MiB.
LIST_SECONDS = 8.0
PEAK_BYTES = 64 * MiB

T = TypeVar("T")


def _make_tree(root: Path, files: int = FILES) -> Path:
    body = b"def f():\n    return 1\n"
    for directory in range(files // FILES_PER_DIR):
        path = root / f"pkg{directory // 100:03d}" / f"m{directory % 100:02d}"
        os.makedirs(path)
        directory_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for index in range(FILES_PER_DIR):
                number = directory * FILES_PER_DIR + index
                fd = os.open(f"f{index:03d}.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=directory_fd)
                os.write(fd, body + (f"{RARE} = {number}\n".encode() if number % RARE_EVERY == 0 else b""))
                os.close(fd)
        finally:
            os.close(directory_fd)
    return root


def _rare_paths() -> list[str]:
    paths = []
    for number in range(0, FILES, RARE_EVERY):
        directory, index = divmod(number, FILES_PER_DIR)
        paths.append(f"pkg{directory // 100:03d}/m{directory % 100:02d}/f{index:03d}.py")
    return sorted(paths)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory in RAM when there is one: creating 100k files on a disk under write-back
    pressure takes 10-20 s instead of 0.5 s. Removed afterwards (400 MB of RAM while it lives)."""
    if os.path.isdir(SHM) and os.access(SHM, os.W_OK):
        directory = Path(tempfile.mkdtemp(prefix="tech-writer-big-", dir=SHM))
        try:
            yield directory
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("big")


@pytest.fixture(scope="module")
def big(scratch: Path) -> Path:
    """The 100k-file tree as a git work tree (every file staged)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = _make_tree(scratch / "git")
    for args in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, timeout=120)
    return root


@pytest.fixture(scope="module")
def big_plain(scratch: Path) -> Path:
    """The 100k-file tree as a plain directory (listed by walking it)."""
    return _make_tree(scratch / "plain")


def _peak(action: Callable[[], T]) -> tuple[T, int]:
    """What ``action`` returned and the peak of Python memory it allocated."""
    tracemalloc.start()
    try:
        result = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def _listed(root: Path, **caps: int) -> Repository:
    repo = Repository(root, caps=replace(ToolCaps(), **caps))
    repo.list_files()
    return repo


@pytest.mark.parametrize("tree", ["big", "big_plain"])
def test_listing_100k_files_is_fast_and_small(tree: str, request: pytest.FixtureRequest) -> None:
    root: Path = request.getfixturevalue(tree)
    started = time.perf_counter()
    repo = Repository(root)
    files = repo.list_files()
    elapsed = time.perf_counter() - started
    assert len(files) == FILES and files == sorted(files)
    assert repo.listing_source == ("git" if tree == "big" else "walk")
    assert elapsed < LIST_SECONDS, f"listing {FILES} files took {elapsed:.1f} s"
    _, peak = _peak(Repository(root).list_files)
    assert peak < PEAK_BYTES, f"listing peaked at {peak / MiB:.0f} MiB"
    assert repo.file_size(files[0]) == len(b"def f():\n    return 1\n") + len(f"{RARE} = 0\n")


def test_listing_and_structure_tools_state_their_caps(big: Path) -> None:
    tools = RepoTools(_listed(big))
    listing = tools.execute("list_files", {"pattern": "*.py"})
    lines = listing.text.splitlines()
    assert listing.truncated and len(lines) == tools.caps.max_listed + 1
    assert lines[-1] == f"[truncated: showing 500 of {FILES} files; narrow the listing with pattern or path]"
    structure, peak = _peak(lambda: tools.execute("get_structure", {}))
    assert peak < PEAK_BYTES, f"get_structure peaked at {peak / MiB:.0f} MiB"
    lines = structure.text.splitlines()
    assert lines[0] == f"./ ({FILES} files)" and structure.truncated
    assert len(lines) == tools.caps.structure_max_entries + 2  # header, entries, trailer
    assert lines[-1].startswith("[truncated: showing 300 entries; call get_structure with the path")
    narrow = tools.execute("get_structure", {"path": "pkg003/m07"})
    assert narrow.text.splitlines()[0] == "pkg003/m07/ (100 files)" and "… and 80 more files" in narrow.text


def test_a_listing_over_its_cap_says_so(big: Path) -> None:
    tools = RepoTools(_listed(big, max_listed_files=60_000))
    assert tools.repo.files_capped and len(tools.repo.list_files()) == 60_000
    trailer = tools.execute("list_files", {"path": "pkg000"}).text.splitlines()[-1]
    assert trailer.startswith("[truncated: showing 500 of 10000 files")
    assert tools.execute("list_files", {"path": "pkg000/m00"}).text.splitlines()[-1] == (
        "[truncated: the repository has more than 60000 files; only the first ones in sorted order are known]"
    )


def test_search_on_100k_files_is_bounded_exact_and_the_same_for_every_engine(big: Path) -> None:
    repo = _listed(big)
    expected_rare = [(path, 3) for path in _rare_paths()]
    rare = search_text(repo, RARE, engine=ENGINE_PYTHON)  # reads all 100k files
    assert [(m.path, m.line) for m in rare.matches] == expected_rare
    assert rare.files_searched == FILES and not rare.truncated
    common = search_text(repo, COMMON, engine=ENGINE_PYTHON)
    assert common.truncated and [m.line for m in common.matches] == [2] * 100
    for engine in available_engines(repo):
        # Memory of the search itself; the python engine on a tenth of the tree (tracing is slow).
        glob = "pkg000/*" if engine == ENGINE_PYTHON else "*"
        found, peak = _peak(partial(search_text, repo, RARE, glob, engine=engine))
        assert peak < PEAK_BYTES, f"{engine}: a search peaked at {peak / MiB:.0f} MiB"
        assert found.matches == [m for m in rare.matches if glob == "*" or m.path.startswith("pkg000/")], engine
        assert search_text(repo, COMMON, engine=engine).matches == common.matches, engine
    fresh = search_text(Repository(big), RARE)  # the default engine, listing included
    assert fresh.matches == rare.matches


def test_search_caps_are_stated_in_the_tool_output(big: Path) -> None:
    tools = RepoTools(_listed(big))
    common = tools.execute("search_text", {"query": COMMON}).text.splitlines()
    assert common[0] == f"First matches for {COMMON!r} (case-insensitive):"
    assert common[-1] == (
        "[truncated: showing 100 of more than 100 matching lines; narrow the search with path_glob or a longer query]"
    )
    budgeted = RepoTools(_listed(big, max_search_bytes=MiB))
    rare = budgeted.execute("search_text", {"query": RARE})
    assert rare.truncated and rare.text.splitlines()[-1] == (
        "[truncated: stopped after reading 1 MiB; narrow the search with path_glob]"
    )


DEMO_SECONDS = 120.0  # a loose bound for a shared machine; python -m bench measures the run


def test_the_demo_report_on_100k_files_is_bounded(big: Path) -> None:
    """The scripted model samples, it does not walk: its calls and their answers stay the same
    size whatever the repository's size (bounded memory); ``python -m bench`` times it."""
    from tech_writer.demo import DemoModel, FakeOpenRouter
    from tech_writer.llm.client import LLMClient
    from tech_writer.pipeline.run import run_pipeline
    from tech_writer.report.citations import verify_citations

    prompt = (Path(__file__).resolve().parents[2] / "tech_writer" / "examples"
              / "architecture.md").read_text()

    def run() -> tuple[str, list[int]]:
        with FakeOpenRouter(DemoModel(), api_key="sk-or-big") as server:
            llm = LLMClient("openai/gpt-5.1", "openrouter", "sk-or-big", server.base_url)
            with llm:
                report, _store, _cost = run_pipeline(prompt, big, llm=llm)
            return report, [call.prompt_tokens for call in server.ledger]

    started = time.perf_counter()
    report, prompts = run()
    elapsed = time.perf_counter() - started
    assert report.startswith(f"# Architecture overview: {big.name}\n")
    checks = verify_citations(report, Repository(big))
    assert checks.checks and checks.invalid == 0
    assert len(prompts) <= 40 and max(prompts) < 30_000  # no call carries the whole listing
    assert elapsed < DEMO_SECONDS, f"the demo run took {elapsed:.1f} s"
