"""The peer comparison's arithmetic and its two tables (pure: no process, no network).

Per-call CPU *added* by an instrumentation is the median, over all rounds, of the difference
between each instrumented block and the baseline block paired with it (the blocks alternate in one
process: see :func:`bench.peers.client.schedule`): pairing cancels the slow drifts of a shared
machine that a difference of two overall medians would keep.
tech_writer's baseline is the same LLMClient loop on OpenTelemetry's no-op tracer and meter; a
peer's is the bare openai SDK loop.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bench.peers.recorded import FIELDS, Billed, Recorded

__all__ = ["PeerResult", "lightest", "markdown_table", "ours_holds", "per_call_table",
           "recorded_table"]


@dataclass
class PeerResult:
    """One instrumentation's measurements; ``reason`` set ("not installed: ...", "not run: ...")
    means it could not be measured, and is what its table rows show."""

    name: str
    label: str
    reason: str | None = None
    instrumented_s: list[float] = field(default_factory=list)  # CPU per call, one per block
    baseline_s: list[float] = field(default_factory=list)
    paired_added_s: list[float] = field(default_factory=list)  # one per pair of blocks
    rounds_added_s: list[float] = field(default_factory=list)  # the median of each round's
    spans_per_call: float = 0.0
    versions: Mapping[str, str] = field(default_factory=dict)
    recorded: Recorded | None = None
    billed: Billed | None = None

    @property
    def measured(self) -> bool:
        return self.reason is None and bool(self.instrumented_s) and bool(self.baseline_s)

    @property
    def added_s(self) -> float:
        return statistics.median(self.paired_added_s)

    def add_round(self, instrumented: Sequence[float], baseline: Sequence[float]) -> None:
        """One process's blocks, in order: block ``i`` of each list ran side by side."""
        if len(instrumented) != len(baseline) or not instrumented:
            raise ValueError("a round needs as many instrumented blocks as baseline blocks")
        added = [value - base for value, base in zip(instrumented, baseline, strict=True)]
        self.instrumented_s += instrumented
        self.baseline_s += baseline
        self.paired_added_s += added
        self.rounds_added_s.append(statistics.median(added))


def lightest(peers: Sequence[PeerResult]) -> PeerResult | None:
    """The measured peer that adds the least CPU per call (None when none was measured)."""
    measured = [peer for peer in peers if peer.measured]
    return min(measured, key=lambda peer: peer.added_s) if measured else None


def ours_holds(ours: PeerResult, peers: Sequence[PeerResult]) -> bool:
    """"While recording more": ours has every field right (cost = billed included) and no peer
    has more of them right."""
    if ours.recorded is None or ours.billed is None:
        return False
    mine = ours.recorded.correct_fields(ours.billed)
    others = [peer.recorded.correct_fields(peer.billed) for peer in peers
              if peer.measured and peer.recorded is not None and peer.billed is not None]
    return mine == len(FIELDS) and all(mine >= theirs for theirs in others)


def per_call_table(rows: Sequence[PeerResult]) -> str:
    headers = ["instrumentation", "versions", "baseline µs/call", "instrumented µs/call",
               "added µs/call", "added per round", "spans/call"]
    lines = []
    for row in rows:
        if not row.measured:
            lines.append([row.label, "", "", "", str(row.reason), "", ""])
            continue
        lines.append([
            row.label, _versions(row.versions), _us(statistics.median(row.baseline_s)),
            _us(statistics.median(row.instrumented_s)), f"**{_signed_us(row.added_s)}**",
            ", ".join(_signed_us(value) for value in row.rounds_added_s),
            f"{row.spans_per_call:g}"])
    return markdown_table(headers, lines)


def recorded_table(rows: Sequence[PeerResult]) -> str:
    headers = ["instrumentation", "input tokens", "output tokens", "cached tokens",
               "reasoning tokens", "cost (USD)", "cost = billed usage.cost", "tool spans",
               "phase"]
    lines = []
    for row in rows:
        if row.recorded is None or row.billed is None:
            lines.append([row.label, row.reason or "no spans", *[""] * (len(headers) - 2)])
            continue
        recorded, billed = row.recorded, row.billed
        cells = [_cell(recorded, billed, name) for name in FIELDS]
        cost_ok = recorded.matches("cost_usd", billed)
        verdict = {None: "no cost recorded", True: "yes",
                   False: f"no (billed {billed.cost_usd:.10f})"}[cost_ok]
        lines.append([row.label, *cells, verdict, str(recorded.tool_spans),
                      "yes" if recorded.phase else "no"])
    return markdown_table(headers, lines)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table, columns padded so it also reads as plain text."""
    if any(len(row) != len(headers) for row in rows):
        raise ValueError("every row needs one cell per header")
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = (str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    return "\n".join([line(headers), line(["-" * width for width in widths]),
                      *(line(row) for row in rows)])


def _cell(recorded: Recorded, billed: Billed, name: str) -> str:
    match = recorded.matches(name, billed)
    if match is None:
        return "—"
    value = recorded.values[name]
    shown = f"{value:.10f}" if name == "cost_usd" else f"{value:g}"
    return f"{shown} ✓" if match else f"{shown} ✗"


def _versions(versions: Mapping[str, str]) -> str:
    return ", ".join(f"{name} {version}" for name, version in versions.items())


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f}"


def _signed_us(seconds: float) -> str:
    return f"{seconds * 1e6:+,.0f}"
