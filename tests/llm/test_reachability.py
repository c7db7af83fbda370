"""A local server that is not running is named at once, before any call."""

from __future__ import annotations

import socket

from tech_writer.llm.reachability import is_loopback, nothing_listening


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_loopback_port_is_one_line() -> None:
    port = _free_port()
    message = nothing_listening(f"http://127.0.0.1:{port}/v1")
    assert message == (f"nothing is listening at http://127.0.0.1:{port}/v1 (connection refused "
                       f"on port {port}): start the model server there, or point --base-url at "
                       "the one that runs")


def test_a_listening_port_is_fine() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert nothing_listening(f"http://localhost:{port}/v1") is None


def test_remote_addresses_are_left_to_the_client() -> None:
    assert nothing_listening("https://openrouter.ai/api/v1") is None  # no connection attempted
    assert is_loopback("127.0.0.1") and is_loopback("[::1]") and is_loopback("localhost")
    assert not is_loopback("10.0.0.1") and not is_loopback("example.com")
