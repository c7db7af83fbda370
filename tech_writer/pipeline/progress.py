"""Progress a person can follow on stderr: the phase, the step, the sections written and what
they cost.

Separate from logging on purpose: progress is for people and shows at the default log level;
logs are for diagnosis. Both go to stderr so ``--eval-json`` keeps stdout clean.

:class:`Progress` writes plain lines (a CI log, ``--quiet`` off); :mod:`tech_writer.pipeline.live`
draws the same events as a live status on a terminal. The run tells both the same things: the
phase, each step, how many sections the outline has, each finished section with its cost, and
(:meth:`Progress.attach`) where to read the spend so far.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TextIO

__all__ = ["Progress", "Spend", "format_cost_line"]


@dataclass(frozen=True)
class Spend:
    """What the run has used so far: the cost span processor's running sum."""

    cost_usd: float = 0.0
    tokens: int = 0
    calls: int = 0


class Progress:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True,
                 sink: Callable[[str], None] | None = None) -> None:
        self._stream = stream
        self._enabled = enabled
        self._sink = sink
        self._lock = threading.Lock()
        self.spend: Callable[[], Spend] = Spend
        self.simulated = False
        self.cost_tracked = True
        self.budget_usd: float | None = None
        self.sections_total = 0
        self.sections_done = 0

    @classmethod
    def silent(cls) -> Progress:
        return cls(enabled=False)

    # A context manager so a live display can start and stop around a run; plain lines need not.
    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        return None

    def attach(self, spend: Callable[[], Spend], *, simulated: bool = False,
               cost_tracked: bool = True, budget_usd: float | None = None) -> None:
        """Where to read the spend so far (called by the run once its client exists)."""
        self.spend = spend
        self.simulated = simulated
        self.cost_tracked = cost_tracked
        self.budget_usd = budget_usd

    def say(self, text: str) -> None:
        if not self._enabled:
            return
        with self._lock:
            if self._sink is not None:
                self._sink(text)
                return
            stream = self._stream or sys.stderr
            stream.write(text + "\n")
            stream.flush()

    def phase(self, name: str, detail: str = "") -> None:
        self.say(f"» {name}" + (f": {detail}" if detail else ""))

    def step(self, phase: str, text: str) -> None:
        self.say(f"  [{phase}] {text}")

    def sections_planned(self, total: int, *, done: int = 0) -> None:
        """How many sections the outline has, and how many are done already (reused)."""
        with self._lock:
            self.sections_total, self.sections_done = total, done

    def section_done(self, title: str, cost_usd: float) -> None:
        """One line per finished section with what it cost, so a CI log tells the story.
        Sections finish side by side: they are counted here, in the order they are reported."""
        with self._lock:
            self.sections_done += 1
            done = self.sections_done
        self.step("sections", f"done {done}/{self.sections_total}: {title} · "
                              f"{self.money(cost_usd)}")

    def money(self, usd: float) -> str:
        if not self.cost_tracked:
            return "cost not tracked"
        return f"${usd:.4f}" + (" (simulated)" if self.simulated else "")


def format_cost_line(cost_usd: float, tokens: int, calls: int, unknown_calls: int = 0) -> str:
    """``$0.0234 · 15,420 tokens · 23 calls`` (+ what is unknown, when something is)."""
    line = f"${cost_usd:.4f} · {tokens:,} tokens · {calls:,} call{'' if calls == 1 else 's'}"
    if unknown_calls:
        line += f" · {unknown_calls} call(s) of unknown cost (total is a lower bound)"
    return line
