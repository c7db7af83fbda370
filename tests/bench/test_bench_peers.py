"""The peer comparison's pure parts: what spans record, the per-call arithmetic, the tables, the
venv cache's bookkeeping, and tech_writer's own client loop. No peer venv is built here: the full
``python -m bench`` does that."""

from __future__ import annotations

import subprocess
import sys

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from span_helpers import chat_answer

from bench.models import ReadFileTurnModel
from bench.peers import client
from bench.peers.compare import (
    PeerResult,
    lightest,
    markdown_table,
    ours_holds,
    per_call_table,
    recorded_table,
)
from bench.peers.pins import PEERS, peer_named
from bench.peers.recorded import FIELDS, Billed, recorded_from_spans
from bench.peers.venvs import CACHE_ENV, cache_root, find_venv, pip_error
from bench.telemetry_peers import _figures, _Sizes
from tech_writer.demo import FakeOpenRouter, FakeOptions
from telemetry import Telemetry

BILLED = Billed(input_tokens=1337, output_tokens=139, cached_tokens=800, reasoning_tokens=120,
                cost_usd=0.003936)


def _spans(exporter: InMemorySpanExporter) -> list[dict[str, object]]:
    return [client._span_json(span) for span in exporter.get_finished_spans()]


def _our_call_spans() -> list[dict[str, object]]:
    """One chat call and its tool call through tech_writer's Telemetry, in a phase."""
    exporter = InMemorySpanExporter()
    telemetry = Telemetry.for_testing(exporter)
    try:
        with telemetry.run_span(), telemetry.phase_span("exploration"):
            chat = telemetry.start_chat("anthropic/claude-sonnet-4", "openrouter")
            chat.stop(chat_answer(generation_id="gen-1",
                                  response_model="anthropic/claude-sonnet-4",
                                  finish_reasons=["tool_calls"], prompt_tokens=1337,
                                  completion_tokens=139, cached_tokens=800, reasoning_tokens=120,
                                  cost_usd=0.003936, cost_source="inline"))
            with telemetry.tool_span("read_file", "call_1", arguments="{}") as tool:
                tool.set_result("text")
    finally:
        telemetry.shutdown()
    return _spans(exporter)


