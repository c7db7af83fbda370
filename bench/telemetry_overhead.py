"""Figure 1: what telemetry costs a run.

* Fixed cost per run: telemetry set-up plus the final flush, with OTLP/HTTP export on (to a local
  receiver in its own process), from the zero-latency runs below; export off beside it. Info (ms).
* Run wall time with export on vs off on a fake answering in 0.3 s per call, as a real provider
  at its fastest would: the whole ``run_pipeline``, set-up and final flush included. Target
  <= 1.01x: what a user waits for.
* The same on a zero-latency fake: a ~0.2 s CPU-bound run against which the fixed ~10 ms of the
  final export weighs a few percent. Informational since issue 13: that is the SDK's export
  pipeline doing its work, kept rather than replaced.
* Per-span cost: one chat-like span (start, one retry event, usage attributes, metrics, end)
  through the real :class:`~telemetry.Telemetry` (cost processor on, nothing exported) vs the
  same :class:`~telemetry.ChatInvocation` code on OpenTelemetry's no-op tracer and meter.
  Informational (µs/span). Per LLM call against the peer instrumentations: :mod:`bench.telemetry_peers`.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.figure import Figure, measured
from bench.models import WideOutlineModel
from bench.otlp_sink import OtlpSink
from bench.pipeline import fake_round_trip_s, run_report
from bench.sample_repo import make_sample_repo
from bench.timing import interleaved, median, ms_list, ratio_interval, timed

if TYPE_CHECKING:
    from tech_writer.demo import FakeOpenRouter
    from telemetry import ChatInvocation

__all__ = ["SLOW_RUN_TARGET", "SLOW_S_PER_CALL", "run"]

SLOW_RUN_TARGET = 1.01
SLOW_S_PER_CALL = 0.3
TRACES_PATH = "/v1/traces"
# A fake that answers slower than this is not "zero-latency": its waiting dilutes the overhead.
_SLOW_FAKE_S = 0.005
# Interleaved rounds of the zero-latency figure: about this many seconds, within these bounds.
# Runs are short and a round's noise is as large as the overhead, so the median needs many rounds.
_BUDGET_S = 15.0
_MIN_ROUNDS, _MAX_ROUNDS = 9, 41
# Rounds of the 0.3 s-per-call figure: its runs last seconds, mostly waiting, so noise is small.
_SLOW_ROUNDS = 4


@dataclass
class _Trial:
    """Interleaved export-on / export-off runs: each run's seconds, split into its parts."""

    samples: dict[str, list[float]]
    parts: dict[str, dict[str, list[float]]]
    rounds: int
    exports: int
    calls_per_run: int


def run(quick: bool) -> list[Figure]:
    zero_latency, round_trip = _zero_latency_trial(quick)  # first: it warms the imports up
    return [_fixed_cost(zero_latency), _slow_run_overhead(quick),
            _zero_latency_overhead(zero_latency, round_trip), _span_overhead(quick)]


def _on_off_trial(server: FakeOpenRouter, repo: Path, sink: OtlpSink, sections: int,
                  rounds: int | Callable[[float], int]) -> _Trial:
    """``rounds`` interleaved rounds; when it is a function (the first trial of the process), it
    gets the seconds of an unmeasured pair run after a warm-up pair, and says how many."""
    exporting = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint,
                 "OTEL_SERVICE_NAME": "tech_writer-bench"}
    # Each run builds, uses and shuts down its own Telemetry exactly as run_pipeline does when it
    # owns it; built here, its set-up and its final flush can be timed apart.
    parts: dict[str, dict[str, list[float]]] = {"on": _parts(), "off": _parts()}

    def run_with(environ: dict[str, str], times: dict[str, list[float]]) -> float:
        from telemetry import Telemetry

        started = time.perf_counter()
        telemetry = Telemetry.from_env(environ)
        built = time.perf_counter()
        try:
            run_report(server, repo, telemetry=telemetry, max_sections=sections)
        finally:
            ran = time.perf_counter()
            telemetry.shutdown()
        ended = time.perf_counter()
        for part, seconds in (("setup", built - started), ("run", ran - built),
                              ("shutdown", ended - ran)):
            times[part].append(seconds)
        return ended - started

    def export_on() -> float:
        return run_with(exporting, parts["on"])

    def export_off() -> float:
        return run_with({}, parts["off"])

    if isinstance(rounds, int):
        count = rounds
    else:
        # One run of each first: importing the SDK and the exporters happens once per process,
        # not once per run, and would otherwise be charged to whichever runs first.
        timed(export_on)
        timed(export_off)
        count = rounds(timed(export_on) + timed(export_off))
    parts["on"], parts["off"] = _parts(), _parts()  # the warm-up runs are not measured
    exports_before, calls_before = sink.requests(TRACES_PATH), len(server.ledger)
    samples = interleaved(count, {"on": export_on, "off": export_off})
    exports = sink.requests(TRACES_PATH) - exports_before
    calls_per_run = (len(server.ledger) - calls_before) // (2 * count)
    return _Trial(samples, parts, count, exports, calls_per_run)


