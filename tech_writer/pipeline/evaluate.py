"""Score a report: the deterministic metrics always, the LLM judge when one is named.

The evaluation is its own trace: a root ``invoke_agent tech_writer.evaluate`` span and under it a
``phase evaluate`` span holding the judge's ``chat`` spans and one ``gen_ai.evaluation.result``
event per score (:func:`telemetry.evaluation.record_evaluation`). The judge's calls are counted by
their own cost processor, so their cost (``judge_cost_usd``) is reported apart from the report's
and the two are never added together.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tech_writer.llm.client import LLMClient
from tech_writer.pipeline.judge import DEFAULT_SAMPLE, Judge, JudgeResult, claim_pairs
from tech_writer.report.claims import split_claims
from tech_writer.report.evaluation import ReportMetrics, evaluate_report
from tech_writer.repository.repo import Repository
from telemetry import attributes as attrs
from telemetry.evaluation import record_evaluation

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from telemetry import Telemetry

__all__ = ["EvalScope", "JudgeSettings", "evaluate"]

log = logging.getLogger("tech_writer")
AGENT_NAME = "tech_writer.evaluate"


@dataclass(frozen=True)
class JudgeSettings:
    """Who judges and how much: ``sample`` pairs at most, drawn with ``seed``."""

    model: str
    provider: str
    api_key: str | None = None
    base_url: str | None = None
    sample: int = DEFAULT_SAMPLE
    seed: int = 0
    max_cost_usd: float | None = None
    request_timeout_s: float = 180.0


@dataclass(frozen=True)
class EvalScope:
    """What the metrics look at beside the report: the files the run read (for the exploration
    efficiency), and paths whose names the report may not vouch for (the report itself, when it
    was written into the repository)."""

    files_read: Iterable[str] | None = None
    exclude: frozenset[str] = frozenset()


def evaluate(markdown: str, repo_path: str | Path, *, prompt: str | None = None,
             judge: JudgeSettings | None = None, scope: EvalScope | None = None,
             telemetry: Telemetry | None = None,
             trace_attributes: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``"eval"`` document: ``metrics``, ``judge`` (None without one), ``judge_cost_usd`` and
    ``judge_cost`` (the judge's own cost summary), ``seconds``. ``telemetry``: where the
    evaluation's spans go (its own from the ``OTEL_*`` environment when None; shut down here)."""
    repo = Repository(Path(repo_path))
    scope = scope or EvalScope()
    started = time.monotonic()
    metrics = evaluate_report(markdown, repo, files_read=scope.files_read, exclude=scope.exclude)
    measured = _Measured(markdown, repo, metrics, time.monotonic() - started)
    own_telemetry = telemetry is None
    if telemetry is None:
        from telemetry import Telemetry

        telemetry = Telemetry.from_env(environ)
    try:
        return _traced(telemetry, measured, prompt, judge, trace_attributes or {}, environ)
    finally:
        if own_telemetry:
            telemetry.shutdown()


@dataclass(frozen=True)
class _Measured:
    """A report, its repository, and its deterministic metrics (and how long they took)."""

    markdown: str
    repo: Repository
    metrics: ReportMetrics
    seconds: float


def _traced(telemetry: Telemetry, measured: _Measured, prompt: str | None,
            judge: JudgeSettings | None, trace_attributes: Mapping[str, Any],
            environ: Mapping[str, str] | None) -> dict[str, Any]:
    markdown, repo, metrics, metrics_s = (measured.markdown, measured.repo, measured.metrics,
                                          measured.seconds)
    root_attributes = dict(trace_attributes)
    if judge is not None:
        root_attributes[attrs.EVAL_JUDGE_MODEL] = judge.model
    document: dict[str, Any] = {"metrics": metrics.as_dict(), "judge": None,
                                "judge_cost_usd": None, "judge_cost": None,
                                "seconds": {"metrics": round(metrics_s, 3), "judge": None}}
    with telemetry.run_span(agent_name=AGENT_NAME, attributes=root_attributes), \
            telemetry.phase_span(attrs.PHASE_EVALUATE) as span:
        _record_metrics(span, metrics)
        if judge is not None:
            started = time.monotonic()
            result, cost = _run_judge(telemetry, judge, markdown, repo, prompt, environ)
            document["judge"] = {"model": judge.model, "provider": judge.provider,
                                 "sample": judge.sample, "seed": judge.seed, **result.as_dict()}
            document["judge_cost"] = cost
            document["judge_cost_usd"] = cost.get("cost_usd", 0.0) if cost else None
            document["seconds"]["judge"] = round(time.monotonic() - started, 3)
            _record_judge(span, result)
    return document


