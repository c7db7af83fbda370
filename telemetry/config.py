"""The standard ``OTEL_*`` environment variables, parsed once into a frozen :class:`TelemetryConfig`.

Only the variables this project honours are read, and only from the mapping handed in (never
``os.environ`` behind the caller's back), so a test can describe a whole environment in a dict.

Deliberate departures from the SDK's own defaults, all in the direction of "never in the way":

- Nothing is exported unless asked for. The spec defaults ``OTEL_TRACES_EXPORTER`` to ``otlp``,
  but exporting to ``localhost:4318`` with nothing listening only buys a warning, so OTLP export
  happens when an endpoint variable is set or ``otlp`` is named explicitly.
- Exporter timeouts are capped at :data:`MAX_EXPORT_TIMEOUT_S` so a dead endpoint cannot hold
  the process.
- A bad value logs one warning listing the valid values and falls back to the default. Header
  values and endpoints may carry credentials: they are never logged (endpoints only redacted).
- The variables the SDK would read itself, and refuse with a traceback (``OTEL_BSP_*``, the span
  limits ``OTEL_*_LIMIT``), are read here too and handed to the SDK as explicit arguments, so
  a value that makes no sense (``OTEL_BSP_MAX_QUEUE_SIZE=-1``, a batch larger than the queue,
  ``OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=abc``) is one warning line naming the value used instead.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = [
    "BatchConfig",
    "ContentCapture",
    "DEFAULT_METRIC_EXPORT_INTERVAL_MS",
    "DEFAULT_SERVICE_NAME",
    "MAX_EXPORT_TIMEOUT_S",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    "OtlpTarget",
    "PROTOCOL_GRPC",
    "PROTOCOL_HTTP_PROTOBUF",
    "SamplerConfig",
    "SignalConfig",
    "SpanLimitsConfig",
    "TelemetryConfig",
    "load_config",
    "load_span_limits",
    "redact_url",
    "sanitize_sdk_environment",
]

_logger = logging.getLogger(__name__)

# --- Variable names -----------------------------------------------------------------------------
OTEL_SDK_DISABLED = "OTEL_SDK_DISABLED"
OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
OTEL_RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES"
OTEL_TRACES_EXPORTER = "OTEL_TRACES_EXPORTER"
OTEL_METRICS_EXPORTER = "OTEL_METRICS_EXPORTER"
OTEL_EXPORTER_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
OTEL_EXPORTER_OTLP_PROTOCOL = "OTEL_EXPORTER_OTLP_PROTOCOL"
OTEL_EXPORTER_OTLP_HEADERS = "OTEL_EXPORTER_OTLP_HEADERS"
OTEL_EXPORTER_OTLP_TIMEOUT = "OTEL_EXPORTER_OTLP_TIMEOUT"
OTEL_METRIC_EXPORT_INTERVAL = "OTEL_METRIC_EXPORT_INTERVAL"
OTEL_METRIC_EXPORT_TIMEOUT = "OTEL_METRIC_EXPORT_TIMEOUT"
OTEL_TRACES_SAMPLER = "OTEL_TRACES_SAMPLER"
OTEL_TRACES_SAMPLER_ARG = "OTEL_TRACES_SAMPLER_ARG"
OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

# What the SDK reads itself: (variable, default) in the order they are checked.
_BATCH_VARIABLES = (
    ("OTEL_BSP_SCHEDULE_DELAY", "schedule_delay_ms", 5_000),
    ("OTEL_BSP_EXPORT_TIMEOUT", "export_timeout_ms", 30_000),
    ("OTEL_BSP_MAX_QUEUE_SIZE", "max_queue_size", 2_048),
    ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "max_export_batch_size", 512),
)
_UNSET_LIMIT = "unset"  # the spec's word for "no limit"

# --- Defaults -----------------------------------------------------------------------------------
DEFAULT_SERVICE_NAME = "tech_writer"
PROTOCOL_HTTP_PROTOBUF = "http/protobuf"
PROTOCOL_GRPC = "grpc"
DEFAULT_TIMEOUT_S = 10.0  # the Python SDK reads OTLP timeouts in seconds
MAX_EXPORT_TIMEOUT_S = 5.0
DEFAULT_METRIC_EXPORT_INTERVAL_MS = 60_000.0
DEFAULT_METRIC_EXPORT_TIMEOUT_MS = 30_000.0
_DEFAULT_HTTP_ENDPOINT = "http://localhost:4318"
_DEFAULT_GRPC_ENDPOINT = "http://localhost:4317"
_HTTP_PATHS = {"traces": "v1/traces", "metrics": "v1/metrics"}
_EXPORTER_NAMES = ("otlp", "console", "none")
_SAMPLER_NAMES = (
    "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio",
    "always_on", "always_off", "traceidratio",
)
_RATIO_SAMPLERS = ("traceidratio", "parentbased_traceidratio")


class ContentCapture(str, Enum):
    """Where prompt/completion/tool content may be recorded (off by default: it can be large or
    private). This package records content on spans only; it emits no log events."""

    NO_CONTENT = "NO_CONTENT"
    SPAN_ONLY = "SPAN_ONLY"
    EVENT_ONLY = "EVENT_ONLY"
    SPAN_AND_EVENT = "SPAN_AND_EVENT"

    @property
    def on_spans(self) -> bool:
        return self in (ContentCapture.SPAN_ONLY, ContentCapture.SPAN_AND_EVENT)


@dataclass(frozen=True, repr=False)
class OtlpTarget:
    """Where and how one signal is sent over OTLP. Its repr hides credentials."""

    endpoint: str  # full URL for http/protobuf (…/v1/traces); scheme://host:port for grpc
    protocol: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold backend keys
    timeout_s: float = MAX_EXPORT_TIMEOUT_S

    @property
    def display_endpoint(self) -> str:
        return redact_url(self.endpoint)

    def __repr__(self) -> str:
        return (f"OtlpTarget(endpoint={self.display_endpoint!r}, protocol={self.protocol!r}, "
                f"headers=<{len(self.headers)} hidden>, timeout_s={self.timeout_s!r})")


@dataclass(frozen=True)
class SignalConfig:
    """Exporters for one signal (traces or metrics)."""

    otlp: OtlpTarget | None = None
    console: bool = False

    @property
    def exporting(self) -> bool:
        return self.otlp is not None or self.console


@dataclass(frozen=True)
class SamplerConfig:
    """``OTEL_TRACES_SAMPLER`` / ``_ARG``. Spans are always *recorded* whatever is chosen (cost
    accounting is built on them); the sampler only decides what is exported."""

    name: str = "parentbased_always_on"
    ratio: float = 1.0


@dataclass(frozen=True)
class BatchConfig:
    """The batch span processor's settings (``OTEL_BSP_*``), valid by construction."""

    schedule_delay_ms: int = 5_000
    export_timeout_ms: int = 30_000
    max_queue_size: int = 2_048
    max_export_batch_size: int = 512


