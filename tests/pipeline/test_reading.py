"""Exploration that reads: when the model read too little, the tool reads what matters itself."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tech_writer.pipeline.reading import read_what_matters, reading_needed
from tech_writer.repository.repo import Repository
from tech_writer.repository.tools import RepoTools


def test_reading_is_needed_after_little_reading_or_a_leaked_tool_call() -> None:
    assert reading_needed({"a.py", "b.py", "c.py"}, "Notes about the code.", 10) is None
    assert reading_needed({"a.py"}, "Notes.", 10) == "the exploration read 1 file(s)"
    assert reading_needed(set(), "Notes.", 1) == "the exploration read 0 file(s)"
    assert reading_needed({"a.py"}, "Notes.", 1) is None  # a one-file repository, read
    assert reading_needed({"a.py", "b.py", "c.py"}, "functions.get_structure:", 10) == (
        "the exploration ended with a tool call written as text")


def test_the_tool_reads_readme_manifest_and_the_files_the_ranking_puts_first(
        sample_repo: Path) -> None:
    tools = RepoTools(Repository(sample_repo))
    asked: list[tuple[str, dict[str, Any]]] = []

    def run_tool(name: str, arguments: Mapping[str, Any]) -> str:
        asked.append((name, dict(arguments)))
        return tools.execute(name, dict(arguments)).text

    found = read_what_matters(run_tool, max_files=3)
    assert found.files_read[:2] == ("README.md", "pyproject.toml")
    assert set(found.files_read[2:]) == {"inventory/cli.py", "inventory/store.py", "inventory/__init__.py"}
    reads = [args["path"] for name, args in asked if name == "read_file"]
    assert reads == list(found.files_read)  # each read once, through the tools
    assert not any(call.failed for call in found.transcript.calls)
    notes = found.notes()
    assert "- `inventory/cli.py`: runs the console script `inventory`" in notes
    assert "`Store` [inventory/store.py:6-17]" in notes  # definitions, with where they are
    assert found.important_files(1) == ["README.md"]