def _peer_spans(attributes: dict[str, object], extra_spans: int = 0) -> list[dict[str, object]]:
    """Spans as a peer instrumentation makes them: plain SDK spans with its own names."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("peer")
    for index in range(extra_spans):
        with tracer.start_as_current_span(f"POST {index}", attributes={"http.status_code": 200}):
            pass
    with tracer.start_as_current_span("ChatCompletion", attributes=attributes):
        pass
    provider.shutdown()
    return _spans(exporter)


def test_our_spans_record_every_field_equal_to_the_bill_plus_tools_and_phase():
    recorded = recorded_from_spans(_our_call_spans())
    assert {field: recorded.matches(field, BILLED) for field in FIELDS} == dict.fromkeys(FIELDS, True)
    assert recorded.keys["cost_usd"] == "gen_ai.usage.cost"
    assert recorded.tool_spans == 1 and recorded.phase is True
    # The run and phase spans' roll-ups (tech_writer.cost_usd) are not mistaken for a call's cost.
    assert recorded.spans == 4


def test_openinference_names_are_read_and_a_missing_cost_is_not_recorded():
    recorded = recorded_from_spans(_peer_spans({
        "llm.token_count.prompt": 1337, "llm.token_count.completion": 139,
        "llm.token_count.prompt_details.cache_read": 800,
        "llm.token_count.completion_details.reasoning": 120, "llm.system": "openai"}))
    assert recorded.correct_fields(BILLED) == 4
    assert recorded.matches("cost_usd", BILLED) is None
    assert recorded.tool_spans == 0 and recorded.phase is False


def test_a_cost_priced_from_a_peer_table_is_recorded_but_not_the_bill():
    # openlit offline: its own price list is empty, so it writes 0 on the second of two spans.
    recorded = recorded_from_spans(_peer_spans(
        {"gen_ai.usage.input_tokens": 1337, "gen_ai.usage.output_tokens": 139,
         "gen_ai.usage.cache_read.input_tokens": 800, "gen_ai.usage.cost": 0}, extra_spans=1))
    assert recorded.values["cost_usd"] == 0.0 and recorded.matches("cost_usd", BILLED) is False
    assert recorded.matches("reasoning_tokens", BILLED) is None
    assert recorded.correct_fields(BILLED) == 3 and recorded.spans == 2


def test_an_unlisted_name_still_counts_when_it_says_what_it_is():
    recorded = recorded_from_spans(_peer_spans({"vendor.usage.reasoning_count": 120,
                                                "vendor.cost_in_usd": 0.003936,
                                                "vendor.flag": True}))
    assert recorded.keys == {"reasoning_tokens": "vendor.usage.reasoning_count",
                             "cost_usd": "vendor.cost_in_usd"}
    assert recorded.correct_fields(BILLED) == 2


def _result(name: str, instrumented: list[float], baseline: list[float],
            spans: list[dict[str, object]] | None = None) -> PeerResult:
    result = PeerResult(name, f"{name} label", versions={"openai": "3.63.0"})
    result.add_round(instrumented, baseline)
    result.recorded = recorded_from_spans(spans if spans is not None else _our_call_spans())
    result.billed = BILLED
    result.spans_per_call = 1
    return result


def test_added_cpu_is_the_difference_of_medians_and_the_lightest_peer_wins():
    heavy = _result("heavy", [0.0030, 0.0031, 0.0032], [0.0020, 0.0021, 0.0022])
    light = _result("light", [0.0025, 0.0026, 0.0027], [0.0020, 0.0021, 0.0022])
    missing = PeerResult("missing", "missing label", reason="not installed: no matching version")
    assert heavy.added_s == pytest.approx(0.0010) and light.added_s == pytest.approx(0.0005)
    assert heavy.rounds_added_s == [pytest.approx(0.0010)]
    assert lightest([heavy, missing, light]) is light
    assert lightest([missing]) is None and not missing.measured


def test_added_cpu_pairs_blocks_so_a_drift_common_to_both_cancels():
    # The machine slows down through the round; each pair of blocks ran side by side.
    drifting = _result("drifting", [0.0025, 0.0045, 0.0065], [0.0020, 0.0040, 0.0060])
    assert drifting.paired_added_s == [pytest.approx(0.0005)] * 3
    assert drifting.added_s == pytest.approx(0.0005)
    with pytest.raises(ValueError):
        drifting.add_round([0.001, 0.002], [0.001])


def test_ours_holds_only_with_every_field_right_and_no_peer_ahead():
    ours = _result("ours", [0.002], [0.001])
    peer = _result("peer", [0.002], [0.001], _peer_spans({"gen_ai.usage.input_tokens": 1337}))
    assert ours_holds(ours, [peer])
    short = _result("short", [0.002], [0.001], _peer_spans({"gen_ai.usage.input_tokens": 1337}))
    assert not ours_holds(short, [peer])


def test_tables_show_numbers_for_the_measured_and_the_reason_for_the_rest():
    ours = _result("ours", [0.0030], [0.0020])
    missing = PeerResult("missing", "missing label", reason="not installed: pip install failed")
    per_call = per_call_table([ours, missing])
    assert "| ours label" in per_call and "**+1,000**" in per_call and "3,000" in per_call
    assert "not installed: pip install failed" in per_call
    recorded = recorded_table([ours, missing])
    assert "800 ✓" in recorded and "0.0039360000 ✓" in recorded and "| yes " in recorded
    assert "not installed: pip install failed" in recorded
    lines = recorded.splitlines()
    assert len({len(line) for line in lines}) == 1  # padded: it reads as plain text too
    with pytest.raises(ValueError):
        markdown_table(["a", "b"], [["only one"]])


def test_the_cpu_figure_passes_fails_or_is_unavailable_on_the_target():
    ours_light = _result("tech_writer", [0.0024], [0.0020])
    ours_heavy = _result("tech_writer", [0.0040], [0.0020])
    whole = _result("whole", [0.0040], [0.0030])
    peer = _result("peer", [0.0026], [0.0020], _peer_spans({"gen_ai.usage.input_tokens": 1337}))
    sizes = _Sizes(rounds=1, warmup=1, calls=1, blocks=1)
    passing = _figures(ours_light, whole, [peer], sizes)[0]
    assert passing.passed is True and passing.ratio == pytest.approx(400 / 600)
    assert "| peer label" in passing.notes
    assert _figures(ours_heavy, whole, [peer], sizes)[0].passed is False
    missing = PeerResult("peer", "peer label", reason="not run: --quick")
    figure = _figures(ours_light, whole, [missing], sizes)[0]
    assert figure.available is False and figure.passed is False
    assert figure.notes.startswith("not available: no peer measured")


def test_find_venv_reuses_only_a_venv_built_from_the_current_pins(tmp_path):
    peer = peer_named("openinference")
    assert "no venv built yet" in find_venv(peer, tmp_path).reason
    python = tmp_path / peer.name / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    (tmp_path / peer.name / "bench-requirements.txt").write_text("openai==0.1\n")
    assert find_venv(peer, tmp_path).python is None  # built from other pins: rebuilt
    (tmp_path / peer.name / "bench-requirements.txt").write_text(peer.requirement_text())
    assert find_venv(peer, tmp_path).python == python
    assert cache_root({CACHE_ENV: str(tmp_path)}) == tmp_path / "peers"


def test_pins_cover_the_four_peers_and_pip_errors_are_reduced_to_their_cause():
    assert [peer.name for peer in PEERS] == ["openai-v2", "openllmetry", "openinference", "openlit"]
    assert all(peer.name in client.PEER_DISTRIBUTIONS for peer in PEERS)
    stderr = ("WARNING: Location 'file:///opt' is ignored\n"
              "ERROR: Could not find a version that satisfies the requirement openlit==9.9\n"
              "ERROR: No matching distribution found for openlit==9.9\n")
    assert pip_error(stderr) == "Could not find a version that satisfies the requirement openlit==9.9"
    assert pip_error("") == "no output"


def test_our_client_loop_measures_three_modes_side_by_side():
    with FakeOpenRouter(ReadFileTurnModel(),
                        options=FakeOptions(cached_tokens=800, reasoning_tokens=120)) as server:
        result = client.measure("tech_writer", ["bare", "off", "instrumented"],
                                base_url=server.base_url, model="anthropic/claude-sonnet-4",
                                warmup=1, calls=2, blocks=2)
        call = server.ledger[-1]
        assert len(server.ledger) == 3 * (1 + 2 * 2) + 1
    assert result["shown_mode"] == "instrumented"
    for mode in ("bare", "off", "instrumented"):
        assert len(result["modes"][mode]["cpu_per_call_s"]) == 2
    assert result["modes"]["instrumented"]["spans_per_call"] == 2  # chat + tool
    assert result["modes"]["off"]["spans_per_call"] == 0
    recorded = recorded_from_spans(result["spans"])
    billed = Billed(call.prompt_tokens, call.completion_tokens, call.cached_tokens,
                    call.reasoning_tokens, call.cost_usd)
    assert recorded.correct_fields(billed) == len(FIELDS) and recorded.tool_spans == 1


def test_a_peer_has_no_off_mode():
    completed = subprocess.run(
        [sys.executable, client.__file__, "--peer", "openlit", "--modes", "bare,off",
         "--base-url", "http://127.0.0.1:9", "--model", "m"],
        capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 2 and "tech_writer's own baseline" in completed.stderr


def test_blocks_interleave_unless_the_instrumentation_cannot_be_switched_off():
    assert client.schedule(["bare", "instrumented"], 3, reversible=True) == [
        "bare", "instrumented", "instrumented", "bare", "bare", "instrumented"]
    assert client.schedule(["bare", "instrumented"], 2, reversible=False) == [
        "bare", "bare", "instrumented", "instrumented"]
