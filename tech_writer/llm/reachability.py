"""Before the first call to a server on this machine: is anything listening there at all?

A local model server that is not running refuses the connection at once. Retrying that with
back-off only delays the one useful message, and a request that never connected costs nothing;
so a loopback address is tried once, with a short timeout, before the run starts. Remote
addresses are left to the client's retries (a refused connection there may be transient).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = ["is_loopback", "nothing_listening"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def nothing_listening(base_url: str, timeout_s: float = 2.0) -> str | None:
    """One line when ``base_url`` is on this machine and its port refuses connections; None when
    something accepted the connection, or the address is not a loopback one."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if not is_loopback(host):
        return None
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)
    except ValueError:
        return None  # a malformed port: the client's own error says so
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except ConnectionRefusedError:
        return (f"nothing is listening at {base_url} (connection refused on port {port}): start "
                "the model server there, or point --base-url at the one that runs")
    except OSError:
        return None  # slow or odd, but not a plain refusal: the client's retries decide