def _zero_latency_trial(quick: bool) -> tuple[_Trial, float]:
    from tech_writer.demo import FakeOpenRouter

    sections = 1 if quick else 8
    # The demo model outlines at most four sections; widened, the run really has ``sections``.
    with tempfile.TemporaryDirectory(prefix="bench-telemetry-") as tmp, OtlpSink() as sink, \
            FakeOpenRouter(WideOutlineModel(sections)) as server:
        repo = make_sample_repo(Path(tmp) / "parcel")
        trial = _on_off_trial(server, repo, sink, sections, 1 if quick else lambda pair_s: min(
            _MAX_ROUNDS, max(_MIN_ROUNDS, math.ceil(_BUDGET_S / pair_s))))
        return trial, fake_round_trip_s(server)


def _fixed_cost(trial: _Trial) -> Figure:
    def fixed(side: str) -> float:
        return median(trial.parts[side]["setup"]) + median(trial.parts[side]["shutdown"])

    on = trial.parts["on"]
    notes = (f"Telemetry.from_env() + Telemetry.shutdown() per run, medians of the {trial.rounds} "
             f"zero-latency runs: set-up {median(on['setup']) * 1000:.1f} ms, final flush "
             f"{median(on['shutdown']) * 1000:.1f} ms with OTLP/HTTP export on (the baseline: "
             "the same, export off)")
    return measured("telemetry.fixed_cost_per_run (set-up + final flush)", fixed("on"),
                    fixed("off"), unit="s", notes=notes)


def _slow_run_overhead(quick: bool) -> Figure:
    from tech_writer.demo import FakeOpenRouter, FakeOptions

    sections = 1 if quick else 8
    latency = 0.02 if quick else SLOW_S_PER_CALL
    with tempfile.TemporaryDirectory(prefix="bench-telemetry-slow-") as tmp, OtlpSink() as sink, \
            FakeOpenRouter(WideOutlineModel(sections),
                           options=FakeOptions(latency_s=latency)) as server:
        repo = make_sample_repo(Path(tmp) / "parcel")
        trial = _on_off_trial(server, repo, sink, sections, 1 if quick else _SLOW_ROUNDS)
    on, off = median(trial.samples["on"]), median(trial.samples["off"])
    notes = [
        (f"{sections}-section report, fake answering in {latency:g} s per call; "
         f"{trial.calls_per_run} LLM calls per run (4 in flight at most); median of "
         f"{trial.rounds} interleaved runs each"),
        _where(trial.parts),
        f"on: {ms_list(trial.samples['on'])}; off: {ms_list(trial.samples['off'])}",
        (f"{trial.exports} trace export request(s) reached the receiver during the "
         f"{trial.rounds} exporting run(s)"),
    ]
    return measured(f"telemetry.run_wall_time_{latency:g}s_per_call (export on/off)", on, off,
                    unit="s", target=SLOW_RUN_TARGET, notes="\n".join(notes),
                    checks_ok=trial.exports >= trial.rounds)


