"""A real OTLP/HTTP receiver on 127.0.0.1 for tests: decodes protobuf exports into plain Python.

    with OtlpReceiver() as receiver:              # or OtlpReceiver(metrics_status=405) (Phoenix)
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}
        ...
        assert receiver.wait_for(lambda r: len(r.spans()) >= 3, timeout=5)
        (chat,) = [s for s in receiver.spans() if s.name.startswith("chat ")]

Spans come back as :class:`ReceivedSpan` (attributes as Python values, ids as hex), metric data
points as :class:`ReceivedPoint` grouped by metric name. Every request is also kept
(:class:`ReceivedRequest`: path, headers, status answered) to check headers and retries.
"""

from __future__ import annotations

import gzip
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanProto
from opentelemetry.proto.trace.v1.trace_pb2 import Status as StatusProto

__all__ = ["OtlpReceiver", "ReceivedEvent", "ReceivedPoint", "ReceivedRequest", "ReceivedSpan"]

TRACES_PATH = "/v1/traces"
METRICS_PATH = "/v1/metrics"
_MAX_WAIT_S = 30.0


@dataclass(frozen=True)
class ReceivedEvent:
    name: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    kind: str  # "INTERNAL", "CLIENT", "SERVER", "PRODUCER", "CONSUMER", "UNSPECIFIED"
    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits
    parent_span_id: str | None
    attributes: dict[str, Any]
    resource_attributes: dict[str, Any]
    scope_name: str
    scope_version: str
    status_code: str  # "UNSET", "OK", "ERROR"
    status_message: str
    events: list[ReceivedEvent]
    start_time_unix_nano: int
    end_time_unix_nano: int

    @property
    def status(self) -> str:
        return self.status_code


@dataclass(frozen=True)
class ReceivedPoint:
    """One data point. ``value`` for sums and gauges; ``count``/``sum``/``bucket_counts``/
    ``explicit_bounds`` for histograms."""

    metric: str
    unit: str
    kind: str  # "sum", "gauge", "histogram", "exponential_histogram", "summary"
    attributes: dict[str, Any]
    resource_attributes: dict[str, Any]
    scope_name: str
    value: float | int | None = None
    count: int | None = None
    sum: float | None = None
    bucket_counts: list[int] = field(default_factory=list)
    explicit_bounds: list[float] = field(default_factory=list)
    is_monotonic: bool | None = None


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict[str, str]  # lower-cased names
    status: int


class OtlpReceiver:
    """OTLP/HTTP (protobuf) receiver on an ephemeral loopback port, run in a daemon thread."""

    def __init__(self, *, traces_status: int = 200, metrics_status: int = 200) -> None:
        self.traces_status = traces_status
        self.metrics_status = metrics_status
        self._lock = threading.Condition()
        self._spans: list[ReceivedSpan] = []
        self._points: list[ReceivedPoint] = []
        self._requests: list[ReceivedRequest] = []
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="otlp-receiver")

    # --- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- what arrived -------------------------------------------------------------------------
    def spans(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self._spans)

    def metrics(self) -> dict[str, list[ReceivedPoint]]:
        """Data points by metric name, in arrival order (cumulative exports repeat points: the
        last one per attribute set is the latest)."""
        with self._lock:
            points = list(self._points)
        grouped: dict[str, list[ReceivedPoint]] = {}
        for point in points:
            grouped.setdefault(point.metric, []).append(point)
        return grouped

    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def wait_for(self, predicate: Callable[[OtlpReceiver], bool], timeout: float = 5.0) -> bool:
        """Wait until ``predicate(self)`` holds; ``False`` after ``timeout`` seconds."""
        deadline = time.monotonic() + min(timeout, _MAX_WAIT_S)
        with self._lock:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(min(remaining, 0.05))
        return True

    # --- called by the handler ----------------------------------------------------------------
    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if path == TRACES_PATH:
            status = self.traces_status
            reply = ExportTraceServiceResponse().SerializeToString()
            decoded: list[Any] = _decode_traces(body) if status == 200 else []
        elif path == METRICS_PATH:
            status = self.metrics_status
            reply = ExportMetricsServiceResponse().SerializeToString()
            decoded = _decode_metrics(body) if status == 200 else []
        else:
            status, reply, decoded = 404, b"", []
        with self._lock:
            self._requests.append(ReceivedRequest(path, headers, status))
            target = self._spans if path == TRACES_PATH else self._points
            target.extend(decoded)
            self._lock.notify_all()
        return status, reply if status == 200 else b""


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # An exporter that gives up mid-request (shutdown deadline) resets the connection:
        # expected here, not worth a traceback in the test output.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def _handler_for(receiver: OtlpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server naming)
            length = int(self.headers.get("Content-Length") or 0)
            body = _decompress(self.rfile.read(length), self.headers.get("Content-Encoding"))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, reply = receiver._receive(self.path.split("?", 1)[0], headers, body)
            self.send_response(status)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    return Handler


def _decompress(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


# --- protobuf → Python --------------------------------------------------------------------------
def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return getattr(value, which)


def _attributes(pairs: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for pair in pairs:
        assert isinstance(pair, KeyValue)
        result[pair.key] = _value(pair.value)
    return result


def _decode_traces(body: bytes) -> list[ReceivedSpan]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans: list[ReceivedSpan] = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(ReceivedSpan(
                    name=span.name,
                    kind=SpanProto.SpanKind.Name(span.kind).removeprefix("SPAN_KIND_"),
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex() or None,
                    attributes=_attributes(span.attributes),
                    resource_attributes=resource,
                    scope_name=scope_spans.scope.name,
                    scope_version=scope_spans.scope.version,
                    status_code=StatusProto.StatusCode.Name(span.status.code).removeprefix(
                        "STATUS_CODE_"),
                    status_message=span.status.message,
                    events=[ReceivedEvent(event.name, _attributes(event.attributes))
                            for event in span.events],
                    start_time_unix_nano=span.start_time_unix_nano,
                    end_time_unix_nano=span.end_time_unix_nano,
                ))
    return spans


def _decode_metrics(body: bytes) -> list[ReceivedPoint]:
    request = ExportMetricsServiceRequest()
    request.ParseFromString(body)
    points: list[ReceivedPoint] = []
    for resource_metrics in request.resource_metrics:
        resource = _attributes(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                common = {"metric": metric.name, "unit": metric.unit,
                          "resource_attributes": resource, "scope_name": scope_metrics.scope.name}
                points.extend(_metric_points(metric, common))
    return points


def _metric_points(metric: Any, common: dict[str, Any]) -> list[ReceivedPoint]:
    kind = metric.WhichOneof("data")
    if kind in ("sum", "gauge"):
        data = getattr(metric, kind)
        monotonic = data.is_monotonic if kind == "sum" else None
        return [ReceivedPoint(kind=kind, attributes=_attributes(point.attributes),
                              value=getattr(point, point.WhichOneof("value") or "as_int"),
                              is_monotonic=monotonic, **common)
                for point in data.data_points]
    if kind == "histogram":
        return [ReceivedPoint(kind=kind, attributes=_attributes(point.attributes),
                              count=point.count, sum=point.sum,
                              bucket_counts=list(point.bucket_counts),
                              explicit_bounds=list(point.explicit_bounds), **common)
                for point in metric.histogram.data_points]
    return [ReceivedPoint(kind=kind or "unknown", attributes=_attributes(point.attributes),
                          **common)
            for point in getattr(metric, kind).data_points] if kind else []
