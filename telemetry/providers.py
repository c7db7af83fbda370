"""Per-instance TracerProvider and MeterProvider, built from a :class:`TelemetryConfig`.

Never installed as the global providers: several runs may share a process (tests, a library
user), and each gets its own pipeline and its own cost processor.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import (
    SERVICE_INSTANCE_ID,
    SERVICE_NAME,
    SERVICE_VERSION,
    TELEMETRY_SDK_LANGUAGE,
    TELEMETRY_SDK_NAME,
    TELEMETRY_SDK_VERSION,
    Resource,
)
from opentelemetry.sdk.trace import SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.sdk.version import __version__ as _sdk_version
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from telemetry.config import (
    PROTOCOL_GRPC,
    BatchConfig,
    OtlpTarget,
    SamplerConfig,
    SignalConfig,
    SpanLimitsConfig,
    TelemetryConfig,
    load_span_limits,
)
from telemetry.export_guard import (
    ExportProblems,
    QuietMetricExporter,
    QuietSpanExporter,
)

if TYPE_CHECKING:
    import requests

__all__ = [
    "AlwaysRecordSampler",
    "ExportPipeline",
    "build_export_pipeline",
    "build_meter_provider",
    "build_resource",
    "build_sampler",
    "build_tracer_provider",
]

_logger = logging.getLogger(__name__)

QuietExporter = QuietSpanExporter | QuietMetricExporter


class AlwaysRecordSampler(Sampler):
    """Records every span, samples as ``root`` says: a span ``root`` would drop is kept as
    RECORD_ONLY, so span processors (the cost processor) still see it while exporters, which
    only take sampled spans, do not. (SDK >= 1.3x ships the same idea; the project supports 1.30.)
    """

    def __init__(self, root: Sampler) -> None:
        self._root = root

    def should_sample(self, parent_context: Context | None, trace_id: int, name: str,
                      kind: SpanKind | None = None, attributes: Attributes = None,
                      links: Sequence[Link] | None = None,
                      trace_state: TraceState | None = None) -> SamplingResult:
        result = self._root.should_sample(parent_context, trace_id, name, kind, attributes, links,
                                          trace_state)
        if result.decision is Decision.DROP:
            # A dropping sampler returns no attributes, and the SDK gives a new span only the
            # attributes in the sampling result: pass the span's own ones through.
            return SamplingResult(Decision.RECORD_ONLY, attributes, result.trace_state)
        return result

    def get_description(self) -> str:
        return f"AlwaysRecord{{{self._root.get_description()}}}"


def build_sampler(config: SamplerConfig) -> Sampler:
    roots: dict[str, Sampler] = {
        "always_on": ALWAYS_ON,
        "always_off": ALWAYS_OFF,
        "traceidratio": TraceIdRatioBased(config.ratio),
        "parentbased_always_on": ParentBased(ALWAYS_ON),
        "parentbased_always_off": ParentBased(ALWAYS_OFF),
        "parentbased_traceidratio": ParentBased(TraceIdRatioBased(config.ratio)),
    }
    return AlwaysRecordSampler(roots.get(config.name, roots["parentbased_always_on"]))


def build_resource(*, service_name: str | None, default_service_name: str,
                   service_version: str | None = None,
                   code_attributes: Mapping[str, Any] | None = None,
                   env_attributes: Mapping[str, str] | None = None) -> Resource:
    """Precedence, lowest first: SDK facts, a fresh ``service.instance.id`` and
    ``service_version``, ``code_attributes``, ``env_attributes`` (``OTEL_RESOURCE_ATTRIBUTES``),
    ``service_name`` (``OTEL_SERVICE_NAME``).
    ``default_service_name`` applies when nothing above names the service.

    Built by hand rather than with ``Resource.create``, which reads ``os.environ`` itself.
    """
    attributes: dict[str, Any] = {
        TELEMETRY_SDK_LANGUAGE: "python",
        TELEMETRY_SDK_NAME: "opentelemetry",
        TELEMETRY_SDK_VERSION: _sdk_version,
        # What Resource.create() adds: one fresh id per run. Backends tell runs apart by it (the
        # collector's Prometheus exporter makes it the `instance` label the dashboard groups by).
        SERVICE_INSTANCE_ID: str(uuid.uuid4()),
    }
    if service_version:
        attributes[SERVICE_VERSION] = service_version
    attributes.update(code_attributes or {})
    attributes.update(env_attributes or {})
    attributes[SERVICE_NAME] = service_name or attributes.get(SERVICE_NAME) or default_service_name
    return _HashedOnceResource(attributes)


class _HashedOnceResource(Resource):
    """A Resource whose hash is computed once. The OTLP encoder groups spans by resource, so it
    hashes the resource of every span it exports, and ``Resource.__hash__`` is a JSON dump of
    all the attributes each time. A Resource's attributes are immutable: one hash holds."""

    def __init__(self, attributes: dict[str, Any], schema_url: str | None = None) -> None:
        super().__init__(attributes, schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash


def build_tracer_provider(resource: Resource, sampler: Sampler,
                          processors: Sequence[SpanProcessor],
                          span_limits: SpanLimitsConfig | None = None) -> TracerProvider:
    """``span_limits``: None reads (and validates) the ``OTEL_*_LIMIT`` variables of the process,
    which the SDK would otherwise read itself and refuse with a traceback."""
    limits = load_span_limits(os.environ) if span_limits is None else span_limits
    # shutdown_on_exit=False: the SDK's atexit hook would wait up to 30 s on a dead endpoint;
    # Telemetry registers its own bounded one.
    provider = TracerProvider(sampler=sampler, resource=resource, shutdown_on_exit=False,
                              span_limits=_sdk_span_limits(limits))
    _ignore_process_wide_disable(provider)
    for processor in processors:
        provider.add_span_processor(processor)
    return provider


def _sdk_span_limits(limits: SpanLimitsConfig) -> SpanLimits:
    """Every argument explicit (None would make the SDK read the environment itself)."""
    return SpanLimits(**{name: SpanLimits.UNSET if value is None else value
                         for name, value in dataclasses.asdict(limits).items()})


def _batch_processor(exporter: SpanExporter, batch: BatchConfig) -> BatchSpanProcessor:
    return BatchSpanProcessor(exporter, max_queue_size=batch.max_queue_size,
                              schedule_delay_millis=batch.schedule_delay_ms,
                              max_export_batch_size=batch.max_export_batch_size,
                              export_timeout_millis=batch.export_timeout_ms)


def build_meter_provider(resource: Resource, readers: Sequence[MetricReader]) -> MeterProvider:
    provider = MeterProvider(metric_readers=readers, resource=resource, shutdown_on_exit=False)
    _ignore_process_wide_disable(provider)
    return provider


@dataclass
class ExportPipeline:
    """The exporting parts built from a config."""

    span_processors: list[SpanProcessor] = field(default_factory=list)
    metric_readers: list[MetricReader] = field(default_factory=list)
    quiet_exporters: list[QuietExporter] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)  # for the log: "traces → http://…" (redacted)


