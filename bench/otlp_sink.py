"""A minimal OTLP/HTTP receiver on 127.0.0.1: accepts every export with 200, decodes nothing.

The telemetry benchmark needs a real endpoint (so the exporters do their real work: encode,
POST, wait for the answer) but not the content; decoding would only add the receiver's own cost
to the measurement. It counts requests and bytes per path so the benchmark can check that the
run really exported.
"""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["OtlpSink"]

_MAX_BODY_BYTES = 64 * 1024 * 1024


class OtlpSink:
    """``with OtlpSink() as sink: env = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint}``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._bytes: Counter[str] = Counter()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="bench-otlp-sink")

    def __enter__(self) -> OtlpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def requests(self, path: str) -> int:
        """Export requests received on ``path`` (e.g. ``/v1/traces``)."""
        with self._lock:
            return self._requests[path]

    def received_bytes(self, path: str) -> int:
        with self._lock:
            return self._bytes[path]

    def _record(self, path: str, size: int) -> None:
        with self._lock:
            self._requests[path] += 1
            self._bytes[path] += size


def _handler_for(sink: OtlpSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the exporters' sessions expect
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK would add ~40 ms to every export and to the measurement.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 <= length <= _MAX_BODY_BYTES:
                self.send_error(413)
                return
            body = self.rfile.read(length) if length else b""
            sink._record(self.path, len(body))
            # An empty Export*ServiceResponse encodes to zero bytes: full success.
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the benchmark's output is its figures."""

    return Handler
