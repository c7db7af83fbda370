"""The HTTP/1.1 plumbing under the fake server: keep-alive, bodies, chunked streams, drops."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["LoopbackServer", "RequestHandler", "Router"]

# A keep-alive connection idle this long is closed, so abandoned client pools don't pin threads.
_IDLE_TIMEOUT_S = 30.0
_MAX_BODY_BYTES = 64 * 1024 * 1024


_log = logging.getLogger("tech_writer.demo")


class Router(Protocol):
    def handle(self, handler: RequestHandler, method: str) -> None: ...


class LoopbackServer(ThreadingHTTPServer):
    """A threading server on 127.0.0.1 that can close its open connections on shutdown."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, router: Router) -> None:
        self.router = router
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._closing = False
        super().__init__(("127.0.0.1", 0), RequestHandler)

    def handle_error(self, request: object, client_address: object) -> None:
        # socketserver prints a traceback to stderr for any handler error; the usual ones here
        # are clients hanging up and stop() closing idle keep-alive sockets. Never noise on a
        # user's terminal (the demo runs in-process): log, don't print.
        import sys

        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)) or (
                isinstance(error, OSError) and self._closing):
            _log.debug("connection from %s ended: %r", client_address, error)
            return
        _log.warning("fake OpenRouter: error handling a request from %s", client_address,
                     exc_info=True)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Wake handler threads blocked on keep-alive reads so they exit promptly."""
        self._closing = True
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                connection.shutdown(socket.SHUT_RDWR)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the openai SDK's connection pool expects
    # Headers and body go out in separate writes: with Nagle's algorithm on, the body waits for
    # the client's delayed ACK (~40 ms per response), which would dwarf a zero-latency fake.
    disable_nagle_algorithm = True
    timeout = _IDLE_TIMEOUT_S
    server: LoopbackServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr log: tests and the demo CLI must stay quiet."""

    def do_GET(self) -> None:
        self.server.router.handle(self, "GET")

    def do_POST(self) -> None:
        self.server.router.handle(self, "POST")

    def do_PUT(self) -> None:
        self.server.router.handle(self, "PUT")

    def do_DELETE(self) -> None:
        self.server.router.handle(self, "DELETE")

    # --- request -----------------------------------------------------------------------------
    def read_body(self) -> bytes:
        """The request body, by Content-Length or chunked encoding (empty when neither)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked_body()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > _MAX_BODY_BYTES:
            raise ValueError(f"unacceptable Content-Length {length}")
        return self.rfile.read(length) if length else b""

    def _read_chunked_body(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()  # the blank line after the last chunk (no trailers sent)
                return b"".join(parts)
            total += size
            if total > _MAX_BODY_BYTES:
                raise ValueError("chunked request body too large")
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    # --- response ----------------------------------------------------------------------------
    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(
            status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), headers=headers
        )

    def send_chunked(self, status: int, frames: Iterable[bytes], headers: dict[str, str]) -> None:
        """Send an event stream with chunked transfer encoding, one HTTP chunk per frame."""
        self.send_response(status)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        for frame in frames:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
        self.wfile.write(b"0\r\n\r\n")

    def drop_connection(self) -> None:
        """Close the socket without answering, like a proxy that died mid-request."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