def build_export_pipeline(config: TelemetryConfig, problems: ExportProblems) -> ExportPipeline:
    """Exporters for both signals; one that cannot be built is reported and left out."""
    pipeline = ExportPipeline()
    _add_trace_exporters(pipeline, config.traces, config.batch, problems)
    _add_metric_readers(pipeline, config.metrics, config.metric_export_interval_ms,
                        config.metric_export_timeout_ms, problems)
    return pipeline


def _add_trace_exporters(pipeline: ExportPipeline, signal: SignalConfig, batch: BatchConfig,
                         problems: ExportProblems) -> None:
    if signal.otlp is not None:
        target = signal.otlp
        try:
            exporter = QuietSpanExporter(_otlp_span_exporter(target), problems,
                                         target.display_endpoint)
        except Exception as exc:
            problems.report_error(f"setting up trace export to {target.display_endpoint}", exc)
        else:
            pipeline.quiet_exporters.append(exporter)
            pipeline.span_processors.append(_batch_processor(exporter, batch))
            pipeline.targets.append(f"traces → {target.display_endpoint} ({target.protocol})")
    if signal.console:
        # stderr, not stdout: stdout carries the report / the --eval-json document.
        console = QuietSpanExporter(ConsoleSpanExporter(out=sys.stderr), problems, "console")
        pipeline.span_processors.append(_batch_processor(console, batch))
        pipeline.targets.append("traces → console (stderr)")


