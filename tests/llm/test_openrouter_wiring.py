"""What LLMClient sends to and reads from OpenRouter as of its August 2026 schema, against the
fake OpenRouter: the output cap, the Broadcast trace, the proposal's cost attributes and the
simulated-cost marker, cache writes, error.availability, /key."""

from __future__ import annotations

import json
import math

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id

from tech_writer.demo import FakeOpenRouter, FakeOptions, Fault, ModelTurn, QueueModel, ToolCall
from tech_writer.demo._availability import availability_error_body
from tech_writer.demo.pricing import ModelPrice
from tech_writer.errors import ProviderUnavailableError, RequestRejectedError
from tech_writer.llm.client import LLMClient
from tech_writer.llm.cost_lookup import LookupPolicy
from tech_writer.llm.retry import RetryPolicy
from telemetry import Telemetry
from telemetry import attributes as attrs

KEY = "sk-or-test-0123456789abcdef"
MODEL = "openai/gpt-5.1"
FAST_RETRY = RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05,
                         max_total_wait_s=5.0)
FAST_LOOKUP = LookupPolicy(max_wait_s=3.0, initial_delay_s=0.01, max_delay_s=0.05)
MESSAGES = [{"role": "user", "content": "Say hello."}]


def answers(n: int) -> QueueModel:
    return QueueModel([ModelTurn(content=f"hello {i}") for i in range(n)])


def chat_requests(server: FakeOpenRouter) -> list[dict]:
    return [r.json for r in server.requests if r.path.endswith("/chat/completions")]


def chat_spans(exporter: InMemorySpanExporter) -> list:
    return [s for s in exporter.get_finished_spans() if s.name.startswith("chat ")]


def test_each_call_carries_its_phases_cap_within_the_models_maximum() -> None:
    tel = Telemetry.for_testing()
    with FakeOpenRouter(answers(3), api_key=KEY) as server:
        with LLMClient(MODEL, "openrouter", KEY, server.base_url, retry=FAST_RETRY,
                       telemetry=tel) as llm:
            with tel.run_span(agent_name="tech_writer"):
                with tel.phase_span("sections"):
                    llm.chat(MESSAGES)
                with tel.phase_span("outline"):
                    llm.chat(MESSAGES)
                llm.chat(MESSAGES, max_completion_tokens=321)  # the caller's own cap wins
        sent = [body["max_completion_tokens"] for body in chat_requests(server)]
    tel.shutdown()
    assert sent == [4096, 2048, 321]


def test_the_broadcast_trace_names_the_chat_span_it_was_sent_from() -> None:
    exporter = InMemorySpanExporter()
    tel = Telemetry.for_testing(exporter)
    with FakeOpenRouter(answers(2), api_key=KEY) as server:
        with LLMClient(MODEL, "openrouter", KEY, server.base_url, retry=FAST_RETRY,
                       telemetry=tel) as llm:
            with tel.run_span(agent_name="tech_writer"), tel.phase_span("exploration"):
                llm.chat(MESSAGES)
                llm.chat(MESSAGES)
        bodies = chat_requests(server)
    tel.shutdown()
    spans = chat_spans(exporter)
    assert len(spans) == 2 == len(bodies)
    for span, body in zip(spans, bodies, strict=True):
        assert body["trace"] == {
            "trace_id": format_trace_id(span.context.trace_id),
            "parent_span_id": format_span_id(span.context.span_id),
            "span_name": f"openrouter {MODEL} (exploration)",
            "generation_name": f"generation {MODEL}"}
    assert len({body["trace"]["trace_id"] for body in bodies}) == 1  # the run's one trace


def test_no_trace_is_sent_when_spans_are_not_exported() -> None:
    with FakeOpenRouter(answers(1), api_key=KEY) as server:
        with LLMClient(MODEL, "openrouter", KEY, server.base_url, retry=FAST_RETRY) as llm:
            llm.chat(MESSAGES)
        (body,) = chat_requests(server)
    assert "trace" not in body


def test_the_proposals_cost_attributes_carry_the_bill_unmodified() -> None:
    exporter = InMemorySpanExporter()
    tel = Telemetry.for_testing(exporter)
    with FakeOpenRouter(answers(1), api_key=KEY) as server:
        with LLMClient(MODEL, "openrouter", KEY, server.base_url, retry=FAST_RETRY,
                       telemetry=tel) as llm:
            llm.chat(MESSAGES)
        (billed,) = server.ledger
    tel.shutdown()
    (span,) = chat_spans(exporter)
    assert span.attributes[attrs.GEN_AI_USAGE_COST_AMOUNT] == billed.cost_usd
    assert span.attributes[attrs.GEN_AI_USAGE_COST] == billed.cost_usd
    assert span.attributes[attrs.GEN_AI_USAGE_COST_CURRENCY] == "USD"
    assert span.attributes[attrs.GEN_AI_USAGE_COST_SOURCE] == "provider"
    assert attrs.COST_SIMULATED not in span.attributes  # real spend: no marker


