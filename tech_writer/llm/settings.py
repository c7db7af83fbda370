"""``ClientSettings``: how an :class:`~tech_writer.llm.client.LLMClient` talks to its provider.

Who it talks to (model, provider, key, URL) stays in the client's positional arguments; how
(timeouts, retries, streaming, concurrency, budget, session) is this small keyword-only value
object, as httpx keeps its timeouts and limits in ``_config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tech_writer.errors import UsageError
from tech_writer.llm.capabilities import REASONING_EFFORTS
from tech_writer.llm.cost_lookup import LookupPolicy
from tech_writer.llm.retry import RetryPolicy

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_TIMEOUT_S",
    "MAX_SESSION_ID_CHARS",
    "ClientSettings",
]

DEFAULT_TIMEOUT_S = 180.0
DEFAULT_MAX_IN_FLIGHT = 4
# OpenRouter documents 128 characters at most for a session id (some pages say 256).
MAX_SESSION_ID_CHARS = 128


@dataclass(frozen=True, kw_only=True)
class ClientSettings:
    """Everything about *how* the client sends; every field has the default a run uses."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    lookup: LookupPolicy | None = None  # None: cost_lookup's own defaults
    timeout_s: float = DEFAULT_TIMEOUT_S
    stream: bool = False
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    max_cost_usd: float | None = None
    # OpenRouter's sticky-routing key (see LLMClient.session_id); None: a fresh one per client.
    session_id: str | None = None
    # --reasoning: none/low/medium/high, sent (as OpenRouter's `reasoning`) only to models that
    # list it; None: the model's default.
    reasoning: str | None = None
    # A local server's capabilities (it has no /models list): --no-structured-output and
    # --no-parallel-tools turn these off.
    structured_output: bool = True
    parallel_tools: bool = True

    def __post_init__(self) -> None:
        if self.session_id is not None and not 0 < len(self.session_id) <= MAX_SESSION_ID_CHARS:
            raise UsageError(f"session id must be 1 to {MAX_SESSION_ID_CHARS} characters")
        if self.reasoning is not None and self.reasoning not in REASONING_EFFORTS:
            raise UsageError(f"--reasoning must be one of {', '.join(REASONING_EFFORTS)}")

    @classmethod
    def of(cls, settings: ClientSettings | None, options: Mapping[str, Any]) -> ClientSettings:
        """``settings`` (or the defaults) with keyword ``options`` laid over it: the client takes
        both ``settings=ClientSettings(...)`` and the fields as plain keywords."""
        base = settings if settings is not None else cls()
        return replace(base, **options) if options else base
