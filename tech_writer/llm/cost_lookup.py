"""Background look-ups of a completion's cost on OpenRouter's ``GET /generation`` endpoint.

Only used when a completion arrives without a usable ``usage.cost``. OpenRouter answers 404 for
a while after a completion (the delay is undocumented), so each look-up retries with backoff.
Look-ups run on a small thread pool so the next LLM call never waits for them;
:meth:`CostLookups.wait` settles them before the run reports. A look-up that never succeeds,
or answers a figure that cannot be a cost (:mod:`~tech_writer.llm.server_figures`), is settled
as *unknown* — never as zero.

The bounds (``--cost-lookup-timeout`` is :attr:`LookupPolicy.max_wait_s`):

* the run waits for look-ups at most ``max_wait_s`` **in all**: every :meth:`CostLookups.wait`
  of the run draws on that one budget, and returns at once when it is spent;
* a look-up gives up ``max_wait_s`` after it started, whatever the server does;
* each request has a total deadline of ``request_timeout_s`` (connect, send and the whole
  body: a ``/generation`` that trickles cannot hold one), cut to what is left of the look-up's.
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

from tech_writer.llm.deadline import DEADLINE_EXTENSION, DeadlineTransport
from tech_writer.llm.server_figures import MAX_CALL_COST_USD, valid_cost

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
        # No kept-alive connections: each look-up connects anew, so its socket is known from the
        # start and cancel() can cut it wherever it is (a reused one is only known later).
        self._transport = DeadlineTransport(
            self.policy.request_timeout_s,
            inner=transport or httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0)))
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=self.policy.request_timeout_s,
            transport=self._transport,
        )
        self._pool = ThreadPoolExecutor(max_workers=self.policy.workers,
                                        thread_name_prefix="cost-lookup")
        self._futures: list[Future[None]] = []
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self._wait_left_s = self.policy.max_wait_s  # the run's waiting budget, all waits together
        self._wait_warned = False

    def submit(self, generation_id: str, on_settled: SettleCallback) -> None:
        deadline = time.monotonic() + self.policy.max_wait_s
        future = self._pool.submit(self._run, generation_id, on_settled, deadline)
        with self._lock:
            self._futures.append(future)

    def pending(self) -> int:
        with self._lock:
            return sum(1 for f in self._futures if not f.done())

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until every submitted look-up has settled; ``True`` if all did in time.

        ``timeout_s`` None: bounded by what is left of the run's waiting budget (the policy's
        ``max_wait_s`` for every wait of the run together); once it is spent, this returns at
        once. The look-ups still going keep running (each until its own bound) and settle
        later; :meth:`close` stops them."""
        with self._lock:
            futures = [future for future in self._futures if not future.done()]
        if not futures:
            return True
        if timeout_s is None:
            with self._lock:
                bound = self._wait_left_s
        else:
            bound = timeout_s
        started = time.monotonic()
        _, not_done = wait_futures(futures, timeout=max(bound, 0.0))
        if timeout_s is None:
            with self._lock:
                self._wait_left_s = max(0.0, self._wait_left_s - (time.monotonic() - started))
        if not_done and not self._wait_warned:
            self._wait_warned = True
            log.warning("%d cost look-up(s) on /generation unanswered after the run waited "
                        "%g s for them (--cost-lookup-timeout): their costs stay unknown unless "
                        "they come in before the end", len(not_done), self.policy.max_wait_s)
        return not not_done

    def cancel(self) -> None:
        """Stop now: no more retries, and the requests in flight are cut; those look-ups
        settle as unknown."""
        self._cancelled.set()
        self._transport.abort()

    def close(self) -> None:
        """Stop everything now: requests in flight are cut (their worker threads then find
        the look-up cancelled and end), nothing waits for them."""
        self.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- worker -----------------------------------------------------------------------------
    def _run(self, generation_id: str, on_settled: SettleCallback, deadline: float) -> None:
        try:
            result = self._look_up(generation_id, deadline)
        except Exception as exc:  # a bug here must not kill the run; the cost stays unknown
            log.debug("cost look-up for %s crashed", generation_id, exc_info=True)
            result = GenerationCost(generation_id, None, error=type(exc).__name__)
        if result.cost_usd is None and self._cancelled.is_set():
            # Stopped at the end of the run: the summary says the costs are incomplete.
            log.debug("cost look-up for %s stopped (%s)", generation_id, result.error)
        elif result.cost_usd is None:
            log.warning("cost of generation %s unknown after %d look-ups (%s): the run's cost "
                        "summary will be marked incomplete", generation_id, result.attempts,
                        result.error or "no answer")
        else:
            log.debug("cost of %s settled from /generation: $%.6f after %d look-ups",
                      generation_id, result.cost_usd, result.attempts)
        on_settled(result)

    def _look_up(self, generation_id: str, deadline: float) -> GenerationCost:
        policy = self.policy
        delay = policy.initial_delay_s
        attempts = 0
        last_error = "not attempted"
        while not self._cancelled.is_set() and time.monotonic() < deadline:
            attempts += 1
            request_deadline = min(deadline, time.monotonic() + policy.request_timeout_s)
            try:
                response = self._http.get("generation", params={"id": generation_id},
                                          extensions={DEADLINE_EXTENSION: request_deadline})
                if response.status_code == 200:
                    result = _parse_generation(generation_id, response.json(), attempts)
                    if result.cost_usd is not None or result.error != "no total_cost":
                        return result
                    last_error = "no total_cost yet"
                elif response.status_code in (401, 403):
                    # The key cannot read generations: retrying will not help.
                    return GenerationCost(generation_id, None, attempts=attempts,
                                          error=f"HTTP {response.status_code}")
                else:
                    last_error = f"HTTP {response.status_code}"
            except (httpx.HTTPError, ValueError) as exc:
                last_error = type(exc).__name__
            if time.monotonic() + delay > deadline:
                break
            self._cancelled.wait(delay)  # sleeps, but wakes at once on cancel()
            delay = min(delay * 2, policy.max_delay_s)
        if self._cancelled.is_set() and last_error == "not attempted":
            last_error = "stopped"
        return GenerationCost(generation_id, None, attempts=attempts, error=last_error)


def _parse_generation(generation_id: str, body: object, attempts: int) -> GenerationCost:
    data = body.get("data") if isinstance(body, dict) else None
    total = data.get("total_cost") if isinstance(data, dict) else None
    if total is None or not isinstance(data, dict):
        return GenerationCost(generation_id, None, attempts=attempts, error="no total_cost")
    cost = valid_cost(total)
    if cost is None:  # negative, NaN, absurd: a figure that cannot be this call's bill
        return GenerationCost(generation_id, None, attempts=attempts,
                              error=f"invalid total_cost {str(total)[:40]!r}")
    upstream = valid_cost(data.get("upstream_inference_cost"))
    discount = data.get("cache_discount")
    return GenerationCost(
        generation_id,
        float(cost),
        cache_discount=float(discount) if isinstance(discount, (int, float))
        and not isinstance(discount, bool) and abs(discount) < float(MAX_CALL_COST_USD) else None,
        upstream_cost_usd=None if upstream is None else float(upstream),
        attempts=attempts,
    )
