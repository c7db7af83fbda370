"""``tech-writer compare``: the same request on several models, every report evaluated and ranked."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tech_writer.commands.common import (
    CONTEXT,
    EXIT_CODES_HELP,
    JudgeOptions,
    OneLineErrors,
    emit,
    global_options,
    global_settings,
    judge_options,
    judge_settings,
    local_repo,
    read_prompt,
    run_guarded,
)
from tech_writer.errors import SettingError, UsageError
from tech_writer.llm.providers import PROVIDER_NAMES, get_provider, resolve_api_key

if TYPE_CHECKING:
    from tech_writer.pipeline.compare import CompareRequest, CompareResult

__all__ = ["compare_command"]


@click.command("compare", cls=OneLineErrors, context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
@click.option("--prompt", "prompt_file", required=True, metavar="FILE|NAME|-",
              help="What report to write: a file, a bundled prompt (architecture, onboarding, "
                   "api-reference) or - for standard input.")
@click.option("--repo", default=".", show_default=True, metavar="PATH_OR_GIT_URL",
              help="Repository to document: a local directory, or an https/ssh git URL.")
@click.option("--models", required=True, metavar="M1,M2,...", help="Comma-separated models.")
@click.option("--provider", type=click.Choice(PROVIDER_NAMES), default="openai",
              show_default=True,
              help="Provider of every model compared (as for the report; several vendors' "
                   "models side by side: openrouter).")
@click.option("--runs", type=click.IntRange(min=1, max=50), default=1, show_default=True,
              metavar="K", help="Runs per model (the table shows min/median/max).")
@click.option("--max-cost", "max_cost", type=float, default=None, metavar="USD",
              help="Cap on the whole comparison, judge included (exit 3 when hit).")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, metavar="DIR", help="Where reports, compare.json, compare.md and "
                                                 "the chart go.")
@click.option("--max-exploration", type=click.IntRange(min=1), default=30, show_default=True,
              metavar="N", help="Most model steps in each run's exploration phase.")
@click.option("--max-sections", type=click.IntRange(min=1), default=8, show_default=True,
              metavar="N", help="Most sections in each report.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where git URLs are cloned (default: the user cache dir).")
@judge_options
@global_options
def compare_command(*, prompt_file: str, repo: str, models: str, provider: str, runs: int,
                    max_cost: float | None, output_dir: Path, max_exploration: int,
                    max_sections: int, cache_dir: Path | None, judge_model: str | None,
                    judge_provider: str | None, judge_sample: int, judge_seed: int,
                    openrouter_key: str | None, base_url: str | None, quiet: bool | None,
                    log_level: str) -> None:
    """Run the same request on several models (K times each), evaluate every report and rank
    the models; writes DIR/reports/, DIR/compare.json, DIR/compare.md and DIR/compare.svg.

    \b
    Example:
      tech-writer compare --provider demo --models demo/careful,demo/sloppy \\
          --prompt architecture --repo . --judge demo/judge -o compare-out
    """
    globals_ = global_settings(quiet, log_level)
    options = _CompareOptions(prompt_file, repo, models, provider, runs, max_cost, output_dir,
                              cache_dir, openrouter_key, base_url, max_exploration, max_sections)
    judge = JudgeOptions(judge_model, judge_provider, judge_sample, judge_seed)
    run_guarded(functools.partial(_compare, options, judge, globals_.quiet),
                log_level=globals_.log_level, secrets=[openrouter_key])


@dataclass(frozen=True)
class _CompareOptions:
    prompt_file: str
    repo: str
    models: str
    provider: str
    runs: int
    max_cost: float | None
    output_dir: Path
    cache_dir: Path | None
    openrouter_key: str | None
    base_url: str | None
    max_exploration: int
    max_sections: int

    def model_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.strip() for m in self.models.split(",") if m.strip()))


def _compare(options: _CompareOptions, judge_options: JudgeOptions, quiet: bool) -> int:
    from tech_writer.pipeline.compare import run_compare
    from tech_writer.pipeline.progress import Progress

    prompt = read_prompt(options.prompt_file)
    request = _request(options, prompt)
    judge = judge_settings(judge_options, options.provider, options.openrouter_key,
                           options.base_url)
    request = replace(request, judge=judge, repo_path=local_repo(options.repo, options.cache_dir))
    try:
        options.output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"-o {options.output_dir}: cannot create the directory "
                         f"({exc.strerror or exc})") from None
    result = run_compare(request, progress=Progress(enabled=not quiet))
    _report(result, request)
    return result.exit_code


def _request(options: _CompareOptions, prompt: str) -> CompareRequest:
    """The comparison, its settings checked before the first run: every model name, the key,
    the budget (a missing key would otherwise stop the comparison late)."""
    from tech_writer.pipeline.compare import CompareRequest
    from tech_writer.pipeline.settings import RunSettings

    names = options.model_names()
    if not names:
        raise SettingError("models", "no model to compare", reason="no_models")
    key = options.openrouter_key if options.provider == "openrouter" else None
    settings = [RunSettings(provider=options.provider, model=name, api_key=key,
                            base_url=options.base_url, max_cost_usd=options.max_cost,
                            prompt_name=Path(options.prompt_file).name,
                            max_exploration=options.max_exploration,
                            max_sections=options.max_sections,
                            # A comparison scores what each model wrote: what the gate cannot
                            # verify stays, quoted as **Unverified**, where eval counts it;
                            # removed, it would make every model look alike.
                            keep_unverified=True)
                for name in names]
    resolve_api_key(get_provider(options.provider), key)
    return CompareRequest(prompt, Path(options.prompt_file).name, Path(options.repo), names,
                          options.output_dir, settings=settings[0], runs=options.runs,
                          max_cost_usd=options.max_cost)


def _report(result: CompareResult, request: CompareRequest) -> None:
    table = _write_outputs(result, request)
    emit(table, nl=False)
    simulated = " (simulated: demo provider)" if request.provider == "demo" else ""
    emit(f"cost: reports ${result.report_cost_usd():.4f} · judge "
               f"${result.judge_cost_usd():.4f} (reported apart){simulated}", err=True)
    if result.stopped:
        emit(f"tech-writer: compare stopped: {result.stopped}; the finished runs are in "
                   f"{request.output_dir}", err=True)


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
        emit(f"tech-writer: no chart: matplotlib is not installed ({INSTALL_HINT}); "
                   "the table and JSON are written", err=True)
    elif points:
        write_chart(points, directory / "compare.svg", quality_label=quality,
                    title=f"{Path(request.prompt_name).stem} on {request.repo_path.resolve().name}: "
                          "cost vs quality, one point per run")
    return table + f"\n{SCORE_FORMULA}.\n"
