"""Hostile repositories: every tool and the citation checker, on trees built to escape, hang or flood.

One repository holds every trap, as a plain directory and as a git work tree:

- symlinks out of the repository, to a file and to a directory, and to /dev/null and /dev/zero;
- ``..`` and absolute paths; ``.git`` internals holding a secret (and a ``.GIT`` look-alike);
- a 400 MB sparse text file and a 300 MB sparse hole (no real disk use), a binary file;
- a FIFO (and a character device when the system lets us make one);
- a non-UTF-8 file name with a newline in it, non-UTF-8 content, names that look like options;
- a tree 200 directories deep.

Every tool must answer without reading outside the root, without blocking, in bounded time and
memory, and say so when a cap cut its answer. The secret text outside the repository must never
appear in any output.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tech_writer.report.citations import verify_citations
from tech_writer.repository.paths import display_path
from tech_writer.repository.repo import Repository, ToolCaps
from tech_writer.repository.search.text import available_engines, search_text
from tech_writer.repository.tools import RepoTools, ToolResult

SECRET = "OUTSIDE_SECRET_7f3a"
NEEDLE = "needle"
HAS_GIT = shutil.which("git") is not None
HUGE_TEXT_HEAD_LINES = 1000  # 12 KB of text before the hole, so the file counts as text
DEEP_LEVELS = 200
DEEP_DIR = "/".join(["d"] * DEEP_LEVELS)
ODD_NAME = os.fsdecode(b"caf\xe9\nname.py")  # latin-1 byte and a newline in the name
ODD_NAME_SHOWN = "caf\\xe9\\x0aname.py"  # how listings show it (and how the model writes it back)
OPTION_NAMES = ("-rf.txt", "--help.md")
TIME_BOUND_S = 10.0  # "no hang": generous for a loaded CI machine, tiny next to a real hang

# Paths a model might ask for that must never be read.
ESCAPES = [
    "leak.txt", "leak.py", "leakdir/secret.txt", "leakdir", "null.txt", "zero.py",
    "../outside/secret.txt", "src/../../outside/secret.txt", "/etc/passwd", "C:\\Windows\\win.ini",
    ".git/config", "./.git/config", ".GIT/config", "git_link/config", "src/up/outside/secret.txt",
]


# --- the hostile tree ---------------------------------------------------------------------------
def _build(base: Path, *, git: bool) -> Path:
    root, outside = base / "repo", base / "outside"
    (root / "src").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text(f"{SECRET} {NEEDLE}\n")
    (outside / "secret.py").write_text(f"import os\ndef {SECRET}():\n    return '{NEEDLE}'\n")
    (root / "src" / "app.py").write_text(f"import os\n\n\ndef main():\n    return '{NEEDLE}'\n")
    (root / "latin1.txt").write_bytes(b"caf\xe9 " + NEEDLE.encode() + b"\n\xff\xfe\n")
    (root / ODD_NAME).write_bytes(b"# caf\xe9\nimport sys\nx = '" + NEEDLE.encode() + b"'\n")
    for name in OPTION_NAMES:
        (root / name).write_text(f"{NEEDLE} in {name}\n")
    (root / "bin.dat").write_bytes(b"\x00\x01" + NEEDLE.encode() + b"\x00")
    deep = root / DEEP_DIR
    deep.mkdir(parents=True)
    (deep / "deep.py").write_text(f"def deep():\n    return '{NEEDLE}'\n")
    if git:
        _git(root, "init", "-q")
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", "hostile")
    (root / ".git").mkdir(exist_ok=True)
    with open(root / ".git" / "config", "a", encoding="utf-8") as handle:  # credentials live here
        handle.write(f"[remote \"origin\"]\n\turl = https://{SECRET}@example.com/{NEEDLE}\n")
    (root / ".GIT").mkdir()
    (root / ".GIT" / "config").write_text(f"{SECRET} {NEEDLE}\n")
    # The traps git would not commit, or that must not be hashed: made after the commit.
    os.symlink(outside / "secret.txt", root / "leak.txt")
    os.symlink(outside / "secret.py", root / "leak.py")
    os.symlink(outside, root / "leakdir")
    os.symlink("/dev/null", root / "null.txt")
    os.symlink("/dev/zero", root / "zero.py")
    os.symlink(root / ".git", root / "git_link")
    os.symlink("../..", root / "src" / "up")
    os.symlink("src/app.py", root / "inside_link.py")  # stays inside: allowed
    os.mkfifo(root / "pipe.py")
    with open(root / "huge.py", "wb") as handle:  # 400 MB, almost all of it a hole
        handle.write(f"x = '{NEEDLE}'\n".encode() * HUGE_TEXT_HEAD_LINES)
        handle.truncate(400 * 1024 * 1024)
    with open(root / "hole.bin", "wb") as handle:
        handle.truncate(300 * 1024 * 1024)
    try:  # /dev/zero's numbers: reading it would never end
        os.mknod(root / "zero_device.txt", 0o600 | stat.S_IFCHR, os.makedev(1, 5))
    except (PermissionError, OSError):
        pass
    return root


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "init.defaultBranch=main",
         "-C", str(root), *args],
        check=True, capture_output=True, timeout=60,
    )


@pytest.fixture(scope="module", params=["walk", "git"])
def hostile(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if request.param == "git" and not HAS_GIT:
        pytest.skip("git is not installed")
    return _build(tmp_path_factory.mktemp(f"hostile-{request.param}"), git=request.param == "git")


def _tools(root: Path, **caps: int) -> RepoTools:
    return RepoTools(Repository(root, caps=ToolCaps(**caps)))


def _bounded(action: Callable[[], Any], seconds: float = TIME_BOUND_S) -> Any:
    """Run ``action`` in a thread; fail (instead of hanging the suite) if it does not finish."""
    outcome: list[Any] = []
    worker = threading.Thread(target=lambda: outcome.append(action()), daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s: it blocked"
    assert outcome, "the action raised (see the thread's traceback above)"
    assert time.monotonic() - started < seconds
    return outcome[0]


def _clean(result: ToolResult) -> str:
    """The result text, after checking it leaks nothing and is valid UTF-8."""
    result.text.encode("utf-8")
    assert SECRET not in result.text
    return result.text


def _every_output(root: Path) -> Iterator[tuple[str, dict[str, Any], ToolResult]]:
    tools = _tools(root)
    calls: list[tuple[str, dict[str, Any]]] = [("list_files", {}), ("get_structure", {})]
    calls += [("search_text", {"query": query}) for query in (NEEDLE, SECRET, SECRET.lower())]
    for path in [*ESCAPES, "pipe.py", "huge.py", "hole.bin", "bin.dat", "zero_device.txt", ODD_NAME_SHOWN]:
        calls += [(tool, {"path": path}) for tool in ("read_file", "get_symbols", "get_imports")]
    calls += [(tool, {"path": path}) for tool in ("list_files", "get_structure") for path in ESCAPES]
    for name, arguments in calls:
        yield name, arguments, _bounded(partial(tools.execute, name, arguments))


# --- listing --------------------------------------------------------------------------------------
def test_the_listing_holds_only_readable_files_inside(hostile: Path) -> None:
    listed = set(Repository(hostile).list_files())
    expected = {"src/app.py", "latin1.txt", ODD_NAME, *OPTION_NAMES, "bin.dat", f"{DEEP_DIR}/deep.py",
                "inside_link.py", "huge.py", "hole.bin"}
    assert listed == expected
    # Nothing that leads out, nothing that blocks, nothing of .git:
    assert not listed & {"leak.txt", "leak.py", "null.txt", "zero.py", "pipe.py", "zero_device.txt", "git_link"}


def test_no_tool_output_ever_holds_the_secret(hostile: Path) -> None:
    for name, arguments, result in _every_output(hostile):
        result.text.encode("utf-8")
        if SECRET.lower() in arguments.get("query", "").lower():  # only the query may echo it
            assert result.text.startswith("(no matches for "), (name, arguments, result.text)
        else:
            assert SECRET not in result.text, (name, arguments, result.text)


# --- symlinks, '..', absolute paths, .git -----------------------------------------------------------
@pytest.mark.parametrize("tool", ["read_file", "get_symbols", "get_imports"])
def test_escapes_are_refused_by_the_file_tools(hostile: Path, tool: str) -> None:
    tools = _tools(hostile)
    for path in ESCAPES:
        result = tools.execute(tool, {"path": path})
        assert result.is_error and "refused" in _clean(result), (path, result.text)


@pytest.mark.parametrize("tool", ["list_files", "get_structure"])
def test_escapes_are_refused_by_the_directory_tools(hostile: Path, tool: str) -> None:
    tools = _tools(hostile)
    for path in ["leakdir", "..", "/", "/etc", ".git", ".GIT", "git_link", "src/up", "../outside"]:
        result = tools.execute(tool, {"path": path})
        assert result.is_error and "refused" in _clean(result), (path, result.text)


def test_search_never_reads_outside_or_inside_git(hostile: Path) -> None:
    repo = Repository(hostile)
    for engine in available_engines(repo):
        for query in (SECRET, SECRET.lower(), "example.com"):
            assert search_text(Repository(hostile), query, engine=engine).matches == [], (engine, query)
        for glob in ("*", "leak*", "leakdir/*", ".git/*", "*config", "../*", "/etc/*"):
            paths = {match.path for match in search_text(repo, NEEDLE, glob, engine=engine).matches}
            assert not any(path.startswith(("leak", ".git", ".GIT", "git_link", "src/up", "/")) for path in paths)


def test_the_symlink_that_stays_inside_is_followed(hostile: Path) -> None:
    tools = _tools(hostile)
    assert _clean(tools.execute("read_file", {"path": "inside_link.py"})).startswith("inside_link.py: lines 1-5 of 5")
    assert "def main()" in tools.execute("get_symbols", {"path": "inside_link.py"}).text
    for engine in available_engines():
        found = search_text(Repository(hostile), "return", "inside_link.py", engine=engine).matches
        assert [(m.path, m.line) for m in found] == [("inside_link.py", 5)]


def test_citations_to_escapes_are_invalid_and_say_why(hostile: Path) -> None:
    markdown = " ".join(f"[{path}:1]" for path in ESCAPES if ":" not in path and "\\" not in path)
    report = _bounded(lambda: verify_citations(markdown, Repository(hostile)))
    assert report.total > 0 and report.valid == 0
    assert {check.reason for check in report.checks} <= {"outside repository", "file not found", "not a file"}


# --- FIFOs and devices ------------------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifos_and_devices_never_block(hostile: Path) -> None:
    tools = _tools(hostile)
    special = ["pipe.py"] + (["zero_device.txt"] if (hostile / "zero_device.txt").exists() else [])
    for path in special:
        for tool in ("read_file", "get_symbols", "get_imports"):
            result = _bounded(partial(tools.execute, tool, {"path": path}))
            assert result.is_error and "not a regular file" in result.text, (tool, path)
        assert _bounded(partial(Repository(hostile).probe, path)).problem == "not a file"
        report = _bounded(partial(verify_citations, f"see [{path}:1]", Repository(hostile)))
        assert report.checks[0].reason == "not a file"
    for engine in available_engines():
        _bounded(partial(search_text, Repository(hostile), NEEDLE, engine=engine))  # a walk skips them


# --- huge, sparse and binary files --------------------------------------------------------------
def test_huge_sparse_files_are_read_in_bounded_time_and_memory(hostile: Path) -> None:
    tools = _tools(hostile)
    tracemalloc.start()
    try:
        first = _bounded(lambda: tools.execute("read_file", {"path": "huge.py"}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024, f"read_file of a 400 MB file peaked at {peak / 2**20:.0f} MiB"
    lines = _clean(first).splitlines()
    # Lines are counted in the first 256 MiB only (the hole is one long last line), and it says so.
    assert lines[0] == f"huge.py: lines 1-400 of {HUGE_TEXT_HEAD_LINES + 1}"
    assert lines[-1] == (
        "[truncated: showing lines 1-400 of 1001; call read_file with start_line=401 to continue; the file "
        "has 419430400 bytes and only its first 256 MiB were counted, so it has at least 1001 lines]"
    )
    past = _clean(tools.execute("read_file", {"path": "huge.py", "start_line": HUGE_TEXT_HEAD_LINES + 1}))
    assert "larger than the 2 MiB read limit" in past
    assert "only the first 2 MiB of the file was parsed" in _clean(tools.execute("get_imports", {"path": "huge.py"}))
    assert "binary file" in tools.execute("read_file", {"path": "hole.bin"}).text
    report = verify_citations("[huge.py:5] [huge.py:1001] [huge.py:1002] [hole.bin:1]", Repository(hostile))
    assert [check.reason for check in report.checks] == [
        None, None, "end past the checked part of a very large file (1001 lines checked)", "binary file"]


def test_a_large_enough_scan_limit_counts_a_huge_file_exactly(hostile: Path) -> None:
    caps = {"max_scan_bytes": 512 * 1024 * 1024}
    result = _bounded(lambda: _tools(hostile, **caps).execute("read_file", {"path": "huge.py", "start_line": 999}))
    assert _clean(result).splitlines() == [
        "huge.py: lines 999-1000 of 1001", f"999\tx = '{NEEDLE}'", f"1000\tx = '{NEEDLE}'",
        "[truncated: lines after 1000 are beyond the 2 MiB read limit for this file]",
    ]
    report = verify_citations("[huge.py:1001] [huge.py:1002]", Repository(hostile, caps=ToolCaps(**caps)))
    assert [check.reason for check in report.checks] == [None, "end past last line (1001 lines)"]


def test_search_skips_huge_and_binary_files_and_says_so(hostile: Path) -> None:
    for engine in available_engines():
        result = _bounded(partial(search_text, Repository(hostile), NEEDLE, engine=engine))
        assert result.skipped_large == 2 and result.skipped_binary == 1, engine
        assert not {"huge.py", "hole.bin", "bin.dat"} & {match.path for match in result.matches}
    header = _clean(_tools(hostile).execute("search_text", {"query": NEEDLE})).splitlines()[0]
    assert header.endswith("; 2 files over 2 MiB skipped, 1 binary file with matches not shown:")


def test_binary_files_are_refused_by_every_file_tool(hostile: Path) -> None:
    tools = _tools(hostile)
    for tool in ("read_file", "get_symbols", "get_imports"):
        assert "bin.dat is a binary file" in tools.execute(tool, {"path": "bin.dat"}).text


# --- names and content that are not UTF-8, names that look like options ----------------------------
def test_non_utf8_names_and_content_work_through_every_tool(hostile: Path) -> None:
    tools = _tools(hostile)
    assert ODD_NAME_SHOWN in _clean(tools.execute("list_files", {})).splitlines()
    assert ODD_NAME_SHOWN in _clean(tools.execute("get_structure", {}))
    read = _clean(tools.execute("read_file", {"path": ODD_NAME_SHOWN}))  # the name as the model saw it
    assert read.splitlines()[:2] == [f"{ODD_NAME_SHOWN}: lines 1-3 of 3", "1\t# caf\ufffd"]
    assert "2\timport sys" in _clean(tools.execute("get_imports", {"path": ODD_NAME_SHOWN}))
    assert _clean(tools.execute("read_file", {"path": "latin1.txt"})).splitlines()[1] == f"1\tcaf\ufffd {NEEDLE}"
    for engine in available_engines():
        found = {(m.path, m.line) for m in search_text(Repository(hostile), NEEDLE, engine=engine).matches}
        assert {(ODD_NAME, 3), ("latin1.txt", 1)} <= found, engine
    shown = _clean(tools.execute("search_text", {"query": NEEDLE}))
    assert f"{ODD_NAME_SHOWN}:3: x = '{NEEDLE}'" in shown.splitlines()
    report = verify_citations(f"[{ODD_NAME_SHOWN}:1-3] [latin1.txt:2]", Repository(hostile))
    assert report.valid == 2


def test_names_that_look_like_options_are_just_names(hostile: Path) -> None:
    for engine in available_engines():
        found = {m.path for m in search_text(Repository(hostile), NEEDLE, "-*", engine=engine).matches}
        assert found == set(OPTION_NAMES), engine
    tools = _tools(hostile)
    assert _clean(tools.execute("read_file", {"path": "--help.md"})).startswith("--help.md: lines 1-1 of 1")


# --- deep trees -----------------------------------------------------------------------------------
def test_a_tree_200_levels_deep_works_through_every_tool(hostile: Path) -> None:
    tools = _tools(hostile)
    deep_file = f"{DEEP_DIR}/deep.py"
    assert _clean(tools.execute("read_file", {"path": deep_file})).startswith(f"{deep_file}: lines 1-2 of 2")
    assert "def deep()" in _clean(tools.execute("get_symbols", {"path": deep_file}))
    structure = _clean(tools.execute("get_structure", {})).splitlines()
    assert len(structure) < 40 and max(len(line) - len(line.lstrip()) for line in structure) <= 2 * 3  # 3 levels
    for engine in available_engines():
        found = search_text(Repository(hostile), NEEDLE, engine=engine).matches
    assert (deep_file, 2) in {(m.path, m.line) for m in found}
    assert verify_citations(f"[{deep_file}:1-2]", Repository(hostile)).valid == 1


@pytest.fixture
def deep_tmp(tmp_path: Path) -> Iterator[Path]:
    """tmp_path, emptied afterwards by ``rm -r``: pytest's own clean-up recurses once per level."""
    yield tmp_path
    subprocess.run(["rm", "-rf", str(tmp_path / "d")], check=False, timeout=60)


