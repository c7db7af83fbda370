"""The pieces that keep the client current with OpenRouter (OpenAPI schema, August 2026): output
caps, reasoning efforts, the Broadcast ``trace`` object, ``error.availability``, ``/key``."""

from __future__ import annotations

import pytest
from opentelemetry.trace import INVALID_SPAN_CONTEXT, SpanContext, TraceFlags

from tech_writer.demo import FakeOpenRouter, FakeOptions
from tech_writer.llm.availability import read_availability
from tech_writer.llm.broadcast import trace_object
from tech_writer.llm.capabilities import (
    REASONING_EFFORTS,
    parse_capabilities,
    parse_model_reasoning,
    reasoning_parameter,
)
from tech_writer.llm.key_limits import fetch_key_limits, parse_key_limits
from tech_writer.llm.output_cap import PHASE_ANSWER_TOKENS, OutputCaps, grown
from tech_writer.llm.pricing import ModelPricing


# --- output caps ----------------------------------------------------------------------------
def test_each_phase_gets_what_its_answer_needs_within_the_models_maximum() -> None:
    caps = OutputCaps()
    assert caps.for_phase("sections") == PHASE_ANSWER_TOKENS["sections"] == 4096
    assert caps.for_phase("outline") == 2048 and caps.for_phase("evaluate") == 2048
    assert caps.for_phase("exploration") == 4096 and caps.for_phase(None) == 4096
    assert OutputCaps(model_max=2000).for_phase("sections") == 2000


@pytest.mark.parametrize("effort, factor", [("none", 1), ("low", 1.25), ("medium", 2),
                                            ("high", 5), ("max", 20)])
def test_reasoning_is_given_room_before_the_answer(effort: str, factor: float) -> None:
    # OpenRouter gives reasoning a share of the cap (high: 80 %): the answer keeps what it needs.
    assert OutputCaps(effort=effort).for_phase("sections") == round(4096 * factor)


def test_a_truncated_answer_is_retried_with_a_larger_cap_once_it_can_grow() -> None:
    assert grown(4096, None) == 8192
    assert grown(4096, 6000) == 6000
    assert grown(6000, 6000) is None


def test_the_worst_case_prices_prompt_tokens_as_cache_writes_where_dearer() -> None:
    anthropic = ModelPricing("a", 3e-6, 1.5e-5, cache_write_usd_per_token=3.75e-6)
    assert anthropic.prompt_worst_usd_per_token == 3.75e-6
    assert anthropic.worst_case(1000, 100) == pytest.approx(1000 * 3.75e-6 + 100 * 1.5e-5)
    no_write_price = ModelPricing("b", 1e-6, 2e-6, cache_write_usd_per_token=0.0)
    assert no_write_price.worst_case(1000, 0) == pytest.approx(1e-3)


# --- reasoning ------------------------------------------------------------------------------
def test_every_effort_of_the_schema_is_accepted_and_sent_as_effort() -> None:
    assert REASONING_EFFORTS == ("max", "xhigh", "high", "medium", "low", "minimal", "none")
    # The schema's ChatRequest.reasoning has effort (and summary) only: no {"enabled": false}.
    assert reasoning_parameter("none") == {"effort": "none"}
    assert reasoning_parameter("xhigh") == {"effort": "xhigh"}


ENTRY = {"id": "g/flash", "supported_parameters": ["tools", "reasoning"],
         "top_provider": {"max_completion_tokens": 65536},
         "reasoning": {"supported_efforts": ["high", "medium", "low", "minimal"],
                       "default_effort": "medium", "default_enabled": True, "mandatory": True}}


def test_model_reasoning_is_read_from_models() -> None:
    capabilities = parse_capabilities("g/flash", ENTRY)
    assert capabilities.max_completion_tokens == 65536
    reasoning = capabilities.reasoning
    assert reasoning is not None and reasoning.mandatory
    assert reasoning.supported_efforts == ("high", "medium", "low", "minimal")
    assert reasoning.default_effort == "medium"
    assert parse_model_reasoning({"supported_efforts": None}) is None  # mandatory is required
    assert parse_model_reasoning({"mandatory": False, "supported_efforts": None}
                                 ).supported_efforts is None  # type: ignore[union-attr]


