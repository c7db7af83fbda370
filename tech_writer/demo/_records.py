"""What the fake server remembers: billed completions and every HTTP request it received."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["REDACTED_AUTHORIZATION", "BilledCall", "RecordedRequest"]

# Recorded requests never keep the bearer token: tests print them on failure, and API keys must
# never reach output or logs. Whether the key was right is visible from the status code anyway.
REDACTED_AUTHORIZATION = "Bearer [REDACTED]"


@dataclass(frozen=True)
class BilledCall:
    """One billed chat completion, with exactly the numbers sent to the client."""

    generation_id: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_usd: float  # the value sent as usage.cost and as /generation total_cost
    upstream_cost_usd: float | None  # BYOK only: what the upstream provider billed
    streamed: bool
    finish_reason: str
    is_byok: bool = False
    latency_ms: int = 0
    # What /generation reports of the request besides the bill.
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
