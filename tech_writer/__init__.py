"""tech_writer: grounded, citation-checked technical reports about code repositories.

The public surface: :func:`run_pipeline` (the whole run), :class:`LLMClient` and
:class:`UsageStats` (every LLM call), and the errors in :mod:`tech_writer.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["LLMClient", "RunFailed", "UsageStats", "__version__", "run_pipeline"]

if TYPE_CHECKING:
    from tech_writer.llm import LLMClient, UsageStats
    from tech_writer.orchestrator import RunFailed, run_pipeline


def __getattr__(name: str) -> Any:
    # Lazy: `tech-writer --help` must not pay for importing the openai SDK and OpenTelemetry.
    if name in ("LLMClient", "UsageStats"):
        from tech_writer import llm

        return getattr(llm, name)
    if name in ("run_pipeline", "RunFailed"):
        from tech_writer import orchestrator

        return getattr(orchestrator, name)
    raise AttributeError(f"module 'tech_writer' has no attribute {name!r}")
