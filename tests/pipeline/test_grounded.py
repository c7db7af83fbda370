"""The gate at writing time: evidence for the request, one rewrite, then removal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tech_writer.pipeline.grounded import Grounding, UngroundedReport
from tech_writer.report.gate import GroundingFigures
from tech_writer.repository.repo import Repository


@pytest.fixture
def grounding(sample_repo: Path) -> Grounding:
    return Grounding(Repository(sample_repo),
                     important_files=["README.md", "inventory/store.py", "inventory/cli.py"])


def test_evidence_covers_the_sections_files_topped_up_with_the_important_ones(
        grounding: Grounding) -> None:
    assert grounding.evidence_files(["./inventory/cli.py", "nowhere.py"]) == [
        "inventory/cli.py", "README.md", "inventory/store.py"]
    evidence = grounding.evidence(["inventory/store.py"])
    assert evidence.startswith("[inventory/store.py:1-")
    assert "6\tclass Store:" in evidence


def test_a_grounded_section_is_not_sent_back(grounding: Grounding) -> None:
    def rewrite(feedback: str) -> str:
        raise AssertionError("no rewrite for a grounded section")

    gated = grounding.ground("Storage", "Rows live in SQLite [inventory/store.py:6-11].",
                             evidence="", relevant_files=[], rewrite=rewrite)
    assert gated.markdown == "Rows live in SQLite [inventory/store.py:6-11]."


def test_failures_go_back_once_with_the_evidence_and_the_better_answer_is_kept(
        grounding: Grounding) -> None:
    sent: list[str] = []
    reasons: list[str] = []

    def rewrite(feedback: str) -> str:
        sent.append(feedback)
        return "Rows live in SQLite [inventory/store.py:6-11]. It is fast."

    gated = grounding.ground("Storage", "It is fast. It uses `RowCache`.", evidence="EVIDENCE",
                             relevant_files=["inventory/store.py"], rewrite=rewrite,
                             on_retry=reasons.append)
    assert reasons == ["2 of 2 claim(s) not grounded"]
    (feedback,) = sent
    assert '- "It is fast." — no citation' in feedback
    assert "These names do not exist in this repository: `RowCache`." in feedback
    assert feedback.endswith("EVIDENCE")
    assert gated.markdown == "Rows live in SQLite [inventory/store.py:6-11]."
    assert grounding.figures() == GroundingFigures(claims_kept=1, claims_cited=1, cited_by_model=1,
                                                   removed=1, sections=1)


def test_a_worse_rewrite_does_not_replace_the_first_answer(grounding: Grounding) -> None:
    gated = grounding.ground("S", "Rows live in SQLite [inventory/store.py:6-11]. Fast.",
                             evidence="", relevant_files=[],
                             rewrite=lambda feedback: "functions.read_file:")
    assert gated.markdown == "Rows live in SQLite [inventory/store.py:6-11]."


def test_a_section_with_nothing_grounded_is_left_out_and_named(grounding: Grounding) -> None:
    gated = grounding.ground("Data flow", "functions.get_structure:", evidence="",
                             relevant_files=[], rewrite=lambda feedback: "")
    assert gated.markdown is None and gated.draft == "functions.get_structure:"
    figures = grounding.figures()
    assert figures.sections_left_out == ("Data flow",) and figures.nothing_grounded
    error = UngroundedReport(GroundingFigures(removed=154, sections=7), "draft")
    assert error.message == ("the model could not ground its claims: 0 of 154 cited; "
                             "try a larger model")
    assert error.exit_code == 1
    invented = UngroundedReport(GroundingFigures(removed=21, claims_cited=11, names_missing=11,
                                                 sections=5), "draft")
    assert invented.message == ("the model could not ground its claims: 11 of 21 cited, 11 "
                                "name(s) not in the repository; try a larger model")
    leaked = UngroundedReport(GroundingFigures(sections=5), "draft")
    assert leaked.message == ("the model could not ground its claims: none of its 5 section(s) "
                              "was prose (a tool call written as text, or nothing); try a larger "
                              "model")