def test_an_effort_the_model_does_not_take_is_refused_in_one_line() -> None:
    capabilities = parse_capabilities("g/flash", ENTRY)
    assert capabilities.reasoning_refusal("medium") is None
    assert capabilities.reasoning_refusal(None) is None
    refusal = capabilities.reasoning_refusal("none")
    assert refusal is not None and "mandatory" in refusal and "\n" not in refusal
    assert "choose one of high, medium, low, minimal" in refusal
    xhigh = capabilities.reasoning_refusal("xhigh")
    assert xhigh is not None and "does not support that effort" in xhigh
    anything = parse_capabilities("m", {**ENTRY, "reasoning": {"mandatory": False,
                                                               "supported_efforts": None}})
    assert all(anything.reasoning_refusal(e) is None for e in REASONING_EFFORTS)
    unlisted = parse_capabilities("m", {**ENTRY, "supported_parameters": ["tools"]})
    assert unlisted.reasoning_refusal("none") is None  # not sent at all (warned), not refused


# --- Broadcast ------------------------------------------------------------------------------
def test_the_trace_object_names_our_trace_and_the_chat_span_in_w3c_hex() -> None:
    context = SpanContext(trace_id=0x0AF7651916CD43DD8448EB211C80319C,
                          span_id=0x00F067AA0BA902B7, is_remote=False,
                          trace_flags=TraceFlags(TraceFlags.SAMPLED))
    sent = trace_object(context, model="openai/gpt-5.1", phase="sections")
    assert sent == {"trace_id": "0af7651916cd43dd8448eb211c80319c",
                    "parent_span_id": "00f067aa0ba902b7",
                    "span_name": "openrouter openai/gpt-5.1 (sections)",
                    "generation_name": "generation openai/gpt-5.1"}
    assert trace_object(INVALID_SPAN_CONTEXT, model="m", phase=None) is None
    unsampled = SpanContext(trace_id=1, span_id=2, is_remote=False,
                            trace_flags=TraceFlags(TraceFlags.DEFAULT))
    assert trace_object(unsampled, model="m", phase=None) is None  # not exported: no parent


# --- error.availability ---------------------------------------------------------------------
def test_availability_is_read_from_the_error_and_validated() -> None:
    body = {"error": {"message": "All providers are at capacity.", "code": 429,
                      "availability": {"code": "capacity_exhausted", "retryable": True,
                                       "retry_after": 40, "requested_models": ["a/b"],
                                       "fallback_models": ["a/c"],
                                       "docs_url": "https://openrouter.ai/docs/errors"}}}
    found = read_availability(body)
    assert found is not None and found.retryable and found.retry_after_s == 40.0
    assert found.advice() == ("every provider of the model is at capacity: retry later; "
                              "OpenRouter suggests a/c [capacity_exhausted]")
    filtered = read_availability({"error": {"availability": {
        "code": "constraint_filtered", "retryable": False, "excluded_by": ["require_parameters"],
        "constraint": {"field": "require_parameters", "detail": "..."}}}})
    assert filtered is not None and "leave out --reasoning" in filtered.advice()
    assert read_availability({"error": {"code": 404, "message": "x"}}) is None
    assert read_availability({"error": {"availability": {"code": "x"}}}) is None  # no retryable
    odd = read_availability({"error": {"availability": {"code": "x", "retryable": False,
                                                        "retry_after": -5}}})
    assert odd is not None and odd.retry_after_s is None


# --- /key -----------------------------------------------------------------------------------
def test_key_limits_are_read_and_validated() -> None:
    assert parse_key_limits({"data": {"limit": 2.0, "limit_remaining": 0.25}}) is not None
    limits = parse_key_limits({"data": {"limit": None, "limit_remaining": None}})
    assert limits is not None and limits.remaining_usd is None
    bad = parse_key_limits({"data": {"limit": 1, "limit_remaining": float("nan")}})
    assert bad is not None and bad.remaining_usd is None
    assert parse_key_limits({"error": {}}) is None

    with FakeOpenRouter(api_key="k", options=FakeOptions(credit_usd=0.5)) as server:
        read = fetch_key_limits(server.base_url, "k")
        refused = fetch_key_limits(server.base_url, "wrong-key")  # 401: not known, not fatal
    assert read is not None and read.remaining_usd == 0.5 and read.limit_usd == 0.5
    assert refused is None
