"""A minimal OTLP/HTTP receiver on 127.0.0.1, in its own process: accepts every export with 200.

The telemetry benchmark needs a real endpoint (so the exporters do their real work: encode,
POST, wait for the answer) but not the content; decoding would only add the receiver's own cost.
It runs in a separate process, as a collector or backend would: a receiver inside the measured
process would charge its own request handling (under the same GIL) to tech_writer's telemetry.
It counts requests and bytes per path, readable through ``GET /_stats``, so the benchmark can
check that the run really exported.

``python -m bench.otlp_sink`` serves on an ephemeral port and prints it on its first line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

__all__ = ["OtlpSink"]

_MAX_BODY_BYTES = 64 * 1024 * 1024
_STATS_PATH = "/_stats"


class OtlpSink:
    """``with OtlpSink() as sink: env = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint}``."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._port = 0

    def __enter__(self) -> OtlpSink:
        self._process = subprocess.Popen([sys.executable, "-m", "bench.otlp_sink"],
                                         stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                         text=True, cwd=Path(__file__).resolve().parents[1])
        assert self._process.stdout is not None
        line = self._process.stdout.readline()  # the child prints its port once it listens
        if not line.strip().isdigit():
            self.close()
            raise RuntimeError("the OTLP sink process did not start")
        self._port = int(line)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def requests(self, path: str) -> int:
        """Export requests received on ``path`` (e.g. ``/v1/traces``)."""
        return int(self._stats()["requests"].get(path, 0))

    def received_bytes(self, path: str) -> int:
        return int(self._stats()["bytes"].get(path, 0))

    def _stats(self) -> dict[str, dict[str, int]]:
        response = httpx.get(self.endpoint + _STATS_PATH, timeout=5)
        response.raise_for_status()
        stats: dict[str, dict[str, int]] = response.json()
        return stats


class _Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()


def _handler_for(counts: _Counts) -> type[BaseHTTPRequestHandler]:
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
            with counts.lock:
                counts.requests[self.path] += 1
                counts.bytes[self.path] += len(body)
            # An empty Export*ServiceResponse encodes to zero bytes: full success.
            self._answer(b"", "application/x-protobuf")

        def do_GET(self) -> None:
            if self.path != _STATS_PATH:
                self.send_error(404)
                return
            with counts.lock:
                data = {"requests": dict(counts.requests), "bytes": dict(counts.bytes)}
            self._answer(json.dumps(data).encode(), "application/json")

        def _answer(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the benchmark's output is its figures."""

    return Handler


def _serve() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(_Counts()))
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    _serve()
