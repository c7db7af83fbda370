"""``tech-writer eval``: score a report (deterministic metrics always, an LLM judge on request)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from tech_writer.commands.common import (
    CONTEXT,
    JudgeOptions,
    OneLineErrors,
    emit,
    global_options,
    global_settings,
    inside_repo,
    judge_options,
    judge_settings,
    local_repo,
    read_prompt,
    read_text_file,
    run_guarded,
)
from tech_writer.errors import EXIT_FAILED
from tech_writer.llm.providers import PROVIDER_NAMES

__all__ = ["eval_command", "format_eval_summary"]


EVAL_EXIT_CODES_HELP = """\b
Exit codes: 0 scored (every --fail-under met) · 1 a score under --fail-under, or an error
· 2 bad usage · 130 interrupted (Ctrl-C) · 143 terminated (SIGTERM)."""
# The scores --fail-under can gate on, and where each is in the eval document.
FAIL_UNDER_METRICS = ("citation_validity", "citation_coverage", "entity_existence",
                      "entity_in_cited_span", "citation_precision")


@dataclass(frozen=True)
class Threshold:
    """``--fail-under [METRIC=]SCORE``: the metric (default citation_validity) and its floor."""

    metric: str
    floor: float

    @classmethod
    def parse(cls, text: str) -> Threshold:
        metric, _, value = text.rpartition("=")
        metric = metric.strip() or "citation_validity"
        if metric not in FAIL_UNDER_METRICS:
            raise click.BadParameter(f"{metric!r} is not a score; use one of "
                                     f"{', '.join(FAIL_UNDER_METRICS)}")
        value = value.strip()
        try:
            floor = float(value[:-1]) / 100 if value.endswith("%") else float(value)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a score: write 0.9 or 90%") from None
        if not 0.0 <= floor <= 1.0:
            raise click.BadParameter(f"{value!r}: a score is between 0 and 1 (0% and 100%)")
        return cls(metric, floor)

    def shortfall(self, document: dict[str, Any]) -> str | None:
        """One line when the report's score is under the floor (or was not measured)."""
        judge = document.get("judge") or {}
        score = (judge.get(self.metric) if self.metric == "citation_precision"
                 else document["metrics"].get(self.metric))
        label = self.metric.replace("_", " ")
        if score is None:
            return f"{label} was not measured (nothing to score) under --fail-under {self.floor:.0%}"
        if score < self.floor:
            return f"{label} {score:.0%} is under --fail-under {self.floor:.0%}"
        return None


def _thresholds(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
                ) -> tuple[Threshold, ...]:
    return tuple(Threshold.parse(value) for value in values)


@click.command("eval", cls=OneLineErrors, context_settings=CONTEXT, epilog=EVAL_EXIT_CODES_HELP)
@click.option("--report", "report_file", required=True, metavar="REPORT.md",
              help="The report to score (written by tech_writer or anything else).")
@click.option("--repo", default=".", show_default=True, metavar="PATH_OR_GIT_URL",
              help="The repository the report is about.")
@click.option("--prompt", "prompt_file", default=None, metavar="FILE|NAME|-",
              help="The request the report answers: a file, a bundled prompt's name or - "
                   "(needed for the judge's completeness score).")
@click.option("--provider", type=click.Choice(PROVIDER_NAMES), default="openai", show_default=True,
              help="The judge's provider.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.option("--fail-under", "fail_under", multiple=True, callback=_thresholds,
              metavar="[METRIC=]SCORE",
              help="For CI: exit 1 when a score is under SCORE (0.9 or 90%); METRIC is "
                   "citation_validity (the default), citation_coverage, entity_existence, "
                   "entity_in_cited_span or citation_precision (needs --judge). Repeatable.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where git URLs are cloned.")