def _add_metric_readers(pipeline: ExportPipeline, signal: SignalConfig, interval_ms: float,
                        timeout_ms: float, problems: ExportProblems) -> None:
    if signal.otlp is not None:
        target = signal.otlp
        try:
            exporter = QuietMetricExporter(_otlp_metric_exporter(target), problems,
                                           target.display_endpoint)
        except Exception as exc:
            problems.report_error(f"setting up metric export to {target.display_endpoint}", exc)
        else:
            pipeline.quiet_exporters.append(exporter)
            pipeline.metric_readers.append(PeriodicExportingMetricReader(
                exporter, export_interval_millis=interval_ms,
                export_timeout_millis=target.timeout_s * 1000))
            pipeline.targets.append(f"metrics → {target.display_endpoint} ({target.protocol})")
    if signal.console:
        console = QuietMetricExporter(ConsoleMetricExporter(out=sys.stderr), problems, "console")
        pipeline.metric_readers.append(PeriodicExportingMetricReader(
            console, export_interval_millis=interval_ms, export_timeout_millis=timeout_ms))
        pipeline.targets.append("metrics → console (stderr)")


def _otlp_span_exporter(target: OtlpTarget) -> SpanExporter:
    if target.protocol == PROTOCOL_GRPC:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcSpanExporter,
        )

        return GrpcSpanExporter(**_exporter_options(target))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(**_http_options(target, "TRACES"))


def _otlp_metric_exporter(target: OtlpTarget) -> MetricExporter:
    if target.protocol == PROTOCOL_GRPC:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as GrpcMetricExporter,
        )

        return GrpcMetricExporter(**_exporter_options(target))
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter,
    )

    return OTLPMetricExporter(**_http_options(target, "METRICS"))


def _exporter_options(target: OtlpTarget) -> dict[str, Any]:
    """What an OTLP exporter takes whatever its protocol."""
    return {"endpoint": target.endpoint, "headers": dict(target.headers),
            "timeout": target.timeout_s}


def _http_options(target: OtlpTarget, signal: str) -> dict[str, Any]:
    """What both OTLP/HTTP exporters take; ``signal`` is "TRACES" or "METRICS", as in the
    exporters' own signal-specific environment variables."""
    return {**_exporter_options(target), "session": _export_session(target.endpoint, signal),
            "certificate_file": _requests_ca_bundle(signal)}


def _export_session(endpoint: str, signal: str) -> requests.Session | None:
    """A requests session for one OTLP/HTTP exporter that reads the environment once.

    By default requests looks at the environment on every request (``trust_env``): the proxy
    variables (scanning all of ``os.environ``), ``~/.netrc`` and the CA-bundle variables. At the
    end of a run that was a quarter of the export's HTTP time. Here the proxies and netrc
    credentials for the endpoint are read once, when the exporter is built, and hold for the run;
    the CA bundle is passed as the exporter's certificate (:func:`_requests_ca_bundle`).

    None when an ``OTEL_PYTHON_EXPORTER_OTLP_HTTP[_<signal>]_CREDENTIAL_PROVIDER`` names a
    session of its own: the exporter loads that one only when it is given none.
    """
    if os.environ.get("OTEL_PYTHON_EXPORTER_OTLP_HTTP_CREDENTIAL_PROVIDER") or os.environ.get(
            f"OTEL_PYTHON_EXPORTER_OTLP_HTTP_{signal}_CREDENTIAL_PROVIDER"):
        return None
    import requests
    from requests.utils import get_environ_proxies, get_netrc_auth

    session = requests.Session()
    session.trust_env = False
    session.proxies.update(get_environ_proxies(endpoint))
    credentials = get_netrc_auth(endpoint)
    if credentials:
        session.auth = credentials
    return session


def _requests_ca_bundle(signal: str) -> str | None:
    """``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``, which requests would have applied itself,
    unless an ``OTEL_EXPORTER_OTLP_[<signal>_]CERTIFICATE`` names one (the exporter reads those)."""
    if os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_CERTIFICATE") or os.environ.get(
            "OTEL_EXPORTER_OTLP_CERTIFICATE"):
        return None
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


def _ignore_process_wide_disable(provider: TracerProvider | MeterProvider) -> None:
    """The SDK providers read ``OTEL_SDK_DISABLED`` from ``os.environ`` and then hand out no-op
    tracers. Our config already applied that switch (nothing is exported), but spans must still
    be made in-process: the run's cost summary is computed from them."""
    if getattr(provider, "_disabled", False):
        provider._disabled = False
