"""A small loopback HTTP server that misbehaves on purpose: it answers every request with a
script of (bytes, pause) steps, so a test can send a body one byte at a time, an SSE stream of
keep-alive comments only, or headers that trickle in. Bounded: each connection stops after its
script or when the server stops."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType

Step = tuple[bytes, float]  # send these bytes, then pause this long
Script = Callable[[bytes], Iterable[Step]]  # the request's head -> the steps of the answer


def slow_body(body: bytes, pause_s: float, content_type: str = "application/json") -> Script:
    def script(_: bytes) -> Iterable[Step]:
        yield (b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type.encode()
               + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n", pause_s)
        for index in range(len(body)):
            yield body[index:index + 1], pause_s
    return script


def answer(status: int, body: bytes, content_type: str = "application/json") -> Script:
    """A prompt, well-formed answer (a 404, a 200 with a hostile figure in its JSON)."""
    def script(_: bytes) -> Iterable[Step]:
        yield (b"HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
               % (status, content_type.encode(), len(body), body), 0.0)
    return script


def silent() -> Script:
    """Reads the request and never answers."""
    def script(_: bytes) -> Iterable[Step]:
        yield b"", 3_600.0
    return script


def keep_alive_stream(pause_s: float, count: int = 1_000) -> Script:
    def script(_: bytes) -> Iterable[Step]:
        yield (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n", 0.0)
        comment = b": keep-alive\n\n"
        for _ in range(count):
            yield b"%x\r\n%s\r\n" % (len(comment), comment), pause_s
    return script


def trickling_headers(pause_s: float) -> Script:
    def script(_: bytes) -> Iterable[Step]:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1_000:
            yield bytes([byte]), pause_s
    return script


class MisbehavingServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> MisbehavingServer:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                continue
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, connection: socket.socket) -> None:
        """Answer each request of the connection with the script, as long as the client keeps
        the connection open (a client reuses a kept-alive connection: closing it after one
        answer would race the client's next request)."""
        with connection:
            pending = b""
            while not self._stop.is_set():
                connection.settimeout(0.2)  # wait for a request, watching for the stop
                try:
                    data = connection.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                pending += data
                if b"\r\n\r\n" not in pending and len(pending) < 65_536:
                    continue
                head, pending = pending, b""
                self.requests.append(head)
                if not self._answer(connection, head):
                    return

    def _answer(self, connection: socket.socket, head: bytes) -> bool:
        """Send the script's steps; False when the server stops or the client has gone."""
        connection.settimeout(5)
        try:
            for data, pause in self.script(head):
                if self._stop.is_set():
                    return False
                connection.sendall(data)
                if pause and self._stop.wait(pause):
                    return False
        except OSError:
            return False
        return True


def elapsed(action: Callable[[], object]) -> tuple[float, BaseException | None]:
    """Seconds ``action`` took and what it raised (None if nothing)."""
    started = time.monotonic()
    try:
        action()
    except BaseException as exc:  # noqa: BLE001 - handed back to the test
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def openrouter(chat: Callable[[int], bytes], *, generation: bytes | None = None,
               prompt_price: str = "0.000001", completion_price: str = "0.000004") -> Script:
    """A tiny OpenRouter that answers chat request N with ``chat(N)`` (raw JSON bytes, so a
    test can send ``NaN``), ``/generation`` with ``generation`` (404 when None) and ``/models``
    with one model at the given prices."""
    counter = iter(range(1_000_000))
    lock = threading.Lock()

    def script(head: bytes) -> Iterable[Step]:
        path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
        if b"/models" in path:
            body = (b'{"data": [{"id": "openai/gpt-5.1", "context_length": 400000, '
                    b'"supported_parameters": ["tools", "tool_choice", "response_format"], '
                    b'"pricing": {"prompt": "%s", "completion": "%s"}}]}'
                    % (prompt_price.encode(), completion_price.encode()))
            yield from answer(200, body)(head)
        elif b"/generation" in path:
            yield from (answer(200, generation) if generation is not None
                        else answer(404, b'{"error": {"code": 404, "message": "Not found"}}'))(head)
        else:
            with lock:
                number = next(counter)
            yield from answer(200, chat(number))(head)
    return script


def completion(usage: str, *, choices: str | None = None, content: str = "hello") -> bytes:
    """A chat completion's JSON with ``usage`` (and ``choices``) written as given."""
    if choices is None:
        choices = ('[{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", '
                   f'"content": "{content}"}}}}]')
    return (f'{{"id": "gen-{time.monotonic_ns()}", "object": "chat.completion", '
            f'"created": 1, "model": "openai/gpt-5.1", "choices": {choices}, '
            f'"usage": {usage}}}').encode()
