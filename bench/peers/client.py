"""One client process of the peer comparison: the same OpenRouter calls, timed in CPU.

Run by :mod:`bench.telemetry_peers` in a peer's own venv (or in tech_writer's, for ours) as
``python client.py --peer NAME --modes MODE[,MODE...] --base-url URL ...``; it prints one JSON
object on stdout. It imports only the standard library, ``openai`` and ``opentelemetry`` (plus
the peer, and tech_writer for ``--peer tech_writer``): a peer's venv holds nothing of this project.

Every process wires the same exporters: spans go through a ``SimpleSpanProcessor`` to the SDK's
in-memory exporter (synchronous, so the export is charged to the call that made the span), metrics
to an in-memory reader; for a peer both are also the global providers, for peers that take them
from there. Modes:

* ``bare``: the openai SDK's ``chat.completions.create``, nothing instrumented (every peer's
  baseline, and tech_writer's for the whole-client line).
* ``instrumented``: the same loop with the peer instrumenting the SDK (its defaults otherwise);
  for tech_writer: ``LLMClient.chat`` with its ``Telemetry`` (chat span, metrics, cost processor),
  inside a run and a phase span, plus one ``execute_tool`` span per tool call answered.
* ``off`` (tech_writer only): that same loop with ``Telemetry`` on OpenTelemetry's no-op tracer
  and meter: what tech_writer's instrumentation adds is ``instrumented`` minus ``off``.

Each process runs all its modes, their timed blocks interleaved: tech_writer's three touch
nothing global and run side by side; a peer patches the SDK for the whole process, so it is
switched off and on between blocks where that works (OpenLLMetry and openlit run all their bare
blocks first).

CPU is ``time.process_time()`` of this process around blocks of calls, after warm-up calls (first
imports, connection set-up, the instrumentation's lazy initialisation); a full garbage collection
precedes each block. The spans of the last call are printed for the "what each peer records" table.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

MODES = ("bare", "instrumented", "off")
OURS = "tech_writer"
# The distribution each peer's version is read from (the switch itself: _Switch).
PEER_DISTRIBUTIONS = {
    OURS: "tech-writer",
    "openai-v2": "opentelemetry-instrumentation-openai-v2",
    "openllmetry": "opentelemetry-instrumentation-openai",
    "openinference": "openinference-instrumentation-openai",
    "openlit": "openlit",
}
_SYSTEM_PROMPT = (
    "You are a technical writer exploring a code repository to document it. Read files before "
    "you describe them, cite every claim as [path:start-end], and prefer the entry points, the "
    "configuration and the tests. ") * 24  # about 1,100 tokens: room for 800 cached ones
_USER_PROMPT = "Explore the repository and find how a parcel is tracked from order to delivery."
_TOOLS: list[dict[str, Any]] = [{
    "type": "function",
    "function": {
        "name": "read_file",
        "description": "Read a file of the repository (numbered lines).",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
                       "required": ["path"]},
    },
}]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--peer", required=True, choices=sorted(PEER_DISTRIBUTIONS))
    parser.add_argument("--modes", required=True,
                        help=f"comma-separated, of {', '.join(MODES)} (off: tech_writer only)")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--calls", type=int, default=50, help="calls per timed block")
    parser.add_argument("--blocks", type=int, default=4)
    args = parser.parse_args(argv)
    modes = args.modes.split(",")
    if not modes or any(mode not in MODES for mode in modes) or len(set(modes)) != len(modes):
        parser.error(f"--modes: distinct names of {', '.join(MODES)}")
    if args.peer != OURS and "off" in modes:
        parser.error("--modes off is tech_writer's own baseline; a peer's is bare")
    result = measure(args.peer, modes, base_url=args.base_url, model=args.model,
                     warmup=args.warmup, calls=args.calls, blocks=args.blocks)
    print(json.dumps(result))
    return 0


@dataclass
class _Loop:
    """One mode's call; ``enter`` switches the process into that mode before its blocks."""

    call: Callable[[], object]
    exporter: InMemorySpanExporter
    enter: Callable[[], None] = lambda: None


