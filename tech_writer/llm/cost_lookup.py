"""Background look-ups of a completion's cost on OpenRouter's ``GET /generation`` endpoint.

Only used when a completion arrives without ``usage.cost``. OpenRouter answers 404 for a while
after a completion (the delay is undocumented), so each look-up retries with backoff up to a
bounded time. Look-ups run on a small thread pool so the next LLM call never waits for them;
:meth:`CostLookups.wait` settles them all before the run reports. A look-up that never succeeds
is settled as *unknown* — never as zero.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass

import httpx

__all__ = ["CostLookups", "GenerationCost", "LookupPolicy"]

log = logging.getLogger("tech_writer.cost")


@dataclass(frozen=True)
class LookupPolicy:
    max_wait_s: float = 20.0
    initial_delay_s: float = 0.25
    max_delay_s: float = 3.0
    request_timeout_s: float = 5.0
    workers: int = 4


@dataclass(frozen=True)
class GenerationCost:
    generation_id: str
    cost_usd: float | None  # None: it could not be learned within the policy's bound
    cache_discount: float | None = None
    upstream_cost_usd: float | None = None
    attempts: int = 0
    error: str | None = None


SettleCallback = Callable[[GenerationCost], None]


class CostLookups:
    """Runs ``/generation`` look-ups in the background and reports each result to a callback."""

    def __init__(self, base_url: str, api_key: str, *, policy: LookupPolicy | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.policy = policy or LookupPolicy()
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=self.policy.request_timeout_s,
            transport=transport,
        )
        self._pool = ThreadPoolExecutor(max_workers=self.policy.workers,
                                        thread_name_prefix="cost-lookup")
        self._futures: list[Future[None]] = []
        self._lock = threading.Lock()
        self._cancelled = threading.Event()

    def submit(self, generation_id: str, on_settled: SettleCallback) -> None:
        future = self._pool.submit(self._run, generation_id, on_settled)
        with self._lock:
            self._futures.append(future)

    def pending(self) -> int:
        with self._lock:
            return sum(1 for f in self._futures if not f.done())

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until every submitted look-up has settled; ``True`` if all did in time."""
        with self._lock:
            futures = list(self._futures)
        if not futures:
            return True
        bound = self.policy.max_wait_s + self.policy.request_timeout_s + 1.0
        done, not_done = wait_futures(futures, timeout=bound if timeout_s is None else timeout_s)
        return not not_done

    def cancel(self) -> None:
        """Stop retrying: look-ups still in flight settle as unknown at their next step."""
        self._cancelled.set()

    def close(self) -> None:
        self.cancel()
        self._pool.shutdown(wait=True)
        self._http.close()

    # --- worker -----------------------------------------------------------------------------
    def _run(self, generation_id: str, on_settled: SettleCallback) -> None:
        try:
            result = self._look_up(generation_id)
        except Exception as exc:  # a bug here must not kill the run; the cost stays unknown
            log.debug("cost look-up for %s crashed", generation_id, exc_info=True)
            result = GenerationCost(generation_id, None, error=type(exc).__name__)
        if result.cost_usd is None:
            log.warning("cost of generation %s unknown after %d look-ups (%s): the run's cost "
                        "summary will be marked incomplete", generation_id, result.attempts,
                        result.error or "no answer")
        else:
            log.debug("cost of %s settled from /generation: $%.6f after %d look-ups",
                      generation_id, result.cost_usd, result.attempts)
        on_settled(result)

    def _look_up(self, generation_id: str) -> GenerationCost:
        policy = self.policy
        deadline = time.monotonic() + policy.max_wait_s
        delay = policy.initial_delay_s
        attempts = 0
        last_error = "not attempted"
        while True:
            attempts += 1
            try:
                response = self._http.get("generation", params={"id": generation_id})
                if response.status_code == 200:
                    return _parse_generation(generation_id, response.json(), attempts)
                last_error = f"HTTP {response.status_code}"
                if response.status_code in (401, 403):
                    break  # the key cannot read generations: retrying will not help
            except (httpx.HTTPError, ValueError) as exc:
                last_error = type(exc).__name__
            if self._cancelled.is_set() or time.monotonic() + delay > deadline:
                break
            self._cancelled.wait(delay)  # sleeps, but wakes at once on cancel()
            delay = min(delay * 2, policy.max_delay_s)
        return GenerationCost(generation_id, None, attempts=attempts, error=last_error)


def _parse_generation(generation_id: str, body: object, attempts: int) -> GenerationCost:
    data = body.get("data") if isinstance(body, dict) else None
    total = data.get("total_cost") if isinstance(data, dict) else None
    if not isinstance(total, (int, float)) or isinstance(total, bool):
        return GenerationCost(generation_id, None, attempts=attempts, error="no total_cost")
    assert isinstance(data, dict)
    return GenerationCost(
        generation_id,
        float(total),
        cache_discount=_number(data.get("cache_discount")),
        upstream_cost_usd=_number(data.get("upstream_inference_cost")),
        attempts=attempts,
    )


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None
