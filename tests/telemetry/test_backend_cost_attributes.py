"""The billed cost as each backend reads it: ``mlflow.llm.cost`` (MLflow) and ``llm.cost.*``
(Phoenix), with the input/output split derived from list prices; late and unknown costs."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from span_helpers import chat_answer

from tech_writer.demo import DemoModel, FakeOpenRouter, FakeOptions
from tech_writer.demo.pricing import DEFAULT_PRICING
from tech_writer.llm import LLMClient
from telemetry import ChatAnswer, Telemetry, TokenPrices
from telemetry import attributes as attrs
from telemetry.cost import CostSplit, split_billed_cost

MODEL = "openai/gpt-5.1"
PRICES = TokenPrices(1e-6, 2e-6)  # USD per token: input, output


# --- the split --------------------------------------------------------------------------------
def test_the_bill_is_split_in_the_proportion_of_list_prices() -> None:
    # At list price: 1000 input tokens cost 0.001, 500 output tokens 0.001; the bill is double.
    split = split_billed_cost(0.004, PRICES, input_tokens=1000, output_tokens=500)
    assert split == CostSplit(input_usd=0.002, output_usd=0.002, total_usd=0.004)


def test_cached_and_cache_write_tokens_weigh_at_their_own_prices() -> None:
    prices = TokenPrices(1e-6, 4e-6, cache_read_usd_per_token=1e-7,
                         cache_write_usd_per_token=1.25e-6)
    split = split_billed_cost(1.0, prices, input_tokens=1000, output_tokens=100,
                              cached_tokens=800, cache_write_tokens=100)
    assert split is not None
    input_list = math.fsum([100 * 1e-6, 800 * 1e-7, 100 * 1.25e-6])  # 2.05e-4
    assert split.input_usd == pytest.approx(input_list / (input_list + 100 * 4e-6), rel=1e-12)
    # Without cache prices, cached tokens weigh as ordinary input: a larger input share.
    plain = split_billed_cost(1.0, PRICES, input_tokens=1000, output_tokens=100,
                              cached_tokens=800, cache_write_tokens=100)
    assert plain is not None and plain.input_usd > split.input_usd


def test_a_request_fee_counts_with_the_input() -> None:
    prices = TokenPrices(0.0, 1e-6, request_usd=0.001)
    split = split_billed_cost(0.002, prices, input_tokens=10, output_tokens=1000)
    assert split == CostSplit(0.001, 0.001, 0.002)


def test_a_model_priced_on_one_side_only_puts_the_whole_bill_there() -> None:
    split = split_billed_cost(0.3, TokenPrices(0.0, 2e-6), input_tokens=5000, output_tokens=10)
    assert split == CostSplit(0.0, 0.3, 0.3)


def test_a_free_model_has_nothing_to_split() -> None:
    free = TokenPrices(0.0, 0.0)
    assert split_billed_cost(0.0, free, input_tokens=100, output_tokens=10) == CostSplit(0, 0, 0)
    # Billed although its list prices are zero: no proportion to derive shares from.
    assert split_billed_cost(0.01, free, input_tokens=100, output_tokens=10) is None


def test_a_model_without_prices_gets_no_split() -> None:
    assert split_billed_cost(0.01, None, input_tokens=100, output_tokens=10) is None
    assert split_billed_cost(0.0, None, input_tokens=100, output_tokens=10) == CostSplit(0, 0, 0)


@pytest.mark.parametrize("bill", [math.nan, math.inf, -0.01])
def test_a_bill_that_is_not_a_cost_is_not_split(bill: float) -> None:
    assert split_billed_cost(bill, PRICES, input_tokens=100, output_tokens=10) is None


_PRICE = st.floats(min_value=0, max_value=1e-3, allow_subnormal=False)


@settings(max_examples=400, deadline=None)
@given(bill=st.floats(min_value=0, max_value=1000, allow_subnormal=False),
       input_price=_PRICE, output_price=_PRICE, cache_price=st.none() | _PRICE,
       input_tokens=st.integers(0, 2_000_000), output_tokens=st.integers(0, 200_000),
       cached_tokens=st.integers(0, 2_000_000))
def test_the_shares_always_add_up_to_the_bill_exactly(
        bill: float, input_price: float, output_price: float, cache_price: float | None,
        input_tokens: int, output_tokens: int, cached_tokens: int) -> None:
    prices = TokenPrices(input_price, output_price, cache_read_usd_per_token=cache_price)
    split = split_billed_cost(bill, prices, input_tokens=input_tokens, output_tokens=output_tokens,
                              cached_tokens=cached_tokens)
    if split is None:  # only when neither side has any weight
        assert bill > 0
        return
    assert split.total_usd == bill
    assert split.input_usd >= 0 and split.output_usd >= 0
    assert split.input_usd + split.output_usd == bill  # in floating point, not approximately


def test_shares_whose_plain_difference_misses_the_bill_are_corrected() -> None:
    # Here the proportional input share plus (bill - input share) is one unit in the last place
    # away from the bill; the shares written still add up to it.
    bill, input_tokens, output_tokens = 0.7736, 1359, 1364
    proportional = bill * (input_tokens * 1e-6 / (input_tokens * 1e-6 + output_tokens * 2e-6))
    assert proportional + (bill - proportional) != bill
    split = split_billed_cost(bill, PRICES, input_tokens=input_tokens, output_tokens=output_tokens)
    assert split is not None
    assert split.input_usd + split.output_usd == bill
    assert split.input_usd == pytest.approx(proportional, rel=1e-15)


# --- the attributes on the chat span -------------------------------------------------------------
def usage(**overrides: object) -> ChatAnswer:
    fields: dict[str, object] = dict(generation_id="gen-1", response_model=MODEL,
                                     finish_reasons=["stop"], prompt_tokens=1000,
                                     completion_tokens=500)
    fields.update(overrides)
    return chat_answer(**fields)


def chat_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = [s for s in exporter.get_finished_spans() if s.name == f"chat {MODEL}"]
    return span


def mlflow_cost(span: ReadableSpan) -> object:
    value = (span.attributes or {})[attrs.MLFLOW_LLM_COST]
    assert isinstance(value, str)  # MLflow stores a JSON object; OTLP attributes are flat
    return json.loads(value)


def test_a_billed_call_carries_mlflow_cost_in_mlflows_own_shape(
        tel: Telemetry, exporter: InMemorySpanExporter) -> None:
    tel.start_chat(MODEL, "openrouter").stop(usage(cost_usd=0.004, prices=PRICES))
    span = chat_span(exporter)
    attributes = span.attributes or {}
    assert attributes[attrs.MLFLOW_LLM_COST] == (
        '{"input_cost": 0.002, "output_cost": 0.002, "total_cost": 0.004}')
    assert attributes[attrs.LLM_COST_PROMPT] == attributes[attrs.LLM_COST_COMPLETION] == 0.002
    assert attributes[attrs.GEN_AI_USAGE_COST] == attributes[attrs.LLM_COST_TOTAL] == 0.004


def test_the_total_is_the_bill_to_the_last_bit(tel: Telemetry,
                                               exporter: InMemorySpanExporter) -> None:
    bill = 0.08857605000000001
    tel.start_chat(MODEL, "openrouter").stop(usage(cost_usd=bill, cached_tokens=900,
                                                   prices=PRICES))
    cost = mlflow_cost(chat_span(exporter))
    assert isinstance(cost, dict)
    assert cost["total_cost"] == bill
    assert cost["input_cost"] + cost["output_cost"] == bill


def test_without_prices_mlflow_gets_the_total_alone(tel: Telemetry,
                                                    exporter: InMemorySpanExporter) -> None:
    tel.start_chat(MODEL, "openrouter").stop(usage(cost_usd=0.01))
    span = chat_span(exporter)
    assert mlflow_cost(span) == {"total_cost": 0.01}
    assert attrs.LLM_COST_PROMPT not in (span.attributes or {})


def test_a_call_of_unknown_cost_carries_the_empty_marker_and_no_cost(
        tel: Telemetry, exporter: InMemorySpanExporter) -> None:
    # With no mlflow.llm.cost at all MLflow would price the call from its own table.
    tel.start_chat(MODEL, "openrouter").stop(usage(prices=PRICES))
    attributes = chat_span(exporter).attributes or {}
    assert attributes[attrs.MLFLOW_LLM_COST] == "{}"
    assert not {attrs.GEN_AI_USAGE_COST, attrs.LLM_COST_TOTAL, attrs.LLM_COST_PROMPT} & set(
        attributes)


def test_a_late_cost_is_on_the_chat_span_when_it_is_exported(
        tel: Telemetry, exporter: InMemorySpanExporter) -> None:
    with tel.phase_span("sections"):
        chat = tel.start_chat(MODEL, "openrouter")
        chat.stop(usage(generation_id="gen-late", cost_pending=True, prices=PRICES))
    # Answered, cost not known yet: nothing exported, the call already counts as pending.
    assert [s.name for s in exporter.get_finished_spans()] == ["phase sections"]
    waiting = tel.cost.summary().phases["sections"]
    assert (waiting.calls, waiting.calls_pending, waiting.prompt_tokens) == (1, 1, 1000)

    tel.settle_cost(chat, cost_usd=0.004, lookup_attempts=2)
    span = chat_span(exporter)
    assert mlflow_cost(span) == {"input_cost": 0.002, "output_cost": 0.002, "total_cost": 0.004}
    assert (span.attributes or {})[attrs.COST_SOURCE] == "generation"
    settled = tel.cost.summary().phases["sections"]
    assert (settled.cost_usd, settled.calls, settled.calls_with_cost, settled.calls_pending) == (
        0.004, 1, 1, 0)


def test_a_late_cost_that_stays_unknown_keeps_the_marker(
        tel: Telemetry, exporter: InMemorySpanExporter) -> None:
    chat = tel.start_chat(MODEL, "openrouter")
    chat.stop(usage(generation_id="gen-lost", cost_pending=True, prices=PRICES))
    tel.settle_cost(chat, cost_usd=None, lookup_attempts=6, error="404")
    attributes = chat_span(exporter).attributes or {}
    assert attributes[attrs.MLFLOW_LLM_COST] == "{}"
    assert attributes[attrs.COST_PENDING] is False
    assert attrs.GEN_AI_USAGE_COST not in attributes
    total = tel.cost.summary().total
    assert (total.calls, total.calls_without_cost, total.calls_pending) == (1, 1, 0)


def test_shutdown_exports_a_chat_still_waiting_for_its_cost(exporter: InMemorySpanExporter) -> None:
    tel = Telemetry.for_testing(exporter)
    chat = tel.start_chat(MODEL, "openrouter")
    chat.stop(usage(cost_pending=True))
    tel.shutdown()
    attributes = chat_span(exporter).attributes or {}
    assert attributes[attrs.COST_PENDING] is True
    assert attributes[attrs.MLFLOW_LLM_COST] == "{}"
    assert tel.cost.summary().total.calls_pending == 1
    tel.settle_cost(chat, cost_usd=0.07, lookup_attempts=2)  # too late for the chat span
    total = tel.cost.summary().total
    assert (total.cost_usd, total.calls_with_cost, total.calls_pending) == (0.07, 1, 0)


# --- from the client: the split uses the model's /models prices ------------------------------------
def test_the_client_splits_with_the_models_list_prices(exporter: InMemorySpanExporter) -> None:
    key = "sk-or-split-test-0123456789"
    tel = Telemetry.for_testing(exporter)
    with FakeOpenRouter(DemoModel(), api_key=key,
                        options=FakeOptions(cached_tokens=40)) as server, LLMClient(
            MODEL, "openrouter", key, server.base_url, telemetry=tel) as llm:
        _, stats = llm.chat([{"role": "user", "content": "Say hello. " * 60}])
        (billed,) = server.ledger
    price = DEFAULT_PRICING[MODEL]
    input_list = math.fsum([(billed.prompt_tokens - billed.cached_tokens) * price.prompt,
                            billed.cached_tokens * price.input_cache_read])
    output_list = billed.completion_tokens * price.completion
    cost = mlflow_cost(chat_span(exporter))
    assert isinstance(cost, dict)
    assert cost["total_cost"] == billed.cost_usd == stats.cost_usd
    assert cost["input_cost"] + cost["output_cost"] == billed.cost_usd
    # The demo bills at list price, so the derived shares are the list-price parts.
    assert cost["input_cost"] == pytest.approx(input_list, rel=1e-9)
    assert cost["output_cost"] == pytest.approx(output_list, rel=1e-9)
    tel.shutdown()


def test_a_call_whose_settlement_is_being_written_counts_once_as_pending(tel: Telemetry) -> None:
    chat = tel.start_chat(MODEL, "openrouter")
    chat.stop(usage(cost_pending=True))
    # What settle_cost() writes onto the open span just before it ends it: a summary taken in
    # between still sees one pending call, not a call with cost and not no call.
    chat.span.set_attributes({attrs.COST_PENDING: False, attrs.GEN_AI_USAGE_COST: 0.5})
    total = tel.cost.summary().total
    assert (total.calls, total.calls_pending, total.cost_usd) == (1, 1, 0.0)
    chat.span.end()
    total = tel.cost.summary().total
    assert (total.calls, total.calls_with_cost, total.cost_usd) == (1, 1, 0.5)
