"""Figure 2: HTTP requests per LLM call.

When a completion carries its cost (``usage.cost``, OpenRouter's default) no ``/generation``
look-up should follow: one HTTP request per billed call, target exactly 1.0. Counted on the fake's
side: every request it received vs every completion it billed. The one ``/models`` read of a run
(the model's prices and capabilities) is not a per-call request: it is listed, not counted. Side by
side, the same run with the cost left out of the completions shows what the look-ups cost
(informational).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from bench.figure import Figure, measured
from bench.pipeline import run_report
from bench.sample_repo import make_sample_repo

__all__ = ["INLINE_TARGET", "run"]

INLINE_TARGET = 1.0


def run(quick: bool) -> list[Figure]:
    sections = 1 if quick else 4
    with tempfile.TemporaryDirectory(prefix="bench-cost-") as tmp:
        repo = make_sample_repo(Path(tmp) / "parcel")
        inline = _requests_per_call(repo, sections, inline_cost=True)
        lookups = _requests_per_call(repo, sections, inline_cost=False)
    return [
        measured("cost_lookup.requests_per_call (inline)", inline.requests, inline.calls,
                 unit="requests", target=INLINE_TARGET, comparison="==",
                 notes=f"inline usage.cost: {inline.describe()}",
                 checks_ok=inline.complete),
        measured("cost_lookup.requests_per_call (no inline)", lookups.requests, lookups.calls,
                 unit="requests",
                 notes=f"cost left out, so /generation look-ups: {lookups.describe()}",
                 checks_ok=lookups.complete),
    ]


class _Count:
    def __init__(self, requests: Counter[str], calls: int, complete: bool) -> None:
        self.by_path = requests
        # Once per run, whatever the number of calls: not what this figure measures.
        self.requests = sum(count for path, count in requests.items()
                            if not path.endswith("/models"))
        self.calls = calls
        self.complete = complete

    def describe(self) -> str:
        paths = ", ".join(f"{path} x{count}" for path, count in sorted(self.by_path.items()))
        state = "complete" if self.complete else "INCOMPLETE (a cost went missing)"
        return f"{self.calls} billed calls; requests: {paths}; cost summary {state}"


def _requests_per_call(repo: Path, sections: int, *, inline_cost: bool) -> _Count:
    from tech_writer.demo import DemoModel, FakeOpenRouter, FakeOptions

    with FakeOpenRouter(DemoModel(), options=FakeOptions(inline_cost=inline_cost)) as server:
        _report, cost = run_report(server, repo, environ={}, max_sections=sections)
        requests = Counter(request.path for request in server.requests)
        calls = len(server.ledger)
    return _Count(requests, calls, bool(cost.get("complete")) and cost.get("total_calls") == calls)
