"""What ``tech-writer eval`` and ``tech-writer compare`` share: the judge's options, the one-line
error handling of the run command, and where a report lies in the repository."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import click

from tech_writer.cli import _fail, _terminate
from tech_writer.errors import TechWriterError, interruption
from tech_writer.llm.providers import PROVIDER_NAMES, get_provider, resolve_api_key, validate_model
from tech_writer.secrets import known_secrets

__all__ = ["CONTEXT", "guarded", "inside_repo", "judge_options", "judge_settings"]

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


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


def judge_settings(judge_model: str | None, judge_provider: str | None, provider: str,
                    sample: int, seed: int, openrouter_key: str | None,
                    base_url: str | None) -> Any:
    from tech_writer.pipeline.evaluate import JudgeSettings

    if judge_model is None:
        return None
    chosen = judge_provider or provider
    config = get_provider(chosen)
    validate_model(config, judge_model)
    resolve_api_key(config, openrouter_key if chosen == "openrouter" else None)  # no key: fail now
    return JudgeSettings(judge_model, chosen, api_key=openrouter_key if chosen == "openrouter" else None,
                         base_url=base_url if chosen == provider else None, sample=sample, seed=seed)


def guarded(body: Any, options: dict[str, Any]) -> None:
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



def inside_repo(path: Path | None, repo_path: Path) -> frozenset[str]:
    """The path's place in the repository, if it lies there: a report written into the repository
    must not vouch for its own names."""
    if path is None:
        return frozenset()
    try:
        return frozenset({path.resolve().relative_to(repo_path.resolve()).as_posix()})
    except ValueError:
        return frozenset()
