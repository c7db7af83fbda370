"""Citation parsing (what counts) and verification against the files on disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tech_writer.report.citations import (
    FEEDBACK_HEADER,
    Citation,
    CitationReport,
    format_citation,
    format_feedback,
    parse_citations,
    verify_citations,
)
from tech_writer.repository.repo import Repository

PROPERTY_SETTINGS = settings(
    max_examples=200, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
MAX_LINES = 12


def _spans(markdown: str) -> list[tuple[str, int, int]]:
    return [(c.path, c.start, c.end) for c in parse_citations(markdown)]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repository:
    root = tmp_path_factory.mktemp("citations")
    for count in range(MAX_LINES + 1):  # f0.txt is empty, f12.txt has 12 lines
        (root / f"f{count}.txt").write_text("".join(f"line {n}\n" for n in range(1, count + 1)))
    (root / "no_newline.py").write_text("a\nb")  # two lines, the last without a newline
    (root / "Makefile").write_text("all:\n\techo hi\n")
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x00\x00binary")
    (root / "docs").mkdir()
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.py").write_text("s = 1\n")
    os.symlink(outside / "secret.py", root / "escape.py")
    return Repository(root)


# --- parsing ----------------------------------------------------------------------------------
def test_range_and_single_line_forms() -> None:
    markdown = "Setup [src/app.py:10-20] then [src/app.py:7]."
    assert parse_citations(markdown) == [
        Citation("src/app.py", 10, 20, "[src/app.py:10-20]", 6),
        Citation("src/app.py", 7, 7, "[src/app.py:7]", 30),
    ]


def test_lists_in_one_bracket_share_its_text_and_offset() -> None:
    markdown = "x [a.py:1-3, b/c.go:4; d.rs:5-6] y"
    citations = parse_citations(markdown)
    assert [(c.path, c.start, c.end) for c in citations] == [("a.py", 1, 3), ("b/c.go", 4, 4), ("d.rs", 5, 6)]
    assert {(c.text, c.offset) for c in citations} == {("[a.py:1-3, b/c.go:4; d.rs:5-6]", 2)}


@pytest.mark.parametrize(
    "markdown",
    [
        "a link [a.py:3](https://example.com/a.py#L3)",
        "a reference link [a.py:3][ref]",
        "[a.py:3]: https://example.com",  # link reference definition
        "a footnote [^1] and [^a.py:3]",
        "prose like [note:3] or [step:2-4]",  # no '.' or '/', not a known file name
        "en dash [a.py:3\u20135] is not accepted",
        "spaces [a.py: 3] or [a.py:3 - 5] are not accepted",
        "missing lines [a.py] or [a.py:] or [a.py:x]",
        "a URL [http://host:80]",
        "`inline [a.py:3] code`",
        "``double `tick` [a.py:3]``",
        "```\nfenced [a.py:3]\n```",
        "~~~python\nx = a[b.c:3]\n~~~",
        "   ````\nindented fence [a.py:3]\n   ````",
        "```\nunclosed fence runs to the end [a.py:3]",
        "[a.py:1, note:3] a list with one non-path item is prose",
    ],
)
def test_things_that_are_not_citations(markdown: str) -> None:
    assert parse_citations(markdown) == []


def test_text_around_code_is_still_parsed() -> None:
    markdown = "before [a.py:1]\n```\n[b.py:2]\n```\nafter `x` [c.py:3] and `unclosed [d.py:4]"
    assert _spans(markdown) == [("a.py", 1, 1), ("c.py", 3, 3), ("d.py", 4, 4)]


def test_code_spans_do_not_cross_paragraphs() -> None:
    markdown = "a ` tick\n\n[a.py:1] then ` later"
    assert _spans(markdown) == [("a.py", 1, 1)]


def test_extensionless_well_known_files_and_zero_lines() -> None:
    assert _spans("[Makefile:3] [LICENSE:1-2] [a.py:0] [a.py:007]") == [
        ("Makefile", 3, 3), ("LICENSE", 1, 2), ("a.py", 0, 0), ("a.py", 7, 7)
    ]


_PATHS = st.from_regex(r"[A-Za-z0-9_\-]{1,8}(/[A-Za-z0-9_\-]{1,8}){0,3}\.[a-z]{1,4}", fullmatch=True)
_PROSE = st.text(alphabet=st.characters(blacklist_characters="[]`~\\"), max_size=30)


@PROPERTY_SETTINGS
@given(path=_PATHS, start=st.integers(0, 10**6), length=st.integers(0, 500), before=_PROSE, after=_PROSE)
def test_format_then_parse_round_trips(path: str, start: int, length: int, before: str, after: str) -> None:
    text = format_citation(path, start, start + length)
    markdown = f"{before} {text} {after}"
    assert parse_citations(markdown) == [Citation(path, start, start + length, text, len(before) + 1)]


@PROPERTY_SETTINGS
@given(markdown=st.text(max_size=300))
def test_parsing_arbitrary_text_never_crashes_and_offsets_point_at_the_text(markdown: str) -> None:
    for citation in parse_citations(markdown):
        assert markdown[citation.offset : citation.offset + len(citation.text)] == citation.text
        assert citation.text.startswith("[") and citation.text.endswith("]")


@PROPERTY_SETTINGS
@given(
    markdown=st.lists(
        st.sampled_from(["[a.py:1]", "`", "``", "```", "~~~", "\n", "\n\n", "x", " ", "[", "]", "(", ":2", "-3"]),
        max_size=40,
    ).map("".join)
)
def test_markdown_shaped_noise_never_crashes(markdown: str) -> None:
    for citation in parse_citations(markdown):
        assert markdown[citation.offset : citation.offset + len(citation.text)] == citation.text


# --- verification -----------------------------------------------------------------------------
@PROPERTY_SETTINGS
@given(lines=st.integers(0, MAX_LINES), start=st.integers(0, MAX_LINES + 2), end=st.integers(0, MAX_LINES + 2))
def test_valid_iff_range_lies_inside_the_file(repo: Repository, lines: int, start: int, end: int) -> None:
    report = verify_citations(f"claim [f{lines}.txt:{start}-{end}]", repo)
    (check,) = report.checks
    assert check.valid is (1 <= start <= end <= lines)
    assert check.line_count == lines


@pytest.mark.parametrize(
    ("citation", "reason"),
    [
        ("[missing.py:1]", "file not found"),
        ("[f12.txt/x.py:1]", "file not found"),
        ("[../f3.txt:1]", "outside repository"),
        ("[/etc/passwd:1]", "outside repository"),
        ("[escape.py:1]", "outside repository"),
        ("[.git/config:1]", "outside repository"),
        ("[docs/:1]", "not a file"),
        ("[image.png:1]", "binary file"),
        ("[f3.txt:0]", "line 0"),
        ("[f3.txt:0-2]", "line 0"),
        ("[f3.txt:3-2]", "reversed range"),
        ("[f3.txt:2-4]", "end past last line (3 lines)"),
        ("[f0.txt:1]", "end past last line (0 lines)"),
        ("[no_newline.py:3]", "end past last line (2 lines)"),
    ],
)
def test_invalid_citations_say_why(repo: Repository, citation: str, reason: str) -> None:
    (check,) = verify_citations(f"text {citation}", repo).checks
    assert (check.valid, check.reason) == (False, reason)


def test_report_counts_and_feedback(repo: Repository) -> None:
    markdown = "ok [f5.txt:1-5] ok [Makefile:2] bad [f5.txt:4-9] bad [nope.py:1] again [f5.txt:4-9]"
    report = verify_citations(markdown, repo)
    assert report.as_dict() == {"total": 5, "valid": 2, "invalid": 3}
    assert [c.citation.text for c in report.invalid_checks()] == ["[f5.txt:4-9]", "[nope.py:1]", "[f5.txt:4-9]"]
    feedback = format_feedback(report)
    assert feedback.startswith("Some citations are invalid:\n")
    lines = feedback.splitlines()
    assert lines[1] == (
        "- [f5.txt:4-9]: end past last line (5 lines); file has 5 lines, so cite within 1-5 (cited 2 times)"
    )
    assert lines[2].startswith("- [nope.py:1]: file not found; there is no file nope.py")
    assert len(lines) == 4  # header, two distinct citations, instruction


def test_feedback_is_empty_when_everything_is_valid(repo: Repository) -> None:
    report = verify_citations("fine [f2.txt:1-2]", repo)
    assert report.as_dict() == {"total": 1, "valid": 1, "invalid": 0}
    assert format_feedback(report) == ""
    assert format_feedback(CitationReport()) == ""
    assert FEEDBACK_HEADER == "Some citations are invalid:"


def test_verification_reads_the_disk_now(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("1\n2\n3\n")
    repo = Repository(tmp_path)
    assert verify_citations("[a.py:3]", repo).valid == 1
    (tmp_path / "a.py").write_text("1\n")
    assert verify_citations("[a.py:3]", repo).checks[0].reason == "end past last line (1 lines)"


# --- impossible numbers (issue 26, finding 11) -------------------------------------------------
@pytest.mark.parametrize("digits", [19, 4_301, 50_000])
def test_a_line_number_no_file_can_have_is_an_invalid_citation(repo: Repository, digits: int) -> None:
    huge = "9" * digits
    markdown = f"See [f3.txt:{huge}] and [f3.txt:1-{huge}] and [f3.txt:{huge}-2]; [f3.txt:2]."
    report = verify_citations(markdown, repo)
    assert (report.total, report.valid) == (4, 1)
    assert {check.reason for check in report.invalid_checks()} == {"impossible line number"}
    feedback = format_feedback(report)
    assert feedback.startswith(FEEDBACK_HEADER) and len(feedback) < 1_000
    assert "impossible line number" in feedback


def test_leading_zeros_are_not_impossible(repo: Repository) -> None:
    report = verify_citations("[f3.txt:" + "0" * 5_000 + "2]", repo)
    assert report.checks[0].citation.start == 2 and report.valid == 1
