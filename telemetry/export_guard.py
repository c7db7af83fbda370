"""Keep exporter trouble out of the user's way: at most ONE warning line per :class:`Telemetry`.

The SDK's exporters log every failed or retried batch (with stack traces for some), from
background threads, for the whole run. Here:

- :func:`redirect_exporter_logs` absorbs every record of the SDK's export-path loggers (all
  loggers under the packages in ``_EXPORT_PATH_LOGGERS``, whatever module of whichever SDK version
  logs it) and re-logs it at DEBUG on ``telemetry.export``, so ``--log-level DEBUG`` still shows
  it but a normal run does not. A filter on each such logger drops the original record before any
  handler sees it: turning propagation off alone is not enough, since some hosts (pytest >= 9,
  for one) attach their own handlers to every non-propagating logger.
- :class:`QuietSpanExporter` / :class:`QuietMetricExporter` wrap the real exporters. While a
  wrapped export runs, the records it causes are collected (a thread-local tells the log handler
  whose export it is), and a failure turns into one short warning through :class:`ExportProblems`:
  ``OpenTelemetry: could not export metrics to http://…/v1/metrics (HTTP 405 Method Not Allowed)``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from telemetry.redaction import redact_spans

__all__ = [
    "ExportProblems",
    "QuietMetricExporter",
    "QuietSpanExporter",
    "redirect_exporter_logs",
]

_logger = logging.getLogger("telemetry")
_debug_logger = logging.getLogger("telemetry.export")

# Loggers on the SDK's export path (exporters, batch processor, periodic metric reader), and
# the SDK's header parser, which every exporter runs again on OTEL_EXPORTER_OTLP_HEADERS
# (telemetry.config has already said, once, what it ignored there).
_HEADER_PARSER_LOGGER = "opentelemetry.util.re"
_EXPORT_PATH_LOGGERS = (
    _HEADER_PARSER_LOGGER,
    "opentelemetry.exporter",
    "opentelemetry.sdk._shared_internal",
    "opentelemetry.sdk.trace.export",
    "opentelemetry.sdk.metrics._internal.export",
)
_REASON_LIMIT = 120
_redirect_lock = threading.Lock()
_redirected = False
_loggers_seen = 0  # size of the logging registry at the last scan
_current_export = threading.local()
# Header values of every exporting Telemetry: scrubbed from re-logged SDK messages as well.
_known_secrets: set[str] = set()


class ExportProblems:
    """Turns export failures of one Telemetry instance into at most one warning line."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Header values (backend API keys) are scrubbed from any text that reaches a log line.
        self._secrets = tuple(sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True))
        with _redirect_lock:
            _known_secrets.update(self._secrets)
        self._lock = threading.Lock()
        self._warned = False
        self._failures = 0
        self._in_flight: dict[str, list[str]] = {}  # "traces to http://…" -> notes so far

    @property
    def failures(self) -> int:
        return self._failures

    @property
    def warned(self) -> bool:
        return self._warned

    def run_export(self, signal: str, endpoint: str, export: Callable[[], bool]) -> bool:
        """Run one export, collecting what the SDK logs meanwhile; report it if it fails."""
        notes: list[str] = []
        previous = getattr(_current_export, "notes", None)
        _current_export.notes = notes
        target = f"{signal} to {endpoint}"
        self._in_flight[target] = notes
        try:
            succeeded = export()
        except Exception as exc:  # an exporter bug must not reach the batch processor's traceback
            notes.append(f"{type(exc).__name__}: {exc}")
            succeeded = False
        finally:
            _current_export.notes = previous
            self._in_flight.pop(target, None)
        if not succeeded:
            with self._lock:
                self._failures += 1
            self.warn_once(f"could not export {target} ({self._reason(notes)}); "
                           "further export errors are not shown")
        return succeeded

    def report_timeout(self, timeout_s: float) -> None:
        """Shutdown gave up waiting: name what was still being sent, and why it was slow."""
        in_flight = dict(self._in_flight)
        if in_flight:
            targets = ", ".join(in_flight)
            notes = [note for found in in_flight.values() for note in found]
            detail = f"exporting {targets} did not finish within {timeout_s:g} s ({self._reason(notes)})"
        else:
            detail = f"flushing telemetry did not finish within {timeout_s:g} s"
        self.warn_once(f"{detail}; unsent spans/metrics were dropped")

    def report_error(self, what: str, exc: BaseException) -> None:
        self.warn_once(f"{what} failed ({self._scrub(type(exc).__name__ + ': ' + str(exc))})")

    def warn_once(self, message: str) -> None:
        with self._lock:
            if self._warned:
                _debug_logger.debug("OpenTelemetry: %s", self._scrub(message))
                return
            self._warned = True
        _logger.warning("OpenTelemetry: %s", self._scrub(message))

    def _reason(self, notes: Sequence[str]) -> str:
        # Our own abort shows up as "shutdown in progress": the cause is in an earlier note.
        telling = [note for note in notes if "shutdown" not in note.lower()]
        for note in telling:
            if _known_reason(note):
                return self._scrub(_known_reason(note))
        return self._scrub(_short_reason(telling[0])) if telling else "no response"

    def _scrub(self, text: str) -> str:
        return _scrub(text, self._secrets)