def measure(peer: str, modes: Sequence[str], *, base_url: str, model: str, warmup: int,
            calls: int, blocks: int) -> dict[str, Any]:
    """Per mode, ``warmup`` untimed calls before its first block, then ``blocks`` timed blocks of
    ``calls`` (see :func:`schedule` for the order); per mode: CPU seconds per call of each block,
    spans per call. The last call, made by the last mode (``instrumented`` if present), is the
    one whose spans are returned."""
    shown = "instrumented" if "instrumented" in modes else modes[-1]
    loops, closes, reversible = (_our_loops(modes, base_url, model) if peer == OURS
                                 else _peer_loops(peer, base_url, model))
    results: dict[str, dict[str, Any]] = {mode: {"cpu_per_call_s": [], "wall_per_call_s": [],
                                                 "spans": 0} for mode in modes}
    warmed: set[str] = set()
    try:
        for mode in schedule(modes, blocks, reversible=reversible):
            loop = loops[mode]
            loop.enter()
            if mode not in warmed:
                warmed.add(mode)
                for _ in range(warmup):
                    loop.call()
            loop.exporter.clear()
            gc.collect()
            call = loop.call
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(calls):
                call()
            results[mode]["cpu_per_call_s"].append((time.process_time() - cpu) / calls)
            results[mode]["wall_per_call_s"].append((time.perf_counter() - wall) / calls)
            results[mode]["spans"] += len(loop.exporter.get_finished_spans())
        for mode in modes:
            results[mode]["spans_per_call"] = results[mode].pop("spans") / (calls * blocks)
        loops[shown].enter()
        loops[shown].exporter.clear()
        loops[shown].call()
        spans = [_span_json(span) for span in loops[shown].exporter.get_finished_spans()]
    finally:
        for close in closes:
            close()
    return {"peer": peer, "versions": _versions(peer), "python": sys.version.split()[0],
            "modes": results, "shown_mode": shown, "spans": spans}


def schedule(modes: Sequence[str], blocks: int, *, reversible: bool) -> list[str]:
    """The order of the timed blocks: round after round, one block per mode, the order flipping
    each round (A B B A A B ...); when the instrumentation cannot be switched off again
    (``reversible=False``), every block of one mode before the next mode's."""
    if not reversible:
        return [mode for mode in modes for _ in range(blocks)]
    return [mode for block in range(blocks) for mode in (modes if block % 2 == 0 else modes[::-1])]


def _our_loops(modes: Sequence[str], base_url: str, model: str
               ) -> tuple[dict[str, _Loop], list[Callable[[], None]], bool]:
    """tech_writer's modes touch nothing global: each has its own client, side by side."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    loops, closes = {}, []
    for mode in modes:
        exporter = InMemorySpanExporter()
        if mode == "bare":
            call, close = _sdk_loop(base_url, model)
        else:
            call, close = _tech_writer_loop(base_url, model, exporter,
                                            instrumented=mode == "instrumented")
        loops[mode] = _Loop(call, exporter)
        closes.append(close)
    return loops, closes, True


def _peer_loops(peer: str, base_url: str, model: str
                ) -> tuple[dict[str, _Loop], list[Callable[[], None]], bool]:
    """One SDK client; the peer patches the SDK for the whole process, so the two modes are the
    peer switched off and on (``uninstrument()`` / ``instrument()``), block by block, where
    that works (:data:`_REVERSIBLE`); otherwise its blocks come after all the bare ones."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    switch = _Switch(peer, tracer_provider, meter_provider)
    call, close = _sdk_loop(base_url, model)
    loops = {"bare": _Loop(call, exporter, lambda: switch.set(False)),
             "instrumented": _Loop(call, exporter, lambda: switch.set(True))}
    return loops, [close], switch.reversible


# Peers whose uninstrument() really restores the SDK, so that instrument() can follow again.
# OpenLLMetry 0.62.4 leaves a wrapper behind (spans while "off", two per call once on again);
# openlit has no uninstrument.
_REVERSIBLE = frozenset({"openai-v2", "openinference"})


