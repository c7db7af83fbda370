"""``tech-writer update`` with the demo provider (the scripted model behind the fake OpenRouter):
fresh sections kept byte for byte, moved citations re-anchored without a model, only stale
sections written again, $0 when nothing is stale, the trace's ``update`` phase, and a budget
that stops it midway leaving a whole report on disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_helpers import assert_no_traceback, run_cli
from conftest import make_repo
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tech_writer.pipeline.run import run_report
from tech_writer.pipeline.settings import RunSettings
from tech_writer.pipeline.update import update_report
from tech_writer.report.freshness import check_report, report_sections
from tech_writer.report.provenance import split_report
from tech_writer.repository.repo import Repository
from telemetry import Telemetry
from telemetry import attributes as attrs

PROMPT = "Write an architecture overview of this repository: components, data flow, storage. Cite the code.\n"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A git repository and the demo's report on it (written once for the module)."""
    root = make_repo(tmp_path_factory.mktemp("written") / "repo")
    result = run_report(PROMPT, root, RunSettings(provider="demo", concurrency=1))
    assert result.failure is None and result.report is not None
    return root, result.report


@pytest.fixture
def project(written: tuple[Path, str], tmp_path: Path) -> tuple[Path, Path]:
    root, report = written
    copy = tmp_path / "repo"
    shutil.copytree(root, copy)
    path = copy / "docs" / "ARCHITECTURE.md"
    path.parent.mkdir()
    path.write_text(report, encoding="utf-8")
    return copy, path


def _sections(text: str) -> dict[str, str]:
    body = split_report(text)[0]
    return {s.title: body[s.start:s.end] for s in report_sections(body)}


def _stale_one_file(root: Path, report: str) -> tuple[str, set[str]]:
    """Change the first cited line of the first cited file; (that file, the sections citing it)."""
    result = check_report(report, Repository(root))
    target = result.citations[0].citation
    lines = (root / target.path).read_text().splitlines(keepends=True)
    lines[target.start - 1] = "# changed by the test\n" + lines[target.start - 1].replace(
        lines[target.start - 1].strip() or "x", "changed_" + (lines[target.start - 1].strip() or "x"))
    (root / target.path).write_text("".join(lines))
    citing = {v.section for v in check_report(report, Repository(root)).citations
              if v.status in ("stale", "gone") and v.section}
    return target.path, citing  # type: ignore[return-value]


def test_nothing_stale_makes_no_model_call_and_costs_nothing(project: tuple[Path, Path]) -> None:
    root, path = project
    before = path.read_bytes()
    # No key anywhere: had a client been opened, the openrouter provider would refuse.
    result = run_cli("update", path, "--repo", root, "--provider", "openrouter", "--eval-json")
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    document = json.loads(result.stdout)
    assert document["update"] | {} == {**document["update"]}
    assert {k: document["update"][k] for k in ("sections_rewritten", "citations_reanchored")} == {
        "sections_rewritten": 0, "citations_reanchored": 0}
    assert document["cost"]["total_cost_usd"] == 0 and document["cost"]["total_calls"] == 0
    assert "no model call" in result.stderr
    assert path.read_bytes() == before


def test_moved_citations_are_re_anchored_without_a_model(project: tuple[Path, Path]) -> None:
    root, path = project
    before = path.read_text()
    cited = {v.citation.path for v in check_report(before, Repository(root)).citations}
    for name in cited:
        (root / name).write_text("\n\n" + (root / name).read_text())
    result = run_cli("update", path, "--repo", root, "--provider", "openrouter", "--eval-json")
    assert result.returncode == 0, result.stderr
    update = json.loads(result.stdout)["update"]
    assert update["sections_rewritten"] == 0 and update["citations_reanchored"] > 0
    after = path.read_text()
    assert check_report(after, Repository(root)).exit_code == 0
    # Only line numbers changed in the prose.
    strip = __import__("re").compile(r":\d+(?:-\d+)?")
    assert strip.sub("", split_report(after)[0]) == strip.sub("", split_report(before)[0])


