"""Figure 5: writing sections concurrently.

An 8-section report (the demo model with its outline widened to eight sections) against a fake
that takes 0.3 s per call, written with ``concurrency=4`` and with ``concurrency=1``, interleaved.
Target: the whole run with 4 takes at most 0.35x the wall time with 1, and the reports are
identical (order unchanged). The sections phase alone (from its span) is reported too, with the
best ratio the run's serial part allows (Amdahl: the plan and outline calls are serial; explorer
and section calls can run 4 at a time), so a miss can be told from a bound.

If ``run_pipeline`` has no ``concurrency`` keyword yet the figures say "not available".
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.figure import Figure, measured, unavailable
from bench.models import WideOutlineModel, wants_outline
from bench.pipeline import run_report, supports_keyword
from bench.sample_repo import make_sample_repo
from bench.timing import interleaved, median, ms_list

if TYPE_CHECKING:
    from tech_writer.demo import FakeOpenRouter

__all__ = ["CONCURRENCY_TARGET", "run"]

CONCURRENCY_TARGET = 0.35
PARALLEL = 4
PLAN_TOOL = "plan_exploration"


@dataclass
class _Trial:
    report: str
    sections_s: float
    calls: int
    serial_calls: int  # calls nothing else can overlap: the exploration plan and the outline


def run(quick: bool) -> list[Figure]:
    sections = 2 if quick else 8
    latency = 0.02 if quick else 0.3
    rounds = 1 if quick else 2
    whole_name = f"concurrency.report_wall_time (c{PARALLEL} vs c1)"
    phase_name = f"concurrency.sections_phase_time (c{PARALLEL} vs c1)"
    if not supports_keyword("concurrency"):
        reason = "run_pipeline() has no `concurrency` keyword yet"
        return [unavailable(whole_name, reason, unit="s", target=CONCURRENCY_TARGET),
                unavailable(phase_name, reason, unit="s", target=None)]
    from tech_writer.demo import FakeOpenRouter, FakeOptions

    trials: dict[str, list[_Trial]] = {"c1": [], f"c{PARALLEL}": []}
    with tempfile.TemporaryDirectory(prefix="bench-concurrency-") as tmp:
        repo = make_sample_repo(Path(tmp) / "parcel")

        def trial(concurrency: int) -> float:
            with FakeOpenRouter(WideOutlineModel(sections),
                                options=FakeOptions(latency_s=latency)) as server:
                result = _timed_run(server, repo, sections, concurrency)
            trials[f"c{concurrency}"].append(result[1])
            return result[0]

        samples = interleaved(rounds, {"c1": lambda: trial(1),
                                       f"c{PARALLEL}": lambda: trial(PARALLEL)})
    serial_s, parallel_s = median(samples["c1"]), median(samples[f"c{PARALLEL}"])
    one, many = trials["c1"][0], trials[f"c{PARALLEL}"][0]
    reports = {t.report for t in trials["c1"] + trials[f"c{PARALLEL}"]}
    identical = len(reports) == 1
    parallel_calls = one.calls - one.serial_calls
    ideal = (one.serial_calls + parallel_calls / PARALLEL) / one.calls if one.calls else 0.0
    setting = (f"{sections}-section report; fake latency {latency:g} s per call; "
               f"{one.calls} calls per run, {one.serial_calls} of them serial (exploration plan, "
               f"outline); median of {rounds} interleaved runs each")
    whole_notes = [
        setting,
        f"reports {'identical' if identical else 'DIFFER'} between concurrency 1 and {PARALLEL}",
        f"best ratio the serial part allows (Amdahl, {PARALLEL} in flight): {ideal:.3f}x",
    ]
    phase_notes = (f"sections phase span: c1 {ms_list([t.sections_s for t in trials['c1']])}, "
                   f"c{PARALLEL} {ms_list([t.sections_s for t in trials[f'c{PARALLEL}']])}; "
                   f"ideal {1 / PARALLEL:.2f}x")
    return [
        measured(whole_name, parallel_s, serial_s, unit="s", target=CONCURRENCY_TARGET,
                 notes="\n".join(whole_notes), checks_ok=identical and many.calls == one.calls),
        measured(phase_name, median([t.sections_s for t in trials[f"c{PARALLEL}"]]),
                 median([t.sections_s for t in trials["c1"]]), unit="s", notes=phase_notes),
    ]


def _timed_run(server: FakeOpenRouter, repo: Path, sections: int, concurrency: int
               ) -> tuple[float, _Trial]:
    """Wall time of one run, and what it produced (report, sections-phase span, call counts)."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
        InMemorySpanExporter,
    )

    from telemetry import Telemetry

    exporter = InMemorySpanExporter()
    telemetry = Telemetry.for_testing(exporter)
    try:
        started = time.perf_counter()
        report, _cost = run_report(server, repo, telemetry=telemetry, max_sections=sections,
                                   concurrency=concurrency)
        elapsed = time.perf_counter() - started
    finally:
        telemetry.shutdown()
    phase = [span for span in exporter.get_finished_spans() if span.name == "phase sections"]
    sections_s = ((phase[0].end_time or 0) - (phase[0].start_time or 0)) / 1e9 if phase else 0.0
    requests = [r.json for r in server.requests
                if r.path.endswith("/chat/completions") and isinstance(r.json, dict)]
    serial = sum(1 for body in requests if _is_serial_call(body))
    return elapsed, _Trial(report, sections_s, len(requests), serial)


def _is_serial_call(body: dict[str, Any]) -> bool:
    """The outline (structured output) and the exploration plan (its tool forced) each wait for
    everything before them and hold up everything after."""
    choice = body.get("tool_choice")
    forced = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    return wants_outline(body) or forced == PLAN_TOOL
