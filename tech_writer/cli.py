"""The ``tech-writer`` command group: the report (the default when no subcommand is named),
``eval`` and ``compare``.

Stdout carries the report (or, with ``--eval-json``, one JSON document) and nothing else; progress,
logs, warnings and the final cost line go to stderr. Expected failures print one line and exit
with the code documented in ``--help``; they never print a traceback. The flags become one
:class:`~tech_writer.pipeline.settings.RunSettings` here, and a setting that cannot work comes
back as a :class:`~tech_writer.errors.SettingError`, put in the words of its flag by
:func:`tech_writer.commands.common.setting_message`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tech_writer import __version__
from tech_writer.commands.check import check_command
from tech_writer.commands.common import (
    CONTEXT,
    EXIT_CODES_HELP,
    SETTING_FLAGS,
    GlobalOptions,
    OneLineErrorsMixin,
    cost_line,
    emit,
    global_options,
    global_settings,
    inside_repo,
    local_repo,
    read_prompt,
    run_guarded,
)
from tech_writer.commands.compare import compare_command
from tech_writer.commands.evaluate import eval_command, format_eval_summary
from tech_writer.commands.update import update_command
from tech_writer.errors import EXIT_FAILED, UsageError
from tech_writer.llm.capabilities import REASONING_EFFORTS
from tech_writer.llm.providers import PROVIDER_NAMES

if TYPE_CHECKING:
    from tech_writer.pipeline.result import RunResult
    from tech_writer.pipeline.settings import RunSettings

__all__ = ["cli", "main"]

# Report options that make no sense before a subcommand's name (-q and --log-level do).
_GLOBAL = ("quiet", "log_level")


class TechWriterGroup(OneLineErrorsMixin, click.Group):
    """The ``tech-writer`` group, whose own callback writes the report when no subcommand is
    named: ``tech-writer --prompt x --repo .`` as before, ``tech-writer [-q] eval ...``."""


@click.group(cls=TechWriterGroup, invoke_without_command=True, context_settings=CONTEXT,
             epilog=EXIT_CODES_HELP)
@click.option("--prompt", "prompt_file", default=None, metavar="FILE|NAME|-",
              help="What report to write: a Text/Markdown file, a bundled prompt "
                   "(architecture, onboarding, api-reference) or - for standard input; required "
                   "to write a report.")
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
@click.option("--reasoning", type=click.Choice(list(REASONING_EFFORTS)), default=None,
              help="Reasoning effort for models that support it (OpenRouter's "
                   "`reasoning.effort`); only an effort the model lists on /models is sent, "
                   "none turns reasoning off. Default: the model's own.")
@click.option("--no-structured-output", "no_structured_output", is_flag=True,
              help="The model/server has no JSON-schema output: ask for the outline as a tool "
                   "call (or as JSON in text). For local servers; OpenRouter models are read "
                   "from /models.")
@click.option("--no-parallel-tools", "no_parallel_tools", is_flag=True,
              help="Ask for one tool call per turn (parallel_tool_calls=false), for local "
                   "servers whose chat template cannot emit several.")
@click.option("--keep-unverified", "keep_unverified", is_flag=True,
              help="Keep the claims the grounding gate cannot verify (no citation that checks "
                   "out, or a name the repository does not have) in a blockquote marked "
                   "**Unverified**, instead of removing them.")
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
@click.option("--concurrency", type=click.IntRange(min=1, max=64), default=None, metavar="N",
              help="Exploration areas and sections worked on at once (at most N LLM requests "
                   "in flight; backs off on 429). Default: 4; 1 with --provider local (a local "
                   "server serves simultaneous requests from one shared context).")
@click.option("--max-cost", "max_cost", type=float, default=None, metavar="USD",
              help="Stop starting LLM calls before the run's spend would pass this many "
                   "dollars; finish with what exists (exit 3).")
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
@click.option("--include", multiple=True, metavar="GLOB",
              help="Only these files (.gitignore syntax, e.g. 'src/**'; repeat for more).")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Never these files (.gitignore syntax, e.g. node_modules or '*.min.js'; "
                   "repeat for more).")
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
@global_options
@click.version_option(__version__, "--version", prog_name="tech-writer")
@click.pass_context
def cli(ctx: click.Context, /, **options: Any) -> None:
    """Write a technical report about a code repository, every claim cited as [path:start-end]
    and every citation checked against the files on disk.

    \b
    Examples:
      tech-writer --prompt architecture --repo . --provider demo
      tech-writer --prompt onboarding --repo https://github.com/pallets/click \\
          --provider openrouter --model anthropic/claude-sonnet-4 -o onboarding.md

    \b
    Also: tech-writer eval --help (score a report), compare --help (several models), check --help
    (does a report still hold? no model, $0), update --help (write again only its stale sections);
    -q and --log-level go before or after the subcommand's name.
    """
    globals_ = global_settings(options.pop("quiet"), options.pop("log_level"))
    if ctx.invoked_subcommand is not None:
        _refuse_report_options(ctx, options)
        ctx.obj = globals_
        return
    if options["prompt_file"] is None:
        param = next(p for p in ctx.command.params if p.name == "prompt_file")
        raise click.MissingParameter(ctx=ctx, param=param)
    run_guarded(functools.partial(_run, _ReportOptions.of(options), globals_),
                log_level=globals_.log_level, secrets=[options["openrouter_key"]])


cli.add_command(eval_command)
cli.add_command(compare_command)
cli.add_command(check_command)
cli.add_command(update_command)


def _refuse_report_options(ctx: click.Context, options: dict[str, Any]) -> None:
    for name in options:
        if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE:
            flag = SETTING_FLAGS.get(name) or "--" + name.replace("_", "-")
            raise click.UsageError(f"{flag} is an option of the report, not of "
                                   f"'{ctx.invoked_subcommand}': put it after the subcommand "
                                   "or leave it out", ctx=ctx)


@dataclass(frozen=True)
class _ReportOptions:
    """The report command's flags: its settings, and what is done with the report."""

    options: dict[str, Any]
    prompt_file: str
    repo: str
    cache_dir: Path | None
    output: Path | None
    eval_json: bool
    evaluate: bool
    dry_run: bool

    @classmethod
    def of(cls, options: dict[str, Any]) -> _ReportOptions:
        return cls(options, options["prompt_file"], options["repo"], options["cache_dir"],
                   options["output"], options["eval_json"], options["evaluate_report"],
                   options["dry_run"])

    def settings(self) -> RunSettings:
        """The run's settings, validated once (a SettingError names what cannot work)."""
        from tech_writer.llm.cost_lookup import LookupPolicy
        from tech_writer.llm.retry import RetryPolicy
        from tech_writer.pipeline.settings import RunSettings

        o = self.options
        if o["openrouter_key"] and o["provider"] != "openrouter":
            raise UsageError("--openrouter-key goes with --provider openrouter")
        return RunSettings(
            provider=o["provider"], model=o["model"], base_url=o["base_url"],
            api_key=o["openrouter_key"] if o["provider"] == "openrouter" else None,
            track_cost=False if o["no_track_cost"] else None,
            max_exploration=o["max_exploration"], max_sections=o["max_sections"],
            concurrency=o["concurrency"], max_cost_usd=o["max_cost"],
            persist_cache=o["persist_cache"], cache_path=o["cache_path"], resume=o["resume"],
            stream=o["stream"], reasoning=o["reasoning"],
            structured_output=not o["no_structured_output"],
            parallel_tools=not o["no_parallel_tools"], request_timeout_s=o["request_timeout"],
            keep_unverified=o["keep_unverified"],
            retry=RetryPolicy(max_attempts=o["max_retries"] + 1),
            lookup=LookupPolicy(max_wait_s=o["cost_lookup_timeout"]),
            prompt_name=Path(self.prompt_file).name, include=o["include"],
            exclude=o["exclude"])


