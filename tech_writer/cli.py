"""The ``tech-writer`` command.

Stdout carries the report (or, with ``--eval-json``, one JSON document) and nothing else; progress,
logs, warnings and the final cost line go to stderr. Expected failures print one line and exit
with the code documented in ``--help``; they never print a traceback.
"""

from __future__ import annotations

import json
import math
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from tech_writer import __version__
from tech_writer.errors import (
    EXIT_FAILED,
    EXIT_SIGINT,
    EXIT_USAGE,
    TechWriterError,
    Terminated,
    UsageError,
    interruption,
)
from tech_writer.llm.providers import (
    PROVIDER_NAMES,
    get_provider,
    require_base_url,
    validate_model,
)
from tech_writer.secrets import known_secrets

if TYPE_CHECKING:
    from tech_writer.pipeline.run import RunFailed

__all__ = ["cli", "main"]

EXIT_CODES_HELP = """\b
Exit codes: 0 done · 1 the run failed (API error, no credit, ...) · 2 bad usage
· 3 --max-cost budget exhausted · 130 interrupted (Ctrl-C) · 143 terminated (SIGTERM).
A run that stops early still writes the partial report and prints its cost."""


class _OneLineErrors(click.Command):
    """Click's usage errors, reduced to the one line the user needs (plus the --help hint)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else "", err=True)
            sys.exit(EXIT_USAGE)
        except click.UsageError as exc:
            _fail(f"{exc.format_message()} (see tech-writer --help)", EXIT_USAGE)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            _fail("interrupted", EXIT_SIGINT)


def _positive_dollars(ctx: click.Context, param: click.Parameter,
                      value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter("must be a positive, finite amount of US dollars, e.g. 0.50")
    return value


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"tech-writer: error: {message}", err=True)
    sys.exit(code)


@click.command(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"],
                                                     "max_content_width": 100},
               epilog=EXIT_CODES_HELP)
@click.option("--prompt", "prompt_file", required=True, metavar="FILE",
              help="Text/Markdown file saying what report to write (see examples/).")
@click.option("--repo", default=".", show_default=True, metavar="PATH_OR_GIT_URL",
              help="Repository to document: a local directory, or an https/ssh git URL "
                   "(cloned shallowly into --cache-dir, reused and refreshed).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to this file (atomically). Default: stdout.")
@click.option("--provider", type=click.Choice(PROVIDER_NAMES), default="openai", show_default=True,
              help="LLM provider. 'demo' is a built-in scripted model: no key, no network, "
                   "simulated costs. 'local' is any OpenAI-compatible server at --base-url "
                   "(llama.cpp, Ollama, vLLM, LM Studio): no key unless $LOCAL_API_KEY, cost $0.")
@click.option("--model", default=None,
              help="Model name. Default gpt-5.1; with openrouter/demo openai/gpt-5.1 "
                   "(OpenRouter models are provider/model); with local, required.")
@click.option("--base-url", default=None,
              help="Override the provider's API base URL (required with --provider local, "
                   "e.g. http://127.0.0.1:8080/v1).")
@click.option("--openrouter-key", default=None, metavar="KEY",
              help="OpenRouter API key (default: $OPENROUTER_API_KEY).")
@click.option("--no-track-cost", is_flag=True,
              help="Do not track cost (tracking is on by default for openrouter and demo).")
@click.option("--reasoning", type=click.Choice(["none", "low", "medium", "high"]), default=None,
              help="Reasoning effort for models that support it (OpenRouter's `reasoning`); "
                   "none turns reasoning off. Default: the model's own.")
@click.option("--no-structured-output", "no_structured_output", is_flag=True,
              help="The model/server has no JSON-schema output: ask for the outline as a tool "
                   "call (or as JSON in text). For local servers; OpenRouter models are read "
                   "from /models.")
@click.option("--no-parallel-tools", "no_parallel_tools", is_flag=True,
              help="Ask for one tool call per turn (parallel_tool_calls=false), for local "
                   "servers whose chat template cannot emit several.")
@click.option("--eval-json", "eval_json", is_flag=True,
              help='Print one JSON document on stdout: {"report", "citations", "cost"}.')
@click.option("--eval", "evaluate_report", is_flag=True,
              help='Score the report just written (see tech-writer eval); with --eval-json the '
                   'scores go under "eval", else a summary goes to stderr.')
@click.option("--stream", is_flag=True,
              help="Stream completions (usage arrives in the last chunk).")
@click.option("--max-exploration", type=click.IntRange(min=1), default=30, show_default=True,
              metavar="N", help="Most model steps in the exploration phase.")
@click.option("--max-sections", type=click.IntRange(min=1), default=8, show_default=True,
              metavar="N", help="Most sections in the report.")
@click.option("--concurrency", type=click.IntRange(min=1, max=64), default=4, show_default=True,
              metavar="N", help="Exploration areas and sections worked on at once (at most N "
                                "LLM requests in flight; backs off on 429).")
@click.option("--max-cost", "max_cost", type=float, default=None, callback=_positive_dollars,
              metavar="USD", help="Stop starting LLM calls before the run's spend would pass "
                                  "this many dollars; finish with what exists (exit 3).")
@click.option("--dry-run", is_flag=True,
              help="Call no model: print the plan and an estimated cost range for this repo "
                   "and model.")
@click.option("--resume", is_flag=True,
              help="With --persist-cache: reuse the phases and sections an earlier run of the "
                   "same prompt, model and repository content already paid for.")
@click.option("--persist-cache", is_flag=True,
              help="Keep the file/symbol cache between runs at --cache-path.")
@click.option("--cache-path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SQLite cache file for --persist-cache (default: in the user cache dir).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where git URLs are cloned (default: the user cache dir).")
@click.option("--request-timeout", type=click.FloatRange(min=1), default=180.0, show_default=True,
              metavar="SECONDS", help="Timeout of one LLM request.")
@click.option("--max-retries", type=click.IntRange(min=0, max=20), default=4, show_default=True,
              metavar="N", help="Retries of a failed LLM request (408/429/5xx/connection errors), "
                                "with exponential backoff honouring Retry-After.")
@click.option("--cost-lookup-timeout", type=click.FloatRange(min=0), default=20.0,
              show_default=True, metavar="SECONDS",
              help="How long to keep asking OpenRouter's /generation for a cost the completion "
                   "did not carry.")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"],
                                               case_sensitive=False),
              default="WARNING", show_default=True, help="Log detail on stderr.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines on stderr.")
@click.version_option(__version__, "--version", prog_name="tech-writer")
def cli(**options: Any) -> None:
    """Write a technical report about a code repository, every claim cited as [path:start-end]
    and every citation checked against the files on disk.

    \b
    Examples:
      tech-writer --prompt examples/architecture.md --repo . --provider demo
      tech-writer --prompt examples/onboarding.md --repo https://github.com/pallets/click \\
          --provider openrouter --model anthropic/claude-sonnet-4 -o onboarding.md

    \b
    Also: tech-writer eval --help (score a report), tech-writer compare --help (several models).
    """
    from tech_writer.logsetup import configure_logging

    configure_logging(options["log_level"], secrets=known_secrets(options["openrouter_key"]))
    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = _run(**options)
    except TechWriterError as exc:
        _fail(exc.message, exc.exit_code)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM delivered as Terminated
        _fail(*interruption(exc))
    sys.exit(code)


def _terminate(signum: int, frame: object) -> None:
    # Delivered like Ctrl-C so the same clean-up runs: partial report, cost, telemetry flush.
    raise Terminated()


def _run(*, prompt_file: str, repo: str, output: Path | None, provider: str, model: str | None,
         base_url: str | None, openrouter_key: str | None, no_track_cost: bool, eval_json: bool,
         stream: bool, max_exploration: int, max_sections: int, persist_cache: bool,
         cache_path: Path | None, cache_dir: Path | None, quiet: bool, request_timeout: float,
         max_retries: int, cost_lookup_timeout: float, log_level: str, concurrency: int,
         max_cost: float | None, dry_run: bool, resume: bool, reasoning: str | None,
         no_structured_output: bool, no_parallel_tools: bool, evaluate_report: bool = False) -> int:
    from tech_writer.pipeline.live import make_progress

    prompt = _read_prompt(prompt_file)
    track_cost = _check_options(provider, model, base_url, openrouter_key, no_track_cost,
                                resume, persist_cache)
    repo_path = _local_repo(repo, cache_dir)
    if dry_run:
        return _dry_run(prompt, repo_path, provider, model, base_url, max_exploration,
                        max_sections, eval_json)
    progress = make_progress(quiet=quiet)  # a live status on a terminal, else plain lines

    from tech_writer.llm.cost_lookup import LookupPolicy
    from tech_writer.llm.retry import RetryPolicy
    from tech_writer.pipeline.run import RunFailed, format_cost_line, run_pipeline

    try:
        with progress:  # the live status is gone before the report and the cost line
            report, store, cost = run_pipeline(
                prompt, repo_path, model=model, provider=provider,
                api_key=openrouter_key if provider == "openrouter" else None, base_url=base_url,
                track_cost=track_cost, max_exploration=max_exploration,
                max_sections=max_sections, persist_cache=persist_cache, cache_path=cache_path,
                stream=stream, progress=progress, prompt_name=Path(prompt_file).name,
                request_timeout_s=request_timeout, concurrency=concurrency,
                max_cost_usd=max_cost, resume=resume,
                retry=RetryPolicy(max_attempts=max_retries + 1),
                lookup=LookupPolicy(max_wait_s=cost_lookup_timeout), reasoning=reasoning,
                structured_output=not no_structured_output, parallel_tools=not no_parallel_tools)
    except RunFailed as failed:
        return _report_failure(failed, repo_path, track_cost, output, eval_json)
    evaluation = _evaluate(report, repo_path, prompt, store, output, eval_json) if evaluate_report else None
    delivered = _deliver(report, repo_path, cost, track_cost, output, eval_json, evaluation=evaluation)
    _cost_line(cost, track_cost, format_cost_line)
    return 0 if delivered else EXIT_FAILED


def _check_options(provider: str, model: str | None, base_url: str | None,
                   openrouter_key: str | None, no_track_cost: bool, resume: bool,
                   persist_cache: bool) -> bool:
    """Options that cannot go together fail before any other output; returns ``track_cost``."""
    config = get_provider(provider)
    if openrouter_key and provider != "openrouter":
        raise UsageError("--openrouter-key goes with --provider openrouter")
    require_base_url(config, base_url)
    validate_model(config, model or config.default_model)
    if resume and not persist_cache:
        raise UsageError("--resume needs --persist-cache (that is where finished work is kept)")
    return not no_track_cost and config.track_cost_default


def _report_failure(failed: RunFailed, repo_path: Path, track_cost: bool, output: Path | None,
                    eval_json: bool) -> int:
    """A run that stopped: what it wrote and what it cost are delivered, then why it stopped."""
    from tech_writer.pipeline.run import format_cost_line

    _deliver(failed.partial_report, repo_path, failed.cost_stats, track_cost, output,
             eval_json, error=failed.message, budget_exhausted=failed.budget_exhausted)
    _cost_line(failed.cost_stats, track_cost, format_cost_line)
    if failed.partial_report and output:
        click.echo(f"tech-writer: partial report written to {output}", err=True)
    if failed.missing_sections:
        click.echo("tech-writer: sections not written: " + "; ".join(failed.missing_sections),
                   err=True)
    click.echo(f"tech-writer: {'stopped' if failed.budget_exhausted else 'error'}: "
               f"{failed.message}", err=True)
    return failed.exit_code or EXIT_FAILED


def _dry_run(prompt: str, repo_path: Path, provider: str, model: str | None,
             base_url: str | None, max_exploration: int, max_sections: int,
             eval_json: bool) -> int:
    from tech_writer.llm.pricing import ModelPricing, fetch_model_pricing
    from tech_writer.pipeline.planner import format_plan, make_plan
    from tech_writer.repository.repo import Repository

    config = get_provider(provider)
    model = validate_model(config, model or config.default_model)
    pricing = None
    if provider == "demo" and base_url is None:
        from tech_writer.demo import FakeOpenRouter

        with FakeOpenRouter() as server:  # /models of the demo: its simulated prices
            pricing = fetch_model_pricing(server.base_url, model)
    elif config.openrouter_dialect:  # /models is public on OpenRouter: no key needed
        pricing = fetch_model_pricing(base_url or config.default_base_url or "", model)
    elif config.cost_known_zero:  # a local server bills nothing
        pricing = ModelPricing(model, 0.0, 0.0)
    plan = make_plan(Repository(repo_path), prompt, model=model, provider=provider,
                     pricing=pricing, max_exploration=max_exploration, max_sections=max_sections)
    if eval_json:
        click.echo(json.dumps({"dry_run": plan.as_dict()}, indent=2))
    else:
        click.echo(format_plan(plan), nl=False)
    return 0


def _read_text_file(option: str, file: str, what: str, missing_hint: str = "") -> str:
    from tech_writer.repository.files import read_user_text

    return read_user_text(option, file, what, missing_hint)


def _read_prompt(prompt_file: str) -> str:
    from tech_writer.examples import read_prompt

    return read_prompt(prompt_file, sys.stdin)


def _local_repo(repo_arg: str, cache_dir: Path | None) -> Path:
    from tech_writer.repository.remote import clone_or_update, is_git_url

    path = Path(repo_arg)
    if path.is_dir():
        return path
    if is_git_url(repo_arg) and not repo_arg.startswith("-"):
        if cache_dir is None:
            from platformdirs import user_cache_dir

            cache_dir = Path(user_cache_dir("tech_writer"))
        from tech_writer.secrets import mask_url_credentials

        click.echo(f"» cloning {mask_url_credentials(repo_arg)}", err=True)
        return clone_or_update(repo_arg, cache_dir)
    if path.exists():
        raise UsageError(f"--repo {repo_arg}: not a directory")
    raise UsageError(f"--repo {repo_arg}: no such directory, and not an https/ssh git URL")


def _deliver(report: str | None, repo_path: Path, cost: dict[str, Any] | None, track_cost: bool,
             output: Path | None, eval_json: bool, error: str | None = None,
             budget_exhausted: bool = False, evaluation: dict[str, Any] | None = None) -> bool:
    """Write/print the report (and the JSON); ``False`` if the output file could not be
    written (the report then went to stdout)."""
    from tech_writer.report.citations import verify_citations
    from tech_writer.repository.files import write_atomic
    from tech_writer.repository.repo import Repository

    write_failed = False
    if report is not None and output is not None:
        try:
            write_atomic(output, report)
        except OSError as exc:
            # The report was paid for: never lose it to a bad path. It goes to stdout instead.
            click.echo(f"tech-writer: error: cannot write --output {output} "
                       f"({exc.strerror or exc}); the report follows on stdout", err=True)
            write_failed = True
    if eval_json:
        citations = verify_citations(report or "", Repository(repo_path)).as_dict()
        document: dict[str, Any] = {"report": report, "citations": citations,
                                    "cost": cost if track_cost else None,
                                    "budget_exhausted": budget_exhausted}
        if cost is not None and cost.get("simulated"):
            document["simulated"] = True
        if error is not None:
            document["error"] = error
        if evaluation is not None:
            document["eval"] = evaluation
        click.echo(json.dumps(document, indent=2))
    elif report is not None and (output is None or write_failed):
        click.echo(report, nl=False)
    return not write_failed


def _evaluate(report: str, repo_path: Path, prompt: str, store: Any, output: Path | None,
              eval_json: bool) -> dict[str, Any]:
    """--eval: the deterministic scores of the report just written (see tech-writer eval)."""
    from tech_writer.commands.common import inside_repo
    from tech_writer.commands.evaluate import format_eval_summary
    from tech_writer.pipeline.evaluate import evaluate

    evaluation = evaluate(report, repo_path, prompt=prompt,
                          files_read=[info.path for info in store.files()],
                          exclude=inside_repo(output, repo_path))
    if not eval_json:
        click.echo(format_eval_summary(evaluation), err=True, nl=False)
    return evaluation


def _cost_line(cost: dict[str, Any] | None, track_cost: bool, formatter: Any) -> None:
    if cost is None:
        return
    if not track_cost:
        line = (f"cost: not tracked · {cost['total_tokens']:,} tokens · "
                f"{cost['total_calls']:,} calls")
    else:
        line = "cost: " + formatter(cost["total_cost_usd"], cost["total_tokens"],
                                    cost["total_calls"], cost["calls_without_cost"])
        if cost.get("total_spend_usd") and cost.get("upstream_cost_usd"):
            line += f" · BYOK: ${cost['total_spend_usd']:.4f} incl. provider billing"
        if cost.get("simulated"):
            line += " (simulated: demo provider)"
    click.echo(line, err=True)


def main() -> None:
    from tech_writer.commands import SUBCOMMAND_NAMES, subcommand

    if len(sys.argv) > 1 and sys.argv[1] in SUBCOMMAND_NAMES:
        subcommand(sys.argv[1]).main(sys.argv[2:], prog_name=f"tech-writer {sys.argv[1]}")
        return
    cli()  # exits via sys.exit with the run's code


if __name__ == "__main__":  # pragma: no cover
    main()
