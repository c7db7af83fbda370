"""``tech-writer compare``: the same request on several models, each report evaluated and ranked.

Runs go round by round (every model once, then again for ``--runs K``), so an interrupted
comparison still has every model. Each run is one trace: a ``compare {model} #{n}`` span tagged
``tech_writer.compare.id`` (shared by the whole comparison) and ``tech_writer.compare.run``, with
the run's ``invoke_agent`` span and the evaluation's spans under it. ``max_cost_usd`` caps the
whole comparison, judge included: each run and each judge gets what is left.

**The score** (the ranking; 0–1, higher is better) is a product, so one bad dimension sinks it:

    score = citation validity × citation coverage × entity existence × support

where *support* is the judge's citation precision when there is a judge, else the share of
backticked names found inside the lines their own sentence cites. A report with no citations or
no claims scores 0; one that names nothing has existence and support 1. Models are ranked by their
median score, ties by median cost.
"""

from __future__ import annotations

import math
import re
import statistics
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tech_writer.errors import (
    EXIT_BUDGET,
    EXIT_FAILED,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    SettingError,
    TechWriterError,
    interruption,
)
from tech_writer.pipeline.evaluate import EvalScope, JudgeSettings, evaluate
from tech_writer.pipeline.progress import Progress
from tech_writer.pipeline.run import run_report
from tech_writer.pipeline.settings import RunSettings
from tech_writer.repository.files import write_atomic
from telemetry import attributes as attrs

if TYPE_CHECKING:
    from telemetry import Telemetry

__all__ = ["SCORE_FORMULA", "CompareRequest", "CompareResult", "RunRecord", "format_table", "run_compare",
           "score_of"]

SCORE_FORMULA = ("score = citation validity × citation coverage × entity existence × support "
                 "(support = judge's citation precision with --judge, else the share of named "
                 "identifiers found in the lines their sentence cites); ranked by median score, "
                 "ties by median cost")
METRICS = ("citation_validity", "citation_coverage", "entity_existence", "entity_in_cited_span",
           "citation_precision", "faithfulness", "completeness")


@dataclass(frozen=True)
class CompareRequest:
    """``settings`` are every run's (provider, limits, ...): each run takes its model from
    ``models`` and its budget from what ``max_cost_usd``, the cap on the whole comparison, has
    left."""

    prompt: str
    prompt_name: str
    repo_path: Path
    models: tuple[str, ...]
    output_dir: Path
    settings: RunSettings = field(default_factory=RunSettings)
    runs: int = 1
    judge: JudgeSettings | None = None
    max_cost_usd: float | None = None

    @property
    def provider(self) -> str:
        return self.settings.provider


@dataclass
class RunRecord:
    model: str
    run: int
    report_file: str | None
    outcome: str  # "done" | "budget_exhausted" | "failed" | "interrupted"
    seconds: float
    cost: dict[str, Any] | None
    eval: dict[str, Any] | None
    error: str | None = None
    exit_code: int = 0
    phase_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def cost_usd(self) -> float | None:
        return None if self.cost is None else float(self.cost.get("total_cost_usd") or 0.0)

    def metric(self, name: str) -> float | None:
        if self.eval is None:
            return None
        metrics, judge = self.eval["metrics"], self.eval.get("judge") or {}
        if name in ("citation_precision", "faithfulness"):
            return judge.get(name)
        if name == "completeness":
            completeness = judge.get("completeness") or {}
            return completeness.get("score")
        value = metrics.get(name)
        return value if isinstance(value, (int, float)) else None

    @property
    def score(self) -> float | None:
        return score_of(self)

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "run": self.run, "report": self.report_file,
                "outcome": self.outcome, "seconds": round(self.seconds, 3),
                "phase_seconds": self.phase_seconds,
                "cost_usd": self.cost_usd, "score": self.score, "error": self.error,
                "judge_cost_usd": self.eval.get("judge_cost_usd") if self.eval else None,
                "cost": self.cost, "eval": self.eval}


def score_of(record: RunRecord) -> float | None:
    """See the module docstring; None when the run produced nothing to evaluate."""
    if record.eval is None:
        return None
    validity = record.metric("citation_validity") or 0.0
    coverage = record.metric("citation_coverage") or 0.0
    existence = _or_one(record.metric("entity_existence"))
    judged = record.metric("citation_precision")
    support = judged if judged is not None else _or_one(record.metric("entity_in_cited_span"))
    return round(validity * coverage * existence * support, 4)


def _or_one(value: float | None) -> float:
    return 1.0 if value is None else value


