"""What every ``tech-writer`` command shares: one-line errors and exit codes, the global options
(``-q``, ``--log-level``), the words of the flags for a setting that cannot work, reading the
prompt, finding the repository, the judge's options and the cost line.

Imported by :mod:`tech_writer.cli` (the group and its report command) and by the subcommands in
this package; it imports none of them.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from tech_writer.errors import (
    EXIT_SIGINT,
    EXIT_USAGE,
    SettingError,
    TechWriterError,
    Terminated,
    UsageError,
    interruption,
)
from tech_writer.llm.providers import PROVIDER_NAMES, get_provider, resolve_api_key, validate_model

if TYPE_CHECKING:
    from tech_writer.pipeline.evaluate import JudgeSettings
    from telemetry import CostSummary

__all__ = [
    "CONTEXT",
    "EXIT_CODES_HELP",
    "SETTING_FLAGS",
    "GlobalOptions",
    "JudgeOptions",
    "OneLineErrors",
    "OneLineErrorsMixin",
    "emit",
    "fail",
    "cost_line",
    "global_options",
    "global_settings",
    "inside_repo",
    "judge_options",
    "judge_settings",
    "local_repo",
    "read_prompt",
    "read_text_file",
    "run_guarded",
    "setting_message",
    "terminate",
]

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARNING", "ERROR")  # logsetup.LEVELS

EXIT_CODES_HELP = """\b
Exit codes: 0 done · 1 the run failed (API error, no credit, ...) · 2 bad usage
· 3 --max-cost budget exhausted · 130 interrupted (Ctrl-C) · 143 terminated (SIGTERM).
A run that stops early still writes the partial report and prints its cost."""

# The flag each setting comes from (RunSettings, ClientSettings and the run's inputs).
SETTING_FLAGS: dict[str, str] = {
    "provider": "--provider", "model": "--model", "api_key": "--openrouter-key",
    "base_url": "--base-url", "track_cost": "--no-track-cost",
    "max_exploration": "--max-exploration", "max_sections": "--max-sections",
    "concurrency": "--concurrency", "max_in_flight": "--concurrency", "max_cost_usd": "--max-cost",
    "persist_cache": "--persist-cache", "cache_path": "--cache-path", "resume": "--resume",
    "stream": "--stream", "reasoning": "--reasoning",
    "structured_output": "--no-structured-output", "parallel_tools": "--no-parallel-tools",
    "request_timeout_s": "--request-timeout", "retry": "--max-retries",
    "lookup": "--cost-lookup-timeout", "prompt": "--prompt", "repo_path": "--repo",
    "models": "--models", "include": "--include", "exclude": "--exclude",
}

# A setting error in the words of the flags, by its reason (``reason:variant`` first, the
# variant being the error's ``variant`` or ``provider`` detail).
_FLAG_WORDING: dict[str, str] = {
    "base_url_required": "--provider {provider} needs --base-url, the server's OpenAI API "
                         "address, e.g. {example} (llama.cpp) or http://127.0.0.1:11434/v1 "
                         "(Ollama)",
    "model_required": "--provider {provider} needs --model NAME: the name the server serves its "
                      "model under (e.g. qwen2.5:7b on Ollama)",
    "model_empty": "--model is empty: name a model, e.g. openai/gpt-5.1",
    "model_has_slash": "model {model!r} looks like an OpenRouter id: with --provider {provider} "
                       "use a bare name like {bare!r}, or pass --provider openrouter",
    "missing_key:openrouter": "no OpenRouter API key: set OPENROUTER_API_KEY or pass "
                              "--openrouter-key (or try --provider demo, which needs none)",
    "missing_key": "no OpenAI API key: set {key_env} (or use --provider openrouter with "
                   "OPENROUTER_API_KEY / --openrouter-key, or --provider demo, which needs none)",
    "budget_not_positive": "--max-cost {value}: must be a positive, finite amount of US dollars, "
                           "e.g. 0.50",
    "budget_untracked:off": "--max-cost needs cost tracking: use --provider openrouter (or demo) "
                            "without --no-track-cost",
    "budget_untracked": "--max-cost needs cost tracking: use --provider openrouter (or demo)",
    "resume_without_cache": "--resume needs --persist-cache (that is where finished work is "
                            "kept)",
    "cache_path_without_persist": "--cache-path {path} needs --persist-cache: without it the "
                                  "cache lives in memory and the file would go unused",
    "nothing_to_document": "{text}",
    "cache_unopenable": "--cache-path {path}: cannot open the cache ({error}); choose a writable "
                        "location",
    "not_a_directory": "--repo {path}: not a directory",
    "prompt_empty": "the prompt is empty: write what report you want in the --prompt file",
    "no_models": "--models is empty: name at least one model, e.g. demo/careful,demo/sloppy",
}


def setting_message(error: SettingError) -> str:
    """The setting error in the words of the command line's flags."""
    variant = error.details.get("variant") or error.details.get("provider", "")
    template = (_FLAG_WORDING.get(f"{error.reason}:{variant}")
                or _FLAG_WORDING.get(error.reason))
    if template is not None:
        return template.format(**error.details)
    flag = SETTING_FLAGS.get(error.setting)
    return f"{flag}: {error.message}" if flag else error.message



