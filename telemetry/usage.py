"""One LLM call's tokens and cost: the one usage record of the project.

The client reads it from the provider's answer (``tech_writer.llm.wire.read_usage``), hands it to
the call's chat span (inside :class:`~telemetry.spans.ChatAnswer`), whose attributes the cost span
processor reads back into the same record before summing it (:mod:`telemetry.cost`). The public
API re-exports it as ``tech_writer.UsageStats``; its first six fields keep the order of the
original ``UsageStats`` so that positional construction still means the same.

Token counts follow the GenAI conventions: ``prompt_tokens`` includes cached and cache-write
tokens, ``completion_tokens`` includes reasoning tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TOKEN_FIELDS", "UsageStats"]

# The token counts a run sums (``total_tokens`` is derived from the first two when summing).
TOKEN_FIELDS = ("prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens",
                "reasoning_tokens")


@dataclass
class UsageStats:
    """Token and cost statistics for one LLM call.

    ``cost_usd`` is what the provider billed (``None`` = unknown). When a completion arrives
    without it, ``cost_usd`` is filled in later by the background ``/generation`` look-up
    (``cost_source`` then becomes ``"generation"``); the run's summary waits for those look-ups.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None
    cached_tokens: int = 0
    cache_discount: float = 0.0
    reasoning_tokens: int = 0
    cache_write_tokens: int = 0
    upstream_cost_usd: float | None = None  # BYOK: what the provider billed the user directly
    is_byok: bool = False
    generation_id: str | None = None
    cost_source: str | None = None  # "inline" | "generation" | "free" | None
    usage_missing: bool = False  # the answer carried no usage: the token counts are unknown

    def token_counts(self) -> dict[str, int]:
        """The counts a run sums, by field name (see :data:`TOKEN_FIELDS`)."""
        return {name: getattr(self, name) for name in TOKEN_FIELDS}
