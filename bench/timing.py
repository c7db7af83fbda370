"""Side-by-side timing: candidates run in interleaved rounds and are compared by their medians.

Interleaving (A B, then B A, ...) spreads slow spells of a shared 2-core machine over every
candidate instead of letting them land on whichever ran during the spell; the median then
ignores the odd outlier round. A full garbage collection before each candidate (untimed) starts
each on the same heap: otherwise a candidate pays for collecting what the one before it left.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable, Mapping

__all__ = ["Timed", "interleaved", "median", "ms_list", "ratio_interval", "timed"]

# A candidate either returns the seconds it measured itself (to leave set-up out), or None to be
# timed whole.
Timed = Callable[[], "float | None"]


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action`` took (monotonic, high resolution)."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def interleaved(rounds: int, candidates: Mapping[str, Timed]) -> dict[str, list[float]]:
    """Run every candidate once per round, alternating the order; return each one's seconds."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    names = list(candidates)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        order = names if round_index % 2 == 0 else names[::-1]
        for name in order:
            gc.collect()
            started = time.perf_counter()
            own = candidates[name]()
            seconds[name].append(own if own is not None else time.perf_counter() - started)
    return seconds


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def ms_list(seconds: list[float]) -> str:
    """Samples for a figure's notes: "203, 206, 199 ms"."""
    return ", ".join(f"{value * 1000:.0f}" for value in seconds) + " ms"


def ratio_interval(values: list[float], baselines: list[float], *, confidence: float = 0.95,
                   resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """A bootstrap interval for ``median(values) / median(baselines)``.

    Rounds are resampled as pairs (round ``i`` of each list together), because interleaving makes
    a round's two runs share the machine's state of the moment. The seed is fixed so the same
    samples always give the same interval.
    """
    if len(values) != len(baselines) or not values:
        raise ValueError("values and baselines must be paired and non-empty")
    picker = random.Random(seed)
    count = len(values)
    ratios = []
    for _ in range(resamples):
        rounds = [picker.randrange(count) for _ in range(count)]
        ratios.append(statistics.median(values[i] for i in rounds)
                      / statistics.median(baselines[i] for i in rounds))
    ratios.sort()
    tail = (1 - confidence) / 2
    return ratios[int(tail * (resamples - 1))], ratios[int((1 - tail) * (resamples - 1))]
