"""``tech-writer update``: refresh a report after the code moved, writing again only its stale
sections (see :mod:`tech_writer.pipeline.update`). Stdout: one summary line (or, with
``--eval-json``, one JSON document); progress and the cost line on stderr."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tech_writer.commands.common import (
    CONTEXT,
    EXIT_CODES_HELP,
    GlobalOptions,
    OneLineErrors,
    cost_line,
    global_options,
    global_settings,
    inside_repo,
    read_text_file,
    run_guarded,
)
from tech_writer.errors import EXIT_FAILED, UsageError
from tech_writer.llm.providers import PROVIDER_NAMES

if TYPE_CHECKING:
    from tech_writer.pipeline.settings import RunSettings
    from tech_writer.pipeline.update import UpdateResult
    from tech_writer.report.provenance import Provenance

__all__ = ["update_command"]


@click.command("update", cls=OneLineErrors, context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
@click.argument("report_file", metavar="REPORT", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--repo", default=".", show_default=True, metavar="DIR",
              help="The repository the report is about, as it is now.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the updated report there (atomically) instead of over REPORT.")
@click.option("--provider", type=click.Choice(PROVIDER_NAMES), default=None,
              help="LLM provider for the sections written again (default: the report's own).")
@click.option("--model", default=None, help="Model (default: the report's own, with its provider).")
@click.option("--base-url", default=None, help="Override the provider's API base URL.")
@click.option("--openrouter-key", default=None, metavar="KEY",
              help="OpenRouter API key (default: $OPENROUTER_API_KEY).")
@click.option("--no-track-cost", is_flag=True, help="Do not track cost.")
@click.option("--reasoning", type=click.Choice(["none", "low", "medium", "high"]), default=None,
              help="Reasoning effort for models that support it.")
@click.option("--no-structured-output", "no_structured_output", is_flag=True,
              help="The model/server has no JSON-schema output (local servers).")
@click.option("--no-parallel-tools", "no_parallel_tools", is_flag=True,
              help="Ask for one tool call per turn (local servers).")
@click.option("--stream", is_flag=True, help="Stream completions.")
@click.option("--max-cost", "max_cost", type=float, default=None, metavar="USD",
              help="Stop starting LLM calls before the update's spend would pass this many dollars; "
                   "what was rewritten is kept (exit 3).")
@click.option("--request-timeout", type=click.FloatRange(min=1), default=180.0, show_default=True,
              metavar="SECONDS", help="Timeout of one LLM request.")
@click.option("--max-retries", type=click.IntRange(min=0, max=20), default=4, show_default=True,
              metavar="N", help="Retries of a failed LLM request.")
@click.option("--cost-lookup-timeout", type=click.FloatRange(min=0), default=20.0, show_default=True,
              metavar="SECONDS", help="How long to ask OpenRouter's /generation for a missing cost.")
@click.option("--strict", is_flag=True,
              help="Also write again a section when any file it read changed (as check --strict).")
@click.option("--eval-json", "eval_json", is_flag=True,
              help='Print one JSON document: {"report", "citations", "cost", "update"}.')
@global_options
def update_command(**options: Any) -> None:
    """Refresh a report written by tech-writer: moved citations re-anchored, fresh sections kept
    byte for byte, only stale sections written again (from the report's provenance: its outline,
    its exploration notes, the old text and what changed). Nothing stale: no model call, $0.

    \b
    Example:
      tech-writer update docs/ARCHITECTURE.md --repo . --provider openrouter --max-cost 0.50
    """
    globals_ = global_settings(options.pop("quiet"), options.pop("log_level"))
    run_guarded(functools.partial(_update, options, globals_), log_level=globals_.log_level,
                secrets=[options["openrouter_key"]])


def _update(options: dict[str, Any], globals_: GlobalOptions) -> int:
    from tech_writer.pipeline.live import make_progress
    from tech_writer.pipeline.update import UpdateScope, plan_update, update_report
    from tech_writer.repository.files import write_atomic
    from tech_writer.repository.repo import Repository

    report_file: Path = options["report_file"]
    text = read_text_file("REPORT", str(report_file), "a Markdown report")
    repo_path = Path(options["repo"])
    if not repo_path.is_dir():
        raise UsageError(f"--repo {options['repo']}: not a directory")
    exclude = inside_repo(report_file, repo_path) | inside_repo(options["output"], repo_path)
    plan = plan_update(text, Repository(repo_path), strict=options["strict"], exclude=exclude)
    settings = _settings(options, plan.provenance) if plan.stale else None
    if settings is None:
        from tech_writer.pipeline.update import UpdateResult

        result = UpdateResult(plan.text, plan.text != text, plan)
    else:
        progress = make_progress(quiet=globals_.quiet)
        with progress:
            result = update_report(text, repo_path, settings, progress=progress,
                                   scope=UpdateScope(options["strict"], exclude))
    target = options["output"] or report_file
    if result.changed or options["output"] is not None:
        try:
            write_atomic(target, result.report)
        except OSError as exc:
            raise UsageError(f"cannot write {target} ({exc.strerror or exc})") from None
    _print(result, repo_path, target, options["eval_json"])
    if result.failure is not None:
        click.echo(f"tech-writer: {'stopped' if result.failure.budget_exhausted else 'error'}: "
                   f"{result.failure.message}", err=True)
        return result.failure.exit_code or EXIT_FAILED
    return 0


def _settings(options: dict[str, Any], provenance: Provenance) -> RunSettings:
    """The run settings for the sections written again: the report's own provider and model
    unless the flags say otherwise (its model only goes with its provider)."""
    from tech_writer.llm.cost_lookup import LookupPolicy
    from tech_writer.llm.retry import RetryPolicy
    from tech_writer.pipeline.settings import RunSettings

    o = options
    provider = o["provider"] or provenance.provider or "openai"
    model = o["model"] or (provenance.model if provider == provenance.provider and provenance.model else None)
    if o["openrouter_key"] and provider != "openrouter":
        raise UsageError("--openrouter-key goes with --provider openrouter")
    return RunSettings(
        provider=provider, model=model, base_url=o["base_url"],
        api_key=o["openrouter_key"] if provider == "openrouter" else None,
        track_cost=False if o["no_track_cost"] else None, concurrency=1, max_cost_usd=o["max_cost"],
        stream=o["stream"], reasoning=o["reasoning"], structured_output=not o["no_structured_output"],
        parallel_tools=not o["no_parallel_tools"], request_timeout_s=o["request_timeout"],
        retry=RetryPolicy(max_attempts=o["max_retries"] + 1),
        lookup=LookupPolicy(max_wait_s=o["cost_lookup_timeout"]), prompt_name="(the report's provenance)")


def _print(result: UpdateResult, repo_path: Path, target: Path, eval_json: bool) -> None:
    from tech_writer.report.citations import verify_citations
    from tech_writer.report.provenance import split_report
    from tech_writer.repository.repo import Repository

    counts = result.counts()
    plan = result.plan
    stale = [{"title": s.spec.title, "reason": s.reason} for s in plan.stale]
    uncovered = plan.check.uncovered_files
    if eval_json:
        cost = result.cost_document()
        document: dict[str, Any] = {"report": result.report,
                    "citations": verify_citations(split_report(result.report)[0], Repository(repo_path)).as_dict(),
                    "cost": cost if result.track_cost else None,
                    "update": {**counts, "stale_sections": stale,
                               "uncovered_files": None if uncovered is None else list(uncovered),
                               "changed": result.changed}}
        if result.simulated:
            document["simulated"] = True
        if result.failure is not None:
            document["error"] = result.failure.message
        click.echo(json.dumps(document, indent=2))
    else:
        rewritten = f" ({'; '.join(result.rewritten)})" if result.rewritten else ""
        click.echo(f"{target}: {counts['sections_rewritten']} section(s) written again{rewritten}, "
                   f"{counts['sections_kept']} kept, {counts['citations_reanchored']} citation(s) re-anchored"
                   + ("" if result.changed else "; nothing to change"))
    if uncovered:
        click.echo(f"tech-writer: {len(uncovered)} file(s) added since the report that no section covers "
                   f"({', '.join(uncovered[:10])}{', ...' if len(uncovered) > 10 else ''}): placing them "
                   "needs a new outline, which update does not make; run the report again to include them",
                   err=True)
    if result.cost_summary is None:
        click.echo("cost: $0.0000 · 0 tokens · 0 calls (nothing stale: no model call)", err=True)
    else:
        cost_line(result.cost_summary, track_cost=result.track_cost, simulated=result.simulated)
