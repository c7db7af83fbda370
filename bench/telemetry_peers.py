"""Figure 2: tech_writer's telemetry per LLM call, against the peer instrumentations.

The same OpenRouter call (``anthropic/claude-sonnet-4``, 800 cached and 120 reasoning tokens,
``usage.cost`` inline; the answer one sentence and one tool call) is made 50 calls per block, after
warm-up calls, by one client process per instrumentation and mode, all against one fake server
(:class:`tech_writer.demo.FakeOpenRouter`, in this process). Each peer runs in its own venv (see
:mod:`bench.peers.pins`) and is compared with the bare SDK loop in the same process, switched off
and on between blocks (:mod:`bench.peers.client`); tech_writer's LLMClient loop (chat span, tool
span, metrics, cost processor) is compared with the same loop on the no-op tracer and meter.
Rounds repeat every process, in alternating order.

* ``peers.cpu_per_call``: CPU per call tech_writer's telemetry adds vs what the lightest peer adds.
  Target: no more (ratio <= 1), while recording every field right (cost = billed ``usage.cost``)
  and no peer more of them. The notes carry the table of every instrumentation.
* ``peers.recorded_fields``: how many of input, output, cached, reasoning tokens and cost each
  records equal to the bill: tech_writer's count vs the best peer's; the notes carry the table.
* ``peers.llmclient_cpu_per_call``: the whole LLMClient (telemetry on) vs the bare SDK (info).

``--quick`` runs tech_writer's processes only, at tiny sizes, and builds no venv; so does a run with
``TECH_WRITER_BENCH_PEERS=off``. Peer venvs are built on the first full run (a few minutes) and
reused from then on (:mod:`bench.peers.venvs`).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.figure import Figure, measured, unavailable
from bench.models import ReadFileTurnModel
from bench.peers import client as client_module
from bench.peers.compare import PeerResult, lightest, ours_holds, per_call_table, recorded_table
from bench.peers.pins import PEERS
from bench.peers.recorded import FIELDS, Billed, recorded_from_spans
from bench.peers.venvs import PeerVenv, cache_root, prepare_venv
from bench.pipeline import BENCH_API_KEY

if TYPE_CHECKING:
    from tech_writer.demo import FakeOpenRouter

__all__ = ["CPU_TARGET", "MODEL", "PEERS_ENV", "run"]

CPU_TARGET = 1.0
MODEL = "anthropic/claude-sonnet-4"
CACHED_TOKENS, REASONING_TOKENS = 800, 120
PEERS_ENV = "TECH_WRITER_BENCH_PEERS"  # "off": tech_writer's rows only, no venv built or run
OURS_LABEL = "tech_writer telemetry (LLMClient + tool span, vs no-op tracer)"
_CLIENT = Path(client_module.__file__)
_CHECKOUT = Path(__file__).resolve().parents[1]
_CLIENT_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class _Sizes:
    rounds: int
    warmup: int
    calls: int
    blocks: int


def run(quick: bool) -> list[Figure]:
    sizes = _Sizes(1, 2, 5, 1) if quick else _Sizes(2, 10, 50, 3)
    skip = ("not run: --quick" if quick
            else f"not run: {PEERS_ENV}=off" if os.environ.get(PEERS_ENV) == "off" else None)
    venvs = [_venv(peer, skip) for peer in PEERS]
    from tech_writer.demo import FakeOpenRouter, FakeOptions

    ours = PeerResult("tech_writer", OURS_LABEL, versions=_own_versions())
    whole = PeerResult("tech_writer-sdk", "tech_writer LLMClient, whole (vs bare openai SDK)")
    peers = [PeerResult(v.peer.name, v.peer.label, reason=None if v.python else v.reason)
             for v in venvs]
    with FakeOpenRouter(ReadFileTurnModel(),
                        options=FakeOptions(cached_tokens=CACHED_TOKENS, reasoning_tokens=REASONING_TOKENS)) as server:
        for round_index in range(sizes.rounds):
            _one_round(server, sizes, ours, whole, peers, venvs, reverse=round_index % 2 == 1)
    return _figures(ours, whole, peers, sizes)


def _venv(peer: Any, skip: str | None) -> PeerVenv:
    if skip is not None:
        return PeerVenv(peer, None, skip)
    venv = prepare_venv(peer, cache_root())
    if venv.built_now:
        print(f"   built the venv of {peer.name} in {venv.python}", flush=True)
    if venv.python is None:
        return PeerVenv(peer, None, f"not installed: {venv.reason}")
    return venv


def _one_round(server: FakeOpenRouter, sizes: _Sizes, ours: PeerResult, whole: PeerResult,
               peers: list[PeerResult], venvs: list[PeerVenv], *, reverse: bool) -> None:
    """Every process once, the order flipping every other round; each process runs all its modes
    (tech_writer: bare SDK, no-op telemetry, telemetry; a peer: bare, instrumented)."""
    jobs: list[tuple[str, str, Path]] = [("tech_writer", "bare,off,instrumented",
                                          Path(sys.executable))]
    jobs += [(venv.peer.name, "bare,instrumented", venv.python) for venv in venvs
             if venv.python is not None]
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for peer, modes, python in (jobs[::-1] if reverse else jobs):
        results[(peer, modes)] = _run_client(server, sizes, peer, modes, python)
    own = results[("tech_writer", "bare,off,instrumented")]
    cpu = {mode: own["modes"][mode]["cpu_per_call_s"] for mode in ("bare", "off", "instrumented")}
    ours.add_round(cpu["instrumented"], cpu["off"])
    whole.add_round(cpu["instrumented"], cpu["bare"])
    _record(ours, own)
    for result in peers:
        if result.reason is not None:
            continue
        run = results[(result.name, "bare,instrumented")]
        if "error" in run:
            result.reason = f"not installed: {run['error']}"
            continue
        modes = run["modes"]
        if modes["bare"]["spans_per_call"]:  # the peer was not really off: no baseline
            result.reason = "not measured: spans recorded while switched off"
            continue
        result.add_round(modes["instrumented"]["cpu_per_call_s"], modes["bare"]["cpu_per_call_s"])
        result.versions = run["versions"]
        _record(result, run)


def _record(result: PeerResult, run: dict[str, Any]) -> None:
    result.spans_per_call = run["modes"][run["shown_mode"]]["spans_per_call"]
    result.recorded = recorded_from_spans(run["spans"])
    result.billed = run["billed"]


def _run_client(server: FakeOpenRouter, sizes: _Sizes, peer: str, modes: str, python: Path
                ) -> dict[str, Any]:
    """One client process; its result, with the bill of its last call, or ``{"error": why}``."""
    command = [str(python), "-I", str(_CLIENT), "--peer", peer, "--modes", modes,
               "--base-url", server.base_url, "--model", MODEL, "--warmup", str(sizes.warmup),
               "--calls", str(sizes.calls), "--blocks", str(sizes.blocks)]
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith(("OTEL_", "OPENROUTER_", "OPENAI_", "TRACELOOP_", "OPENLIT_"))}
    environ["BENCH_API_KEY"] = BENCH_API_KEY
    completed = subprocess.run(command, cwd=_CHECKOUT, env=environ, capture_output=True,
                               text=True, timeout=_CLIENT_TIMEOUT_S, stdin=subprocess.DEVNULL,
                               check=False)
    last_line = completed.stdout.strip().splitlines()[-1:] or [""]
    if completed.returncode != 0 or not last_line[0].startswith("{"):
        if peer == "tech_writer":  # our own loop must work: that is a bug, not a missing peer
            raise RuntimeError(f"tech_writer's client failed: {completed.stderr[-2000:]}")
        return {"error": "fails: " + _last_error_line(completed.stderr)}
    result: dict[str, Any] = json.loads(last_line[0])
    call = server.ledger[-1]  # processes run one at a time: the last bill is its last call's
    result["billed"] = Billed(call.prompt_tokens, call.completion_tokens, call.cached_tokens,
                              call.reasoning_tokens, call.cost_usd)
    return result


def _last_error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return (lines[-1] if lines else "no output")[:160]


def _figures(ours: PeerResult, whole: PeerResult, peers: list[PeerResult], sizes: _Sizes
             ) -> list[Figure]:
    rows = [ours, *peers]
    setting = (f"{sizes.rounds} round(s) of one process per instrumentation, each mode: "
               f"{sizes.warmup} warm-up calls, then {sizes.blocks} block(s) of {sizes.calls} calls "
               f"timed with time.process_time (client process only), the modes' blocks "
               f"alternating; added: the median of instrumented minus baseline over the pairs of "
               f"blocks of all rounds")
    tables = f"{setting}\n{per_call_table(rows)}\n\nwhat each records for the same call:\n" \
             f"{recorded_table(rows)}"
    cpu_name = "peers.cpu_per_call (tech_writer vs lightest peer)"
    recorded_name = "peers.recorded_fields (tech_writer vs best peer)"
    best = lightest(peers)
    figures = []
    if best is None:
        reason = "no peer measured (" + "; ".join(
            f"{peer.name}: {peer.reason}" for peer in peers) + ")"
        figures.append(unavailable(cpu_name, f"{reason}\n{tables}", unit="µs/call",
                                   target=CPU_TARGET))
    else:
        notes = (f"lightest peer: {best.label}; target: ours adds no more CPU per call while "
                 f"recording every field right (cost = billed) and no fewer than any peer: "
                 f"{'holds' if ours_holds(ours, peers) else 'DOES NOT HOLD'}\n{tables}")
        figures.append(measured(cpu_name, ours.added_s * 1e6, best.added_s * 1e6,
                                unit="µs/call", target=CPU_TARGET, notes=notes,
                                checks_ok=ours_holds(ours, peers)))
    figures.append(_recorded_figure(recorded_name, ours, peers))
    figures.append(measured(
        "peers.llmclient_cpu_per_call (whole client vs bare SDK)", statistics.median(
            whole.instrumented_s) * 1e6, statistics.median(whole.baseline_s) * 1e6,
        unit="µs/call", notes=("LLMClient with telemetry on vs the openai SDK's create() in the "
                               "same venv: the client's own work (request building, retries, "
                               "usage and cost reading) plus its telemetry; added per round: "
                               + ", ".join(f"{v * 1e6:+,.0f}" for v in whole.rounds_added_s)
                               + " µs")))
    return figures


def _recorded_figure(name: str, ours: PeerResult, peers: Sequence[PeerResult]) -> Figure:
    def correct(result: PeerResult) -> int:
        if result.recorded is None or result.billed is None:
            return 0
        return result.recorded.correct_fields(result.billed)

    measured_peers = [peer for peer in peers if peer.measured]
    notes = (f"fields recorded equal to the bill, of {len(FIELDS)} ({', '.join(FIELDS)}): "
             + ", ".join(f"{result.name} {correct(result)}" for result in [ours, *measured_peers]))
    if not measured_peers:
        return measured(name, correct(ours), None, unit="fields", notes=notes
                        + "; no peer measured")
    return measured(name, correct(ours), max(correct(peer) for peer in measured_peers),
                    unit="fields", notes=notes)


def _own_versions() -> dict[str, str]:
    from importlib import metadata

    return {name: metadata.version(name) for name in ("openai", "opentelemetry-sdk")}
