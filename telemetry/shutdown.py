"""Hard time bounds around SDK calls that can block.

``BatchSpanProcessor.force_flush`` ignores its timeout, ``shutdown`` waits up to 30 s and an OTLP
exporter retries for its whole timeout: with a dead endpoint the SDK alone would hold the process
for many seconds. Each call here runs in a daemon thread that is joined against one deadline;
what has not finished by then is left behind (daemon threads do not keep the interpreter alive).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["BoundedOutcome", "run_bounded"]


@dataclass
class BoundedOutcome:
    """What happened to a batch of calls run by :func:`run_bounded`."""

    finished: bool = True  # every call returned (or raised) before the deadline
    results: list[object] = field(default_factory=list)  # return values of the calls that returned
    errors: list[BaseException] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Finished in time, nothing raised, and no call answered ``False``."""
        return self.finished and not self.errors and all(r is not False for r in self.results)


def run_bounded(calls: Sequence[Callable[[], object]], timeout_s: float,
                *, thread_name: str = "telemetry-bounded") -> BoundedOutcome:
    """Run ``calls`` concurrently, each in a daemon thread; wait at most ``timeout_s`` in total."""
    outcome = BoundedOutcome()
    lock = threading.Lock()

    def run(call: Callable[[], object]) -> None:
        try:
            result = call()
        except BaseException as exc:  # collected for the caller, never raised in the thread
            with lock:
                outcome.errors.append(exc)
        else:
            with lock:
                outcome.results.append(result)

    threads = [threading.Thread(target=run, args=(call,), name=thread_name, daemon=True)
               for call in calls]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + max(timeout_s, 0.0)
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0.0))
    outcome.finished = not any(thread.is_alive() for thread in threads)
    return outcome