@dataclass(frozen=True)
class SpanLimitsConfig:
    """The SDK's span limits (``OTEL_*_LIMIT``), by :class:`~opentelemetry.sdk.trace.SpanLimits`
    argument name; None is "no limit". The per-kind attribute counts default to the general one
    (``OTEL_ATTRIBUTE_COUNT_LIMIT``), the span value length to the general value length."""

    max_attributes: int | None = 128
    max_events: int | None = 128
    max_links: int | None = 128
    max_span_attributes: int | None = 128
    max_event_attributes: int | None = 128
    max_link_attributes: int | None = 128
    max_attribute_length: int | None = None
    max_span_attribute_length: int | None = None


@dataclass(frozen=True)
class TelemetryConfig:
    service_name: str | None = None  # OTEL_SERVICE_NAME; None: resource attributes or default
    resource_attributes: Mapping[str, str] = field(default_factory=dict)
    traces: SignalConfig = field(default_factory=SignalConfig)
    metrics: SignalConfig = field(default_factory=SignalConfig)
    sdk_disabled: bool = False
    metric_export_interval_ms: float = DEFAULT_METRIC_EXPORT_INTERVAL_MS
    metric_export_timeout_ms: float = DEFAULT_METRIC_EXPORT_TIMEOUT_MS
    content_capture: ContentCapture = ContentCapture.NO_CONTENT
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)
    span_limits: SpanLimitsConfig = field(default_factory=SpanLimitsConfig)

    @property
    def capture_content(self) -> bool:
        return self.content_capture.on_spans

    @property
    def exporting(self) -> bool:
        return self.traces.exporting or self.metrics.exporting