def emit(text: str, *, nl: bool = True, err: bool = False) -> None:
    """Print what a command says (the report, the JSON, every message): through the secret
    mask, so a key the model repeated or a server quoted never reaches the terminal."""
    from tech_writer.secrets import mask_text

    click.echo(mask_text(text), nl=nl, err=err)

def fail(message: str, code: int) -> NoReturn:
    emit(f"tech-writer: error: {message}", err=True)
    sys.exit(code)


def terminate(signum: int, frame: object) -> None:
    # Delivered like Ctrl-C so the same clean-up runs: partial report, cost, telemetry flush.
    raise Terminated()


class OneLineErrorsMixin:
    """Click's usage errors, reduced to the one line the user needs (plus the --help hint)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)  # type: ignore[misc]
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else "", err=True)
            sys.exit(EXIT_USAGE)
        except click.UsageError as exc:
            fail(f"{exc.format_message()} (see tech-writer --help)", EXIT_USAGE)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            fail("interrupted", EXIT_SIGINT)


class OneLineErrors(OneLineErrorsMixin, click.Command):
    """A command whose usage errors are one line."""


@dataclass(frozen=True)
class GlobalOptions:
    """``-q`` and ``--log-level``: given before the subcommand or after it."""

    quiet: bool = False
    log_level: str = "WARNING"


def global_options(command: Any) -> Any:
    """``-q/--quiet`` and ``--log-level``, on the group and on each command."""
    command = click.option("-q", "--quiet", is_flag=True, default=None,
                           help="No progress lines on stderr.")(command)
    return click.option("--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False),
                        default="WARNING", show_default=True,
                        help="Log detail on stderr: DEBUG is the tool's own reasoning, TRACE "
                             "adds the HTTP and SDK libraries' debug lines.")(command)


def global_settings(quiet: bool | None, log_level: str) -> GlobalOptions:
    """This command's ``-q``/``--log-level``, else what was given before the subcommand."""
    ctx = click.get_current_context(silent=True)
    parent = (ctx.find_object(GlobalOptions) if ctx is not None else None) or GlobalOptions()
    if ctx is not None and ctx.get_parameter_source("log_level") in (
            None, click.core.ParameterSource.DEFAULT):
        log_level = parent.log_level
    return GlobalOptions(quiet=bool(quiet) or parent.quiet, log_level=log_level.upper())


def run_guarded(body: Callable[[], int], *, log_level: str,
                secrets: Iterable[str | None] = ()) -> NoReturn:
    """Run a command's body with logging set up and SIGTERM caught; an expected failure is one
    line on stderr and its exit code, never a traceback. Exits with the body's code."""
    from tech_writer.logsetup import configure_logging
    from tech_writer.secrets import known_secrets, mask_text, register_secrets
    from telemetry.redaction import set_redactor

    given = known_secrets(*secrets)
    register_secrets(*given)  # a key given by flag is masked by every writer, as the env's are
    set_redactor(mask_text)  # and in every span exported
    configure_logging(log_level, secrets=given)
    signal.signal(signal.SIGTERM, terminate)
    try:
        code = body()
    except SettingError as exc:
        fail(setting_message(exc), exc.exit_code)
    except TechWriterError as exc:
        fail(exc.message, exc.exit_code)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM delivered as Terminated
        fail(*interruption(exc))
    sys.exit(code)


