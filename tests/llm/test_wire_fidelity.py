"""Our client against every shape of answer OpenRouter may send, and against a reasoning model.

The fake sends the usual fields, every optional one (``shape="maximal"``: reasoning, annotations,
logprobs, the full cost and token breakdowns, server-tool counts...) or only the required ones
(``shape="minimal"``). A field we never saw must change neither what the client reads nor the
cost. A reasoning model's signed blocks must go back with the tool calls that came with them.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tech_writer.demo import FakeOpenRouter, FakeOptions, ModelTurn, QueueModel, ToolCall
from tech_writer.errors import RequestRejectedError
from tech_writer.llm.client import LLMClient
from tech_writer.llm.cost_lookup import LookupPolicy
from tech_writer.llm.retry import RetryPolicy
from tech_writer.pipeline.history import (
    HistoryPolicy,
    compact_history,
    history_chars,
    trim_for_context,
)
from tech_writer.pipeline.toolloop import assistant_message
from telemetry import Telemetry
from telemetry import attributes as attrs

KEY = "sk-or-wire-fidelity-key"
MODEL = "anthropic/claude-sonnet-4"
FAST_RETRY = RetryPolicy(max_attempts=2, initial_backoff_s=0.01, max_backoff_s=0.05,
                         max_total_wait_s=1.0)
FAST_LOOKUP = LookupPolicy(max_wait_s=3.0, initial_delay_s=0.01, max_delay_s=0.05)
MESSAGES = [{"role": "user", "content": "Describe the repository."}]
TOOLS = [{"type": "function", "function": {
    "name": "read_file", "parameters": {"type": "object", "properties": {
        "path": {"type": "string"}}}}}]
REASONING_MARK = "[fake reasoning]"


def script() -> QueueModel:
    return QueueModel([ModelTurn(tool_calls=[ToolCall("read_file", {"path": "README.md"}),
                                             ToolCall("read_file", {"path": "app.py"})]),
                       ModelTurn(content="The repository serves an inventory over HTTP.")])


def client(server: FakeOpenRouter, **kwargs: Any) -> LLMClient:
    return LLMClient(MODEL, "openrouter", KEY, server.base_url, retry=FAST_RETRY,
                     lookup=FAST_LOOKUP, **kwargs)


def converse(llm: LLMClient, *, keep_reasoning: bool = True) -> list[tuple[dict[str, Any], Any]]:
    """Two turns of a tool loop: the call, the tool results, the text answer."""
    messages: list[dict[str, Any]] = list(MESSAGES)
    first = llm.chat(messages, tools=TOOLS)
    sent_back = assistant_message(first[0])
    if not keep_reasoning:
        sent_back.pop("reasoning_details", None)
    messages.append(sent_back)
    messages += [{"role": "tool", "tool_call_id": call["id"], "content": "file text"}
                 for call in first[0]["tool_calls"]]
    return [first, llm.chat(messages, tools=TOOLS)]


def run(shape: str, stream: bool, *, byok: bool = False, inline_cost: bool = True,
        reasoning: bool = False) -> tuple[list[tuple[dict[str, Any], Any]], dict[str, Any],
                                           FakeOpenRouter]:
    with FakeOpenRouter(script(), api_key=KEY,
                        options=FakeOptions(shape=shape, byok=byok, inline_cost=inline_cost,
                                            reasoning=reasoning)) as server:
        with client(server, stream=stream) as llm:
            turns = converse(llm)
            summary = llm.get_cost_summary()
    return turns, summary, server


def essentials(turns: list[tuple[dict[str, Any], Any]]) -> list[Any]:
    """What the pipeline uses of each answer (call ids vary by server: names and arguments)."""
    return [(reply["content"], reply["finish_reason"],
             [(c["function"]["name"], c["function"]["arguments"]) for c in reply["tool_calls"]],
             usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens,
             usage.reasoning_tokens) for reply, usage in turns]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_maximal_and_minimal_answers_read_like_the_usual_ones(stream: bool) -> None:
    usual, usual_summary, _ = run("usual", stream)
    for shape in ("maximal", "minimal"):
        turns, summary, server = run(shape, stream)
        ledger = server.ledger
        if shape == "minimal":  # the usual and the minimal answers bill the same prompts
            assert essentials(turns) == essentials(usual), shape
        else:  # maximal answers carry reasoning, sent back: the second prompt is longer
            assert essentials(turns)[0] == essentials(usual)[0]
            assert essentials(turns)[1][:3] == essentials(usual)[1][:3]
        assert [usage.cost_usd for _, usage in turns] == [call.cost_usd for call in ledger]
        assert summary["total_cost_usd"] == pytest.approx(
            math.fsum(c.cost_usd for c in ledger), abs=1e-12), shape
        # A number in upstream_inference_cost on a non-BYOK answer is not the user's spend.
        assert summary["upstream_cost_usd"] == 0 and all(u.upstream_cost_usd is None
                                                         for _, u in turns)
        assert summary["total_spend_usd"] == summary["total_cost_usd"]
        assert summary["complete"] is True
    assert usual_summary["complete"] is True


def test_maximal_byok_answer_keeps_the_upstream_cost() -> None:
    turns, summary, server = run("maximal", False, byok=True)
    ledger = server.ledger
    assert [u.upstream_cost_usd for _, u in turns] == [c.upstream_cost_usd for c in ledger]
    assert summary["total_spend_usd"] == pytest.approx(
        math.fsum(c.cost_usd + (c.upstream_cost_usd or 0) for c in ledger), abs=1e-12)


@pytest.mark.parametrize("shape", ["maximal", "minimal"])
def test_cost_from_generation_lookups_is_the_same_in_every_shape(shape: str) -> None:
    turns, summary, server = run(shape, True, inline_cost=False)
    assert all(usage.cost_source == "generation" for _, usage in turns)
    assert summary["total_cost_usd"] == pytest.approx(
        math.fsum(c.cost_usd for c in server.ledger), abs=1e-12)


# --- reasoning model ------------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_reasoning_blocks_go_back_with_their_tool_calls(stream: bool) -> None:
    turns, summary, server = run("usual", stream, reasoning=True)
    (first, _), (second, _) = turns
    details = first["reasoning_details"]
    assert [block["type"] for block in details] == [
        "reasoning.text", "reasoning.summary", "reasoning.encrypted"]
    assert details[0]["text"] == first["reasoning"] and details[0]["signature"]
    assert REASONING_MARK in first["reasoning"]
    assert second["content"] == "The repository serves an inventory over HTTP."
    resent = server.requests[-1].json["messages"][1]
    assert resent["reasoning_details"] == details and resent["reasoning"] == first["reasoning"]
    ledger = server.ledger
    assert summary["reasoning_tokens"] == sum(c.reasoning_tokens for c in ledger) > 0
    assert summary["total_cost_usd"] == pytest.approx(
        math.fsum(c.cost_usd for c in ledger), abs=1e-12)


def test_streamed_blocks_are_merged_back_to_what_a_plain_answer_carries() -> None:
    plain, _, _ = run("usual", False, reasoning=True)
    streamed, _, _ = run("usual", True, reasoning=True)
    strip = ("signature", "data", "id")  # signed per server and per call: compare the rest
    for (a, _), (b, _) in zip(plain, streamed, strict=True):
        assert a["reasoning"] == b["reasoning"]
        assert [{k: v for k, v in d.items() if k not in strip} for d in a["reasoning_details"]] \
            == [{k: v for k, v in d.items() if k not in strip} for d in b["reasoning_details"]]
        assert [sorted(d) for d in a["reasoning_details"]] == \
            [sorted(d) for d in b["reasoning_details"]]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_dropping_the_blocks_is_the_upstreams_400_in_the_users_words(stream: bool) -> None:
    with FakeOpenRouter(script(), api_key=KEY, options=FakeOptions(reasoning=True)) as server:
        with client(server, stream=stream) as llm, pytest.raises(RequestRejectedError) as caught:
            converse(llm, keep_reasoning=False)
    assert caught.value.status_code == 400
    assert "Provider returned error: Function call is missing a thought_signature" in str(
        caught.value)
    assert len(server.ledger) == 1  # the refused request was not billed


def test_altered_blocks_are_refused_too() -> None:
    with FakeOpenRouter(script(), api_key=KEY,
                        options=FakeOptions(reasoning=True)) as server, client(server) as llm:
        reply, _ = llm.chat(MESSAGES, tools=TOOLS)
        altered = assistant_message(reply)
        altered["reasoning_details"] = [dict(block) for block in altered["reasoning_details"]]
        altered["reasoning_details"][0]["text"] += " (edited)"
        history = [*MESSAGES, altered, *[
            {"role": "tool", "tool_call_id": c["id"], "content": "x"} for c in reply["tool_calls"]]]
        with pytest.raises(RequestRejectedError, match="Invalid `signature`"):
            llm.chat(history, tools=TOOLS)


def test_history_counts_reasoning_blocks_and_never_drops_them() -> None:
    big = "x" * 4000
    blocks = [{"type": "reasoning.encrypted", "data": big, "index": 0}]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
    for step in range(6):
        call = {"id": f"call_{step}", "type": "function",
                "function": {"name": "read_file", "arguments": "{}"}}
        messages.append({"role": "assistant", "content": None, "tool_calls": [call],
                         "reasoning_details": blocks, "reasoning": "thinking"})
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": big})
    without = [{k: v for k, v in m.items() if k != "reasoning_details"} for m in messages]
    assert history_chars(messages) - history_chars(without) >= 6 * len(big)
    policy = HistoryPolicy(high_watermark_chars=20_000, low_watermark_chars=10_000,
                           keep_recent_tool_results=1)
    elided = compact_history(messages, policy)
    assert elided == 5  # every tool result but the last: the blocks alone exceed the low mark
    assert trim_for_context(messages) == 1  # after "context length exceeded": the last result
    assistants = [m for m in messages if m["role"] == "assistant"]
    assert len(assistants) == 6 and all(m["reasoning_details"] == blocks for m in assistants)
    assert all(m["reasoning"] == "thinking" for m in assistants)


@pytest.mark.parametrize("capture", [False, True], ids=["no-content", "content"])
def test_reasoning_text_is_on_spans_only_with_content_capture(capture: bool) -> None:
    exporter = InMemorySpanExporter()
    telemetry = Telemetry.for_testing(exporter, capture_content=capture)
    with FakeOpenRouter(script(), api_key=KEY, options=FakeOptions(reasoning=True)) as server:
        with client(server, telemetry=telemetry) as llm:
            converse(llm)
    chats = [span for span in exporter.get_finished_spans()
             if span.attributes.get(attrs.GEN_AI_OPERATION_NAME) == attrs.OPERATION_CHAT]
    assert len(chats) == 2
    assert all(span.attributes[attrs.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] > 0 for span in chats)
    text = json.dumps([dict(span.attributes) for span in exporter.get_finished_spans()])
    assert (REASONING_MARK in text) is capture
    if capture:
        output = json.loads(chats[0].attributes[attrs.GEN_AI_OUTPUT_MESSAGES])
        assert REASONING_MARK in output[0]["reasoning"]
