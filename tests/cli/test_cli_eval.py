"""`tech-writer eval`, `--eval` on a run and `tech-writer compare`, as a user runs them."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from cli_helpers import assert_no_traceback, run_cli
from otlp_receiver import OtlpReceiver

from tech_writer.pipeline.compare import CompareRequest, run_compare
from tech_writer.pipeline.evaluate import JudgeSettings
from tech_writer.pipeline.settings import RunSettings
from telemetry import Telemetry
from telemetry import attributes as attrs

HAND_REPORT = ("# Inventory\n\n## Storage\n\n"
               "`Store` keeps items in SQLite [inventory/store.py:6-10]. "
               "`Store.purge_all()` empties it. It is small.\n")


@pytest.fixture
def report_file(tmp_path: Path) -> Path:
    path = tmp_path / "hand.md"
    path.write_text(HAND_REPORT, encoding="utf-8")
    return path


def test_eval_scores_a_report_without_any_model(sample_repo, report_file):
    result = run_cli("eval", "--report", report_file, "--repo", sample_repo, "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["citation_validity"] == 1.0
    assert metrics["claims"] == {"total": 3, "cited": 1}
    assert metrics["entities"]["missing"] == ["Store.purge_all()"]
    human = run_cli("eval", "--report", report_file, "--repo", sample_repo)
    assert "citation coverage     33% (1/3 claims cited)" in human.stdout
    assert "not in the repository: Store.purge_all()" in human.stdout


def test_eval_usage_errors_are_one_line(sample_repo, tmp_path):
    for args, message in [
        (["--report", tmp_path / "none.md", "--repo", sample_repo], "--report"),
        (["--report", sample_repo / "README.md", "--repo", tmp_path / "nope"], "--repo"),
        (["--report", sample_repo / "README.md", "--repo", sample_repo, "--provider", "openrouter",
          "--judge", "x/y"], "OPENROUTER_API_KEY"),
    ]:
        result = run_cli("eval", *args)
        assert result.returncode == 2, result.stderr
        assert_no_traceback(result)
        assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


def test_eval_with_the_demo_judge_reports_its_cost_apart_and_exports_events(sample_repo,
                                                                             report_file, prompt_file):
    with OtlpReceiver() as receiver:
        result = run_cli("eval", "--report", report_file, "--repo", sample_repo, "--prompt",
                         prompt_file, "--provider", "demo", "--judge", "demo/judge", "--json",
                         env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint})
        assert result.returncode == 0, result.stderr
        spans = receiver.spans()
    document = json.loads(result.stdout)
    judge = document["judge"]
    assert judge["verdicts"] == {"supported": 1, "partial": 0, "unsupported": 0}
    assert judge["completeness"]["score"] in (0, 1, 2, 3) and judge["sections"][0]["section"] == "Storage"
    assert document["judge_cost_usd"] > 0 and "judge cost: $" in result.stderr
    (phase,) = [s for s in spans if s.name == "phase evaluate"]
    names = {e.attributes[attrs.GEN_AI_EVALUATION_NAME]: e.attributes for e in phase.events
             if e.name == attrs.GEN_AI_EVALUATION_RESULT}
    assert set(names) >= {"citation_validity", "citation_coverage", "entity_existence",
                          "citation_precision", "faithfulness", "completeness"}
    assert names["citation_precision"][attrs.GEN_AI_EVALUATION_SCORE_VALUE] == 1.0
    assert "Store.purge_all()" in names["entity_existence"][attrs.GEN_AI_EVALUATION_EXPLANATION]
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert chats and all(s.attributes[attrs.PHASE] == "evaluate" for s in chats)


def test_eval_on_a_run_goes_into_the_json_beside_the_cost(sample_repo, prompt_file):
    result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "demo",
                     "--eval-json", "--eval", "--max-sections", "2")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) >= {"report", "citations", "cost", "eval"}
    evaluation = document["eval"]
    assert evaluation["metrics"]["citations"]["total"] == document["citations"]["total"]
    assert evaluation["metrics"]["exploration"]["files_read"] >= 1
    assert evaluation["judge"] is None and evaluation["judge_cost_usd"] is None
    summary = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "demo", "--eval",
                      "--max-sections", "1")
    assert summary.returncode == 0 and "citation validity" in summary.stderr
    assert summary.stdout.startswith("# ")  # stdout is still the report alone


def compare_request(sample_repo: Path, prompt_file: Path, out: Path,
                    models: tuple[str, ...] = ("demo/careful", "demo/sloppy"), **extra) -> CompareRequest:
    return CompareRequest(prompt_file.read_text(), prompt_file.name, sample_repo, models, out,
                          settings=RunSettings(provider="demo"), **extra)


def test_compare_ranks_careful_above_sloppy_for_reasons_the_metrics_show(sample_repo, prompt_file,
                                                                         tmp_path):
    out = tmp_path / "cmp"
    with OtlpReceiver() as receiver:
        result = run_cli("compare", "--provider", "demo", "--models", "demo/careful,demo/sloppy",
                         "--prompt", prompt_file, "--repo", sample_repo, "--judge", "demo/judge",
                         "--runs", "2", "--max-sections", "1", "-o", out,
                         env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint})
        spans = receiver.spans()
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("[")] == [
        line for line in result.stderr.splitlines() if line.startswith(("[1/4]", "[2/4]", "[3/4]", "[4/4]"))]
    assert result.stderr.count("] demo/") == 4
    document = json.loads((out / "compare.json").read_text())
    careful, sloppy = document["ranking"]
    assert (careful["model"], sloppy["model"]) == ("demo/careful", "demo/sloppy")
    assert careful["score"]["median"] > sloppy["score"]["median"]
    assert careful["hallucinated_names"] == [] and sloppy["hallucinated_names"]
    assert careful["citation_precision"]["median"] > sloppy["citation_precision"]["median"]
    assert careful["runs"] == sloppy["runs"] == 2
    assert set(careful["cost_usd"]) == {"min", "median", "max"}
    assert document["judge_cost_usd"] > 0 and document["report_cost_usd"] > 0
    for run in document["runs"]:
        assert (out / run["report"]).read_text().startswith("# ")
    assert "| 1 | `demo/careful` |" in result.stdout and "score =" in result.stdout
    assert (out / "compare.md").read_text().count("| `demo/") == 2
    # One trace per run, all carrying the comparison's id.
    roots = [s for s in spans if s.parent_span_id is None]
    assert len(roots) == 4 and len({s.trace_id for s in roots}) == 4
    assert {s.attributes[attrs.COMPARE_ID] for s in roots} == {document["compare_id"]}
    assert sorted(s.attributes[attrs.COMPARE_RUN] for s in roots) == [
        "demo/careful#1", "demo/careful#2", "demo/sloppy#1", "demo/sloppy#2"]
    for root in roots:
        names = {s.name for s in spans if s.trace_id == root.trace_id}
        assert {"invoke_agent tech_writer", "phase evaluate"} <= names


def test_compare_max_cost_caps_the_whole_comparison(sample_repo, prompt_file, tmp_path):
    out = tmp_path / "cmp"
    first = run_compare(compare_request(sample_repo, prompt_file, tmp_path / "probe",
                                        models=("demo/careful",)), environ={})
    one_run = first.records[0].cost_usd
    assert one_run
    capped = run_compare(compare_request(sample_repo, prompt_file, out, runs=3,
                                         max_cost_usd=one_run * 1.5), environ={})
    assert capped.exit_code == 3 and capped.stopped == "--max-cost reached"
    assert capped.report_cost_usd() <= one_run * 1.5
    assert capped.records[0].outcome == "done"
    phases = capped.records[0].phase_seconds
    assert set(phases) == {"exploration", "outline", "sections", "evaluate"}
    run_phases = phases["exploration"] + phases["outline"] + phases["sections"]
    assert 0 < run_phases <= capped.records[0].seconds  # the run's time; evaluate comes after it
    assert phases["evaluate"] >= 0  # no judge here: only the events, microseconds


def test_ctrl_c_keeps_the_finished_runs(sample_repo, prompt_file, tmp_path):
    made = []

    def telemetry() -> Telemetry:
        made.append(1)
        if len(made) == 2:
            raise KeyboardInterrupt
        return Telemetry.for_testing()

    result = run_compare(compare_request(sample_repo, prompt_file, tmp_path / "cmp",
                                         judge=JudgeSettings("demo/judge", "demo")),
                         environ={}, telemetry_factory=telemetry)
    assert result.exit_code == 130 and len(result.records) == 1
    (done,) = result.records
    assert done.model == "demo/careful" and done.eval and done.eval["judge"]
    assert (tmp_path / "cmp" / done.report_file).is_file()


def test_ctrl_c_while_evaluating_keeps_that_run_and_stops(sample_repo, prompt_file, tmp_path,
                                                        monkeypatch):
    import tech_writer.pipeline.compare as compare

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(compare, "evaluate", interrupted)
    result = run_compare(compare_request(sample_repo, prompt_file, tmp_path / "cmp"), environ={})
    assert result.exit_code == 130 and len(result.records) == 1
    (run,) = result.records
    assert run.eval is None and run.cost_usd and "while evaluating" in (run.error or "")
    assert (tmp_path / "cmp" / (run.report_file or "")).is_file()


def test_without_matplotlib_compare_says_so_once_and_still_writes_table_and_json(
        sample_repo, prompt_file, tmp_path, monkeypatch, capsys):
    from tech_writer.commands.compare import compare_command

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    out = tmp_path / "cmp"
    with pytest.raises(SystemExit) as exit_info:
        compare_command.main(["--provider", "demo", "--models", "demo/careful", "--prompt",
                              str(prompt_file), "--repo", str(sample_repo), "-q", "-o", str(out)])
    assert exit_info.value.code == 0
    err = capsys.readouterr().err
    assert err.count("matplotlib is not installed") == 1
    assert (out / "compare.json").is_file() and (out / "compare.md").is_file()
    assert not (out / "compare.svg").exists()


@pytest.mark.chart
def test_the_chart_is_an_svg_with_a_point_per_run(sample_repo, prompt_file, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "cmp"
    result = run_cli("compare", "--provider", "demo", "--models", "demo/careful,demo/sloppy",
                     "--prompt", prompt_file, "--repo", sample_repo, "-q", "-o", out)
    assert result.returncode == 0, result.stderr
    svg = (out / "compare.svg").read_text()
    assert svg.startswith("<?xml") and "demo/careful" in svg and "demo/sloppy" in svg


def test_compare_against_the_fake_openrouter_accounts_for_every_billed_call(sample_repo, prompt_file,
                                                                            tmp_path):
    from cli_helpers import KEY

    from tech_writer.demo import FakeOpenRouter

    out = tmp_path / "cmp"
    with FakeOpenRouter(api_key=KEY) as server:
        result = run_cli("compare", "--provider", "openrouter", "--base-url", server.base_url,
                         "--models", "openai/gpt-4o-mini,anthropic/claude-sonnet-4",
                         "--judge", "openai/gpt-4o-mini", "--max-sections", "1", "--prompt",
                         prompt_file, "--repo", sample_repo, "-q", "-o", out,
                         env={"OPENROUTER_API_KEY": KEY})
        billed = sum(call.cost_usd for call in server.ledger)
        judge_requests = [r for r in server.requests if isinstance(r.json, dict)
                          and str(((r.json.get("response_format") or {}).get("json_schema") or {})
                                  .get("name", "")).startswith("tech_writer_")]
    assert result.returncode == 0, result.stderr
    assert KEY not in result.stdout + result.stderr
    document = json.loads((out / "compare.json").read_text())
    # The reports' cost and the judge's are kept apart, and together they are the whole bill.
    total = math.fsum([document["report_cost_usd"], document["judge_cost_usd"]])
    assert total == pytest.approx(billed, abs=1e-12)
    assert document["judge_cost_usd"] > 0 and judge_requests
    assert sum(r["eval"]["judge_cost"]["calls"] for r in document["runs"]) == len(judge_requests)
    assert all(r["cost"]["phases"].get("evaluate", {"calls": 0})["calls"] == 0 for r in document["runs"])