def load_config(environ: Mapping[str, str]) -> TelemetryConfig:
    """Read the configuration from ``environ`` (logging one warning per bad value)."""
    env = _Env(environ)
    sdk_disabled = env.boolean(OTEL_SDK_DISABLED)
    traces = SignalConfig() if sdk_disabled else _signal_config(env, "traces", OTEL_TRACES_EXPORTER)
    metrics = SignalConfig() if sdk_disabled else _signal_config(env, "metrics", OTEL_METRICS_EXPORTER)
    return TelemetryConfig(
        service_name=env.text(OTEL_SERVICE_NAME) or None,
        resource_attributes=env.key_values(OTEL_RESOURCE_ATTRIBUTES),
        traces=traces,
        metrics=metrics,
        sdk_disabled=sdk_disabled,
        metric_export_interval_ms=env.positive_float(
            OTEL_METRIC_EXPORT_INTERVAL, DEFAULT_METRIC_EXPORT_INTERVAL_MS, unit="milliseconds"),
        metric_export_timeout_ms=env.positive_float(
            OTEL_METRIC_EXPORT_TIMEOUT, DEFAULT_METRIC_EXPORT_TIMEOUT_MS, unit="milliseconds"),
        content_capture=_content_capture(env),
        sampler=_sampler_config(env),
        batch=_batch_config(env),
        span_limits=_span_limits(env),
    )


def load_span_limits(environ: Mapping[str, str]) -> SpanLimitsConfig:
    """Only the span limits (the tracer provider needs them even when nothing is exported)."""
    return _span_limits(_Env(environ))


# The limits the SDK reads from the process environment, some of them when it is imported, and
# the value it uses when the variable is not set ("no limit" for the lengths).
_SDK_LIMIT_DEFAULTS = {
    "OTEL_ATTRIBUTE_COUNT_LIMIT": "128",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "no limit",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "128",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": "no limit",
    "OTEL_SPAN_EVENT_COUNT_LIMIT": "128",
    "OTEL_SPAN_LINK_COUNT_LIMIT": "128",
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT": "128",
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT": "128",
}


def sanitize_sdk_environment(environ: MutableMapping[str, str]) -> None:
    """Remove from ``environ`` the values the SDK would refuse with a traceback (one warning
    line each, naming the value used instead), before the SDK is imported: it reads
    ``OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`` at import time, even when nothing is exported."""
    env = _Env(environ)
    for var, default in _SDK_LIMIT_DEFAULTS.items():
        raw = env.text(var)
        if raw and raw.lower() != _UNSET_LIMIT and _integer(raw) is None:
            env.warn_invalid(var, raw, ("a non-negative integer", _UNSET_LIMIT), default)
            del environ[var]
    for var, _, default_value in _BATCH_VARIABLES:
        raw = env.text(var)
        value = _integer(raw) if raw else None
        if raw and (value is None or value <= 0):
            env.warn_invalid(var, raw, ("a positive integer",), str(default_value))
            del environ[var]