def _zero_latency_overhead(trial: _Trial, round_trip: float) -> Figure:
    on, off = median(trial.samples["on"]), median(trial.samples["off"])
    low, high = ratio_interval(trial.samples["on"], trial.samples["off"])
    notes = [
        (f"informational: the fixed cost above against a CPU-bound run; median of "
         f"{trial.rounds} interleaved runs each; {trial.calls_per_run} LLM calls per run; 95 % "
         f"bootstrap interval of the ratio: {low:.3f}-{high:.3f}"),
        _where(trial.parts),
        f"on: {ms_list(trial.samples['on'])}; off: {ms_list(trial.samples['off'])}",
        (f"{trial.exports} trace export request(s) reached the receiver during the "
         f"{trial.rounds} exporting run(s)"),
        f"fake's own round trip: {round_trip * 1000:.1f} ms per request",
    ]
    if round_trip > _SLOW_FAKE_S:
        notes.append(f"WARNING: the fake takes {round_trip * 1000:.0f} ms per request (Nagle + "
                     "delayed ACK?), so runs are mostly waiting and this ratio understates the "
                     "overhead")
    return measured("telemetry.run_wall_time_zero_latency (export on/off)", on, off, unit="s",
                    notes="\n".join(notes), checks_ok=trial.exports >= trial.rounds)


def _parts() -> dict[str, list[float]]:
    return {"setup": [], "run": [], "shutdown": []}


def _where(parts: dict[str, dict[str, list[float]]]) -> str:
    """Where the extra time goes: the median of each part, export on minus off."""
    extra = {part: (median(parts["on"][part]) - median(parts["off"][part])) * 1000
             for part in parts["on"]}
    return ("extra time with export on, by part (median on - median off): "
            + ", ".join(f"{part} {ms:+.1f} ms" for part, ms in extra.items())
            + " (shutdown: the final export of all spans and metrics)")


def _span_overhead(quick: bool) -> Figure:
    spans = 200 if quick else 5000
    rounds = 1 if quick else 5
    samples = interleaved(rounds, {"real": lambda: _real_spans(spans),
                                   "noop": lambda: _noop_spans(spans)})
    real_us = median(samples["real"]) / spans * 1e6
    noop_us = median(samples["noop"]) / spans * 1e6
    notes = (f"{spans} spans per trial, median of {rounds} interleaved trials; "
             f"extra cost {real_us - noop_us:.1f} µs/span over the no-op tracer")
    return measured("telemetry.per_span_cost", real_us, noop_us, unit="µs/span", notes=notes)


def _real_spans(count: int) -> float:
    from telemetry import Telemetry

    telemetry = Telemetry.from_env(environ={})  # cost processor on, nothing exported
    try:
        with telemetry.run_span(), telemetry.phase_span("sections"):
            started = time.perf_counter()
            for index in range(count):
                _one_chat(telemetry.start_chat("bench/model", "openrouter",
                                               server_address="127.0.0.1", server_port=8080),
                          index)
            return time.perf_counter() - started
    finally:
        telemetry.shutdown()


def _noop_spans(count: int) -> float:
    from opentelemetry.metrics import NoOpMeter
    from opentelemetry.trace import NoOpTracer

    from telemetry import ChatInvocation, ChatRequest
    from telemetry.metrics import ChatMetrics

    tracer, metrics = NoOpTracer(), ChatMetrics(NoOpMeter("bench"))
    started = time.perf_counter()
    for index in range(count):
        request = ChatRequest("bench/model", "openrouter", server_address="127.0.0.1",
                              server_port=8080)
        _one_chat(ChatInvocation(tracer, metrics, request, capture_content=False,
                                 clock=time.monotonic), index)
    return time.perf_counter() - started


def _one_chat(chat: ChatInvocation, index: int) -> None:
    from telemetry import ChatAnswer, UsageStats

    chat.record_attempt(1, status_code=200)
    usage = UsageStats(prompt_tokens=1200, completion_tokens=300, total_tokens=1500,
                       cost_usd=0.00042, generation_id=f"gen-{index}", cost_source="inline")
    chat.stop(ChatAnswer(usage, "bench/model", finish_reasons=["stop"]))
