"""Grounded or not at all: what the gate lets into the report, against scripted bad models.

The demo provider's models: ``demo/careful`` (cites), ``demo/uncited`` (never cites),
``demo/inventive`` (names helpers that do not exist), ``demo/leaky`` (explores nothing and
answers with a tool call written as text).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_helpers import assert_no_traceback, run_cli
from otlp_receiver import OtlpReceiver

from tech_writer.report.anchors import ANCHOR_MARK
from tech_writer.report.claims import split_claims
from tech_writer.report.evaluation import evaluate_report
from tech_writer.report.gate import GROUNDING_PREFIX, UNVERIFIED_PREFIX
from tech_writer.repository.repo import Repository
from telemetry import attributes as attrs


def _run(model: str, repo: Path, prompt: Path, output: Path, *extra: str,
         env: dict[str, str] | None = None):
    return run_cli("--prompt", prompt, "--repo", repo, "--provider", "demo", "--model", model,
                   "--max-sections", "3", "-o", output, *extra, env=env)


def _gated(model: str, repo: Path, prompt: Path, output: Path, *extra: str
           ) -> tuple[subprocess.CompletedProcess[str], dict, str]:
    """A run that must succeed: the process, its ``grounding`` figures and the report it wrote."""
    result = _run(model, repo, prompt, output, "--eval-json", *extra)
    assert result.returncode == 0, result.stderr
    return result, json.loads(result.stdout)["grounding"], output.read_text(encoding="utf-8")


def _grounding_line(report: str) -> str:
    (line,) = [line for line in report.splitlines() if line.startswith(GROUNDING_PREFIX)]
    return line


def test_a_careful_model_keeps_its_cited_claims_and_the_report_says_how_grounded_it_is(
        sample_repo: Path, prompt_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "report.md"
    with OtlpReceiver() as receiver:
        result = _run("demo/careful", sample_repo, prompt_file, output, "--eval-json", "--eval",
                      env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint})
        spans = receiver.spans()
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    grounding, metrics = document["grounding"], document["eval"]["metrics"]
    report = output.read_text(encoding="utf-8")
    # What the gate kept is exactly what eval counts: every claim cited, valid, names real.
    assert grounding["claims_kept"] == metrics["claims"]["total"] > 0
    assert metrics["citation_coverage"] == metrics["citation_validity"] == 1.0
    assert metrics["entity_existence"] == 1.0
    assert grounding["claims_written"] == grounding["claims_kept"] + grounding["removed"]
    assert _grounding_line(report).startswith(
        f"{GROUNDING_PREFIX}: {grounding['claims_kept']} of {grounding['claims_written']} claims "
        "kept, all cited")
    # The trace: the figures on the sections phase and each section, and an evaluation event.
    (phase,) = [s for s in spans if s.name == "phase sections"]
    assert phase.attributes[attrs.GROUNDING_CLAIMS_KEPT] == grounding["claims_kept"]
    assert phase.attributes[attrs.GROUNDING_CLAIMS_REMOVED] == grounding["removed"]
    events = [e for e in phase.events if e.name == attrs.GEN_AI_EVALUATION_RESULT]
    (event,) = [e for e in events if e.attributes[attrs.GEN_AI_EVALUATION_NAME] == "grounding"]
    assert event.attributes[attrs.GEN_AI_EVALUATION_SCORE_VALUE] == pytest.approx(
        grounding["claims_kept"] / grounding["claims_written"])
    sections = [s for s in spans if attrs.SECTION_TITLE in s.attributes]
    assert sum(s.attributes[attrs.GROUNDING_CLAIMS_KEPT] for s in sections) == grounding["claims_kept"]
    (root,) = [s for s in spans if s.parent_span_id is None and s.name.startswith("invoke_agent")
               and s.attributes.get(attrs.GROUNDING_CLAIMS_KEPT) is not None]
    assert root.attributes[attrs.GROUNDING_NAMES_CHECKED] == grounding["names_checked"]


def test_a_model_that_never_cites_keeps_only_what_the_tool_could_anchor(
        sample_repo: Path, prompt_file: Path, tmp_path: Path) -> None:
    result, grounding, report = _gated("demo/uncited", sample_repo, prompt_file,
                                       tmp_path / "report.md")
    assert grounding["cited_by_model"] == 0
    assert grounding["anchored_by_tool"] == grounding["claims_kept"] > 0
    assert grounding["removed"] > 0
    assert ANCHOR_MARK in report and f"marked {ANCHOR_MARK}" in _grounding_line(report)
    # Every failing section went back to the model once, with the evidence.
    assert result.stderr.count("sent back once with the evidence") == 3
    metrics = evaluate_report(report, Repository(sample_repo))
    assert metrics.citation_coverage == metrics.citation_validity == 1.0
    assert metrics.entity_existence == 1.0


def test_keep_unverified_quotes_what_fails_and_never_leaves_it_as_plain_text(
        sample_repo: Path, prompt_file: Path, tmp_path: Path) -> None:
    _, grounding, report = _gated("demo/uncited", sample_repo, prompt_file,
                                  tmp_path / "report.md", "--keep-unverified")
    assert grounding["removed"] == 0 and grounding["kept_unverified"] > 0
    assert report.count(UNVERIFIED_PREFIX) >= 1
    lines = report.splitlines()
    for claim in split_claims(report):
        line = lines[report.count("\n", 0, claim.start)]
        assert claim.citations or line.startswith(">"), claim.text


def test_a_model_that_invents_names_loses_those_claims_and_keeps_the_others(
        sample_repo: Path, prompt_file: Path, tmp_path: Path) -> None:
    result, grounding, report = _gated("demo/inventive", sample_repo, prompt_file,
                                       tmp_path / "report.md")
    # Every invented helper was named in a cited bullet: those claims are gone, with their name.
    assert grounding["names_missing"] > 0 and grounding["removed"] >= grounding["names_missing"]
    assert "Registry.dispatch()" not in report
    assert f"{grounding['names_checked']} names checked, {grounding['names_missing']} not in the " \
           "repository" in _grounding_line(report)
    metrics = evaluate_report(report, Repository(sample_repo))
    assert metrics.missing_entities() == [] and metrics.citation_coverage == 1.0
    assert result.stderr.count("sent back once with the evidence") == 3


def test_a_model_that_leaks_tool_calls_gets_an_exploration_that_reads_and_fails_clearly(
        sample_repo: Path, prompt_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "report.md"
    result = _run("demo/leaky", sample_repo, prompt_file, output, "--eval-json")
    assert_no_traceback(result)
    # One error line, no report of nothing, the draft beside the output, the cost as usual.
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert errors == ["tech-writer: error: " + json.loads(result.stdout)["error"]]
    assert not output.exists()
    draft = tmp_path / "report.ungrounded.md"
    assert f"the ungrounded draft (not a report) is in {draft}" in result.stderr
    assert "cost: $" in result.stderr
    assert "ended with a tool call written as text: the tool reads what matters itself" in result.stderr
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["report"] is None
    assert document["error"] == ("the model could not ground its claims: none of its 3 "
                                 "section(s) was prose (a tool call written as text, or "
                                 "nothing); try a larger model")
    assert document["grounding"]["sections_left_out"] and document["cost"]["total_calls"] > 0
    assert "functions.get_structure:" in draft.read_text(encoding="utf-8")
    assert document["ungrounded_draft"] == draft.read_text(encoding="utf-8")
