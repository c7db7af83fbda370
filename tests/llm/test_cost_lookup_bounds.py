"""Issue 26, findings 4, 6 and 7: /generation look-ups are bounded as a whole by the run's
--cost-lookup-timeout (``LookupPolicy.max_wait_s``), each request by a total deadline, and a
figure that cannot be a cost is an unknown cost, never a number added."""

from __future__ import annotations

import json
import threading
import time

import pytest
from misbehaving_http import MisbehavingServer, answer, silent, slow_body

from tech_writer.llm.cost_lookup import CostLookups, GenerationCost, LookupPolicy

KEY = "sk-or-v1-lookup-bounds-000000"
MAX_WAIT_S = 2.0
POLICY = LookupPolicy(max_wait_s=MAX_WAIT_S, initial_delay_s=0.05, max_delay_s=0.2,
                      request_timeout_s=1.0, workers=4)


def look_up_many(base_url: str, count: int) -> tuple[float, list[GenerationCost], float]:
    """(seconds wait() took, the settled results, seconds close() took)."""
    lookups = CostLookups(base_url, KEY, policy=POLICY)
    settled: list[GenerationCost] = []
    lock = threading.Lock()

    def keep(result: GenerationCost) -> None:
        with lock:
            settled.append(result)

    for number in range(count):
        lookups.submit(f"gen-{number}", keep)
    started = time.monotonic()
    lookups.wait()
    waited = time.monotonic() - started
    started = time.monotonic()
    lookups.close()
    return waited, settled, time.monotonic() - started


@pytest.mark.parametrize("script", [
    answer(404, b'{"error": {"code": 404, "message": "not found"}}'),
    silent(),
    slow_body(json.dumps({"data": {"total_cost": 0.01}}).encode(), 0.4),  # trickles
], ids=["always-404", "never-answers", "trickles"])
def test_all_look_ups_together_end_within_the_bound(script) -> None:
    with MisbehavingServer(script) as server:
        waited, settled, closed = look_up_many(server.base_url, 21)
    # 21 look-ups, four at a time, could each have taken the whole bound: together they end
    # within it (plus the scheduling slack of a loaded machine).
    assert waited <= MAX_WAIT_S + 0.75
    assert closed < 1.0
    assert all(result.cost_usd is None for result in settled)


@pytest.mark.parametrize("total_cost", [-0.94, float("nan"), float("inf"), "NaN", 1e308, 5000, True,
                                        "abc"])
def test_a_generation_figure_that_cannot_be_a_cost_is_unknown(total_cost) -> None:
    body = json.dumps({"data": {"total_cost": total_cost}}).encode()
    with MisbehavingServer(answer(200, body)) as server:
        _, settled, _ = look_up_many(server.base_url, 1)
    assert len(settled) == 1 and settled[0].cost_usd is None
    assert settled[0].error is not None and "invalid total_cost" in settled[0].error


def test_a_valid_generation_figure_is_kept() -> None:
    body = json.dumps({"data": {"total_cost": 0.0123, "upstream_inference_cost": -1}}).encode()
    with MisbehavingServer(answer(200, body)) as server:
        _, settled, _ = look_up_many(server.base_url, 1)
    assert settled[0].cost_usd == 0.0123 and settled[0].upstream_cost_usd is None
