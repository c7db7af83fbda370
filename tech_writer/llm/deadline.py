"""A total deadline for each HTTP exchange: connect, send, headers and the whole body or stream.

httpx's timeouts bound each *read*: a server that sends one byte every two seconds, or an SSE
stream of keep-alive comments, holds a request for as long as it likes. :class:`DeadlineTransport`
wraps a transport and ends every exchange at its deadline:

* every httpx timeout of the request (connect, write, read, pool) is cut to the time left;
* from the moment the connection's socket is known (its connect, or the response), a watchdog
  shuts the socket down at the deadline, which wakes a read blocked on it;
* the response body checks the deadline between chunks.

Passing the deadline raises :class:`httpx.ReadTimeout` naming the bound (the openai SDK turns it
into its timeout error, which the client's retry policy handles like any other).

A request may carry its own deadline (a ``time.monotonic()`` value) in its extensions under
:data:`DEADLINE_EXTENSION`, e.g. to share one bound between several requests.

:meth:`DeadlineTransport.abort` (Ctrl-C, SIGTERM) ends every exchange in flight at once, the same
way, and refuses new ones: no thread stays blocked on a socket, so the process can exit.

The openai SDK 3 ships its own copy of httpx (``httpx2``, same API): :func:`for_http_module`
builds the same transport, and its errors, on whichever module a client uses; the names of this
module are those for ``httpx``.
"""

from __future__ import annotations

import functools
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx

__all__ = ["DEADLINE_EXTENSION", "DeadlineExceeded", "DeadlineTransport", "ExchangeAborted",
           "for_http_module"]

DEADLINE_EXTENSION = "tech_writer.deadline"
_TIMEOUT_KEYS = ("connect", "read", "write", "pool")


@dataclass(frozen=True)
class Flavour:
    """The transport and its errors, built on one httpx-like module."""

    transport: Any  # DeadlineTransport(total_s, inner=None)
    exceeded: Any  # DeadlineExceeded: a ReadTimeout of that module
    aborted: Any  # ExchangeAborted: a DeadlineExceeded


@functools.cache
def for_http_module(http: ModuleType) -> Flavour:
    """:class:`DeadlineTransport` and its errors for ``http`` (``httpx`` or ``httpx2``)."""
    exceeded = type("DeadlineExceeded", (http.ReadTimeout,),
                    {"__doc__": "The exchange passed its total deadline.", "__module__": __name__})
    aborted = type("ExchangeAborted", (exceeded,),
                   {"__doc__": "The exchange was cut short by DeadlineTransport.abort().",
                    "__module__": __name__})
    stream = type("BoundedStream", (http.SyncByteStream,),
                  {"__init__": _stream_init, "__iter__": _stream_iter, "close": _stream_close,
                   "_transport_error": http.TransportError, "__module__": __name__})
    transport = type("DeadlineTransport", (http.BaseTransport,), {
        "__doc__": "``inner`` (an ``HTTPTransport`` by default) with a total deadline of "
                   "``total_s`` seconds per exchange.",
        "__init__": _transport_init, "abort": _transport_abort,
        "handle_request": _transport_handle, "close": _transport_close, "_forget": _forget,
        "_http": http, "_exceeded": exceeded, "_aborted": aborted, "_stream": stream,
        "__module__": __name__})
    return Flavour(transport, exceeded, aborted)


def _transport_init(self: Any, total_s: float, inner: Any = None) -> None:
    if not total_s > 0:
        raise ValueError("total_s must be positive")
    self.total_s = total_s
    self._inner = inner or self._http.HTTPTransport()
    self._live = set()
    self._live_lock = threading.Lock()
    self._aborted_all = False


def _transport_abort(self: Any) -> None:
    """End every exchange in flight now, and refuse new ones."""
    with self._live_lock:
        self._aborted_all = True
        live = list(self._live)
    for bound in live:
        bound.abort()


