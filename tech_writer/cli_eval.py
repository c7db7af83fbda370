"""``tech-writer eval`` and ``tech-writer compare``: score a report; the same request on several models.

:func:`tech_writer.cli.main` hands ``sys.argv`` here when its first argument names one of
:data:`SUBCOMMANDS`; every other invocation is the report-writing command as before. Output rules
are the run's: results on stdout (or in ``-o DIR``), progress and the one-line errors on stderr.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from tech_writer.cli import (
    EXIT_CODES_HELP,
    _fail,
    _local_repo,
    _OneLineErrors,
    _positive_dollars,
    _read_prompt,
    _terminate,
)
from tech_writer.errors import TechWriterError, UsageError, interruption
from tech_writer.llm.providers import PROVIDER_NAMES, get_provider, validate_model
from tech_writer.secrets import known_secrets

__all__ = ["SUBCOMMANDS", "compare_command", "eval_command", "format_eval_summary"]

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _judge_options(command: Any) -> Any:
    options = [
        click.option("--judge", "judge_model", default=None, metavar="MODEL",
                     help="Also score with an LLM judge (citation precision, faithfulness per "
                          "section, completeness); with --provider demo, any demo/... name."),
        click.option("--judge-provider", type=click.Choice(PROVIDER_NAMES), default=None,
                     help="The judge's provider (default: --provider)."),
        click.option("--judge-sample", type=click.IntRange(min=1), default=200, show_default=True,
                     metavar="N", help="Judge at most N (claim, citation) pairs, drawn with "
                                       "--judge-seed."),
        click.option("--judge-seed", type=int, default=0, show_default=True, metavar="SEED"),
        click.option("--openrouter-key", default=None, metavar="KEY",
                     help="OpenRouter API key (default: $OPENROUTER_API_KEY)."),
        click.option("--base-url", default=None, help="Override the provider's API base URL."),
        click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"],
                                                      case_sensitive=False),
                     default="WARNING", show_default=True, help="Log detail on stderr."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _judge_settings(judge_model: str | None, judge_provider: str | None, provider: str,
                    sample: int, seed: int, openrouter_key: str | None,
                    base_url: str | None) -> Any:
    from tech_writer.pipeline.evaluate import JudgeSettings

    if judge_model is None:
        return None
    chosen = judge_provider or provider
    validate_model(get_provider(chosen), judge_model)
    return JudgeSettings(judge_model, chosen, api_key=openrouter_key if chosen == "openrouter" else None,
                         base_url=base_url if chosen == provider else None, sample=sample, seed=seed)


def _guarded(body: Any, options: dict[str, Any]) -> None:
    from tech_writer.logsetup import configure_logging

    configure_logging(options["log_level"], secrets=known_secrets(options.get("openrouter_key")))
    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = body(**options)
    except TechWriterError as exc:
        _fail(exc.message, exc.exit_code)
    except KeyboardInterrupt as exc:
        _fail(*interruption(exc))
    sys.exit(code)


# --- eval -------------------------------------------------------------------------------------
@click.command("eval", cls=_OneLineErrors, context_settings=_CONTEXT, epilog=EXIT_CODES_HELP)
@click.option("--report", "report_file", required=True, metavar="REPORT.md",
              help="The report to score (written by tech_writer or anything else).")
@click.option("--repo", default=".", show_default=True, metavar="PATH_OR_GIT_URL",
              help="The repository the report is about.")
@click.option("--prompt", "prompt_file", default=None, metavar="FILE",
              help="The request the report answers (needed for the judge's completeness score).")
@click.option("--provider", type=click.Choice(PROVIDER_NAMES), default="openai", show_default=True,
              help="The judge's provider.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where git URLs are cloned.")
@_judge_options
def eval_command(**options: Any) -> None:
    """Score a report: citation validity and coverage, entity grounding (always, no model); with
    --judge, an LLM judge's citation precision, faithfulness and completeness (costed apart).

    \b
    Example:
      tech-writer eval --report report.md --repo . --prompt examples/architecture.md \\
          --provider demo --judge demo/judge
    """
    _guarded(_eval, options)


def _eval(*, report_file: str, repo: str, prompt_file: str | None, provider: str, as_json: bool,
          cache_dir: Path | None, judge_model: str | None, judge_provider: str | None,
          judge_sample: int, judge_seed: int, openrouter_key: str | None, base_url: str | None,
          log_level: str) -> int:
    from tech_writer.pipeline.evaluate import evaluate

    report_path = Path(report_file)
    if not report_path.is_file():
        raise UsageError(f"--report {report_file}: no such file")
    data = report_path.read_bytes()
    if b"\0" in data[:8192]:
        raise UsageError(f"--report {report_file}: a binary file, not a Markdown report")
    markdown = data.decode("utf-8", errors="replace")
    prompt = _read_prompt(prompt_file) if prompt_file else None
    judge = _judge_settings(judge_model, judge_provider, provider, judge_sample, judge_seed,
                            openrouter_key, base_url)
    repo_path = _local_repo(repo, cache_dir)
    document = evaluate(markdown, repo_path, prompt=prompt, judge=judge,
                        exclude=_inside(report_path, repo_path))
    if as_json:
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(format_eval_summary(document), nl=False)
    if document["judge_cost_usd"] is not None:
        click.echo(f"judge cost: ${document['judge_cost_usd']:.4f} (not part of the report's cost)"
                   + (" (simulated: demo provider)" if judge and judge.provider == "demo" else ""),
                   err=True)
    return 0


def _inside(report_path: Path, repo_path: Path) -> frozenset[str]:
    """The report's own path in the repository, if it lies there (its words vouch for nothing)."""
    try:
        return frozenset({report_path.resolve().relative_to(repo_path.resolve()).as_posix()})
    except ValueError:
        return frozenset()


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


