"""Nothing to document: found before any model is paid, said in one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tech_writer.repository.emptiness import nothing_to_document
from tech_writer.repository.listing import PathFilter
from tech_writer.repository.repo import Repository


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_SYSTEM": "/dev/null",
                        "HOME": str(root), "PATH": "/usr/bin:/bin"})


def test_an_empty_folder(tmp_path: Path) -> None:
    assert nothing_to_document(Repository(tmp_path)) == (
        f"nothing to document in {tmp_path.resolve()}: it holds no files")


def test_a_bare_git_repository(tmp_path: Path) -> None:
    _git(tmp_path, "init", "--bare", "-q", ".")
    message = nothing_to_document(Repository(tmp_path))
    assert message and "a bare git repository" in message and "clone" in message


def test_everything_ignored(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", ".")
    (tmp_path / ".git" / "info" / "exclude").write_text("*\n", encoding="utf-8")
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("# b\n", encoding="utf-8")
    message = nothing_to_document(Repository(tmp_path))
    assert message and "all ignored or binary" in message and "ignored" in message


def test_only_binary_files(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_path / "data.bin").write_bytes(bytes(range(256)))
    message = nothing_to_document(Repository(tmp_path))
    assert message == (f"nothing to document in {tmp_path.resolve()}: 2 files, all ignored or "
                       "binary (2 files binary)")


def test_excluded_by_the_users_globs(tmp_path: Path) -> None:
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "dep.js").write_text("x\n", encoding="utf-8")
    repo = Repository(tmp_path, path_filter=PathFilter(exclude=("node_modules",)))
    message = nothing_to_document(repo)
    assert message and "1 file ignored" in message


def test_one_text_file_is_something_to_document(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"\x00" * 10)
    (tmp_path / "README.md").write_text("# x\n", encoding="utf-8")
    assert nothing_to_document(Repository(tmp_path)) is None


@pytest.mark.parametrize("use_git", [False, True])
def test_include_and_exclude_globs_shape_the_listing(tmp_path: Path, use_git: bool) -> None:
    for rel in ("src/app.py", "src/app.min.js", "node_modules/x/index.js", "docs/a.md", "README.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x\n", encoding="utf-8")
    if use_git:
        _git(tmp_path, "init", "-q", ".")
    only_src = Repository(tmp_path, path_filter=PathFilter(include=("src/**",),
                                                           exclude=("*.min.js",)))
    assert only_src.list_files() == ["src/app.py"]
    no_deps = Repository(tmp_path, path_filter=PathFilter(exclude=("node_modules", "docs/")))
    assert no_deps.list_files() == ["README.md", "src/app.min.js", "src/app.py"]
    assert {"node_modules/x/index.js", "docs/a.md"} <= set(no_deps.listing().excluded or ())
    assert Repository(tmp_path).list_files() == sorted(
        ["README.md", "docs/a.md", "node_modules/x/index.js", "src/app.min.js", "src/app.py"])


def test_an_empty_glob_is_refused() -> None:
    with pytest.raises(ValueError, match="the exclude glob '' is empty"):
        PathFilter(exclude=("",))


def test_search_does_not_look_where_the_user_excluded(tmp_path: Path) -> None:
    from tech_writer.repository.tools import RepoTools

    for rel in ("src/app.js", "node_modules/dep/index.js"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("function needle() {}\n", encoding="utf-8")
    tools = RepoTools(Repository(tmp_path, path_filter=PathFilter(exclude=("node_modules",))))
    found = tools.execute("search_text", {"query": "needle"}).text
    assert "src/app.js:1:" in found and "node_modules" not in found
    assert "node_modules" not in tools.execute("list_files", {}).text