def _transport_handle(self: Any, request: Any) -> Any:
    deadline = request.extensions.get(DEADLINE_EXTENSION) or time.monotonic() + self.total_s
    bound = _Bound(deadline, self.total_s, request, self)
    with self._live_lock:
        if self._aborted_all:
            raise self._aborted("the run is stopping", request=request)
        self._live.add(bound)
    bound.check()
    request.extensions["timeout"] = bound.cut(request.extensions.get("timeout") or {})
    request.extensions["trace"] = bound.tracer(request.extensions.get("trace"))
    try:
        response = self._inner.handle_request(request)
    except self._http.TransportError:
        bound.disarm()
        bound.check()  # past the deadline: say so, not "connection reset"
        raise
    bound.watch(response.extensions.get("network_stream"))
    response.stream = self._stream(response.stream, bound)
    return response


def _transport_close(self: Any) -> None:
    self._inner.close()


def _forget(self: Any, bound: _Bound) -> None:
    with self._live_lock:
        self._live.discard(bound)


class _Bound:
    """One exchange's deadline and the watchdog that enforces it on the socket."""

    def __init__(self, deadline: float, total_s: float, request: Any, transport: Any) -> None:
        self.deadline = deadline
        self.total_s = total_s
        self.request = request
        self._transport = transport
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._socket: socket.socket | None = None
        self._fired = False
        self._aborted = False

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def check(self) -> None:
        if self._aborted:
            self.disarm()
            raise self._transport._aborted("the run is stopping", request=self.request)
        if self._fired or self.remaining() <= 0:
            self.disarm()
            raise self._transport._exceeded(f"no complete answer within the total deadline of "
                                            f"{self.total_s:g} s", request=self.request)

    def abort(self) -> None:
        self._aborted = True
        self._fire()

    def cut(self, timeouts: dict[str, Any]) -> dict[str, Any]:
        left = max(self.remaining(), 0.001)
        return {**timeouts, **{key: left if timeouts.get(key) is None else min(timeouts[key], left)
                               for key in _TIMEOUT_KEYS}}

    def tracer(self, previous: Any) -> Any:
        def trace(event: str, info: dict[str, Any]) -> None:
            if event.endswith("connect_tcp.complete") or event.endswith("start_tls.complete"):
                self.watch(info.get("return_value"))
            if previous is not None:
                previous(event, info)
        return trace

    def watch(self, network_stream: Any) -> None:
        """Arm (or re-aim) the watchdog at the socket of ``network_stream``."""
        sock = _socket_of(network_stream)
        with self._lock:
            if sock is not None:
                self._socket = sock
            if self._fired:  # aborted before the socket was known: shut it now
                if sock is not None:
                    _shut(sock)
                return
            if self._timer is None:
                self._timer = threading.Timer(max(self.remaining(), 0.0), self._fire)
                self._timer.daemon = True
                self._timer.start()

    def disarm(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        self._transport._forget(self)

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            sock = self._socket
        if sock is not None:
            _shut(sock)


def _stream_init(self: Any, inner: Any, bound: _Bound) -> None:
    self._inner = inner
    self._bound = bound


def _stream_iter(self: Any) -> Iterator[bytes]:
    try:
        for chunk in self._inner:
            self._bound.check()
            yield chunk
    except self._transport_error:
        self._bound.check()
        raise
    finally:
        self._bound.disarm()


def _stream_close(self: Any) -> None:
    self._bound.disarm()
    close = getattr(self._inner, "close", None)
    if close is not None:
        close()


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes the read blocked on it
    except OSError:
        pass


def _socket_of(network_stream: Any) -> socket.socket | None:
    if network_stream is None:
        return None
    try:
        sock = network_stream.get_extra_info("socket")
    except Exception:  # a stream type that does not say: the chunk checks still hold
        return None
    return sock if isinstance(sock, socket.socket) else None


_HTTPX = for_http_module(httpx)
DeadlineTransport: Any = _HTTPX.transport
DeadlineExceeded: Any = _HTTPX.exceeded
ExchangeAborted: Any = _HTTPX.aborted
