"""What the fake server remembers: billed completions and every HTTP request it received."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .pricing import Charge

__all__ = ["REDACTED_AUTHORIZATION", "BilledCall", "RecordedRequest"]

# Recorded requests never keep the bearer token: tests print them on failure, and API keys must
# never reach output or logs. Whether the key was right is visible from the status code anyway.
REDACTED_AUTHORIZATION = "Bearer [REDACTED]"


@dataclass(frozen=True, kw_only=True)
class BilledCall(Charge):
    """One billed chat completion: its :class:`Charge` (exactly the numbers sent to the client:
    ``cost_usd`` is ``usage.cost`` and /generation's ``total_cost``) and what /generation
    reports of the request besides the bill."""

    generation_id: str
    model: str
    streamed: bool
    finish_reason: str
    is_byok: bool = False
    latency_ms: int = 0
    created: float = 0.0  # Unix time the completion was billed
    http_referer: str | None = None
    user_agent: str | None = None
    session_id: str | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as received (the authorization header value is redacted)."""

    method: str
    path: str  # without the query string, e.g. "/api/v1/chat/completions"
    query: dict[str, str]  # first value of each query parameter
    headers: dict[str, str]  # lower-case names
    json: Any  # the parsed body, or None when the body is empty or not JSON
