"""The :class:`Telemetry` handle: one tracer, one meter and one cost processor per run.

Sampling: every span is *recorded* whatever ``OTEL_TRACES_SAMPLER`` says, because the run's cost
summary is computed from spans by :class:`~telemetry.cost.CostSpanProcessor`; the sampler only
decides which spans are exported (see :class:`~telemetry.providers.AlwaysRecordSampler`).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, Sampler
from opentelemetry.trace import Span, Tracer
from opentelemetry.util.types import AttributeValue

from telemetry import attributes as attrs
from telemetry.config import DEFAULT_SERVICE_NAME, TelemetryConfig, load_config
from telemetry.cost import CostSpanProcessor
from telemetry.export_guard import ExportProblems, redirect_exporter_logs
from telemetry.metrics import ChatMetrics
from telemetry.providers import (
    AlwaysRecordSampler,
    QuietExporter,
    build_export_pipeline,
    build_meter_provider,
    build_resource,
    build_sampler,
    build_tracer_provider,
)
from telemetry.shutdown import run_bounded
from telemetry.spans import (
    ChatInvocation,
    ChatRequest,
    ToolInvocation,
    span_scope,
    tool_attributes,
)

__all__ = ["INSTRUMENTATION_NAME", "ExportWiring", "Telemetry"]

INSTRUMENTATION_NAME = "tech_writer"


@dataclass(frozen=True)
class ExportWiring:
    """Where a run's spans and metrics leave the process, as the export pipeline built it.
    The default: nowhere (in-process spans only)."""

    exporting: bool = False  # spans or metrics leave the process
    targets: tuple[str, ...] = ()  # for the log: "traces → http://… (http/protobuf)"
    problems: ExportProblems | None = None  # the one-warning-line record of export failures
    # Exporters whose retry back-off a timed-out shutdown cuts short.
    quiet_exporters: tuple[QuietExporter, ...] = ()


class Telemetry:
    """Spans, metrics and cost accounting for one run. Build it with :meth:`from_env` (or
    :meth:`for_testing`); end it with :meth:`shutdown`, which is bounded in time and idempotent.
    """

    def __init__(self, tracer_provider: TracerProvider, meter_provider: MeterProvider,
                 cost: CostSpanProcessor, *, capture_content: bool = False,
                 export: ExportWiring | None = None, shutdown_at_exit: bool = False,
                 version: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        export = export or ExportWiring()
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.cost = cost
        self.capture_content = capture_content
        self.exporting = export.exporting
        self.export_targets: tuple[str, ...] = tuple(export.targets)
        self.tracer: Tracer = tracer_provider.get_tracer(INSTRUMENTATION_NAME, version)
        self.meter: Meter = meter_provider.get_meter(INSTRUMENTATION_NAME, version)
        self._metrics = ChatMetrics(self.meter)
        self._problems = export.problems or ExportProblems()
        self._quiet_exporters = tuple(export.quiet_exporters)
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False
        # Chat calls still alive: shutdown() ends the spans of those still waiting for their cost.
        self._chats: weakref.WeakSet[ChatInvocation] = weakref.WeakSet()
        if shutdown_at_exit:  # a bounded flush if the host forgets shutdown()
            atexit.register(self._shutdown_at_exit)

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *,
                 default_service_name: str = DEFAULT_SERVICE_NAME,
                 service_version: str | None = None,
                 resource_attributes: Mapping[str, Any] | None = None) -> Telemetry:
        """Configure from the standard ``OTEL_*`` variables (``os.environ`` when ``environ`` is
        None; pass ``{}`` for in-process spans only). See :mod:`telemetry.config`."""
        config = load_config(os.environ if environ is None else environ)
        return cls.from_config(config, default_service_name=default_service_name,
                               service_version=service_version,
                               resource_attributes=resource_attributes)

    @classmethod
    def from_config(cls, config: TelemetryConfig, *,
                    default_service_name: str = DEFAULT_SERVICE_NAME,
                    service_version: str | None = None,
                    resource_attributes: Mapping[str, Any] | None = None) -> Telemetry:
        resource = build_resource(service_name=config.service_name,
                                  default_service_name=default_service_name,
                                  service_version=service_version,
                                  code_attributes=resource_attributes,
                                  env_attributes=config.resource_attributes)
        secrets = [value for signal in (config.traces, config.metrics) if signal.otlp
                   for value in signal.otlp.headers.values()]
        problems = ExportProblems(secrets)
        if config.exporting:
            redirect_exporter_logs()  # before building: construction may log too
        pipeline = build_export_pipeline(config, problems)
        if config.exporting:
            redirect_exporter_logs()  # again, for the loggers of the exporters just imported
        cost = CostSpanProcessor()
        # The cost processor goes first so the phase it copies in on_start is on every span.
        tracer_provider = build_tracer_provider(resource, build_sampler(config.sampler),
                                                [cost, *pipeline.span_processors])
        meter_provider = build_meter_provider(resource, pipeline.metric_readers)
        exporting = bool(pipeline.span_processors or pipeline.metric_readers)
        export = ExportWiring(exporting, tuple(pipeline.targets), problems,
                              tuple(pipeline.quiet_exporters))
        return cls(tracer_provider, meter_provider, cost, capture_content=config.capture_content,
                   export=export, shutdown_at_exit=exporting, version=service_version)

    @classmethod
    def for_testing(cls, span_exporter: SpanExporter | None = None,
                    metric_reader: MetricReader | None = None, *, capture_content: bool = False,
                    sampler: Sampler | None = None,
                    clock: Callable[[], float] = time.monotonic) -> Telemetry:
        """In-memory wiring: spans go synchronously to ``span_exporter``; metrics to
        ``metric_reader``. ``sampler`` decides what is exported; everything is still recorded."""
        resource = build_resource(service_name=None, default_service_name=DEFAULT_SERVICE_NAME)
        cost = CostSpanProcessor()
        processors = [cost] + ([SimpleSpanProcessor(span_exporter)] if span_exporter else [])
        tracer_provider = build_tracer_provider(
            resource, AlwaysRecordSampler(sampler or ParentBased(ALWAYS_ON)), processors)
        meter_provider = build_meter_provider(resource, [metric_reader] if metric_reader else [])
        exporting = span_exporter is not None or metric_reader is not None
        return cls(tracer_provider, meter_provider, cost, capture_content=capture_content,
                   export=ExportWiring(exporting=exporting), clock=clock)

    # --- spans -----------------------------------------------------------------------------
    @contextmanager
    def run_span(self, agent_name: str = INSTRUMENTATION_NAME,
                 attributes: Mapping[str, AttributeValue] | None = None) -> Iterator[Span]:
        """``invoke_agent {agent_name}``: the root of a run."""
        span_attributes: dict[str, AttributeValue] = {
            attrs.GEN_AI_OPERATION_NAME: attrs.OPERATION_INVOKE_AGENT,
            attrs.GEN_AI_AGENT_NAME: agent_name,
            **(attributes or {}),
        }
        with span_scope(self.tracer, f"{attrs.OPERATION_INVOKE_AGENT} {agent_name}",
                        attributes=span_attributes) as span:
            yield span

    @contextmanager
    def phase_span(self, phase: str, attributes: Mapping[str, AttributeValue] | None = None
                   ) -> Iterator[Span]:
        """``phase {phase}``; spans started inside inherit ``tech_writer.phase``."""
        span_attributes = {**(attributes or {}), attrs.PHASE: phase}
        with span_scope(self.tracer, f"phase {phase}", attributes=span_attributes) as span:
            yield span

    @contextmanager
    def step_span(self, name: str, attributes: Mapping[str, AttributeValue] | None = None
                  ) -> Iterator[Span]:
        """A generic child span (e.g. ``section 2: Storage``)."""
        with span_scope(self.tracer, name, attributes=attributes) as span:
            yield span

    @contextmanager
    def tool_span(self, tool_name: str, call_id: str | None, arguments: str | None = None
                  ) -> Iterator[ToolInvocation]:
        """``execute_tool {tool_name}``; arguments and result are recorded only with content
        capture on."""
        span_attributes = tool_attributes(tool_name, call_id, arguments, self.capture_content)
        with span_scope(self.tracer, f"{attrs.OPERATION_EXECUTE_TOOL} {tool_name}",
                        attributes=span_attributes) as span:
            yield ToolInvocation(span, self.capture_content)

    def start_chat(self, model: str, provider: str, *, server_address: str | None = None,
                   server_port: int | None = None,
                   request_attributes: Mapping[str, AttributeValue] | None = None,
                   input_messages: list[Any] | None = None) -> ChatInvocation:
        """Start a ``chat {model}`` CLIENT span as a child of the current context."""
        request = ChatRequest(model, provider, server_address, server_port, request_attributes,
                              input_messages)
        chat = ChatInvocation(self.tracer, self._metrics, request,
                              capture_content=self.capture_content, clock=self._clock)
        with self._lock:
            self._chats.add(chat)
        return chat

    def settle_cost(self, chat: ChatInvocation, *, cost_usd: float | None,
                    upstream_cost_usd: float | None = None, lookup_attempts: int = 0,
                    error: str | None = None) -> None:
        """Settle a call that ended with its cost pending (callable from any thread): the cost
        goes on the chat span, which was left open for it and now ends, and a short
        ``settle_cost {response_id}`` child span records the look-up (ERROR status when the cost
        stays unknown). After :meth:`shutdown` has ended the chat span, the cost goes on the
        ``settle_cost`` span instead. A second settlement of the same call is ignored."""
        chat.settle(self.tracer, cost_usd=cost_usd, upstream_cost_usd=upstream_cost_usd,
                    lookup_attempts=lookup_attempts, error=error)

    # --- flushing --------------------------------------------------------------------------
    def force_flush(self, timeout_s: float = 2.0) -> bool:
        """Push out what is buffered; ``True`` when everything went out within ``timeout_s``."""
        if self._closed:
            return False
        millis = int(timeout_s * 1000)
        failures_before = self._problems.failures
        outcome = run_bounded([lambda: self.tracer_provider.force_flush(millis),
                               lambda: self.meter_provider.force_flush(millis)], timeout_s,
                              thread_name="telemetry-flush")
        return outcome.ok and self._problems.failures == failures_before

    def shutdown(self, timeout_s: float = 2.0) -> None:
        """Flush and stop exporting, taking at most ``timeout_s``. On timeout or failure: one
        warning line (logger ``telemetry``), never a traceback. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            waiting = list(self._chats)
        atexit.unregister(self._shutdown_at_exit)
        for chat in waiting:  # exported without their cost rather than not at all
            chat.end_unsettled()
        millis = timeout_s * 1000
        outcome = run_bounded([self.tracer_provider.shutdown,
                               lambda: self.meter_provider.shutdown(timeout_millis=millis)],
                              timeout_s, thread_name="telemetry-shutdown")
        if not outcome.finished:
            self._problems.report_timeout(timeout_s)
            # Cut the exporters' retry back-off short so their threads end soon after.
            run_bounded([exporter.abort for exporter in self._quiet_exporters], 0.2,
                        thread_name="telemetry-abort")
        elif outcome.errors:
            self._problems.report_error("telemetry shutdown", outcome.errors[0])

    @property
    def closed(self) -> bool:
        return self._closed

    def _shutdown_at_exit(self) -> None:
        self.shutdown()
