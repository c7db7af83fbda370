"""Repository listing/reading and the model-facing tools, on real temporary directories and git repos."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from tech_writer.repository.cache import CacheStore
from tech_writer.repository.repo import BinaryFile, NotARegularFile, Repository, ToolCaps
from tech_writer.repository.tools import RepoTools, ToolResult

HAS_GIT = shutil.which("git") is not None
needs_git = pytest.mark.skipif(not HAS_GIT, reason="git is not installed")


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=test@example.com", "-c", "user.name=Test", "-c", "init.defaultBranch=main",
         "-C", str(root), *args],
        check=True, capture_output=True, timeout=30,
    )


IGNORE_LAYOUT: dict[str, str | bytes] = {
    ".gitignore": "*.log\nbuild/\n!keep.log\n",
    "src/.gitignore": "generated_*.py\n!generated_ok.py\n",
    "src/app.py": "print('app')\n",
    "src/generated_x.py": "x\n",
    "src/generated_ok.py": "ok\n",
    "debug.log": "noise\n",
    "keep.log": "kept\n",
    "build/out.txt": "artifact\n",
    "docs/guide.md": "# Guide\n",
}
EXPECTED_LISTING = [".gitignore", "docs/guide.md", "keep.log", "src/.gitignore", "src/app.py", "src/generated_ok.py"]


def _tools(root: Path, cache: CacheStore | None = None, **caps: int) -> RepoTools:
    return RepoTools(Repository(root, cache=cache, caps=replace(ToolCaps(), **caps)))


def _ok(result: ToolResult) -> str:
    assert not result.is_error, result.text
    return result.text


def _err(result: ToolResult) -> str:
    assert result.is_error, result.text
    assert result.text.startswith("Error: ")
    return result.text


# --- listing ----------------------------------------------------------------------------------
def test_walk_honours_gitignore_files_without_git(tmp_path: Path) -> None:
    _write(tmp_path, IGNORE_LAYOUT)
    _write(tmp_path, {".git/HEAD": "not really a repo\n"})  # skipped, never listed
    os.symlink(tmp_path / "src", tmp_path / "src_link")  # a directory symlink is not followed
    repo = Repository(tmp_path)
    assert repo.list_files() == EXPECTED_LISTING
    assert repo.listing_source == "walk" and not repo.files_capped


@needs_git
def test_git_lists_tracked_and_untracked_but_not_ignored(tmp_path: Path) -> None:
    _write(tmp_path, IGNORE_LAYOUT)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".gitignore", "src/app.py", "docs/guide.md")
    _git(tmp_path, "commit", "-q", "-m", "init")
    _write(tmp_path, {"src/new_untracked.py": "n\n", "gone.py": "g\n"})
    _git(tmp_path, "add", "gone.py")
    (tmp_path / "gone.py").unlink()  # tracked in the index but deleted from the work tree
    repo = Repository(tmp_path)
    assert repo.list_files() == sorted([*EXPECTED_LISTING, "src/new_untracked.py"])
    assert repo.listing_source == "git"


@needs_git
def test_git_config_of_the_studied_repo_cannot_run_commands(tmp_path: Path) -> None:
    _write(tmp_path, {"a.py": "a\n"})
    _git(tmp_path, "init", "-q")
    marker = tmp_path.parent / f"{tmp_path.name}-fsmonitor-ran"
    hook = tmp_path.parent / f"{tmp_path.name}-hook.sh"
    hook.write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    hook.chmod(0o755)
    _git(tmp_path, "config", "core.fsmonitor", str(hook))
    assert Repository(tmp_path).list_files() == ["a.py"]
    assert not marker.exists()


@needs_git
def test_git_repo_in_a_subdirectory_lists_relative_to_the_given_root(tmp_path: Path) -> None:
    _write(tmp_path, {"top.py": "t\n", "pkg/inner.py": "i\n", "pkg/.gitignore": "*.tmp\n", "pkg/x.tmp": "x\n"})
    _git(tmp_path, "init", "-q")
    assert Repository(tmp_path / "pkg").list_files() == [".gitignore", "inner.py"]


def test_listing_is_capped_and_says_so(tmp_path: Path) -> None:
    _write(tmp_path, {f"f{n}.txt": "x\n" for n in range(10)})
    tools = _tools(tmp_path, max_listed_files=4)
    assert tools.repo.list_files() == ["f0.txt", "f1.txt", "f2.txt", "f3.txt"]
    assert tools.repo.files_capped
    result = tools.execute("list_files", {})
    assert result.truncated and result.text.splitlines()[-1].startswith("[truncated: the repository has more than 4")


def test_list_files_pattern_path_and_caps(tmp_path: Path) -> None:
    _write(tmp_path, {"src/a.py": "", "src/sub/b.py": "", "src/c.txt": "", "tests/test_a.py": "", "README.md": ""})
    tools = _tools(tmp_path, max_listed=2)
    assert _ok(tools.execute("list_files", {"pattern": "*.md"})) == "README.md"
    assert _ok(tools.execute("list_files", '{"pattern": "sub/*.py", "path": "src"}')) == "src/sub/b.py"
    result = tools.execute("list_files", {"pattern": "*.py"})
    assert result.truncated and result.text.splitlines() == [
        "src/a.py", "src/sub/b.py", "[truncated: showing 2 of 3 files; narrow the listing with pattern or path]"
    ]
    assert _ok(tools.execute("list_files", {"pattern": "*.rs"})).startswith("(no files match pattern '*.rs'")
    assert "is a file, not a directory" in _err(tools.execute("list_files", {"path": "README.md"}))
    assert "does not exist" in _err(tools.execute("list_files", {"path": "nowhere"}))
    assert "refused" in _err(tools.execute("list_files", {"path": "../"}))


# --- reading ----------------------------------------------------------------------------------
def test_read_file_exact_format_and_paging(tmp_path: Path) -> None:
    _write(tmp_path, {"src/m.py": "".join(f"line {n}\n" for n in range(1, 11))})
    tools = _tools(tmp_path, max_lines_per_read=4)
    first = tools.execute("read_file", {"path": "./src/m.py"})
    assert first.text.splitlines() == [
        "src/m.py: lines 1-4 of 10", "1\tline 1", "2\tline 2", "3\tline 3", "4\tline 4",
        "[truncated: showing lines 1-4 of 10; call read_file with start_line=5 to continue]",
    ]
    assert first.truncated and not first.is_error
    last = tools.execute("read_file", {"path": "src/m.py", "start_line": 9, "end_line": 50})
    assert last.text == "src/m.py: lines 9-10 of 10\n9\tline 9\n10\tline 10" and not last.truncated
    assert _ok(tools.execute("read_file", {"path": "src/m.py", "start_line": 0, "end_line": 1})).splitlines() == [
        "src/m.py: lines 1-1 of 10", "1\tline 1"
    ]
    past_end = _err(tools.execute("read_file", {"path": "src/m.py", "start_line": 11}))
    assert "past the end of src/m.py, which has 10 lines" in past_end
    assert "end_line 2 is before start_line 3" in _err(
        tools.execute("read_file", {"path": "src/m.py", "start_line": 3, "end_line": 2})
    )


def test_read_file_edge_contents(tmp_path: Path) -> None:
    _write(tmp_path, {"empty.txt": "", "crlf.txt": "a\r\nb\r\n", "latin1.txt": b"caf\xe9\n", "tabs.py": "\tx\n"})
    tools = _tools(tmp_path, max_line_chars=10)
    _write(tmp_path, {"wide.txt": "0123456789abcdef\nshort\n"})
    assert _ok(tools.execute("read_file", {"path": "empty.txt"})) == "empty.txt: lines 0-0 of 0"
    assert _ok(tools.execute("read_file", {"path": "crlf.txt"})) == "crlf.txt: lines 1-2 of 2\n1\ta\n2\tb"
    assert _ok(tools.execute("read_file", {"path": "latin1.txt"})) == "latin1.txt: lines 1-1 of 1\n1\tcaf\ufffd"
    assert _ok(tools.execute("read_file", {"path": "tabs.py"})) == "tabs.py: lines 1-1 of 1\n1\t\tx"
    wide = tools.execute("read_file", {"path": "wide.txt"})
    assert wide.text.splitlines()[1] == "1\t0123456789 … [line cut: 16 chars]" and wide.truncated


def test_huge_file_is_read_up_to_the_limit(tmp_path: Path) -> None:
    line = "x" * 99 + "\n"
    (tmp_path / "huge.txt").write_text(line * 50_000)  # 5 MB
    tools = _tools(tmp_path, cache=CacheStore())
    text = tools.repo.read_text("huge.txt")
    assert text.truncated and text.total_lines == 50_000 and text.size == 5_000_000
    assert len(text.lines) == (2 * 1024 * 1024) // 100
    first = tools.execute("read_file", {"path": "huge.txt"})
    assert first.text.startswith("huge.txt: lines 1-") and first.text.splitlines()[0].endswith("of 50000")
    assert first.truncated and len(first.text.encode()) <= tools.caps.max_result_bytes
    readable = len(text.lines)
    tail = tools.execute("read_file", {"path": "huge.txt", "start_line": readable - 1})
    assert tail.text.splitlines()[-1] == (
        f"[truncated: lines after {readable} are beyond the 2 MiB read limit for this file]"
    )
    beyond = _err(tools.execute("read_file", {"path": "huge.txt", "start_line": 40_000}))
    assert "larger than the 2 MiB read limit" in beyond
    assert tools.repo.line_count("huge.txt") == 50_000
    info = tools.repo.cache.file_info("huge.txt")  # type: ignore[union-attr]
    assert info is not None and (info.line_count, info.size) == (50_000, 5_000_000)


def test_result_byte_cap_pages_by_line(tmp_path: Path) -> None:
    _write(tmp_path, {"wide.txt": "".join(f"{'y' * 400}\n" for _ in range(200))})
    tools = _tools(tmp_path, max_result_bytes=4_000, max_line_chars=1_000)
    result = tools.execute("read_file", {"path": "wide.txt"})
    assert len(result.text.encode()) <= 4_000 and result.truncated
    shown_end = int(result.text.splitlines()[0].split("-")[1].split()[0])
    assert result.text.splitlines()[-1].endswith(f"call read_file with start_line={shown_end + 1} to continue]")


def test_binary_directory_and_missing_files(tmp_path: Path) -> None:
    _write(tmp_path, {"img.png": b"\x89PNG\x00\x00data", "src/app.py": "a\n"})
    tools = _tools(tmp_path)
    assert "img.png is a binary file" in _err(tools.execute("read_file", {"path": "img.png"}))
    assert "src is a directory; use list_files with path='src'" in _err(tools.execute("read_file", {"path": "src"}))
    missing = _err(tools.execute("read_file", {"path": "app.py"}))
    assert "app.py does not exist. Files with that name: src/app.py." in missing
    assert "does not exist" in _err(tools.execute("read_file", {"path": "src/app.py/child"}))
    with pytest.raises(BinaryFile):
        tools.repo.read_text("img.png")
    assert tools.repo.line_count("img.png") is None and tools.repo.line_count("src") is None
    assert tools.repo.line_count("src/app.py") == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    tools = _tools(tmp_path)
    outcome: list[object] = []

    def attempt() -> None:
        outcome.append(tools.execute("read_file", {"path": "pipe"}))
        outcome.append(tools.repo.probe("pipe"))
        try:
            tools.repo.read_text("pipe")
        except NotARegularFile as exc:
            outcome.append(exc.kind)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "reading a FIFO blocked"
    result, probe, kind = outcome
    assert isinstance(result, ToolResult) and result.is_error and "is a FIFO, not a regular file" in result.text
    assert probe.problem == "not a file" and kind == "a FIFO"  # type: ignore[attr-defined]
    assert "pipe" not in tools.repo.list_files()


def test_paths_outside_the_repository_are_error_results(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    _write(root, {"ok.py": "ok\n"})
    _write(outside, {"secret.txt": "secret\n"})
    os.symlink(outside / "secret.txt", root / "leak.txt")
    os.symlink(outside, root / "leakdir")
    tools = _tools(root)
    for path in ["../outside/secret.txt", "leak.txt", "leakdir/secret.txt", str(outside / "secret.txt"), ".git/config"]:
        for tool in ("read_file", "get_symbols", "get_imports"):
            text = _err(tools.execute(tool, {"path": path}))
            assert "refused" in text and "secret\n" not in text
    hint = _err(tools.execute("read_file", {"path": str(root / "ok.py")}))
    assert "Use the relative path 'ok.py'" in hint
    assert tools.repo.list_files() == ["ok.py"]  # links leading out are not part of the repository


def test_non_utf8_file_names_are_listed_printably(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.py")
    try:
        (tmp_path / name).write_text("x = 1\n")
    except (OSError, UnicodeEncodeError):
        pytest.skip("file system refuses non-UTF-8 names")
    tools = _tools(tmp_path)
    assert tools.repo.list_files() == [name]
    listing = _ok(tools.execute("list_files", {}))
    assert listing == "caf\\xe9.py"
    listing.encode("utf-8")
    assert _ok(tools.execute("read_file", {"path": name})).startswith("caf\\xe9.py: lines 1-1 of 1")


# --- argument handling ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object, not list"),
        ('"just a string"', "must be a JSON object, not str"),
        ({}, "missing required parameter 'path'"),
        (None, "missing required parameter 'path'"),
        ({"path": None}, "parameter 'path' must be a string, got null"),
        ({"path": "a.py", "mode": "fast"}, "unexpected parameter(s) 'mode'"),
        ({"path": 3}, "parameter 'path' must be a string, got an integer"),
        ({"path": "a.py", "start_line": "one"}, "parameter 'start_line' must be an integer, got a string 'one'"),
        ({"path": "a.py", "start_line": 1.5}, "must be an integer"),
        ({"path": "a.py", "end_line": [3]}, "must be an integer, got an array"),
        ({"path": "a.py", "start_line": False}, "must be an integer, got a boolean"),
    ],
)
def test_bad_arguments_become_error_results(tmp_path: Path, arguments: object, expected: str) -> None:
    _write(tmp_path, {"a.py": "a\nb\nc\n"})
    text = _err(_tools(tmp_path).execute("read_file", arguments))  # type: ignore[arg-type]
    assert expected in text
    assert "Expected parameters: path (string, required), start_line (integer), end_line (integer)." in text


def test_lenient_argument_forms(tmp_path: Path) -> None:
    _write(tmp_path, {"a.py": "a\nb\nc\n"})
    tools = _tools(tmp_path)
    expected = "a.py: lines 2-3 of 3\n2\tb\n3\tc"
    assert _ok(tools.execute("read_file", '{"path": "a.py", "start_line": "2", "end_line": 3.0}')) == expected
    assert _ok(tools.execute("read_file", json.dumps(json.dumps({"path": "a.py", "start_line": 2})))) == expected
    assert _ok(tools.execute("read_file", {"path": "a.py", "start_line": 2, "end_line": None})) == expected
    assert _ok(tools.execute("get_structure", "")).startswith("./ (1 file)")


def test_unknown_tool(tmp_path: Path) -> None:
    text = _err(_tools(tmp_path).execute("delete_everything", {}))
    assert "unknown tool 'delete_everything'. Available tools: list_files, read_file," in text


def test_lone_surrogates_in_arguments_cannot_break_utf8(tmp_path: Path) -> None:
    tools = _tools(tmp_path)
    for result in (
        tools.execute("read_file", {"path": "bad\ud800.py"}),
        tools.execute("search_text", {"query": "x\udcff"}),
        tools.execute("read_file", '{"path": "a\\ud800"}'),
    ):
        result.text.encode("utf-8")


# --- schemas ----------------------------------------------------------------------------------
def test_schemas_are_stable_strict_and_complete(tmp_path: Path) -> None:
    tools = _tools(tmp_path)
    schemas = tools.schemas()
    assert [s["function"]["name"] for s in schemas] == list(RepoTools.names)
    assert json.dumps(schemas) == json.dumps(_tools(tmp_path).schemas())  # same bytes for every instance
    schemas[0]["function"]["name"] = "mutated"
    assert tools.schemas()[0]["function"]["name"] == "list_files"  # callers get copies
    for schema in tools.schemas():
        assert schema["type"] == "function"
        parameters = schema["function"]["parameters"]
        assert parameters["type"] == "object" and parameters["additionalProperties"] is False
        assert set(parameters["required"]) <= set(parameters["properties"])
        assert schema["function"]["description"]
    read = tools.schemas(["read_file"])[0]["function"]["parameters"]
    assert read["required"] == ["path"] and read["properties"]["end_line"]["type"] == ["integer", "null"]
    subset = tools.schemas(["get_structure", "read_file"])
    assert [s["function"]["name"] for s in subset] == ["read_file", "get_structure"]  # canonical order
    with pytest.raises(ValueError, match="unknown tool names"):
        tools.schemas(["read_file", "rm"])


# --- search, symbols, imports, structure through the tools --------------------------------------
def test_search_text_tool_output(tmp_path: Path) -> None:
    _write(tmp_path, {"a.py": "def load():\n    return LOAD\n", "b.md": "load the data\n", "c.bin": b"load\x00"})
    tools = _tools(tmp_path, max_matches=3)
    result = tools.execute("search_text", {"query": "load"})
    assert result.text.splitlines() == [
        "Matches for 'load' (case-insensitive) in 3 files; 1 binary file with matches not shown:",
        "a.py:1: def load():",
        "a.py:2: return LOAD",
        "b.md:1: load the data",
    ]
    assert not result.truncated
    capped = _tools(tmp_path, max_matches=2).execute("search_text", {"query": "load"})
    assert capped.truncated and capped.text.splitlines() == [
        "First matches for 'load' (case-insensitive):",
        "a.py:1: def load():",
        "a.py:2: return LOAD",
        "[truncated: showing 2 of more than 2 matching lines; narrow the search with path_glob or a longer query]",
    ]
    assert _ok(tools.execute("search_text", {"query": "LOAD", "path_glob": "*.py"})).splitlines()[1:] == [
        "a.py:2: return LOAD"
    ]
    absent = _ok(tools.execute("search_text", {"query": "absent"}))
    assert absent.startswith("(no matches for 'absent', case-insensitive")
    assert "single line" in _err(tools.execute("search_text", {"query": "a\nb"}))
    assert "the query is empty" in _err(tools.execute("search_text", {"query": ""}))


def test_get_symbols_uses_the_cache_until_the_file_changes(tmp_path: Path) -> None:
    _write(tmp_path, {"m.py": "class A:\n    def f(self, x: int) -> int:\n        return x\n"})
    cache = CacheStore()
    tools = _tools(tmp_path, cache=cache)
    expected = "m.py: 2 symbols (python; line ranges first)\n1-3\tclass A\n2-3\t  def f(self, x: int) -> int"
    assert _ok(tools.execute("get_symbols", {"path": "m.py"})) == expected
    assert cache.stats()["misses"] == 1 and cache.stats()["symbols"] == 1
    assert _ok(tools.execute("get_symbols", {"path": "m.py"})) == expected
    assert cache.stats()["hits"] == 1
    (tmp_path / "m.py").write_text("def g():\n    pass\n")
    changed = _ok(tools.execute("get_symbols", {"path": "m.py"}))
    assert changed == "m.py: 1 symbol (python; line ranges first)\n1-2\tdef g()"
    assert cache.stats()["hits"] == 1 and cache.stats()["misses"] == 2  # the stale entry was not reused


def test_get_symbols_and_imports_errors_and_empty_results(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {"bad.py": "def (:\n", "notes.txt": "x\n", "empty.py": "x = 1\n", "imp.py": "import os\nfrom . import b\n"},
    )
    tools = _tools(tmp_path, cache=CacheStore())
    assert "could not parse bad.py as Python" in _err(tools.execute("get_symbols", {"path": "bad.py"}))
    assert _err(tools.execute("get_symbols", {"path": "notes.txt"})).startswith(
        "Error: symbols not supported for .txt files (supported: .py, .pyi"
    )
    assert "imports not supported for .txt" in _err(tools.execute("get_imports", {"path": "notes.txt"}))
    assert _ok(tools.execute("get_symbols", {"path": "empty.py"})) == "empty.py: no classes or functions found (python)"
    expected = "imp.py: 2 imports (line numbers first)\n1\timport os\n2\tfrom . import b"
    assert _ok(tools.execute("get_imports", {"path": "imp.py"})) == expected
    assert _ok(tools.execute("get_imports", {"path": "imp.py"})) == expected  # second time from the cache
    assert _ok(tools.execute("get_imports", {"path": "empty.py"})) == "empty.py: no imports found"


def test_get_symbols_javascript_when_available(tmp_path: Path) -> None:
    pytest.importorskip("tree_sitter_javascript")
    _write(tmp_path, {"w.js": "export class W {\n  run() {}\n}\n"})
    text = _ok(_tools(tmp_path).execute("get_symbols", {"path": "w.js"}))
    assert text == "w.js: 2 symbols (javascript; line ranges first)\n1-3\tclass W\n2-2\t  run()"


def test_get_structure_depth_and_entry_caps(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            ".gitignore": "build/\n",
            "build/x.o": "",
            "README.md": "",
            "src/pkg/core/deep/deeper/x.py": "",
            "src/pkg/a.py": "",
            "src/b.py": "",
            **{f"many/f{n:02}.txt": "" for n in range(25)},
        },
    )
    tools = _tools(tmp_path, structure_depth=2)
    assert _ok(tools.execute("get_structure", {})).splitlines() == [
        "./ (30 files)",
        "  many/ (25 files)",
        *[f"    f{n:02}.txt" for n in range(20)],
        "    … and 5 more files",
        "  src/ (3 files)",
        "    pkg/ (2 files)",
        "    b.py",
        "  .gitignore",
        "  README.md",
    ]
    assert _ok(tools.execute("get_structure", {"path": "src/pkg"})).splitlines() == [
        "src/pkg/ (2 files)", "  core/ (1 file)", "    deep/ (1 file)", "  a.py"
    ]
    capped = _tools(tmp_path, structure_max_entries=5).execute("get_structure", {})
    assert capped.truncated and len(capped.text.splitlines()) == 7
    assert capped.text.splitlines()[-1].startswith("[truncated: showing 5 entries; call get_structure")
    # The top level's own files (README, manifests) are kept room for, whatever the cap cuts.
    assert capped.text.splitlines()[:-1] == [
        "./ (30 files)", "  many/ (25 files)", "    f00.txt", "    f01.txt", "  .gitignore", "  README.md"]
    assert "is a file, not a directory" in _err(tools.execute("get_structure", {"path": "README.md"}))


def test_every_result_respects_the_byte_cap(tmp_path: Path) -> None:
    source = "def f():\n    return 'needle'\n" * 300
    _write(tmp_path, {f"dir{n:03}/file_with_a_long_name_{n:03}.py": source for n in range(150)})
    tools = _tools(tmp_path, max_result_bytes=3_000, max_matches=1_000, max_listed=1_000)
    calls = [
        ("list_files", {}),
        ("search_text", {"query": "needle"}),
        ("get_structure", {}),
        ("get_symbols", {"path": "dir000/file_with_a_long_name_000.py"}),
        ("read_file", {"path": "dir000/file_with_a_long_name_000.py"}),
    ]
    for name, arguments in calls:
        result = tools.execute(name, arguments)
        assert not result.is_error and result.truncated, name
        assert len(result.text.encode()) <= 3_000, name
        assert result.text.splitlines()[-1].startswith("[truncated:"), name


def test_read_file_records_files_in_the_cache(tmp_path: Path) -> None:
    _write(tmp_path, {"a.py": "1\n2\n", "b.py": "x\n"})
    cache = CacheStore()
    tools = _tools(tmp_path, cache=cache)
    tools.execute("read_file", {"path": "./a.py"})
    tools.execute("read_file", {"path": "b.py", "start_line": 1, "end_line": 1})
    tools.execute("read_file", {"path": "missing.py"})
    assert [(f.path, f.line_count, f.size) for f in cache.files()] == [("a.py", 2, 4), ("b.py", 1, 2)]
