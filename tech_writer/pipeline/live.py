"""The live status on a terminal: phase, sections done, LLM calls, tokens, spend so far, budget
left and elapsed time, redrawn in place on stderr.

Drawn with `rich <https://github.com/Textualize/rich>`_ (``rich.live.Live``): it redraws one
region in place at a capped rate from its own thread, prints other lines above it without
tearing, and knows terminals. It is imported only when a live status is wanted (a terminal,
progress on, colour allowed), so ``tech-writer --help`` and piped runs never load it.

The status reads its numbers when it is drawn, at most :data:`REFRESH_PER_SECOND` times a
second: the spend is the cost span processor's running sum (see
:func:`tech_writer.pipeline.run.spend_so_far`), so the last figure shown is the run's final cost.
Phase lines and finished sections are printed above the status; log records are routed through
the same console while it is live, so the two never garble each other. The status is cleared when
the run ends: the summary line printed after it is the last word.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from tech_writer.pipeline.progress import Progress

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

__all__ = ["REFRESH_PER_SECOND", "LiveProgress", "make_progress", "wants_live"]

REFRESH_PER_SECOND = 4


def wants_live(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """A live status only on a terminal that takes escape codes: not piped, not ``TERM=dumb``,
    not ``NO_COLOR`` (https://no-color.org: any value)."""
    env = os.environ if environ is None else environ
    if "NO_COLOR" in env or env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def make_progress(*, quiet: bool, stream: TextIO | None = None,
                  environ: Mapping[str, str] | None = None) -> Progress:
    """What the CLI shows: nothing (``--quiet``), a live status, or plain lines."""
    target = stream or sys.stderr
    if quiet:
        return Progress(enabled=False)
    if wants_live(target, environ):
        return LiveProgress(target)
    return Progress(target)


class LiveProgress(Progress):
    """Progress drawn as a live status; a context manager around the run."""

    def __init__(self, stream: TextIO, *, console: Console | None = None) -> None:
        super().__init__(stream)
        from rich.console import Console

        self.console = console or Console(file=stream, stderr=True, highlight=False)
        self._state_lock = threading.Lock()
        self._phase = "starting"
        self._activity = ""
        self._started = time.monotonic()
        self._live: Live | None = None
        self._rerouted: list[tuple[logging.StreamHandler[Any], Any]] = []

    # --- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> LiveProgress:
        from rich.live import Live

        self._started = time.monotonic()
        self._live = Live(self, console=self.console, refresh_per_second=REFRESH_PER_SECOND,
                          transient=True, redirect_stdout=False, redirect_stderr=True)
        self._live.start()
        self._reroute_logging()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._restore_logging()
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _reroute_logging(self) -> None:
        """Stream handlers writing to the terminal write through the live console instead (rich
        has put its proxy in ``sys.stderr``), so a log line lands above the status."""
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is self._stream:
                self._rerouted.append((handler, handler.setStream(sys.stderr)))

    def _restore_logging(self) -> None:
        for handler, stream in self._rerouted:
            handler.setStream(stream)
        self._rerouted.clear()

    # --- events ---------------------------------------------------------------------------
    def say(self, text: str) -> None:
        if self._live is None:
            super().say(text)
            return
        with self._lock:
            self.console.print(text, markup=False, highlight=False)

    def phase(self, name: str, detail: str = "") -> None:
        with self._state_lock:
            self._phase, self._activity = name, ""
        super().phase(name, detail)

    def step(self, phase: str, text: str) -> None:
        # Steps change too fast to list on a terminal: the status shows the latest one.
        with self._state_lock:
            self._activity = f"[{phase}] {text}"

    def section_done(self, title: str, cost_usd: float) -> None:
        with self._lock:
            self.sections_done += 1
            done = self.sections_done
        self.say(f"  ✓ {done}/{self.sections_total} {title} · {self.money(cost_usd)}")

    # --- drawing --------------------------------------------------------------------------
    def status_line(self) -> str:
        """The status as plain text (what :meth:`__rich__` draws)."""
        spend = self.spend()
        with self._state_lock:
            phase, activity = self._phase, self._activity
        done, total = self.sections_done, self.sections_total
        # "sections 2/6" names its phase; another phase is named, then the sections so far
        parts = [] if total and phase == "sections" else [phase]
        if total:
            parts.append(f"sections {done}/{total}")
        parts.append(f"{spend.calls:,} LLM call{'' if spend.calls == 1 else 's'}")
        parts.append(f"{spend.tokens:,} tokens")
        if self.cost_tracked:
            parts.append(f"spent {self.money(spend.cost_usd)}")
            if self.budget_usd is not None:
                left = max(0.0, self.budget_usd - spend.cost_usd)
                parts.append(f"${left:.4f} of ${self.budget_usd:.2f} budget left")
        elapsed = int(time.monotonic() - self._started)
        parts.append(f"{elapsed // 60:02d}:{elapsed % 60:02d}")
        line = " · ".join(parts)
        if activity:
            width = max(20, self.console.width - 4)
            line += "\n  " + (activity if len(activity) <= width else activity[:width - 1] + "…")
        return line

    def __rich__(self) -> Text:
        from rich.text import Text

        return Text(self.status_line(), no_wrap=True, overflow="ellipsis")
