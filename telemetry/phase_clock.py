"""Wall time per phase, read off the phase spans as they end.

:class:`PhaseClock` is a span processor a caller adds to a run's tracer provider when it wants the
time each phase took beside its cost (``tech-writer compare`` does, one per run): a ``phase X``
span carrying ``tech_writer.phase`` adds its duration to ``X``.
"""

from __future__ import annotations

import threading

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from telemetry import attributes as attrs

__all__ = ["PhaseClock"]

_NANOS_PER_SECOND = 1e9


class PhaseClock(SpanProcessor):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds: dict[str, float] = {}

    def on_end(self, span: ReadableSpan) -> None:
        phase = (span.attributes or {}).get(attrs.PHASE)
        if not isinstance(phase, str) or span.name != f"phase {phase}":
            return
        if span.start_time is None or span.end_time is None:
            return
        with self._lock:
            self._seconds[phase] = (self._seconds.get(phase, 0.0)
                                    + (span.end_time - span.start_time) / _NANOS_PER_SECOND)

    def seconds(self) -> dict[str, float]:
        """Seconds per phase so far (a phase that ran twice counts both times)."""
        with self._lock:
            return {phase: round(value, 3) for phase, value in self._seconds.items()}