def test_a_cost_looked_up_later_is_the_providers_and_an_unknown_one_is_left_out() -> None:
    exporter = InMemorySpanExporter()
    tel = Telemetry.for_testing(exporter)
    with FakeOpenRouter(answers(2), api_key=KEY, options=FakeOptions(inline_cost=False)) as server:
        with LLMClient(MODEL, "openrouter", KEY, server.base_url, retry=FAST_RETRY,
                       lookup=FAST_LOOKUP, telemetry=tel) as llm:
            llm.chat(MESSAGES)
            llm.get_cost_summary()
        with LLMClient(MODEL, "openrouter", KEY, server.base_url, retry=FAST_RETRY,
                       telemetry=tel, track_cost=False) as untracked:
            untracked.chat(MESSAGES)
        looked_up = server.ledger[0]
    tel.shutdown()
    settled, unknown = chat_spans(exporter)
    assert settled.attributes[attrs.GEN_AI_USAGE_COST_AMOUNT] == looked_up.cost_usd
    assert settled.attributes[attrs.GEN_AI_USAGE_COST_SOURCE] == "provider"
    assert not any(key.startswith("gen_ai.usage.cost") for key in unknown.attributes)


def test_the_demos_cost_is_marked_simulated_on_spans_and_on_every_metric_point() -> None:
    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tel = Telemetry.for_testing(exporter, reader)
    with LLMClient("demo/careful", "demo", telemetry=tel, retry=FAST_RETRY) as demo:
        demo.chat(MESSAGES)
    with FakeOpenRouter(answers(1), api_key=KEY) as server:
        with LLMClient(MODEL, "openrouter", KEY, server.base_url, retry=FAST_RETRY,
                       telemetry=tel) as real:
            real.chat(MESSAGES)
    data = reader.get_metrics_data()
    tel.shutdown()
    simulated_span, real_span = chat_spans(exporter)
    assert simulated_span.attributes[attrs.COST_SIMULATED] is True
    assert attrs.COST_SIMULATED not in real_span.attributes
    points = {(metric.name, point.attributes[attrs.GEN_AI_REQUEST_MODEL],
               point.attributes[attrs.COST_SIMULATED])
              for rm in data.resource_metrics for sm in rm.scope_metrics
              for metric in sm.metrics for point in metric.data.data_points}
    for name in (attrs.METRIC_COST, attrs.METRIC_TOKEN_USAGE, attrs.METRIC_OPERATION_DURATION):
        assert (name, "demo/careful", True) in points and (name, MODEL, False) in points


def test_a_failed_demo_call_is_marked_simulated_too() -> None:
    reader = InMemoryMetricReader()
    tel = Telemetry.for_testing(metric_reader=reader)
    with FakeOpenRouter(answers(1)) as server:  # the demo's server takes any key
        server.faults.add(Fault(status=400))
        llm = LLMClient(MODEL, "demo", None, server.base_url, retry=FAST_RETRY, telemetry=tel)
        with llm, pytest.raises(RequestRejectedError):
            llm.chat(MESSAGES)
    data = reader.get_metrics_data()
    tel.shutdown()
    (point,) = [p for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
                for p in m.data.data_points]
    assert point.attributes[attrs.COST_SIMULATED] is True
    assert point.attributes[attrs.ERROR_TYPE] == "400"


# --- cache writes ---------------------------------------------------------------------------
WRITES = ModelPrice(prompt=2e-6, completion=8e-6, input_cache_read=2e-7,
                    input_cache_write=2.5e-6)  # writes at 1.25x input, as OpenAI's newest


