"""Scripted failures for the fake OpenRouter server.

Faults are queued per endpoint and consumed first-in first-out: every authorised request to that
endpoint takes the next queued fault, if any. A faulted request never consults the scripted model
(so a ``QueueModel`` script is not used up by it) and is not billed, with one exception:
``empty_response`` is a successful completion that carries ``usage.cost``, so it is billed like
any answer — otherwise a client could not reconcile its sum with the server's ledger.

Which fault fields apply where:

====================  ===============================  =====================================
field                 ``path="chat"``                  ``path="generation"``
====================  ===============================  =====================================
status / body         error response with that status  same
retry_after           ``Retry-After`` header           same
delay_s               sleep before answering           same
drop_connection       close the socket, no response    same
malformed_body        200 with invalid JSON            same
error_in_200          200 carrying an ``error``        not allowed (ValueError)
empty_response        200, empty content, billed       not allowed (ValueError)
====================  ===============================  =====================================
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["FAULT_PATHS", "Fault", "FaultPlan", "default_error_body", "error_metadata"]

FaultPath = Literal["chat", "generation"]
FAULT_PATHS: tuple[str, ...] = ("chat", "generation")

_MESSAGES: dict[int, str] = {
    400: "Invalid request",
    401: "No auth credentials found",
    402: "Insufficient credits for this request",
    403: "Input was flagged by moderation",
    404: "Not found",
    408: "Request timed out",
    413: "Request payload too large",
    422: "Unprocessable request",
    429: "Rate limit exceeded, please retry later",
    500: "Internal Server Error",
    502: "Provider returned error",
    503: "No allowed providers are available for the selected model",
    524: "Provider did not respond in time",
    529: "Provider is overloaded",
}

# Provider-side failures carry metadata.error_type on OpenRouter; request and credit errors don't.
_ERROR_TYPES: dict[int, str] = {
    408: "timeout",
    429: "rate_limit_exceeded",
    500: "server",
    502: "server",
    503: "provider_unavailable",
    524: "timeout",
    529: "provider_overloaded",
}

_PROVIDER_NAME = "FakeProvider"


def error_metadata(status: int, model: str | None = None) -> dict[str, Any] | None:
    """The ``error.metadata`` OpenRouter attaches for ``status``, or None when it attaches none."""
    if status == 403:
        return {
            "reasons": ["demo-moderation"],
            "flagged_input": "",
            "provider_name": _PROVIDER_NAME,
            "model_slug": model or "",
        }
    error_type = _ERROR_TYPES.get(status)
    if error_type is None:
        return None
    return {"error_type": error_type, "provider_name": _PROVIDER_NAME}


def default_error_body(status: int, model: str | None = None) -> dict[str, Any]:
    """OpenRouter's error body shape for ``status``: ``{"error": {code, message, metadata?}}``."""
    error: dict[str, Any] = {"code": status, "message": _MESSAGES.get(status, f"HTTP {status}")}
    metadata = error_metadata(status, model)
    if metadata is not None:
        error["metadata"] = metadata
    return {"error": error}


@dataclass
class Fault:
    """One scripted failure; see the module docstring for what each field does."""

    status: int = 500
    body: dict[str, Any] | None = None
    retry_after: float | None = None
    delay_s: float = 0.0
    drop_connection: bool = False
    malformed_body: bool = False
    error_in_200: bool = False
    empty_response: bool = False
    path: FaultPath = "chat"

    def __post_init__(self) -> None:
        if self.path not in FAULT_PATHS:
            raise ValueError(f"Fault.path must be one of {FAULT_PATHS}, got {self.path!r}")
        if self.path == "generation" and (self.error_in_200 or self.empty_response):
            raise ValueError("error_in_200 and empty_response only apply to path='chat'")
        if self.delay_s < 0:
            raise ValueError("Fault.delay_s must be >= 0")

    def error_body(self, model: str | None = None) -> dict[str, Any]:
        """The body to send: the scripted one, else OpenRouter's default for the status."""
        return self.body if self.body is not None else default_error_body(self.status, model)


class FaultPlan:
    """Thread-safe FIFO queues of faults, one queue per endpoint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Fault]] = {path: deque() for path in FAULT_PATHS}

    def add(self, fault: Fault, count: int = 1) -> None:
        """Queue ``fault`` for the next ``count`` requests to its endpoint."""
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._queues[fault.path].extend([fault] * count)

    def take(self, path: FaultPath) -> Fault | None:
        """Consume the next fault for ``path``; None when none is queued."""
        with self._lock:
            queue = self._queues[path]
            return queue.popleft() if queue else None

    def pending(self, path: FaultPath = "chat") -> int:
        """How many faults are still queued for ``path``."""
        with self._lock:
            return len(self._queues[path])

    def clear(self) -> None:
        with self._lock:
            for queue in self._queues.values():
                queue.clear()