@dataclass
class CompareResult:
    compare_id: str
    records: list[RunRecord]
    judged: bool
    stopped: str | None = None  # why the comparison stopped early, if it did
    exit_code: int = 0
    files: dict[str, str] = field(default_factory=dict)

    def judge_cost_usd(self) -> float:
        return math.fsum(r.eval.get("judge_cost_usd") or 0.0 for r in self.records if r.eval)

    def report_cost_usd(self) -> float:
        return math.fsum(r.cost_usd or 0.0 for r in self.records)

    def ranking(self, models: Sequence[str]) -> list[dict[str, Any]]:
        rows = []
        for model in models:
            mine = [r for r in self.records if r.model == model]
            if not mine:
                continue
            row: dict[str, Any] = {"model": model, "runs": len(mine),
                                   "completed": sum(1 for r in mine if r.outcome == "done"),
                                   "score": _spread([r.score for r in mine]),
                                   "cost_usd": _spread([r.cost_usd for r in mine]),
                                   "seconds": _spread([r.seconds for r in mine]),
                                   "hallucinated_names": sorted({name for r in mine if r.eval
                                                                 for name in r.eval["metrics"]
                                                                 ["entities"]["missing"]})}
            for metric in METRICS:
                row[metric] = _spread([r.metric(metric) for r in mine])
            rows.append(row)
        rows.sort(key=lambda row: (-(row["score"]["median"] or 0.0),
                                   row["cost_usd"]["median"] if row["cost_usd"]["median"] is not None
                                   else float("inf")))
        for rank, row in enumerate(rows, 1):
            row["rank"] = rank
        return rows

    def as_dict(self, models: Sequence[str]) -> dict[str, Any]:
        return {"compare_id": self.compare_id, "score_formula": SCORE_FORMULA,
                "judged": self.judged, "stopped": self.stopped,
                "report_cost_usd": self.report_cost_usd(),
                "judge_cost_usd": self.judge_cost_usd(),
                "ranking": self.ranking(models), "runs": [r.as_dict() for r in self.records]}


def _spread(values: Sequence[float | int | None]) -> dict[str, float | None]:
    known = [float(v) for v in values if v is not None]
    if not known:
        return {"min": None, "median": None, "max": None}
    return {"min": round(min(known), 6), "median": round(statistics.median(known), 6),
            "max": round(max(known), 6)}


def run_compare(request: CompareRequest, *, progress: Progress | None = None,
                environ: Mapping[str, str] | None = None,
                telemetry_factory: Callable[[], Telemetry] | None = None) -> CompareResult:
    """Run every (model, run) pair, evaluate each report, write each report as it is done.
    Never raises for a failed run: the failure is recorded and the comparison goes on (a spent
    budget or Ctrl-C stop it; what finished is kept)."""
    if not request.models:
        raise SettingError("models", "no model to compare: name at least one",
                           reason="no_models")
    progress = progress or Progress.silent()
    reports_dir = request.output_dir / "reports"
    reports_dir.mkdir(parents=True, exist_ok=True)
    result = CompareResult(uuid.uuid4().hex[:16], [], request.judge is not None)
    plan = [(run, model) for run in range(1, request.runs + 1) for model in request.models]
    for position, (run, model) in enumerate(plan, 1):
        remaining = _remaining(request.max_cost_usd, result)
        if remaining is not None and remaining <= 0:
            result.stopped, result.exit_code = "--max-cost reached", EXIT_BUDGET
            break
        try:
            record = _one_run(request, model, run, remaining, reports_dir, result.compare_id,
                              environ, telemetry_factory)
        except KeyboardInterrupt as exc:  # between runs: keep what finished
            result.stopped, result.exit_code = interruption(exc)
            break
        result.records.append(record)
        progress.say(_progress_line(position, len(plan), record))
        if record.outcome == "interrupted" or record.exit_code in (EXIT_SIGINT, EXIT_SIGTERM):
            result.stopped, result.exit_code = record.error or "interrupted", record.exit_code or EXIT_SIGINT
            break
        if record.outcome == "budget_exhausted":
            result.stopped, result.exit_code = "--max-cost reached", EXIT_BUDGET
            break
    if result.exit_code == 0 and any(r.outcome == "failed" for r in result.records):
        result.exit_code = EXIT_FAILED
    return result


def _remaining(cap: float | None, result: CompareResult) -> float | None:
    if cap is None:
        return None
    return cap - result.report_cost_usd() - result.judge_cost_usd()