class QuietSpanExporter(SpanExporter):
    """A span exporter whose failures go to :class:`ExportProblems` instead of stderr."""

    def __init__(self, inner: SpanExporter, problems: ExportProblems, endpoint: str) -> None:
        self._inner = inner
        self._problems = problems
        self._endpoint = endpoint
        self._closed = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        written = redact_spans(spans)  # what leaves the process passes the host's redactor
        ok = self._problems.run_export(
            "traces", self._endpoint,
            lambda: self._inner.export(written) is SpanExportResult.SUCCESS)
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        _close_once(self._closed, self._inner.shutdown)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self._inner.force_flush(timeout_millis))

    def abort(self) -> None:
        """Interrupt retries in progress (the exporters' shutdown cuts their back-off short)."""
        self.shutdown()


class QuietMetricExporter(MetricExporter):
    """A metric exporter whose failures go to :class:`ExportProblems` instead of stderr."""

    def __init__(self, inner: MetricExporter, problems: ExportProblems, endpoint: str) -> None:
        # The periodic reader copies temporality/aggregation preferences from its exporter.
        super().__init__(preferred_temporality=inner._preferred_temporality,
                         preferred_aggregation=inner._preferred_aggregation)
        self._inner = inner
        self._problems = problems
        self._endpoint = endpoint
        self._closed = threading.Event()

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
               **kwargs: Any) -> MetricExportResult:
        ok = self._problems.run_export(
            "metrics", self._endpoint,
            lambda: self._inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
            is MetricExportResult.SUCCESS)
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        _close_once(self._closed, lambda: self._inner.shutdown(timeout_millis=timeout_millis))

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return bool(self._inner.force_flush(timeout_millis=timeout_millis))

    def abort(self) -> None:
        self.shutdown(timeout_millis=0)


def redirect_exporter_logs() -> None:
    """Route the SDK's export-path loggers through :class:`_ExportLogHandler`.

    Process-wide on purpose: exporter threads can outlive a shutdown that gave up waiting, and
    their late complaints must not reach the terminal either. Call it again after importing more
    exporters: it also puts the absorbing filter in front of the loggers that exist by then.
    """
    global _redirected
    with _redirect_lock:
        if not _redirected:
            handler = _ExportLogHandler()
            for name in _EXPORT_PATH_LOGGERS:
                sdk_logger = logging.getLogger(name)
                sdk_logger.addHandler(handler)
                sdk_logger.propagate = False
            _redirected = True
        global _loggers_seen
        loggers = logging.Logger.manager.loggerDict
        if len(loggers) == _loggers_seen:
            return  # loggers are never removed: an unchanged count means none is new
        _loggers_seen = len(loggers)
        for name, existing in list(loggers.items()):
            if (isinstance(existing, logging.Logger) and _on_export_path(name)
                    and _ABSORBER not in existing.filters):
                # First in line: some SDK loggers carry a DuplicateFilter that would hide the
                # second exporter's identical complaint (and with it the reason it failed).
                existing.filters.insert(0, _ABSORBER)


def _on_export_path(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in _EXPORT_PATH_LOGGERS)


def _absorb(record: logging.LogRecord) -> None:
    """Keep the message for the export running on this thread, if any, and re-log it at DEBUG."""
    if getattr(record, "_telemetry_noted", False):
        return
    record._telemetry_noted = True
    notes = getattr(_current_export, "notes", None)
    if notes is not None and record.levelno >= logging.WARNING:
        notes.append(record.getMessage())
    if record.name == _HEADER_PARSER_LOGGER:
        # Its message quotes the header value, which may be a backend key: never repeated.
        _debug_logger.debug("%s: a malformed OTLP header value (not shown)", record.name)
        return
    with _redirect_lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    _debug_logger.debug("%s: %s", record.name, _scrub(record.getMessage(), secrets),
                        exc_info=record.exc_info)


class _Absorber(logging.Filter):
    """On each export-path logger: the record is absorbed, and no handler sees the original."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            _absorb(record)
        except Exception:  # never in the exporter's way
            pass
        return False


_ABSORBER = _Absorber()


class _ExportLogHandler(logging.Handler):
    """On the package loggers: catches records of export-path loggers created after the last scan."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _absorb(record)
        except Exception:  # a logging handler must never raise into the exporter thread
            pass


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _close_once(closed: threading.Event, close: Callable[[], object]) -> None:
    if closed.is_set():
        return
    closed.set()
    try:
        close()
    except Exception as exc:
        _debug_logger.debug("OpenTelemetry: exporter shutdown failed: %r", exc)


_HTTP_STATUS = re.compile(r"code: (\d{3}), reason: ([^,\n]+)")
_OS_ERROR = re.compile(r"\[Errno -?\d+\] ([^'\")\]\n]+)")
_GRPC_CODE = re.compile(r"StatusCode\.([A-Z_]+)")


def _known_reason(note: str) -> str:
    """A few words for the warning line out of the SDK's long log messages ("" if none)."""
    if match := _HTTP_STATUS.search(note):
        return f"HTTP {match.group(1)} {match.group(2).strip()}"
    if match := _OS_ERROR.search(note):
        return match.group(1).strip().lower()
    if match := _GRPC_CODE.search(note):
        return f"gRPC {match.group(1)}"
    if "timed out" in note.lower():
        return "timed out"
    return ""


def _short_reason(note: str) -> str:
    text = " ".join(note.split())
    return text if len(text) <= _REASON_LIMIT else text[: _REASON_LIMIT - 1] + "…"
