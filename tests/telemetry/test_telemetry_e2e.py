"""The CLI against the fake OpenRouter, exporting OTLP/HTTP to a real protobuf-decoding receiver."""

from __future__ import annotations

import json
import math
import socket
import time

import pytest
from cli_helpers import KEY, assert_no_traceback, run_cli
from otlp_receiver import OtlpReceiver

from tech_writer.demo import DemoModel, FakeOpenRouter, FakeOptions, Fault
from telemetry import attributes as attrs


def run_exporting(server, receiver, sample_repo, prompt_file, *extra: str):
    env = {"OPENROUTER_API_KEY": KEY, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
           "OTEL_SERVICE_NAME": "tw-e2e", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=ci"}
    result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "openrouter",
                     "--base-url", server.base_url, "--eval-json", *extra, env=env)
    assert result.returncode == 0, result.stderr
    return result, json.loads(result.stdout)


def ancestors(span, by_id):
    parent = by_id.get(span.parent_span_id)
    while parent is not None:
        yield parent
        parent = by_id.get(parent.parent_span_id)


@pytest.mark.parametrize("inline_cost", [True, False], ids=["inline-cost", "generation-lookup"])
def test_one_trace_whose_spans_and_metrics_agree_with_the_bill(sample_repo, prompt_file,
                                                               inline_cost):
    with OtlpReceiver() as receiver, FakeOpenRouter(DemoModel(), api_key=KEY,
                                                    options=FakeOptions(inline_cost=inline_cost,
                                                                        generation_404s=1)) as server:
        server.faults.add(Fault(status=429, retry_after=0.05))
        result, document = run_exporting(server, receiver, sample_repo, prompt_file)
        ledger = {call.generation_id: call for call in server.ledger}
        requests = server.requests
        # The CLI flushed before exiting: everything is already here.
        spans = receiver.spans()
        metrics = receiver.metrics()

    total = document["cost"]["total_cost_usd"]
    assert total == pytest.approx(math.fsum(c.cost_usd for c in ledger.values()), abs=1e-9)

    # One trace, one root.
    assert len({s.trace_id for s in spans}) == 1
    (root,) = [s for s in spans if s.parent_span_id is None]
    assert root.name == "invoke_agent tech_writer"
    assert root.attributes[attrs.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert root.attributes[attrs.ROLLUP_COST_USD] == pytest.approx(total, abs=1e-9)
    assert root.resource_attributes["service.name"] == "tw-e2e"
    assert root.resource_attributes["deployment.environment"] == "ci"
    assert root.resource_attributes["service.instance.id"]  # one id per run, for dashboards
    # Every request of the run, retries included, carried one OpenRouter session id (its sticky
    # routing key), and the root span names it: a trace and OpenRouter's view can be matched.
    sessions = {r.json.get("session_id") for r in requests if r.path.endswith("/completions")}
    assert sessions == {root.attributes[attrs.SESSION_ID]}
    assert root.attributes[attrs.GEN_AI_CONVERSATION_ID] == root.attributes[attrs.SESSION_ID]

    # A chat span per billed completion, with the billed tokens and cost, under a phase.
    by_id = {s.span_id: s for s in spans}
    chats = [s for s in spans if s.attributes.get(attrs.GEN_AI_OPERATION_NAME) == "chat"]
    assert len(chats) == len(ledger)
    phases = {s.attributes[attrs.PHASE] for s in spans
              if s.name in ("exploration", "outline", "sections")
              or s.attributes.get(attrs.PHASE) and s.parent_span_id == root.span_id}
    assert phases == {"exploration", "outline", "sections"}
    for chat in chats:
        billed = ledger[chat.attributes[attrs.GEN_AI_RESPONSE_ID]]
        assert chat.kind == "CLIENT" and chat.name == "chat openai/gpt-5.1"
        assert chat.attributes[attrs.GEN_AI_PROVIDER_NAME] == "openrouter"
        assert chat.attributes[attrs.GEN_AI_USAGE_INPUT_TOKENS] == billed.prompt_tokens
        assert chat.attributes[attrs.GEN_AI_USAGE_OUTPUT_TOKENS] == billed.completion_tokens
        assert chat.attributes[attrs.PHASE] in {"exploration", "outline", "sections"}
        assert any(a.parent_span_id == root.span_id for a in ancestors(chat, by_id))
        if inline_cost:
            assert chat.attributes[attrs.GEN_AI_USAGE_COST] == billed.cost_usd
            assert chat.attributes[attrs.LLM_COST_TOTAL] == billed.cost_usd
            assert chat.attributes[attrs.COST_SOURCE] == "inline"
    # Every chat span carries its billed cost, inline or looked up (its span waited for it);
    # they add up to the JSON total.
    costed = [s for s in spans if attrs.GEN_AI_USAGE_COST in s.attributes]
    assert sorted(s.span_id for s in costed) == sorted(s.span_id for s in chats)
    assert math.fsum(s.attributes[attrs.GEN_AI_USAGE_COST] for s in costed) == pytest.approx(
        total, abs=1e-9)
    for chat in chats:
        billed = ledger[chat.attributes[attrs.GEN_AI_RESPONSE_ID]]
        assert chat.attributes[attrs.GEN_AI_USAGE_COST] == billed.cost_usd
        assert json.loads(chat.attributes[attrs.MLFLOW_LLM_COST])["total_cost"] == billed.cost_usd
    if not inline_cost:
        assert all(s.attributes[attrs.COST_SOURCE] == "generation" for s in costed)
        assert all(s.attributes[attrs.COST_PENDING] is False for s in costed)
    # The 429 shows as a retry event on the first chat span.
    events = [e for s in chats for e in s.events if e.name == attrs.RETRY_EVENT]
    assert any(e.attributes.get(attrs.RETRY_STATUS_CODE) == 429 for e in events)

    # Tool spans.
    tools = [s for s in spans if s.attributes.get(attrs.GEN_AI_OPERATION_NAME) == "execute_tool"]
    assert {s.attributes[attrs.GEN_AI_TOOL_NAME] for s in tools} >= {"read_file", "get_symbols"}
    assert all(s.name == f"execute_tool {s.attributes[attrs.GEN_AI_TOOL_NAME]}" for s in tools)

    # The exploration's areas: one span each under the exploration phase, holding their calls;
    # the plan call sits directly under the phase.
    (exploration,) = [s for s in spans if s.name == "phase exploration"]
    areas = [s for s in spans if attrs.EXPLORATION_AREA_TITLE in s.attributes]
    assert len(areas) >= 2
    assert all(a.parent_span_id == exploration.span_id for a in areas)
    assert sorted(a.attributes[attrs.EXPLORATION_AREA_INDEX] for a in areas) == list(
        range(1, len(areas) + 1))
    exploring = [c for c in chats if c.attributes[attrs.PHASE] == "exploration"]
    under_area = [c for c in exploring if c.parent_span_id in {a.span_id for a in areas}]
    assert len(under_area) == len(exploring) - 1

    # Metrics: tokens, durations and the cost counter, whose sum is the bill.
    assert {attrs.METRIC_TOKEN_USAGE, attrs.METRIC_OPERATION_DURATION, attrs.METRIC_COST} <= set(
        metrics)
    cost_points = metrics[attrs.METRIC_COST]
    assert math.fsum(p.value for p in cost_points) == pytest.approx(total, abs=1e-9)
    token_points = metrics[attrs.METRIC_TOKEN_USAGE]
    input_sum = sum(p.sum for p in token_points
                    if p.attributes[attrs.GEN_AI_TOKEN_TYPE] == "input")
    assert input_sum == document["cost"]["prompt_tokens"]

    # The key is nowhere in the telemetry.
    everything = repr([(s.attributes, s.resource_attributes, [e.attributes for e in s.events])
                       for s in spans]) + repr(metrics)
    assert KEY not in everything
    assert_no_traceback(result)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_dead_endpoint_costs_at_most_a_warning_and_two_seconds(sample_repo, prompt_file):
    args = ("--prompt", prompt_file, "--repo", sample_repo, "--provider", "demo", "--quiet",
            "--max-sections", "1")
    started = time.monotonic()
    baseline = run_cli(*args)
    baseline_s = time.monotonic() - started
    started = time.monotonic()
    dead = run_cli(*args, env={"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{_closed_port()}"})
    dead_s = time.monotonic() - started
    assert baseline.returncode == dead.returncode == 0, dead.stderr
    assert dead.stdout == baseline.stdout  # exporting never changes the result
    assert_no_traceback(dead)
    extra = [line for line in dead.stderr.splitlines() if line not in baseline.stderr.splitlines()]
    assert len(extra) <= 1, dead.stderr
    assert dead_s - baseline_s < 3.0, (baseline_s, dead_s)


def test_backend_without_metrics_costs_one_warning_and_traces_still_arrive(sample_repo,
                                                                          prompt_file):
    with OtlpReceiver(metrics_status=405) as receiver:
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "demo",
                         "--quiet", "--max-sections", "1",
                         env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint})
        spans = receiver.spans()
    assert result.returncode == 0
    assert_no_traceback(result)
    assert any(s.name == "invoke_agent tech_writer" for s in spans)
    warnings = [line for line in result.stderr.splitlines() if "405" in line or "metrics" in line]
    assert len(warnings) <= 1, result.stderr
