"""When and how long to wait before trying an LLM request again.

The openai SDK's own retries are switched off (``max_retries=0``) so that every attempt is visible
on the call's span and bounded by one policy that the user can configure.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "parse_retry_after"]

# 408 timeout, 429 rate limit, 5xx and OpenRouter's 524 (edge timeout) / 529 (provider overloaded).
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 524, 529})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded both in attempts and in total waiting time."""

    max_attempts: int = 5
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    max_total_wait_s: float = 120.0
    jitter: float = 0.25  # +/- this fraction of each computed delay
    retry_statuses: frozenset[int] = field(default=RETRYABLE_STATUSES)

    def is_retryable(self, status_code: int | None) -> bool:
        """``None`` stands for a connection error or timeout: always worth another try."""
        return status_code is None or status_code in self.retry_statuses

    def delay(self, attempt: int, retry_after_s: float | None = None,
              rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        A server's ``Retry-After`` wins over the computed backoff (it knows when it will recover),
        but is still capped at ``max_backoff_s`` so a hostile header cannot park the run.
        """
        if retry_after_s is not None and retry_after_s >= 0:
            return min(retry_after_s, self.max_backoff_s)
        base = min(self.initial_backoff_s * (2.0 ** (attempt - 1)), self.max_backoff_s)
        spread = base * self.jitter
        return max(0.0, base + (rng or random).uniform(-spread, spread))


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds; OpenRouter sends seconds, HTTP dates are ignored."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
