"""Running independent LLM jobs (exploration areas, report sections) a few at a time.

Workers are daemon threads pulling from a FIFO queue, so jobs start in the order given; each runs
in a copy of the caller's context, so its spans parent under the caller's span. The number of
requests actually in flight is bounded by the LLM client's own limiter; this only decides how
many jobs are open at once. On Ctrl-C the caller returns at once: a worker stuck in a request is
abandoned (its call counted as possibly billed by the client), never waited for.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from tech_writer.errors import LLMError

if TYPE_CHECKING:
    from tech_writer.llm.client import LLMClient

__all__ = ["is_cancellation", "run_jobs"]

Job = Callable[[], None]
_POLL_S = 0.2  # how often the waiting thread wakes: keeps Ctrl-C responsive


def is_cancellation(error: BaseException) -> bool:
    return isinstance(error, LLMError) and error.error_type == "cancelled"


def run_jobs(jobs: Sequence[Job], workers: int, llm: LLMClient, *, name: str) -> None:
    """Run ``jobs`` at most ``workers`` at a time.

    The first real error (not a cancellation caused by another job's failure) is raised once
    every worker has stopped; a failing job asks the client to stop, so no new calls start.
    Jobs report their results themselves (they are closures over the caller's state).
    """
    if not jobs:
        return
    work: queue.SimpleQueue[Job] = queue.SimpleQueue()
    for job in jobs:
        work.put(job)
    results: _Results = queue.SimpleQueue()
    threads = [threading.Thread(target=_work, args=(work, results, llm, contextvars.copy_context()),
                                name=f"{name}-{n}", daemon=True)
               for n in range(max(1, min(workers, len(jobs))))]
    for thread in threads:
        thread.start()
    try:
        first_error = _first_error(results, threads, len(jobs))
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:
        llm.abort()
        raise
    if first_error is not None:
        raise first_error


_Results = queue.SimpleQueue[BaseException | None]  # one entry per finished job: its error or None


def _work(work: queue.SimpleQueue[Job], results: _Results, llm: LLMClient,
          context: contextvars.Context) -> None:
    """One worker: takes jobs until none is left, the run stops, or a job fails."""
    while not llm.stopping:
        try:
            job = work.get_nowait()
        except queue.Empty:
            return
        try:
            context.copy().run(job)
        except BaseException as exc:  # noqa: BLE001 - handed over, re-raised by the caller
            if not is_cancellation(exc):
                llm.request_stop()  # no credit, fatal error: no new calls anywhere
            results.put(exc)
            return
        results.put(None)


def _first_error(results: _Results, threads: Sequence[threading.Thread],
                 jobs: int) -> BaseException | None:
    """Wait for every job's outcome (or every worker's end); the first real error, if any."""
    first_error: BaseException | None = None
    received = 0
    while received < jobs:
        try:
            error = results.get(timeout=_POLL_S)
        except queue.Empty:
            if not any(t.is_alive() for t in threads) and results.empty():
                break  # every worker stopped early; nothing more will arrive
            continue
        received += 1
        if error is not None and (first_error is None or is_cancellation(first_error)):
            first_error = error
    return first_error