@pytest.mark.parametrize("git", [False, True])
def test_a_tree_deeper_than_the_recursion_limit_does_not_crash(deep_tmp: Path, git: bool) -> None:
    if git and not HAS_GIT:
        pytest.skip("git is not installed")
    tmp_path = deep_tmp
    levels = 1200  # past Python's default recursion limit of 1000; 2.4k characters of path
    _make_deep_file(tmp_path, levels, "x.py", f"{NEEDLE} = 1\n")
    (tmp_path / "top.py").write_text("top = 1\n")
    if git:
        _git(tmp_path, "init", "-q")
    repo = Repository(tmp_path)
    deep_file = "/".join(["d"] * levels) + "/x.py"
    assert repo.list_files() == [deep_file, "top.py"]
    tools = RepoTools(repo)
    assert _clean(tools.execute("get_structure", {})).startswith("./ (2 files)")
    assert not tools.execute("read_file", {"path": deep_file}).is_error
    for engine in available_engines(repo):
        assert [m.path for m in search_text(Repository(tmp_path), NEEDLE, engine=engine).matches] == [deep_file]


def _make_deep_file(root: Path, levels: int, name: str, text: str) -> None:
    """root/d/d/.../d/name, built one directory at a time (pathlib's mkdir(parents=True) recurses)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        file_fd = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(file_fd, text.encode())
        os.close(file_fd)
    finally:
        os.close(fd)


# --- repositories that try to steer the tools ------------------------------------------------------
def test_hostile_ignore_files_neither_block_nor_flood(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / ".gitignore")  # reading it would block
    os.symlink("/dev/zero", tmp_path / "sub" / ".gitignore")  # reading it would never end
    (tmp_path / "a.py").write_text(f"{NEEDLE}\n")
    (tmp_path / "sub" / "b.py").write_text(f"{NEEDLE}\n")
    listed = _bounded(lambda: Repository(tmp_path).list_files())
    assert listed == ["a.py", "sub/b.py"]


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_a_directory_swapped_for_a_symlink_after_commit_is_not_followed(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    (root / "a").mkdir(parents=True)
    outside.mkdir()
    (root / "a" / "b.txt").write_text(f"{NEEDLE} inside\n")
    (outside / "b.txt").write_text(f"{SECRET} {NEEDLE}\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "x")
    shutil.rmtree(root / "a")
    os.symlink(outside, root / "a")  # the index still lists a/b.txt
    repo = Repository(root)
    assert repo.list_files() == []
    for engine in available_engines(repo):
        assert search_text(Repository(root), NEEDLE, engine=engine).matches == []
    assert verify_citations("[a/b.txt:1]", repo).checks[0].reason == "outside repository"


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_git_config_of_the_studied_repository_cannot_redirect_search(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.py").write_text(f"{NEEDLE}\n")
    (tmp_path / "top.py").write_text(f"{NEEDLE}\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    for key, value in [("grep.fullName", "true"), ("grep.patternType", "perl"), ("grep.lineNumber", "true"),
                       ("core.quotePath", "true"), ("grep.fallbackToNoIndex", "true")]:
        _git(tmp_path, "config", key, value)
    repo = Repository(tmp_path / "sub")  # a root below the work tree's top: paths stay relative to it
    for engine in available_engines(repo):
        assert [(m.path, m.line) for m in search_text(repo, NEEDLE, engine=engine).matches] == [("a.py", 1)]
    assert display_path(repo.list_files()[0]) == "a.py"


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_index_flags_cannot_hide_files_from_search(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("plain\n")
    (tmp_path / "hidden.txt").write_text("plain\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "update-index", "--skip-worktree", "hidden.txt")  # git grep passes over it
    (tmp_path / "hidden.txt").write_text(f"plain {NEEDLE}\n")
    for engine in available_engines(Repository(tmp_path)):
        found = search_text(Repository(tmp_path), NEEDLE, engine=engine)
        assert [(m.path, m.line) for m in found.matches] == [("hidden.txt", 1)], engine


# --- source built to exhaust the parsers' callers ---------------------------------------------------
def test_absurdly_nested_source_is_listed_to_a_depth_and_says_so(tmp_path: Path) -> None:
    from tech_writer.repository.symbols import MAX_NESTING, language_for

    nested = "".join(f"{'    ' * n}class C{n}:\n" for n in range(90))
    (tmp_path / "classes.py").write_text(nested + "    " * 90 + "pass\n")
    (tmp_path / "sum.py").write_text("x = " + "+".join(["1"] * 200_000) + "\n")  # recursion in the parser
    (tmp_path / "ns.ts").write_text("namespace a { " * 3000 + "}" * 3000 + "\n")
    (tmp_path / "mods.rs").write_text("mod a { " * 3000 + "}" * 3000 + "\n")
    tools = _tools(tmp_path)
    classes = _bounded(partial(tools.execute, "get_symbols", {"path": "classes.py"}))
    assert classes.text.splitlines()[0] == (
        f"classes.py: {MAX_NESTING + 1} symbols (python; line ranges first) "
        f"[members nested more than {MAX_NESTING} levels deep are not listed]"
    )
    for tool in ("get_symbols", "get_imports"):
        result = _bounded(partial(tools.execute, tool, {"path": "sum.py"}))
        assert result.is_error and "could not parse sum.py as Python" in result.text
    for name in ("ns.ts", "mods.rs"):
        result = _bounded(partial(tools.execute, "get_symbols", {"path": name}))
        if language_for(name) is None:
            assert result.is_error and "not supported" in result.text  # grammar not installed
        else:
            assert not result.is_error and "levels deep are not listed" in result.text.splitlines()[0]