def redact_url(url: str) -> str:
    """``url`` without user-info, query or fragment: safe to show in a log line."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "<unparsable URL>"


# --- Per-signal settings ------------------------------------------------------------------------
def _signal_config(env: _Env, signal: str, exporter_var: str) -> SignalConfig:
    upper = signal.upper()
    protocol = env.choice_of(
        (f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL", OTEL_EXPORTER_OTLP_PROTOCOL),
        (PROTOCOL_HTTP_PROTOBUF, PROTOCOL_GRPC), PROTOCOL_HTTP_PROTOBUF)
    endpoint, endpoint_set = _endpoint(env, signal, protocol)
    wanted, explicit = _exporter_names(env, exporter_var, default_otlp=endpoint_set)
    otlp: OtlpTarget | None = None
    if "otlp" in wanted and (endpoint_set or explicit) and _valid_endpoint(endpoint, protocol, signal):
        otlp = OtlpTarget(
            endpoint=endpoint,
            protocol=protocol,
            headers=env.headers((f"OTEL_EXPORTER_OTLP_{upper}_HEADERS", OTEL_EXPORTER_OTLP_HEADERS)),
            timeout_s=min(_timeout(env, upper), MAX_EXPORT_TIMEOUT_S),
        )
    return SignalConfig(otlp=otlp, console="console" in wanted)


def _endpoint(env: _Env, signal: str, protocol: str) -> tuple[str, bool]:
    """(endpoint, whether one was configured). Per-signal variables are used as they are; the
    generic one gets the signal path appended for HTTP, as the spec says."""
    specific = env.text(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
    if specific:
        return specific, True
    generic = env.text(OTEL_EXPORTER_OTLP_ENDPOINT)
    if protocol == PROTOCOL_GRPC:
        return generic or _DEFAULT_GRPC_ENDPOINT, bool(generic)
    base = generic or _DEFAULT_HTTP_ENDPOINT
    return f"{base.rstrip('/')}/{_HTTP_PATHS[signal]}", bool(generic)


def _valid_endpoint(endpoint: str, protocol: str, signal: str) -> bool:
    scheme = endpoint.split("://", 1)[0].lower() if "://" in endpoint else ""
    if scheme in ("http", "https") or (protocol == PROTOCOL_GRPC and not scheme):
        return True
    _logger.warning("OpenTelemetry: the OTLP %s endpoint must start with http:// or https:// "
                    "(got %s); %s are not exported", signal, redact_url(endpoint), signal)
    return False


def _exporter_names(env: _Env, var: str, *, default_otlp: bool) -> tuple[frozenset[str], bool]:
    """(exporter names, whether ``otlp`` was named explicitly)."""
    raw = env.text(var)
    default = frozenset({"otlp"} if default_otlp else ())
    if not raw:
        return default, False
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    valid = [name for name in names if name in _EXPORTER_NAMES]
    if len(valid) != len(names):
        env.warn_invalid(var, raw, _EXPORTER_NAMES, "the valid entries" if valid else "the default")
    if not valid:
        return default, False
    chosen = frozenset(valid) - {"none"}
    return chosen, "otlp" in chosen


def _timeout(env: _Env, upper: str) -> float:
    for var in (f"OTEL_EXPORTER_OTLP_{upper}_TIMEOUT", OTEL_EXPORTER_OTLP_TIMEOUT):
        if env.text(var):
            return env.positive_float(var, DEFAULT_TIMEOUT_S, unit="seconds")
    return DEFAULT_TIMEOUT_S


def _content_capture(env: _Env) -> ContentCapture:
    raw = env.text(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)
    if not raw:
        return ContentCapture.NO_CONTENT
    legacy = {"true": ContentCapture.SPAN_ONLY, "false": ContentCapture.NO_CONTENT}
    if raw.lower() in legacy:
        return legacy[raw.lower()]
    try:
        return ContentCapture(raw.upper())
    except ValueError:
        valid = ("true", "false", *(mode.value for mode in ContentCapture))
        env.warn_invalid(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, raw, valid, "NO_CONTENT")
        return ContentCapture.NO_CONTENT


def _sampler_config(env: _Env) -> SamplerConfig:
    name = env.choice_of((OTEL_TRACES_SAMPLER,), _SAMPLER_NAMES, SamplerConfig.name)
    if name not in _RATIO_SAMPLERS:
        return SamplerConfig(name=name)
    raw = env.text(OTEL_TRACES_SAMPLER_ARG)
    try:
        ratio = float(raw)
    except ValueError:
        ratio = math.nan
    if not 0.0 <= ratio <= 1.0:
        if raw:
            env.warn_invalid(OTEL_TRACES_SAMPLER_ARG, raw, ("a number from 0 to 1",), "1.0")
        ratio = 1.0
    return SamplerConfig(name=name, ratio=ratio)


def _batch_config(env: _Env) -> BatchConfig:
    values = {name: env.positive_int(var, default) for var, name, default in _BATCH_VARIABLES}
    queue, batch = values["max_queue_size"], values["max_export_batch_size"]
    if batch > queue:
        _logger.warning("OpenTelemetry: OTEL_BSP_MAX_EXPORT_BATCH_SIZE=%d is larger than the "
                        "queue (OTEL_BSP_MAX_QUEUE_SIZE=%d); using %d", batch, queue, queue)
        values["max_export_batch_size"] = queue
    return BatchConfig(**values)


def _span_limits(env: _Env) -> SpanLimitsConfig:
    defaults = SpanLimitsConfig()
    general = env.limit("OTEL_ATTRIBUTE_COUNT_LIMIT", defaults.max_attributes)
    length = env.limit("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", defaults.max_attribute_length)
    return SpanLimitsConfig(
        max_attributes=general,
        max_events=env.limit("OTEL_SPAN_EVENT_COUNT_LIMIT", defaults.max_events),
        max_links=env.limit("OTEL_SPAN_LINK_COUNT_LIMIT", defaults.max_links),
        max_span_attributes=env.limit("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", general),
        max_event_attributes=env.limit("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", general),
        max_link_attributes=env.limit("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", general),
        max_attribute_length=length,
        max_span_attribute_length=env.limit("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", length),
    )


class _Env:
    """Typed reads of one environment mapping; each bad variable is warned about once (the
    generic variables are read once per signal)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._warned: set[str] = set()

    def warn_invalid(self, var: str, raw: str, valid: tuple[str, ...], fallback: str) -> None:
        if var not in self._warned:
            self._warned.add(var)
            _logger.warning("OpenTelemetry: ignoring %s=%r (valid: %s); using %s",
                            var, raw, ", ".join(valid), fallback)

    def warn_malformed(self, var: str, count: int) -> None:
        # Values are never echoed: headers carry backend credentials.
        if var not in self._warned:
            self._warned.add(var)
            _logger.warning("OpenTelemetry: ignoring %d malformed entr%s in %s (expected "
                            "key=value pairs separated by commas)",
                            count, "y" if count == 1 else "ies", var)

    def text(self, var: str) -> str:
        return (self._environ.get(var) or "").strip()

    def boolean(self, var: str) -> bool:
        raw = self.text(var)
        if raw.lower() in ("", "false"):
            return False
        if raw.lower() == "true":
            return True
        self.warn_invalid(var, raw, ("true", "false"), "false")
        return False

    def positive_float(self, var: str, default: float, *, unit: str) -> float:
        raw = self.text(var)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value > 0:
            return value
        self.warn_invalid(var, raw, (f"a positive number of {unit}",), f"{default:g}")
        return default

    def positive_int(self, var: str, default: int) -> int:
        raw = self.text(var)
        if not raw:
            return default
        value = _integer(raw)
        if value is not None and value > 0:
            return value
        self.warn_invalid(var, raw, ("a positive integer",), f"{default}")
        return default

    def limit(self, var: str, default: int | None) -> int | None:
        """A non-negative integer, or ``unset`` for no limit (None)."""
        raw = self.text(var)
        if not raw:
            return default
        if raw.lower() == _UNSET_LIMIT:
            return None
        value = _integer(raw)
        if value is not None and value >= 0:
            return value
        self.warn_invalid(var, raw, ("a non-negative integer", _UNSET_LIMIT),
                          "no limit" if default is None else f"{default}")
        return default

    def choice_of(self, variables: tuple[str, ...], valid: tuple[str, ...], default: str) -> str:
        """The first set variable's value (case-insensitive) if valid, else ``default``."""
        for var in variables:
            raw = self.text(var)
            if raw:
                if raw.lower() in valid:
                    return raw.lower()
                self.warn_invalid(var, raw, valid, default)
                return default
        return default

    def key_values(self, var: str) -> dict[str, str]:
        """``k=v,k2=v2`` with percent-encoded keys and values (W3C baggage style)."""
        pairs, malformed = _split_pairs(self.text(var))
        if malformed:
            self.warn_malformed(var, malformed)
        return pairs

    def headers(self, variables: tuple[str, ...]) -> dict[str, str]:
        """Per-signal headers replace (not extend) the generic ones, as in the Python SDK. Keys
        are lower-cased: gRPC metadata requires it and HTTP does not care."""
        for var in variables:
            raw = self.text(var)
            if raw:
                pairs, malformed = _split_pairs(raw)
                if malformed:
                    self.warn_malformed(var, malformed)
                return {key.lower(): value for key, value in pairs.items()}
        return {}


def _integer(raw: str) -> int | None:
    # Digits only, and few enough to be a setting (int() refuses thousands of digits).
    text = raw.strip().lstrip("+")
    return int(text) if text.isdigit() and text.isascii() and len(text) <= 18 else None


def _split_pairs(raw: str) -> tuple[dict[str, str], int]:
    pairs: dict[str, str] = {}
    malformed = 0
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key = unquote(key).strip()
        if not sep or not key:
            malformed += 1
            continue
        pairs[key] = unquote(value).strip()
    return pairs, malformed