def read_text_file(option: str, file: str, what: str, missing_hint: str = "") -> str:
    """A text file the user named with ``option`` (see :func:`read_user_text`)."""
    from tech_writer.repository.files import read_user_text

    return read_user_text(option, file, what, missing_hint)


def read_prompt(prompt_file: str) -> str:
    """The prompt: a file, a bundled prompt by name (``architecture``), or ``-`` (stdin)."""
    from tech_writer.examples import read_prompt as read_named_prompt

    return read_named_prompt(prompt_file, sys.stdin)


def local_repo(repo_arg: str, cache_dir: Path | None) -> Path:
    """The repository as a local directory: the path itself, or a git URL cloned (shallowly)
    into ``cache_dir`` and refreshed."""
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


def cost_line(cost_summary: CostSummary | None, *, track_cost: bool, simulated: bool) -> None:
    """The last line on stderr: what the run cost (or, untracked, its tokens and calls)."""
    from tech_writer.pipeline.progress import format_cost_line

    if cost_summary is None:
        return
    total = cost_summary.total
    if not track_cost:
        line = f"cost: not tracked · {total.total_tokens:,} tokens · {total.calls:,} calls"
    else:
        line = "cost: " + format_cost_line(total.cost_usd, total.total_tokens, total.calls,
                                           total.calls_unknown_cost)
        if total.total_spend_usd and total.upstream_cost_usd:
            line += f" · BYOK: ${total.total_spend_usd:.4f} incl. provider billing"
        if simulated:
            line += " (simulated: demo provider)"
    emit(line, err=True)


def judge_options(command: Any) -> Any:
    options = [
        click.option("--judge", "judge_model", default=None, metavar="MODEL",
                     help="Also score with an LLM judge (citation precision, faithfulness per "
                          "section, completeness); with --provider demo, any demo/... name."),
        click.option("--judge-provider", type=click.Choice(PROVIDER_NAMES), default=None,
                     help="The judge's provider (default: --provider)."),
        click.option("--judge-sample", type=click.IntRange(min=1), default=200, show_default=True,
                     metavar="N", help="Judge at most N (claim, citation) pairs, drawn with "
                                       "--judge-seed."),
        click.option("--judge-seed", type=int, default=0, show_default=True, metavar="SEED",
                     help="Seed of the sample of pairs the judge reads (same seed, same "
                          "pairs)."),
        click.option("--openrouter-key", default=None, metavar="KEY",
                     help="OpenRouter API key (default: $OPENROUTER_API_KEY)."),
        click.option("--base-url", default=None, help="Override the provider's API base URL."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@dataclass(frozen=True)
class JudgeOptions:
    """The judge's flags, as given."""

    model: str | None
    provider: str | None
    sample: int
    seed: int


def judge_settings(judge: JudgeOptions, provider: str, openrouter_key: str | None,
                   base_url: str | None) -> JudgeSettings | None:
    """The judge's settings (``None`` without ``--judge``), refused now if they cannot work."""
    from tech_writer.pipeline.evaluate import JudgeSettings

    if judge.model is None:
        return None
    chosen = judge.provider or provider
    config = get_provider(chosen)
    validate_model(config, judge.model)
    key = openrouter_key if chosen == "openrouter" else None
    resolve_api_key(config, key)  # no key: fail now, not after the report's run
    return JudgeSettings(judge.model, chosen, api_key=key,
                         base_url=base_url if chosen == provider else None,
                         sample=judge.sample, seed=judge.seed)


def inside_repo(path: Path | None, repo_path: Path) -> frozenset[str]:
    """The path's place in the repository, if it lies there: a report written into the repository
    must not vouch for its own names."""
    if path is None:
        return frozenset()
    try:
        return frozenset({path.resolve().relative_to(repo_path.resolve()).as_posix()})
    except ValueError:
        return frozenset()
