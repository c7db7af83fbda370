"""Issue 26, finding 6: every HTTP exchange has a total deadline, not only one per read."""

from __future__ import annotations

import httpx
import pytest
from misbehaving_http import (
    MisbehavingServer,
    elapsed,
    keep_alive_stream,
    slow_body,
    trickling_headers,
)

from tech_writer.llm.deadline import DeadlineExceeded, DeadlineTransport, ExchangeAborted

TOTAL_S = 1.5
PER_READ_S = 10.0  # far longer than the deadline: only the total can end these exchanges


def client() -> httpx.Client:
    return httpx.Client(transport=DeadlineTransport(TOTAL_S), timeout=PER_READ_S)


@pytest.mark.parametrize("script", [
    slow_body(b'{"choices": []}' * 10, 0.3),  # one byte every 0.3 s: each read is quick
    keep_alive_stream(0.2),                    # SSE comments only, for ever
    slow_body(b"{}", 30.0),                    # headers, then silence
    trickling_headers(0.2),                    # the status line and headers byte by byte
], ids=["slow-body", "keep-alive-stream", "silent-body", "trickling-headers"])
def test_an_exchange_ends_at_its_total_deadline(script) -> None:
    with MisbehavingServer(script) as server, client() as http:
        def exchange() -> None:
            with http.stream("GET", server.base_url + "/x") as response:
                for _ in response.iter_bytes():
                    pass
        seconds, error = elapsed(exchange)
    assert isinstance(error, DeadlineExceeded), error
    assert isinstance(error, httpx.TimeoutException)  # what the SDKs treat as a timeout
    assert TOTAL_S - 0.1 <= seconds < TOTAL_S + 1.0


def test_a_prompt_answer_passes_untouched() -> None:
    with MisbehavingServer(slow_body(b'{"ok": true}', 0.0)) as server, client() as http:
        assert http.get(server.base_url + "/x").json() == {"ok": True}
        assert http.get(server.base_url + "/y").json() == {"ok": True}  # and again, reused


def test_abort_ends_every_exchange_in_flight_at_once() -> None:
    import threading

    transport = DeadlineTransport(60.0)
    outcomes: list[BaseException | None] = []
    with MisbehavingServer(slow_body(b"x" * 100, 0.5)) as server, \
            httpx.Client(transport=transport, timeout=PER_READ_S) as http:
        def exchange() -> None:
            outcomes.append(elapsed(lambda: http.get(server.base_url + "/x"))[1])
        threads = [threading.Thread(target=exchange) for _ in range(3)]
        for thread in threads:
            thread.start()
        for _ in range(200):  # at most 10 s for the three requests to reach the server
            if len(server.requests) >= 3:
                break
            threading.Event().wait(0.05)
        seconds, _ = elapsed(transport.abort)
        for thread in threads:
            thread.join(timeout=5)
        assert not any(thread.is_alive() for thread in threads)
        _, refused = elapsed(lambda: http.get(server.base_url + "/y"))
    assert seconds < 0.5
    assert len(outcomes) == 3 and all(isinstance(error, ExchangeAborted) for error in outcomes)
    assert isinstance(refused, ExchangeAborted)


@pytest.mark.parametrize("chat", [slow_body(b'{"choices": []}' * 20, 0.5), keep_alive_stream(0.3)],
                         ids=["slow-body", "keep-alive-stream"])
@pytest.mark.parametrize("stream", [False, True])
def test_an_llm_call_ends_at_the_request_timeout_whatever_the_server_sends(chat, stream) -> None:
    from misbehaving_http import openrouter

    from tech_writer.errors import LLMError
    from tech_writer.llm.client import LLMClient
    from tech_writer.llm.retry import RetryPolicy

    models = openrouter(lambda n: b"{}")

    def script(head: bytes):
        return (models if b"/models" in head.split(b"\r\n", 1)[0] else chat)(head)

    retry = RetryPolicy(max_attempts=1, initial_backoff_s=0.01, max_backoff_s=0.01,
                        max_total_wait_s=1)
    with MisbehavingServer(script) as server, LLMClient(
            "openai/gpt-5.1", "openrouter", "sk-or-v1-deadline-test-0000", server.base_url,
            retry=retry, timeout_s=2.0, stream=stream) as llm:
        seconds, error = elapsed(lambda: llm.chat([{"role": "user", "content": "hi"}]))
    assert isinstance(error, LLMError), error
    assert seconds < 2.0 + 1.5