# --- compare ----------------------------------------------------------------------------------
@click.command("compare", cls=_OneLineErrors, context_settings=_CONTEXT, epilog=EXIT_CODES_HELP)
@click.option("--prompt", "prompt_file", required=True, metavar="FILE",
              help="Text/Markdown file saying what report to write.")
@click.option("--repo", default=".", show_default=True, metavar="PATH_OR_GIT_URL")
@click.option("--models", required=True, metavar="M1,M2,...", help="Comma-separated models.")
@click.option("--provider", type=click.Choice(PROVIDER_NAMES), default="openrouter",
              show_default=True)
@click.option("--runs", type=click.IntRange(min=1, max=50), default=1, show_default=True,
              metavar="K", help="Runs per model (the table shows min/median/max).")
@click.option("--max-cost", "max_cost", type=float, default=None, callback=_positive_dollars,
              metavar="USD", help="Cap on the whole comparison, judge included (exit 3 when hit).")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, metavar="DIR", help="Where reports, compare.json, compare.md and "
                                                 "the chart go.")
@click.option("--max-exploration", type=click.IntRange(min=1), default=30, show_default=True,
              metavar="N")
@click.option("--max-sections", type=click.IntRange(min=1), default=8, show_default=True,
              metavar="N")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("-q", "--quiet", is_flag=True, help="No progress lines on stderr.")
@_judge_options
def compare_command(**options: Any) -> None:
    """Run the same request on several models (K times each), evaluate every report and rank
    the models; writes DIR/reports/, DIR/compare.json, DIR/compare.md and DIR/compare.svg.

    \b
    Example:
      tech-writer compare --provider demo --models demo/careful,demo/sloppy \\
          --prompt examples/architecture.md --repo . --judge demo/judge -o compare-out
    """
    _guarded(_compare, options)


def _compare(*, prompt_file: str, repo: str, models: str, provider: str, runs: int,
             max_cost: float | None, output_dir: Path, max_exploration: int, max_sections: int,
             cache_dir: Path | None, quiet: bool, judge_model: str | None,
             judge_provider: str | None, judge_sample: int, judge_seed: int,
             openrouter_key: str | None, base_url: str | None, log_level: str) -> int:
    from tech_writer.pipeline.compare import CompareRequest, run_compare
    from tech_writer.pipeline.progress import Progress

    prompt = _read_prompt(prompt_file)
    names = tuple(dict.fromkeys(m.strip() for m in models.split(",") if m.strip()))
    if not names:
        raise UsageError("--models is empty: name at least one model, e.g. demo/careful,demo/sloppy")
    config = get_provider(provider)
    for name in names:
        validate_model(config, name)
    if max_cost is not None and not config.openrouter_dialect:
        raise UsageError("--max-cost needs cost tracking: use --provider openrouter (or demo)")
    judge = _judge_settings(judge_model, judge_provider, provider, judge_sample, judge_seed,
                            openrouter_key, base_url)
    repo_path = _local_repo(repo, cache_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"-o {output_dir}: cannot create the directory ({exc.strerror or exc})") from None
    request = CompareRequest(prompt, Path(prompt_file).name, repo_path, names, provider, output_dir,
                             runs=runs, judge=judge, max_cost_usd=max_cost,
                             api_key=openrouter_key if provider == "openrouter" else None,
                             base_url=base_url,
                             run_options={"max_exploration": max_exploration,
                                          "max_sections": max_sections})
    result = run_compare(request, progress=Progress(enabled=not quiet))
    table = _write_outputs(result, request)
    click.echo(table, nl=False)
    simulated = " (simulated: demo provider)" if provider == "demo" else ""
    click.echo(f"cost: reports ${result.report_cost_usd():.4f} · judge "
               f"${result.judge_cost_usd():.4f} (reported apart){simulated}", err=True)
    if result.stopped:
        click.echo(f"tech-writer: compare stopped: {result.stopped}; the finished runs are in "
                   f"{output_dir}", err=True)
    return result.exit_code


def _write_outputs(result: Any, request: Any) -> str:
    from tech_writer.pipeline.compare import SCORE_FORMULA, format_table
    from tech_writer.report.chart import INSTALL_HINT, ChartPoint, chart_available, write_chart
    from tech_writer.repository.files import write_atomic

    directory: Path = request.output_dir
    rows = result.ranking(request.models)
    table = format_table(rows, result.judged)
    write_atomic(directory / "compare.json",
                 json.dumps(result.as_dict(request.models), indent=2) + "\n")
    write_atomic(directory / "compare.md", f"# Comparison {result.compare_id}\n\n{table}\n"
                                           f"{SCORE_FORMULA}.\n")
    quality = "citation precision (judge)" if result.judged else "score"
    points = [ChartPoint(r.model, r.cost_usd or 0.0,
                         (r.metric("citation_precision") if result.judged else r.score) or 0.0)
              for r in result.records if r.eval is not None]
    if not chart_available():
        click.echo(f"tech-writer: no chart: matplotlib is not installed ({INSTALL_HINT}); "
                   "the table and JSON are written", err=True)
    elif points:
        write_chart(points, directory / "compare.svg", quality_label=quality,
                    title=f"{Path(request.prompt_name).stem} on {request.repo_path.resolve().name}: "
                          "cost vs quality, one point per run")
    return table + f"\n{SCORE_FORMULA}.\n"


SUBCOMMANDS: dict[str, click.Command] = {"eval": eval_command, "compare": compare_command}
