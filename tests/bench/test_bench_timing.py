"""The benchmark's timing helpers: interleaving and the bootstrap interval of a ratio."""

from __future__ import annotations

import random
import statistics

import pytest

from bench.timing import interleaved, ratio_interval


def test_interleaved_alternates_the_order_and_runs_each_candidate_once_per_round():
    order: list[str] = []
    seconds = interleaved(4, {"a": lambda: order.append("a") or 1.0,
                              "b": lambda: order.append("b") or None})
    assert order == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert seconds["a"] == [1.0] * 4  # a candidate's own measurement is kept as is
    assert len(seconds["b"]) == 4 and all(value >= 0 for value in seconds["b"])


def test_interval_keeps_rounds_paired():
    # Every round's run is exactly 10 % slower than its baseline, but rounds differ widely: only
    # resampling the pairs together gives exactly 1.1 every time.
    rng = random.Random(7)
    baselines = [rng.uniform(0.1, 0.3) for _ in range(40)]
    values = [1.1 * baseline for baseline in baselines]
    low, high = ratio_interval(values, baselines)
    assert low == pytest.approx(1.1) and high == pytest.approx(1.1)


def test_interval_brackets_the_estimate_and_narrows_with_less_noise():
    rng = random.Random(3)

    def samples(noise: float) -> tuple[list[float], list[float]]:
        off = [0.2 * (1 + rng.gauss(0, noise)) for _ in range(60)]
        on = [0.21 * (1 + rng.gauss(0, noise)) for _ in range(60)]
        return on, off

    noisy_on, noisy_off = samples(0.05)
    quiet_on, quiet_off = samples(0.005)
    estimate = statistics.median(noisy_on) / statistics.median(noisy_off)
    low, high = ratio_interval(noisy_on, noisy_off)
    quiet_low, quiet_high = ratio_interval(quiet_on, quiet_off)
    assert low <= estimate <= high
    assert quiet_high - quiet_low < (high - low) / 3
    assert quiet_low < 1.05 < quiet_high  # the true ratio, 0.21 / 0.2


def test_interval_is_reproducible_and_rejects_unpaired_samples():
    values, baselines = [1.0, 1.2, 0.9, 1.1], [1.0, 1.0, 1.1, 0.9]
    assert ratio_interval(values, baselines) == ratio_interval(values, baselines)
    with pytest.raises(ValueError):
        ratio_interval([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        ratio_interval([], [])