def _run(request: _ReportOptions, globals_: GlobalOptions) -> int:
    from tech_writer.pipeline.live import make_progress
    from tech_writer.pipeline.run import run_report

    prompt = read_prompt(request.prompt_file)
    settings = request.settings()
    if request.output is not None and not request.dry_run:
        _check_output(request.output, request.prompt_file)  # before anything is paid
    repo_path = local_repo(request.repo, request.cache_dir)
    if request.dry_run:
        return _dry_run(prompt, repo_path, settings, request.eval_json)
    _refuse_before_spending(request, settings)
    progress = make_progress(quiet=globals_.quiet)  # a live status on a terminal, else lines
    with progress:  # the live status is gone before the report and the cost line
        result = run_report(prompt, repo_path, settings, progress=progress)
    if result.failure is not None:
        return _report_failure(result, repo_path, request, prompt)
    assert result.report is not None
    evaluation = (_evaluate(result, repo_path, prompt, request) if request.evaluate else None)
    delivered = _deliver(result, repo_path, request, evaluation=evaluation)
    cost_line(result.cost_summary, track_cost=result.track_cost, simulated=result.simulated)
    return 0 if delivered else EXIT_FAILED


def _refuse_before_spending(request: _ReportOptions, settings: RunSettings) -> None:
    """What can be known to fail before the first call, refused now: a local server with nothing
    listening. (The output was checked before the repository was cloned; the run itself refuses
    a repository with nothing to document.)"""
    from tech_writer.errors import ProviderUnavailableError
    from tech_writer.llm.reachability import nothing_listening

    if settings.provider == "local" and settings.base_url:
        refused = nothing_listening(settings.base_url)
        if refused:
            raise ProviderUnavailableError(refused)