def test_cache_writes_are_priced_as_models_lists_them_on_the_span() -> None:
    exporter = InMemorySpanExporter()
    tel = Telemetry.for_testing(exporter)
    with FakeOpenRouter(answers(1), api_key=KEY, options=FakeOptions(
            pricing={"openai/gpt-new": WRITES}, cache_write_tokens=4)) as server:
        with LLMClient("openai/gpt-new", "openrouter", KEY, server.base_url, retry=FAST_RETRY,
                       telemetry=tel) as llm:
            llm.chat(MESSAGES)
            estimate = llm.model_pricing()
        (billed,) = server.ledger
    tel.shutdown()
    (span,) = chat_spans(exporter)
    assert span.attributes[attrs.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == 4
    split = json.loads(span.attributes[attrs.MLFLOW_LLM_COST])
    written, fresh = 4, billed.prompt_tokens - 4
    input_list = fresh * WRITES.prompt + written * WRITES.input_cache_write
    output_list = billed.completion_tokens * WRITES.completion
    assert split["input_cost"] == pytest.approx(
        billed.cost_usd * input_list / (input_list + output_list), rel=1e-9)
    assert math.fsum((split["input_cost"], split["output_cost"])) == billed.cost_usd
    # The bill itself priced the 4 written tokens at the write price (the fake bills as listed).
    assert billed.cost_usd == pytest.approx(input_list + output_list, rel=1e-9)
    assert estimate is not None and estimate.prompt_worst_usd_per_token == WRITES.input_cache_write


# --- error.availability ---------------------------------------------------------------------
def test_a_retryable_availability_code_is_retried_and_a_final_one_is_not() -> None:
    capacity = availability_error_body("capacity_exhausted", "All providers are at capacity.",
                                       MODEL, retry_after=0.01, fallback_models=["a/b"])
    deprecated = availability_error_body("model_deprecated", "Retired.", MODEL,
                                         fallback_models=["openai/gpt-5.2"])
    with FakeOpenRouter(answers(1), api_key=KEY) as server:
        with LLMClient(MODEL, "openrouter", KEY, server.base_url, retry=FAST_RETRY) as llm:
            server.faults.add(Fault(status=429, body=capacity))
            reply, _ = llm.chat(MESSAGES)  # retried after availability.retry_after
            assert reply["content"] == "hello 0"
            server.faults.add(Fault(status=404, body=deprecated))
            with pytest.raises(RequestRejectedError) as caught:
                llm.chat(MESSAGES)
            server.faults.add(Fault(status=429, body={"error": {**capacity["error"], "availability": {
                **capacity["error"]["availability"], "retryable": False}}}))
            with pytest.raises(RequestRejectedError):
                llm.chat(MESSAGES)  # retryable: false wins over the status
        statuses = [r.path for r in server.requests if r.path.endswith("/chat/completions")]
    assert len(statuses) == 4  # 429 + retry, the 404 once, the non-retryable 429 once
    message = str(caught.value)
    assert caught.value.error_type == "model_deprecated"
    assert "the model was retired" in message and "openai/gpt-5.2" in message
    assert "\n" not in message


def test_without_availability_the_status_still_decides() -> None:
    with FakeOpenRouter(answers(1), api_key=KEY) as server:
        server.faults.add(Fault(status=503), count=3)
        with LLMClient(MODEL, "openrouter", KEY, server.base_url, retry=FAST_RETRY) as llm:
            with pytest.raises(ProviderUnavailableError, match="gave up after 3 attempts"):
                llm.chat(MESSAGES)


# --- an answer cut at the cap ---------------------------------------------------------------
TOOLS = [{"type": "function", "function": {
    "name": "read_file", "parameters": {"type": "object",
                                        "properties": {"path": {"type": "string"}}}}}]
LONG_CALL = ToolCall("read_file", {"path": "src/inventory/warehouse/stock_levels.py"})


def test_a_tool_call_cut_at_the_cap_is_asked_again_once_with_twice_the_cap() -> None:
    with FakeOpenRouter(QueueModel([ModelTurn(tool_calls=[LONG_CALL])] * 2),
                        api_key=KEY) as server:
        with LLMClient(MODEL, "openrouter", KEY, server.base_url, retry=FAST_RETRY) as llm:
            reply, usage = llm.chat(MESSAGES, tools=TOOLS, max_completion_tokens=10)
        caps = [body["max_completion_tokens"] for body in chat_requests(server)]
        cut, whole = server.ledger
    assert caps == [10, 20]  # the cut call is billed too: both are in the usage
    assert cut.finish_reason == "length" and whole.finish_reason == "tool_calls"
    (call,) = reply["tool_calls"]
    assert json.loads(call["function"]["arguments"]) == LONG_CALL.arguments  # never the cut part
    assert usage.cost_usd == pytest.approx(cut.cost_usd + whole.cost_usd, abs=1e-15)
    assert usage.completion_tokens == cut.completion_tokens + whole.completion_tokens
    assert usage.generation_id == whole.generation_id


def test_a_text_answer_cut_at_the_cap_is_returned_as_cut_for_its_caller() -> None:
    text = "A section that goes on for rather longer than ten tokens allow."
    with FakeOpenRouter(QueueModel([ModelTurn(content=text)]), api_key=KEY) as server:
        with LLMClient(MODEL, "openrouter", KEY, server.base_url, retry=FAST_RETRY) as llm:
            reply, _ = llm.chat(MESSAGES, max_completion_tokens=10)
        assert len(chat_requests(server)) == 1  # the part is kept: sections continue it
    assert reply["finish_reason"] == "length" and text.startswith(reply["content"])
    assert len(reply["content"]) < len(text)