@judge_options
@global_options
def eval_command(*, report_file: str, repo: str, prompt_file: str | None, provider: str,
                 as_json: bool, fail_under: tuple[Threshold, ...], cache_dir: Path | None,
                 judge_model: str | None,
                 judge_provider: str | None, judge_sample: int, judge_seed: int,
                 openrouter_key: str | None, base_url: str | None, quiet: bool | None,
                 log_level: str) -> None:
    """Score a report: citation validity and coverage, entity grounding (always, no model); with
    --judge, an LLM judge's citation precision, faithfulness and completeness (costed apart).

    \b
    Example:
      tech-writer eval --report report.md --repo . --prompt architecture \\
          --provider demo --judge demo/judge
    """
    request = _EvalRequest(report_file, repo, prompt_file, provider, as_json, cache_dir,
                           JudgeOptions(judge_model, judge_provider, judge_sample, judge_seed),
                           openrouter_key, base_url, fail_under)
    run_guarded(functools.partial(_eval, request),
                log_level=global_settings(quiet, log_level).log_level, secrets=[openrouter_key])


@dataclass(frozen=True)
class _EvalRequest:
    report_file: str
    repo: str
    prompt_file: str | None
    provider: str
    as_json: bool
    cache_dir: Path | None
    judge: JudgeOptions
    openrouter_key: str | None
    base_url: str | None
    fail_under: tuple[Threshold, ...] = ()


def _eval(request: _EvalRequest) -> int:
    from tech_writer.pipeline.evaluate import EvalScope, evaluate

    markdown = read_text_file("--report", request.report_file, "a Markdown report")
    prompt = read_prompt(request.prompt_file) if request.prompt_file else None
    judge = judge_settings(request.judge, request.provider, request.openrouter_key,
                           request.base_url)
    repo_path = local_repo(request.repo, request.cache_dir)
    document = evaluate(markdown, repo_path, prompt=prompt, judge=judge,
                        scope=EvalScope(exclude=inside_repo(Path(request.report_file), repo_path)))
    if request.as_json:
        emit(json.dumps(document, indent=2))
    else:
        emit(format_eval_summary(document), nl=False)
    if document["judge_cost_usd"] is not None:
        emit(f"judge cost: ${document['judge_cost_usd']:.4f} (not part of the report's cost)"
                   + (" (simulated: demo provider)" if judge and judge.provider == "demo" else ""),
                   err=True)
    return _gate(request.fail_under, document)


def _gate(thresholds: tuple[Threshold, ...], document: dict[str, Any]) -> int:
    """Exit 1, with one line per score short of its --fail-under, when any is."""
    short = [line for line in (t.shortfall(document) for t in thresholds) if line]
    for line in short:
        click.echo(f"tech-writer: eval: {line}", err=True)
    return EXIT_FAILED if short else 0


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def format_eval_summary(document: dict[str, Any]) -> str:
    """The human-readable eval: one line per score, then the names the repository lacks."""
    metrics = document["metrics"]
    citations, claims, entities = metrics["citations"], metrics["claims"], metrics["entities"]
    lines = [
        f"citation validity     {_pct(metrics['citation_validity'])} "
        f"({citations['valid']}/{citations['total']} citations resolve)",
        f"citation coverage     {_pct(metrics['citation_coverage'])} "
        f"({claims['cited']}/{claims['total']} claims cited)",
        f"names that exist      {_pct(metrics['entity_existence'])} "
        f"({entities['found']}/{entities['total']})",
        f"names in cited lines  {_pct(metrics['entity_in_cited_span'])} "
        f"({entities['in_cited_span']}/{entities['total']})",
    ]
    exploration = metrics["exploration"]
    if exploration["efficiency"] is not None:
        lines.append(f"files read            {_pct(exploration['efficiency'])} "
                     f"({exploration['files_read']}/{exploration['files_listed']})")
    judge = document.get("judge")
    if judge:
        verdicts = judge["verdicts"]
        lines.append(f"citation precision    {_pct(judge['citation_precision'])} "
                     f"({verdicts['supported']} supported, {verdicts['partial']} partial, "
                     f"{verdicts['unsupported']} unsupported; judge {judge['model']})")
        if judge["faithfulness"] is not None:
            lines.append(f"faithfulness          {judge['faithfulness']:.2f}/3 (mean of "
                         f"{len(judge['sections'])} sections)")
        if judge["completeness"] and judge["completeness"]["score"] is not None:
            lines.append(f"completeness          {judge['completeness']['score']}/3")
        lines += [f"judge: {error}" for error in judge["errors"]]
    for item in citations["invalid_list"]:
        lines.append(f"invalid citation: {item['citation']} ({item['reason']})")
    for name in entities["missing"]:
        lines.append(f"not in the repository: {name}")
    return "\n".join(lines) + "\n"