def test_only_stale_sections_are_written_again_and_the_rest_kept_byte_for_byte(project: tuple[Path, Path]) -> None:
    root, path = project
    before = path.read_text()
    changed, stale_titles = _stale_one_file(root, before)
    assert stale_titles and len(stale_titles) < len(_sections(before))
    result = run_cli("update", path, "--repo", root, "--provider", "demo", "--eval-json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    update = document["update"]
    assert update["sections_rewritten"] == len(stale_titles)
    assert update["sections_kept"] == len(_sections(before)) - len(stale_titles)
    assert {s["title"] for s in update["stale_sections"]} == stale_titles
    assert all(changed in s["reason"] for s in update["stale_sections"])
    assert 0 < document["cost"]["total_cost_usd"] and document["simulated"] is True
    after = path.read_text()
    old, new = _sections(before), _sections(after)
    assert list(old) == list(new)
    for title in old:
        if title not in stale_titles:
            assert new[title] == old[title], title
    assert document["report"] == after
    checked = check_report(after, Repository(root))
    assert checked.exit_code == 0 and not checked.stale_sections()
    assert "cost: $" in result.stderr and "simulated" in result.stderr


def test_the_trace_has_an_update_phase_and_says_why_each_section_was_stale(project: tuple[Path, Path]) -> None:
    root, path = project
    before = path.read_text()
    changed, stale_titles = _stale_one_file(root, before)
    exporter = InMemorySpanExporter()
    telemetry = Telemetry.for_testing(exporter)
    try:
        result = update_report(before, root, RunSettings(provider="demo", concurrency=1), telemetry=telemetry)
    finally:
        telemetry.shutdown()
    assert result.failure is None and set(result.rewritten) == stale_titles
    spans = exporter.get_finished_spans()
    root_span = next(s for s in spans if s.parent is None)
    assert root_span.attributes[attrs.RUN_COMMAND] == "update"
    assert root_span.attributes[attrs.RUN_OUTCOME] == "done"
    assert [s.name for s in spans if s.name.startswith("phase ")] == ["phase update"]
    sections = [s for s in spans if s.name.startswith("update section ")]
    assert {s.attributes[attrs.SECTION_TITLE] for s in sections} == stale_titles
    assert all(changed in str(s.attributes[attrs.UPDATE_REASON]) for s in sections)
    chats = [s for s in spans if s.attributes.get(attrs.GEN_AI_OPERATION_NAME) == attrs.OPERATION_CHAT]
    assert chats and all(s.attributes[attrs.PHASE] == "update" for s in chats)
    summary = result.cost_summary
    assert summary is not None and set(summary.phases) == {"update"} and summary.total.calls == len(chats)


def test_a_budget_that_stops_the_update_leaves_a_whole_report(project: tuple[Path, Path]) -> None:
    root, path = project
    before = path.read_text()
    for verdict in check_report(before, Repository(root)).citations:  # every section stale
        file = root / verdict.citation.path
        file.write_text(file.read_text().replace("\n", " # edited\n", 1) if file.exists() else "")
    stale_before = len(check_report(before, Repository(root)).stale_sections())
    assert stale_before > 1
    # A budget that buys one section's worst case (its full output cap) but not them all.
    result = run_cli("update", path, "--repo", root, "--provider", "demo", "--max-cost", "0.05", "--eval-json")
    assert result.returncode == 3, result.stderr
    assert_no_traceback(result)
    document = json.loads(result.stdout)
    after = path.read_text()
    assert document["report"] == after
    body, provenance = split_report(after)  # whole: its provenance reads back
    assert provenance is not None and list(_sections(after)) == list(_sections(before))
    rewritten = document["update"]["sections_rewritten"]
    assert 0 <= rewritten < stale_before
    assert 0 < document["cost"]["total_cost_usd"]
    # What was rewritten holds; what was not is still stale, for the next update.
    checked = check_report(after, Repository(root))
    assert len(checked.stale_sections()) == stale_before - rewritten


def test_a_report_without_provenance_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    report = tmp_path / "r.md"
    report.write_text("# R\n\n## A\n\nx [a.py:1]\n")
    result = run_cli("update", report, "--repo", tmp_path, "--provider", "demo")
    assert result.returncode == 2 and "has no provenance" in result.stderr
    assert_no_traceback(result)


def test_a_run_writes_its_provenance_and_the_same_run_the_same_bytes(written: tuple[Path, str]) -> None:
    root, report = written
    body, provenance = split_report(report)
    assert provenance is not None and provenance.prompt == PROMPT and provenance.provider == "demo"
    assert provenance.commit is not None and len(provenance.commit) == 40
    assert [r.title for r in provenance.sections] == [s.title for s in report_sections(body)]
    assert all(r.citations and r.files for r in provenance.sections)
    again = run_report(PROMPT, root, RunSettings(provider="demo", concurrency=1))
    assert again.report == report