class _Switch:
    """Turns the peer on the way its README says, with these providers where it takes them."""

    def __init__(self, peer: str, tracer_provider: Any, meter_provider: Any) -> None:
        self.peer = peer
        self.reversible = peer in _REVERSIBLE
        self._providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
        self._on = False
        self._instrumentor: Any = None
        if peer != "openlit":
            module = {"openai-v2": "opentelemetry.instrumentation.openai_v2",
                      "openllmetry": "opentelemetry.instrumentation.openai",
                      "openinference": "openinference.instrumentation.openai"}[peer]
            self._instrumentor = importlib.import_module(module).OpenAIInstrumentor()

    def set(self, on: bool) -> None:
        if on == self._on:
            return
        if not on and not self.reversible:
            raise RuntimeError(f"{self.peer} cannot be switched off once on")
        if self._instrumentor is None:
            # openlit.init() takes no provider: it reuses the global SDK TracerProvider set
            # above. Offline it cannot fetch its price list; it then records cost 0.
            importlib.import_module("openlit").init(application_name="bench",
                                                    environment="bench", disable_batch=True)
        elif on:
            self._instrumentor.instrument(**self._providers)
        else:
            self._instrumentor.uninstrument()
        self._on = on


def _messages() -> list[dict[str, Any]]:
    return [{"role": "system", "content": _SYSTEM_PROMPT}, {"role": "user", "content": _USER_PROMPT}]


def _sdk_loop(base_url: str, model: str) -> tuple[Callable[[], object], Callable[[], None]]:
    import openai

    client = openai.OpenAI(base_url=base_url, api_key=os.environ.get("BENCH_API_KEY", "bench"),
                           max_retries=0)
    messages = _messages()

    def call() -> object:
        return client.chat.completions.create(model=model, messages=messages,  # type: ignore[arg-type]
                                              tools=_TOOLS)  # type: ignore[arg-type]

    return call, client.close


def _tech_writer_loop(base_url: str, model: str, exporter: InMemorySpanExporter, *,
                      instrumented: bool) -> tuple[Callable[[], object], Callable[[], None]]:
    """LLMClient.chat and a tool span per tool call, as the pipeline's tool loop makes them,
    inside a run span and a phase span (opened once: they are per run, not per call)."""
    from contextlib import ExitStack

    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.trace import NoOpTracerProvider

    from tech_writer.llm import LLMClient
    from telemetry import CostSpanProcessor, Telemetry

    if instrumented:
        # The same in-memory exporter behind a SimpleSpanProcessor, after the cost processor,
        # with the sampler and resource of a real run.
        telemetry = Telemetry.for_testing(exporter, InMemoryMetricReader())
    else:
        telemetry = Telemetry(NoOpTracerProvider(), NoOpMeterProvider(),  # type: ignore[arg-type]
                              CostSpanProcessor())
    client = LLMClient(model, "openrouter", api_key=os.environ.get("BENCH_API_KEY", "bench"),
                       base_url=base_url, telemetry=telemetry)
    scopes = ExitStack()
    scopes.enter_context(telemetry.run_span())
    scopes.enter_context(telemetry.phase_span("exploration"))
    messages = _messages()

    def call() -> object:
        reply, usage = client.chat(messages, _TOOLS)
        for tool_call in reply.get("tool_calls") or []:
            function = tool_call["function"]
            with telemetry.tool_span(function["name"], tool_call["id"],
                                     arguments=function["arguments"]) as tool:
                tool.set_result("1 | print('hello')\n")
        return usage

    def close() -> None:
        scopes.close()
        client.close()
        if instrumented:
            # The run's cost summary, as the CLI prints it: part of what the cost processor costs.
            telemetry.cost.summary()

    return call, close


def _span_json(span: Any) -> dict[str, Any]:
    attributes: Mapping[str, Any] = span.attributes or {}
    return {"name": span.name,
            "attributes": {key: list(value) if isinstance(value, tuple) else value
                           for key, value in attributes.items()}}


def _versions(peer: str) -> dict[str, str]:
    versions = {}
    for distribution in ("openai", "opentelemetry-sdk", PEER_DISTRIBUTIONS[peer]):
        try:
            versions[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            pass
    return versions


if __name__ == "__main__":
    sys.exit(main())
