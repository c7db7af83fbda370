"""``tech-writer compare``: the same request on several models, every report evaluated and ranked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from tech_writer.cli import EXIT_CODES_HELP, _local_repo, _OneLineErrors, _positive_dollars, _read_prompt
from tech_writer.commands.common import CONTEXT, guarded, judge_options, judge_settings
from tech_writer.errors import UsageError
from tech_writer.llm.providers import PROVIDER_NAMES, get_provider, resolve_api_key, validate_model

__all__ = ["compare_command"]


@click.command("compare", cls=_OneLineErrors, context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
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
@judge_options
def compare_command(**options: Any) -> None:
    """Run the same request on several models (K times each), evaluate every report and rank
    the models; writes DIR/reports/, DIR/compare.json, DIR/compare.md and DIR/compare.svg.

    \b
    Example:
      tech-writer compare --provider demo --models demo/careful,demo/sloppy \\
          --prompt examples/architecture.md --repo . --judge demo/judge -o compare-out
    """
    guarded(_compare, options)


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
    # Before the first run, not after it: a missing key would otherwise stop the comparison late.
    resolve_api_key(config, openrouter_key if provider == "openrouter" else None)
    if max_cost is not None and not config.openrouter_dialect:
        raise UsageError("--max-cost needs cost tracking: use --provider openrouter (or demo)")
    judge = judge_settings(judge_model, judge_provider, provider, judge_sample, judge_seed,
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