def _one_run(request: CompareRequest, model: str, run: int, remaining: float | None,
             reports_dir: Path, compare_id: str, environ: Mapping[str, str] | None,
             telemetry_factory: Callable[[], Telemetry] | None) -> RunRecord:
    from telemetry import Telemetry
    from telemetry.phase_clock import PhaseClock

    telemetry = telemetry_factory() if telemetry_factory else Telemetry.from_env(environ)
    clock = PhaseClock()
    telemetry.tracer_provider.add_span_processor(clock)
    tag = {attrs.COMPARE_ID: compare_id, attrs.COMPARE_RUN: f"{model}#{run}",
           attrs.EVAL_REPORT_MODEL: model}
    started = time.monotonic()
    report: str | None = None
    files_read: list[str] | None = None
    cost: dict[str, Any] | None = None
    outcome, error, exit_code = "done", None, 0
    try:
        with telemetry.step_span(f"compare {model} #{run}", tag):
            settings = replace(request.settings, model=model, max_cost_usd=remaining,
                               prompt_name=request.prompt_name)
            ran = run_report(request.prompt, request.repo_path, settings, telemetry=telemetry,
                             environ=environ)
            report, cost, failure = ran.report, ran.cost_document(), ran.failure
            if failure is None:
                files_read = ran.files_read
            else:
                error, exit_code = failure.message, failure.exit_code
                outcome = ("budget_exhausted" if failure.budget_exhausted else
                           "interrupted" if failure.interrupted else "failed")
            seconds = time.monotonic() - started
            report_file = _save(report, reports_dir, model, run)
            evaluation = None
            if report is not None and outcome != "interrupted":
                judge = _judge_within(request.judge, remaining)
                try:
                    evaluation = evaluate(report, request.repo_path, prompt=request.prompt,
                                          judge=judge, scope=EvalScope(files_read), telemetry=telemetry,
                                          trace_attributes=tag, environ=environ)
                except TechWriterError as exc:  # the run is kept; its evaluation is missing
                    error = f"evaluation failed: {exc.message}"
                except KeyboardInterrupt as exc:  # the run is kept; the comparison stops
                    error, exit_code = interruption(exc)
                    error = f"{error} while evaluating"
    finally:
        telemetry.shutdown()
    return RunRecord(model, run, report_file, outcome, seconds, cost, evaluation, error, exit_code,
                     clock.seconds())


def _judge_within(judge: JudgeSettings | None, remaining: float | None) -> JudgeSettings | None:
    """The judge shares the run's telemetry, whose spend already includes the run's own calls:
    its budget is what was left before the run."""
    if judge is None or remaining is None:
        return judge
    return replace(judge, max_cost_usd=max(remaining, 1e-9))


def _save(report: str | None, reports_dir: Path, model: str, run: int) -> str | None:
    if report is None:
        return None
    name = f"{re.sub(r'[^A-Za-z0-9._-]+', '_', model)}-run{run}.md"
    write_atomic(reports_dir / name, report)
    return f"reports/{name}"


def _progress_line(position: int, total: int, record: RunRecord) -> str:
    parts = [f"[{position}/{total}] {record.model} run {record.run}: {record.outcome}"]
    if record.cost_usd is not None:
        parts.append(f"${record.cost_usd:.4f}")
    parts.append(f"{record.seconds:.1f} s")
    if record.score is not None:
        parts.append(f"score {record.score:.3f}")
    if record.eval and record.eval.get("judge_cost_usd") is not None:
        parts.append(f"judge ${record.eval['judge_cost_usd']:.4f}")
    if record.error and record.outcome != "done":
        parts.append(record.error)
    return " · ".join(parts)


# --- the table ----------------------------------------------------------------------------------
def format_table(rows: list[dict[str, Any]], judged: bool) -> str:
    """The ranking as a Markdown table; a spread is ``median (min–max)`` when runs differ."""
    support = "precision" if judged else "in cited span"
    header = ["rank", "model", "runs", "score", "cost $", "time s", "validity", "coverage",
              "names exist", support]
    if judged:
        header += ["faithful /3", "complete /3"]
    header.append("made-up names")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [str(row["rank"]), f"`{row['model']}`",
                 f"{row['completed']}/{row['runs']}" if row["completed"] != row["runs"] else str(row["runs"]),
                 _cell(row["score"], 3), _cell(row["cost_usd"], 4), _cell(row["seconds"], 1),
                 _cell(row["citation_validity"], 2), _cell(row["citation_coverage"], 2),
                 _cell(row["entity_existence"], 2),
                 _cell(row["citation_precision" if judged else "entity_in_cited_span"], 2)]
        if judged:
            cells += [_cell(row["faithfulness"], 2), _cell(row["completeness"], 1)]
        cells.append(str(len(row["hallucinated_names"])))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(spread: Mapping[str, float | None], digits: int) -> str:
    median = spread["median"]
    if median is None:
        return "–"
    text = f"{median:.{digits}f}"
    low, high = spread["min"], spread["max"]
    if low is not None and high is not None and f"{low:.{digits}f}" != f"{high:.{digits}f}":
        text += f" ({low:.{digits}f}–{high:.{digits}f})"
    return text