def _report_failure(result: RunResult, repo_path: Path, request: _ReportOptions,
                    prompt: str) -> int:
    """A run that stopped: what it wrote (scored, with --eval) and what it cost are delivered,
    then why it stopped."""
    failure = result.failure
    assert failure is not None
    evaluation = (_evaluate(result, repo_path, prompt, request)
                  if request.evaluate and result.report else None)
    _deliver(result, repo_path, request, evaluation=evaluation)
    cost_line(result.cost_summary, track_cost=result.track_cost, simulated=result.simulated)
    if result.ungrounded_draft is not None:
        _save_draft(result.ungrounded_draft, request.output)
    if result.report and request.output:
        emit(f"tech-writer: partial report written to {request.output}", err=True)
    if failure.missing_sections:
        emit("tech-writer: sections not written: " + "; ".join(failure.missing_sections),
                   err=True)
    emit(f"tech-writer: {'stopped' if failure.budget_exhausted else 'error'}: "
               f"{failure.message}", err=True)
    return failure.exit_code or EXIT_FAILED


def _save_draft(draft: str, output: Path | None) -> None:
    """The report as the model wrote it, before the gate, beside the output: for inspection,
    never as the report. (Without ``-o`` it is only in ``--eval-json``'s ``ungrounded_draft``.)"""
    from tech_writer.repository.files import write_atomic

    if output is None:
        click.echo("tech-writer: the ungrounded draft was not saved: with -o FILE it goes beside "
                   "the report, as FILE.ungrounded.md", err=True)
        return
    target = output.with_name(output.stem + ".ungrounded.md")
    try:
        write_atomic(target, draft)
    except OSError as exc:
        click.echo(f"tech-writer: could not save the ungrounded draft to {target} "
                   f"({exc.strerror or exc})", err=True)
        return
    click.echo(f"tech-writer: the ungrounded draft (not a report) is in {target}", err=True)


