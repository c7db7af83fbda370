"""The peers, and the pinned requirements each one's venv is built from: the one place to change them.

The four cannot share one environment (measured, see ``docs/telemetry-peers.md``): together pip
backtracks to openai 1.109 and openlit 1.34, which fails at import on OpenTelemetry 1.45; openlit
1.45 needs OpenTelemetry 1.41 and openai 2.x; the official instrumentation 2.3b0 needs ``wrapt<2``
and ``httpx`` (openai 3.x no longer installs it). So each peer gets its own venv built from its
list below, and is compared with the uninstrumented calls in that same venv. The pins are the
versions this benchmark last ran with; ``pyproject.toml``'s ``[bench-peers]`` extra says the same.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PEERS", "PeerSpec", "peer_named"]


@dataclass(frozen=True)
class PeerSpec:
    """``name`` is what :mod:`bench.peers.client` calls it (``--peer``); ``requirements`` go to
    ``pip install`` as they are, with ``pip_options`` before them."""

    name: str
    label: str
    requirements: tuple[str, ...]
    pip_options: tuple[str, ...] = ()

    def requirement_text(self) -> str:
        """What the venv was built from, kept in it to tell when it must be rebuilt."""
        return "\n".join((*self.pip_options, *self.requirements)) + "\n"


PEERS: tuple[PeerSpec, ...] = (
    PeerSpec(
        "openai-v2", "opentelemetry-instrumentation-openai-v2 (official contrib)",
        # 2.4b0 fails at import with opentelemetry-util-genai 1.3b0; 2.3b0 calls
        # wrap_function_wrapper(module=...), which wrapt 2 renamed, and imports httpx.
        ("opentelemetry-instrumentation-openai-v2==2.3b0", "wrapt>=1.16,<2", "httpx>=0.27",
         "openai==3.63.0", "opentelemetry-sdk==1.45.2")),
    PeerSpec(
        "openllmetry", "opentelemetry-instrumentation-openai (OpenLLMetry)",
        ("opentelemetry-instrumentation-openai==0.62.4", "openai==3.63.0",
         "opentelemetry-sdk==1.45.2")),
    PeerSpec(
        "openinference", "openinference-instrumentation-openai",
        ("openinference-instrumentation-openai==0.1.66", "openai==3.63.0",
         "opentelemetry-sdk==1.45.2")),
    PeerSpec(
        "openlit", "openlit",
        # 1.45.0 cannot resolve next to OpenTelemetry 1.45 and fails at import with 1.38
        # (ConsoleLogRecordExporter); with 1.41 and its 0.62b0 instrumentations (pre-releases) it
        # works, on openai 2.x.
        ("openlit==1.45.0", "opentelemetry-sdk==1.41.*", "opentelemetry-instrumentation==0.62b0",
         "openai==2.54.*"),
        pip_options=("--pre",)),
)


def peer_named(name: str) -> PeerSpec:
    for peer in PEERS:
        if peer.name == name:
            return peer
    raise KeyError(name)
