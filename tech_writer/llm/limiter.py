"""How many LLM requests may be in flight at once, backing off when the provider rate-limits.

Additive increase, multiplicative decrease: a 429 halves the effective limit (never below one),
and every ``recover_after`` successes in a row give one slot back, up to the configured maximum.
"""

from __future__ import annotations

import threading

__all__ = ["AdaptiveLimiter"]


class AdaptiveLimiter:
    def __init__(self, max_in_flight: int, *, recover_after: int = 4) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.max_in_flight = max_in_flight
        self._limit = max_in_flight
        self._in_flight = 0
        self._successes = 0
        self._recover_after = recover_after
        self._cond = threading.Condition()
        self.peak_in_flight = 0

    @property
    def limit(self) -> int:
        with self._cond:
            return self._limit

    def acquire(self) -> None:
        with self._cond:
            while self._in_flight >= self._limit:
                self._cond.wait()
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)

    def release(self, *, rate_limited: bool = False) -> None:
        with self._cond:
            self._in_flight -= 1
            if rate_limited:
                self._limit = max(1, self._limit // 2)
                self._successes = 0
            else:
                self._successes += 1
                if self._successes >= self._recover_after and self._limit < self.max_in_flight:
                    self._limit += 1
                    self._successes = 0
            self._cond.notify_all()