def _run_judge(telemetry: Telemetry, settings: JudgeSettings, markdown: str, repo: Repository,
               prompt: str | None, environ: Mapping[str, str] | None
               ) -> tuple[JudgeResult, dict[str, Any] | None]:
    llm = LLMClient(settings.model, settings.provider, api_key=settings.api_key,
                    base_url=settings.base_url, telemetry=telemetry, environ=environ,
                    timeout_s=settings.request_timeout_s, max_cost_usd=settings.max_cost_usd)
    result = JudgeResult()
    try:
        judge = Judge(llm, sample=settings.sample, seed=settings.seed)
        claims = split_claims(markdown)
        pairs = claim_pairs(claims, repo)
        try:
            judge.judge_citations(pairs, result)
            judge.judge_sections(claims, pairs, result)
            if prompt is not None:
                judge.judge_completeness(prompt, markdown, result)
        except Exception as exc:  # a judge that fails part-way: keep what it said
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            result.errors.append(f"the judge stopped: {message}")
            log.warning("judge stopped: %s", message)
        # Only the evaluate phase: the telemetry may be shared with the run judged (one trace per
        # run in a comparison), and the report's own calls are not the judge's.
        cost = None
        if llm.track_cost:
            summary = llm.get_cost_summary()
            cost = {**summary["phases"].get(attrs.PHASE_EVALUATE, {}),
                    "complete": summary["complete"], "simulated": summary["simulated"],
                    "model": settings.model, "provider": settings.provider}
    finally:
        llm.close()
    return result, cost


def _record_metrics(span: Span, metrics: ReportMetrics) -> None:
    data = metrics.as_dict()
    citations, claims, entities = data["citations"], data["claims"], data["entities"]
    scores = [
        ("citation_validity", metrics.citation_validity,
         f"{citations['valid']} of {citations['total']} citations resolve to existing lines"),
        ("citation_coverage", metrics.citation_coverage,
         f"{claims['cited']} of {claims['total']} claims carry a citation"),
        ("entity_existence", metrics.entity_existence,
         f"{entities['found']} of {entities['total']} names exist in the repository"
         + (f"; missing: {', '.join(entities['missing'][:10])}" if entities["missing"] else "")),
        ("entity_in_cited_span", metrics.entity_in_cited_span,
         f"{entities['in_cited_span']} of {entities['total']} names appear in the lines cited"),
        ("exploration_efficiency", metrics.exploration_efficiency,
         f"{metrics.files_read} of {metrics.files_listed} files read"),
    ]
    for name, value, explanation in scores:
        if value is not None:
            record_evaluation(span, name, value, explanation=explanation)


def _record_judge(span: Span, result: JudgeResult) -> None:
    counts = result.counts()
    if result.precision is not None:
        record_evaluation(span, "citation_precision", result.precision,
                          label=" / ".join(f"{n} {v}" for v, n in counts.items()),
                          explanation=f"{sum(counts.values())} (claim, cited lines) pairs judged, "
                                      f"{result.unjudged} unjudged")
    for section in result.sections:
        if section["score"] is not None:
            record_evaluation(span, "faithfulness", section["score"], label=section["section"],
                              explanation=section["reasoning"])
    if result.completeness and result.completeness["score"] is not None:
        record_evaluation(span, "completeness", result.completeness["score"],
                          explanation=result.completeness["reasoning"])
