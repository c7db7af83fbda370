"""The provenance comment: what it records, its bytes (deterministic, escaped, small), reading it back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tech_writer.report.citations import parse_citations
from tech_writer.report.provenance import (
    HEADER,
    Provenance,
    ProvenanceError,
    SectionInput,
    SectionRecord,
    attach,
    build_provenance,
    lines_sha,
    render,
    split_report,
)
from tech_writer.repository.repo import Repository

BODY = "# Title\n\n## Storage\n\nRows live in a table [db.py:2-3] and [db.py:1].\n"


def _repo(tmp_path: Path) -> Repository:
    (tmp_path / "db.py").write_text("import sqlite3\nclass DB:\n    pass\n")
    (tmp_path / "cli.py").write_text("print('hi')\n")
    return Repository(tmp_path)


def _provenance(repo: Repository, understanding: str = "The DB class [db.py:2] stores rows.") -> Provenance:
    return build_provenance(
        repo, provider="demo", model="openai/gpt-5.1", commit=None, prompt="Explain <storage> -->",
        title="Title", understanding=understanding,
        sections=[SectionInput("Storage", "how rows are kept", ("db.py",), BODY.split("## Storage")[1],
                               ("cli.py", "db.py"))])


def test_records_the_prompt_model_outline_files_and_cited_lines(tmp_path: Path) -> None:
    provenance = _provenance(_repo(tmp_path))
    assert (provenance.provider, provenance.model, provenance.prompt) == ("demo", "openai/gpt-5.1",
                                                                          "Explain <storage> -->")
    (section,) = provenance.sections
    assert (section.title, section.focus, section.relevant_files) == ("Storage", "how rows are kept", ("db.py",))
    assert [path for path, _ in section.files] == ["cli.py", "db.py"]
    assert all(sha is not None and len(sha) == 16 for _, sha in section.files)
    assert [(c.path, c.start, c.end) for c in section.citations] == [("db.py", 1, 1), ("db.py", 2, 3)]
    assert section.cited("db.py", 2, 3).sha == lines_sha(["class DB:", "    pass"])  # type: ignore[union-attr]


def test_round_trip_and_same_bytes_every_time(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    report = attach(BODY, _provenance(repo))
    assert report == attach(BODY, _provenance(repo))
    body, provenance = split_report(report)
    assert body == BODY
    assert provenance == _provenance(repo)


def test_the_comment_cannot_close_early_and_holds_no_citation(tmp_path: Path) -> None:
    report = attach(BODY, _provenance(_repo(tmp_path)))
    comment = report[len(BODY):]
    assert comment.count("-->") == 1 and comment.rstrip().endswith("-->")
    assert "<" not in comment[len(HEADER):]  # the prompt's "<storage>" is escaped
    # The understanding's [db.py:2] is kept in the text but is not a citation of the report.
    assert [(c.path, c.start) for c in parse_citations(report)] == [("db.py", 2), ("db.py", 1)]


def test_one_json_record_per_line_for_readable_diffs(tmp_path: Path) -> None:
    rendered = render(_provenance(_repo(tmp_path)))
    lines = rendered.splitlines()
    assert lines[0].startswith(HEADER) and lines[-1] == "-->"
    records = [json.loads(line) for line in lines[1:-1]]
    assert [next(iter(record)) for record in records] == [
        "provider", "prompt", "title", "understanding", "section", "file", "file", "cite", "cite"]


def test_a_report_without_provenance_is_its_own_body() -> None:
    assert split_report(BODY) == (BODY, None)


@pytest.mark.parametrize("tail, problem", [
    ("<!-- tech-writer provenance v1: x\n{\"provider\": \"demo\"}\n", "not closed"),
    ("<!-- tech-writer provenance v1: x\n{not json}\n-->\n", "not JSON"),
    ("<!-- tech-writer provenance v9: x\n-->\n", "version 9"),
    ("<!-- tech-writer provenance v1: x\n{\"cite\": \"a.py\", \"lines\": [3, 1], \"sha\": \"0123456789abcdef\"}\n-->\n",
     "before any section"),
    ("<!-- tech-writer provenance v1: x\n{\"section\": \"S\"}\n"
     "{\"cite\": \"a.py\", \"lines\": [3, 1], \"sha\": \"0123456789abcdef\"}\n-->\n", "needs lines"),
])
def test_an_unreadable_provenance_is_an_error_that_says_why(tail: str, problem: str) -> None:
    with pytest.raises(ProvenanceError, match=problem):
        split_report(BODY + "\n" + tail)


@settings(max_examples=100, derandomize=True, database=None)
@given(st.text(), st.text(), st.lists(st.text(min_size=1), max_size=3))
def test_any_text_survives_the_round_trip(prompt: str, understanding: str, files: list[str]) -> None:
    provenance = Provenance("demo", "m", "a" * 40, prompt, "T", understanding,
                            (SectionRecord("S", "f", tuple(files), (), ()),))
    report = attach(BODY, provenance)
    assert split_report(report) == (BODY, provenance)
    assert report[len(BODY):].count("-->") == 1


def test_small(tmp_path: Path) -> None:
    """50 citations over 20 files, with a 2 KB understanding: under 8 KB of provenance."""
    for index in range(20):
        (tmp_path / f"m{index}.py").write_text("".join(f"x{n} = {n}\n" for n in range(40)))
    markdown = " ".join(f"[m{i % 20}.py:{i % 30 + 1}-{i % 30 + 5}]" for i in range(50))
    provenance = build_provenance(
        Repository(tmp_path), provider="openrouter", model="openai/gpt-5.1", commit="b" * 40,
        prompt="Explain the architecture." * 10, title="T", understanding="u" * 2000,
        sections=[SectionInput(f"S{k}", "focus", (), markdown if k == 0 else "", ()) for k in range(6)])
    size = len(render(provenance).encode())
    assert 4000 < size < 8000


def test_report_body_drops_the_comment_even_a_broken_one(tmp_path: Path) -> None:
    from tech_writer.report.provenance import report_body

    report = attach(BODY, _provenance(_repo(tmp_path)))
    assert report_body(report) == BODY
    assert report_body(BODY + "\n<!-- tech-writer provenance v1: cut\n{\"x\"") == BODY
    assert report_body(BODY) == BODY
