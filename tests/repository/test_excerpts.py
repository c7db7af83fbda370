"""Numbered excerpts: the lines of a section's files a model can cite by their numbers."""

from __future__ import annotations

from pathlib import Path

from tech_writer.report.citations import verify_citations
from tech_writer.repository.excerpts import Excerpt, format_excerpts, select_excerpts
from tech_writer.repository.repo import Repository


def test_definitions_and_docstrings_come_numbered_under_their_citation(sample_repo: Path) -> None:
    repo = Repository(sample_repo)
    excerpts = select_excerpts(repo, ["inventory/store.py"])
    text = format_excerpts(excerpts)
    assert text.startswith("[inventory/store.py:1-")
    assert "6\tclass Store:" in text
    assert '7\t    """Keeps items in one SQLite table."""' in text
    assert "13\t    def add(self, name: str, qty: int) -> None:" in text
    # Every excerpt's heading is a citation that verifies, and its lines are the file's.
    lines = (sample_repo / "inventory/store.py").read_text(encoding="utf-8").split("\n")
    for excerpt in excerpts:
        assert verify_citations(excerpt.citation, repo).valid == 1
        assert list(excerpt.lines) == lines[excerpt.start - 1:excerpt.end]


def test_a_budget_bounds_the_lines_and_unreadable_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "big.py").write_text("".join(f"def f{i}():\n    '''Doc {i}.'''\n    return {i}\n\n"
                                             for i in range(200)), encoding="utf-8")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01" * 50)
    (tmp_path / "README.md").write_text("# Big\n\nMany functions.\n", encoding="utf-8")
    repo = Repository(tmp_path)
    excerpts = select_excerpts(repo, ["missing.py", "blob.bin", "README.md", "big.py"],
                               budget_lines=60)
    assert {e.path for e in excerpts} == {"README.md", "big.py"}
    shown = sum(1 for e in excerpts for line in e.lines if line.strip())
    assert shown <= 60
    assert excerpts[0] == Excerpt("README.md", 1, 3, ("# Big", "", "Many functions."))


def test_lines_exploration_read_are_included(sample_repo: Path) -> None:
    excerpts = select_excerpts(Repository(sample_repo), ["inventory/cli.py"],
                               read={"inventory/cli.py": range(13, 17)})
    text = format_excerpts(excerpts)
    assert "13\t    if args.command == \"list\":" in text and "16\t    return 0" in text
    assert select_excerpts(Repository(sample_repo), []) == []


def test_a_modules_imports_give_way_to_its_definitions_but_a_front_door_keeps_them(
        tmp_path: Path) -> None:
    helpers = "".join(f"def _helper{i}():\n    return {i}\n\n" for i in range(8))
    steps = "".join(f"    def step{i}(self):\n        return {i}\n" for i in range(10))
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "core.py").write_text(
        '"""The core."""\nimport os\nimport sys\n\n' + helpers
        + 'class Engine:\n    """Runs everything."""\n' + steps, encoding="utf-8")
    (tmp_path / "pkg" / "__init__.py").write_text(
        "from .core import Engine as Engine\n\n\ndef version():\n    return 1\n", encoding="utf-8")
    repo = Repository(tmp_path)
    core = format_excerpts(select_excerpts(repo, ["pkg/core.py"], budget_lines=14))
    # The docstring, then the largest public definition before the private helpers; no imports.
    assert '1\t"""The core."""' in core and "import os" not in core
    assert "class Engine:" in core and '"""Runs everything."""' in core
    door = format_excerpts(select_excerpts(repo, ["pkg/__init__.py"]))
    assert "1\tfrom .core import Engine as Engine" in door
