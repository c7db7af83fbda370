"""Running the real pipeline in-process against a fake OpenRouter, the way the benchmarks need it."""

from __future__ import annotations

import inspect
import statistics
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.sample_repo import REPORT_PROMPT

if TYPE_CHECKING:
    from tech_writer.demo import FakeOpenRouter
    from telemetry import Telemetry

__all__ = ["BENCH_API_KEY", "fake_round_trip_s", "run_report", "supports_keyword"]

# The fake server accepts any non-empty key; this one is recognisably not a secret.
BENCH_API_KEY = "bench-fake-key"


def supports_keyword(name: str) -> bool:
    """Whether ``run_pipeline`` takes the keyword ``name`` (features land over time)."""
    from tech_writer.pipeline.run import run_pipeline

    return name in inspect.signature(run_pipeline).parameters


def run_report(server: FakeOpenRouter, repo: Path, *, environ: Mapping[str, str] | None = None,
               telemetry: Telemetry | None = None, max_sections: int = 8,
               **extra: Any) -> tuple[str, dict[str, Any]]:
    """One whole run (exploration, outline, sections) through ``run_pipeline``; returns the
    report and the cost summary. ``environ`` configures the run's own telemetry (``{}``: spans
    in-process only, nothing exported); ``extra`` goes to ``run_pipeline`` as is."""
    from tech_writer.pipeline.run import run_pipeline

    report, _store, cost = run_pipeline(
        REPORT_PROMPT, repo, provider="openrouter", api_key=BENCH_API_KEY,
        base_url=server.base_url, max_sections=max_sections,
        environ={} if environ is None else dict(environ), telemetry=telemetry, **extra)
    return report, cost


def fake_round_trip_s(server: FakeOpenRouter, samples: int = 5) -> float:
    """Median seconds of one small request to the fake over a kept-alive connection: what the
    fake itself adds to every call of a "zero-latency" run."""
    import httpx

    with httpx.Client(base_url=server.base_url) as client:
        client.get("/models")  # connect first: the pipeline's client keeps its connection too
        seconds = []
        for _ in range(samples):
            started = time.perf_counter()
            client.get("/models")
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)
