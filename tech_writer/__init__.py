"""tech_writer: grounded, citation-checked technical reports about code repositories.

The public surface: :func:`run_report` (the whole run: a :class:`RunSettings` in, a
:class:`RunResult` out) and :func:`run_pipeline` (the seed's keyword interface over it),
:class:`LLMClient` and :class:`UsageStats` (every LLM call), and the errors in
:mod:`tech_writer.errors`.

The map, one layer per folder, each importing only the layers below it (``docs/architecture.md``;
``tests/test_layers.py`` keeps it true): ``cli`` (with ``commands/``: eval, compare and what
every command shares) parses flags into one ``RunSettings`` and prints; it drives
``pipeline/``, the run (exploration, outline, sections: tool loops over the model, with resume,
dry-run planning, prompts and progress). The pipeline uses ``llm/``, the model client (wire
format, providers, retries, prices, the cost of every call, budget), ``repository/``, what the
model reads (files, listing, paths, git, symbols, search, cache, and the tools built on them), and
``report/``, what is checked of the written report (citations). At the bottom sit ``errors`` and
``secrets`` (shared by every layer), ``demo/`` (the scripted model and fake OpenRouter, standing
alone) and, outside this package, ``telemetry`` (spans, metrics, the cost processor), which knows
nothing of tech_writer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["LLMClient", "RunFailed", "RunResult", "RunSettings", "UsageStats", "__version__",
           "run_pipeline", "run_report"]

if TYPE_CHECKING:
    from tech_writer.llm.client import LLMClient, UsageStats
    from tech_writer.pipeline.result import RunResult
    from tech_writer.pipeline.run import RunFailed, run_pipeline, run_report
    from tech_writer.pipeline.settings import RunSettings


def __getattr__(name: str) -> Any:
    # Lazy: `tech-writer --help` must not pay for importing the openai SDK and OpenTelemetry.
    if name in ("LLMClient", "UsageStats"):
        from tech_writer.llm import client as llm

        return getattr(llm, name)
    if name in ("run_pipeline", "run_report", "RunFailed"):
        from tech_writer.pipeline import run as orchestrator

        return getattr(orchestrator, name)
    if name == "RunSettings":
        from tech_writer.pipeline.settings import RunSettings

        return RunSettings
    if name == "RunResult":
        from tech_writer.pipeline.result import RunResult

        return RunResult
    raise AttributeError(f"module 'tech_writer' has no attribute {name!r}")