def _dry_run(prompt: str, repo_path: Path, settings: RunSettings, eval_json: bool) -> int:
    from tech_writer.llm.openrouter_request import plan_inputs
    from tech_writer.llm.output_cap import OutputCaps
    from tech_writer.llm.pricing import ModelPricing
    from tech_writer.pipeline.planner import ModelFacts, format_plan, make_plan
    from tech_writer.repository.emptiness import nothing_to_document
    from tech_writer.repository.repo import Repository

    config, model, base_url = settings.client.config, settings.model_name, settings.base_url
    effort = settings.client.reasoning
    pricing, caps = None, OutputCaps(effort=effort)
    if settings.provider == "demo" and base_url is None:
        from tech_writer.demo import FakeOpenRouter

        with FakeOpenRouter() as server:  # /models of the demo: its simulated prices
            pricing, caps = plan_inputs(server.base_url, model, effort)
    elif config.openrouter_dialect:  # /models is public on OpenRouter: no key needed
        pricing, caps = plan_inputs(base_url or config.default_base_url or "", model, effort)
    elif config.cost_known_zero:  # a local server bills nothing
        pricing = ModelPricing(model, 0.0, 0.0)
    repo = Repository(repo_path, path_filter=settings.path_filter)
    empty = nothing_to_document(repo)
    if empty is not None:
        raise UsageError(empty)
    plan = make_plan(repo, prompt, model=model, provider=settings.provider,
                     facts=ModelFacts(pricing, caps), max_exploration=settings.max_exploration,
                     max_sections=settings.max_sections)
    if eval_json:
        emit(json.dumps({"dry_run": plan.as_dict()}, indent=2))
    else:
        emit(format_plan(plan), nl=False)
    return 0


def _check_output(output: Path, prompt_file: str) -> None:
    from tech_writer.repository.files import OutputNotWritable, check_writable

    try:
        check_writable(output, not_same_as=prompt_file)
    except OutputNotWritable as exc:
        raise UsageError(f"-o {exc}") from None


def _deliver(result: RunResult, repo_path: Path, request: _ReportOptions,
             evaluation: dict[str, Any] | None = None) -> bool:
    """Write/print the report (and the JSON); ``False`` if the output file could not be
    written (the report then went to stdout)."""
    from tech_writer.report.citations import verify_citations
    from tech_writer.repository.files import write_atomic
    from tech_writer.repository.repo import Repository

    report, output, write_failed = result.report, request.output, False
    if report is not None and output is not None:
        try:
            write_atomic(output, report)
        except OSError as exc:
            # The report was paid for: never lose it to a bad path. It goes to stdout instead.
            emit(f"tech-writer: error: cannot write --output {output} "
                       f"({exc.strerror or exc}); the report follows on stdout", err=True)
            write_failed = True
    if request.eval_json:
        document = _json_document(result, verify_citations(report or "", Repository(repo_path))
                                  .as_dict(), evaluation)
        emit(json.dumps(document, indent=2))
    elif report is not None and (output is None or write_failed):
        emit(report, nl=False)
    return not write_failed


def _json_document(result: RunResult, citations: dict[str, Any],
                   evaluation: dict[str, Any] | None) -> dict[str, Any]:
    """The ``--eval-json`` document: the one place a run's cost summary becomes a dict."""
    failure = result.failure
    cost = result.cost_document()
    document: dict[str, Any] = {"report": result.report, "citations": citations,
                                "cost": cost if result.track_cost else None,
                                "budget_exhausted": bool(failure and failure.budget_exhausted)}
    if cost is not None and result.simulated:
        document["simulated"] = True
    if result.grounding is not None:
        document["grounding"] = result.grounding.as_dict()
    if result.ungrounded_draft is not None:
        document["ungrounded_draft"] = result.ungrounded_draft
    if failure is not None:
        document["error"] = failure.message
    if evaluation is not None:
        document["eval"] = evaluation
    return document


def _evaluate(result: RunResult, repo_path: Path, prompt: str,
              request: _ReportOptions) -> dict[str, Any]:
    """--eval: the deterministic scores of the report just written (see tech-writer eval)."""
    from tech_writer.pipeline.evaluate import EvalScope, evaluate

    assert result.report is not None
    scope = EvalScope(result.files_read, inside_repo(request.output, repo_path))
    evaluation = evaluate(result.report, repo_path, prompt=prompt, scope=scope)
    if not request.eval_json:
        emit(format_eval_summary(evaluation), err=True, nl=False)
    return evaluation


def main() -> None:
    cli()  # exits via sys.exit with the code of the command run


if __name__ == "__main__":  # pragma: no cover
    main()
