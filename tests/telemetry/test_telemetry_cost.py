from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Iterator
from dataclasses import fields

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Status, StatusCode
from span_helpers import chat_answer

from telemetry import ChatAnswer, CostSpanProcessor, CostSummary, Telemetry, UsageTotals
from telemetry import attributes as attrs
from telemetry.usage import TOKEN_FIELDS, UsageStats

MODEL = "anthropic/claude-sonnet-4"
PHASES = ("exploration", "outline", "sections")


@pytest.fixture
def tel() -> Iterator[Telemetry]:
    telemetry = Telemetry.for_testing()
    yield telemetry
    telemetry.shutdown()


def usage(**overrides: object) -> ChatAnswer:
    fields: dict[str, object] = dict(generation_id="gen-1", response_model=MODEL,
                                     finish_reasons=["stop"], prompt_tokens=100,
                                     completion_tokens=20)
    fields.update(overrides)
    return chat_answer(**fields)


def call(tel: Telemetry, phase: str | None, **overrides: object) -> None:
    if phase is None:
        tel.start_chat(MODEL, "openrouter").stop(usage(**overrides))
        return
    with tel.phase_span(phase):
        tel.start_chat(MODEL, "openrouter").stop(usage(**overrides))


def test_a_run_with_every_kind_of_call(tel: Telemetry) -> None:
    call(tel, "exploration", cost_usd=0.01, cost_source="inline", cached_tokens=60,
         reasoning_tokens=5)
    call(tel, "exploration", cost_usd=0.02, cost_source="inline", cache_write_tokens=9)
    with tel.phase_span("outline"):
        settled = tel.start_chat(MODEL, "openrouter")
        settled.stop(usage(generation_id="gen-s", cost_pending=True))
        unknown = tel.start_chat(MODEL, "openrouter")
        unknown.stop(usage(generation_id="gen-u", cost_pending=True))
        still_pending = tel.start_chat(MODEL, "openrouter")
        still_pending.stop(usage(generation_id="gen-p", cost_pending=True))
        tel.start_chat(MODEL, "openrouter").fail(TimeoutError("read timed out"))
    call(tel, "sections")  # no cost reported at all (e.g. plain OpenAI)
    call(tel, None, cost_usd=0.5, upstream_cost_usd=1.25, is_byok=True)  # outside any phase
    tel.settle_cost(settled, cost_usd=0.003, lookup_attempts=2)
    tel.settle_cost(unknown, cost_usd=None, lookup_attempts=6, error="404")

    summary = tel.cost.summary()
    assert list(summary.phases) == ["exploration", "outline", "sections", "other"]
    assert summary.phases["exploration"] == UsageTotals(
        cost_usd=0.03, prompt_tokens=200, completion_tokens=40, cached_tokens=60,
        cache_write_tokens=9, reasoning_tokens=5, calls=2, calls_with_cost=2)
    assert summary.phases["outline"] == UsageTotals(
        cost_usd=0.003, prompt_tokens=300, completion_tokens=60, calls=3, calls_with_cost=1,
        calls_without_cost=1, calls_pending=1, failed_calls=1)
    assert summary.phases["sections"] == UsageTotals(
        prompt_tokens=100, completion_tokens=20, calls=1, calls_without_cost=1)
    assert summary.phases["other"] == UsageTotals(
        cost_usd=0.5, upstream_cost_usd=1.25, prompt_tokens=100, completion_tokens=20, calls=1,
        calls_with_cost=1)
    total = summary.total
    assert total.cost_usd == math.fsum([0.01, 0.02, 0.003, 0.5])
    assert total.upstream_cost_usd == 1.25
    assert total.total_spend_usd == math.fsum([0.01, 0.02, 0.003, 0.5, 1.25])
    assert (total.calls, total.calls_with_cost, total.calls_without_cost, total.calls_pending,
            total.failed_calls) == (7, 4, 2, 1, 1)
    assert total.total_tokens == 840
    assert total.complete is False
    assert summary.phases["exploration"].complete is True


def test_summary_is_a_snapshot(tel: Telemetry) -> None:
    before = tel.cost.summary()
    call(tel, "outline", cost_usd=0.1)
    assert before == CostSummary()
    assert tel.cost.summary().total.calls == 1


def test_rollup_attributes_and_dict_form() -> None:
    totals = UsageTotals(cost_usd=0.2, prompt_tokens=10, completion_tokens=5, calls=3,
                         calls_with_cost=1, calls_without_cost=1, calls_pending=1)
    assert totals.rollup_attributes() == {
        attrs.ROLLUP_COST_USD: 0.2, attrs.ROLLUP_COST_COMPLETE: False,
        attrs.ROLLUP_INPUT_TOKENS: 10, attrs.ROLLUP_OUTPUT_TOKENS: 5, attrs.ROLLUP_CALLS: 3,
        attrs.ROLLUP_CALLS_WITHOUT_COST: 2}
    as_dict = CostSummary(totals, {"outline": totals}).to_dict()
    assert as_dict["total"]["total_tokens"] == 15
    assert as_dict["phases"]["outline"]["complete"] is False
    assert as_dict["total"]["total_spend_usd"] == 0.2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PHASES),
                          st.floats(min_value=0, max_value=5, allow_nan=False, width=64)),
                max_size=40),
       st.randoms(use_true_random=False))
def test_total_is_the_exact_sum_whatever_the_order(calls: list[tuple[str, float]],
                                                   rng: random.Random) -> None:
    processor = CostSpanProcessor()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("test")
    shuffled = list(calls)
    rng.shuffle(shuffled)
    for phase, cost in shuffled:
        tracer.start_span("chat m", attributes={
            attrs.GEN_AI_OPERATION_NAME: "chat", attrs.PHASE: phase,
            attrs.GEN_AI_USAGE_COST: cost}).end()
    summary = processor.summary()
    assert summary.total.cost_usd == math.fsum(cost for _, cost in calls)
    for phase in PHASES:
        billed = [cost for p, cost in calls if p == phase]
        if billed:
            assert summary.phases[phase].cost_usd == math.fsum(billed)
    assert math.isclose(summary.total.cost_usd,
                        math.fsum(t.cost_usd for t in summary.phases.values()), abs_tol=1e-9)


_OUTCOMES = st.sampled_from(["cost", "pending", "no_cost", "failed"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PHASES), _OUTCOMES,
                          st.sampled_from(["settle_known", "settle_unknown", "leave"])),
                max_size=25))
def test_calls_always_add_up(plan: list[tuple[str, str, str]]) -> None:
    tel = Telemetry.for_testing()
    pending = []
    for phase, outcome, settlement in plan:
        with tel.phase_span(phase):
            chat = tel.start_chat(MODEL, "openrouter")
            if outcome == "failed":
                chat.fail(ConnectionError("reset"))
                continue
            chat.stop(usage(cost_usd=0.001 if outcome == "cost" else None,
                            cost_pending=outcome == "pending"))
        if outcome == "pending":
            pending.append((chat, settlement))
    for chat, settlement in pending:
        if settlement != "leave":
            tel.settle_cost(chat, cost_usd=0.002 if settlement == "settle_known" else None,
                            lookup_attempts=1)
    for totals in (tel.cost.summary().total, *tel.cost.summary().phases.values()):
        assert totals.calls == totals.calls_with_cost + totals.calls_without_cost + totals.calls_pending
        assert totals.calls_pending >= 0
    total = tel.cost.summary().total
    assert total.failed_calls == sum(1 for _, outcome, _ in plan if outcome == "failed")
    assert total.calls_pending == sum(1 for _, o, s in plan if o == "pending" and s == "leave")
    tel.shutdown()


def test_concurrent_calls_are_all_counted(tel: Telemetry) -> None:
    costs = [round(0.0001 * (i % 17 + 1), 6) for i in range(400)]
    chunks = [costs[i::8] for i in range(8)]

    def worker(chunk: list[float]) -> None:
        for cost in chunk:
            call(tel, PHASES[len(chunk) % 3], cost_usd=cost)

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    total = tel.cost.summary().total
    assert total.calls == total.calls_with_cost == 400
    assert total.cost_usd == math.fsum(costs)
    assert total.prompt_tokens == 400 * 100


def test_spans_without_usable_attributes_are_ignored_or_tolerated() -> None:
    processor = CostSpanProcessor()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("test")
    tracer.start_span("plain").end()
    tracer.start_span("execute_tool x", attributes={attrs.GEN_AI_OPERATION_NAME: "execute_tool",
                                                    attrs.GEN_AI_USAGE_COST: 9.0}).end()
    tracer.start_span("chat m", attributes={
        attrs.GEN_AI_OPERATION_NAME: "chat", attrs.GEN_AI_USAGE_COST: "0.5",
        attrs.GEN_AI_USAGE_INPUT_TOKENS: "12", attrs.GEN_AI_USAGE_OUTPUT_TOKENS: True}).end()
    failed = tracer.start_span("chat m", attributes={attrs.GEN_AI_OPERATION_NAME: "chat"})
    failed.set_status(Status(StatusCode.ERROR, "boom"))
    failed.end()
    total = processor.summary().total
    assert total == UsageTotals(calls=1, calls_without_cost=1, failed_calls=1)
    assert list(processor.summary().phases) == ["other"]


def test_callbacks_never_raise(caplog: pytest.LogCaptureFixture) -> None:
    processor = CostSpanProcessor()
    with caplog.at_level(logging.WARNING, logger="telemetry"):
        processor.on_end(object())  # type: ignore[arg-type]
        processor.on_start(object())  # type: ignore[arg-type]
    assert len(caplog.records) == 2
    assert processor.summary() == CostSummary()
    assert processor.force_flush() is True
    processor.shutdown()


def test_phase_is_inherited_but_never_overwritten(tel: Telemetry) -> None:
    with tel.phase_span("sections"):
        with tel.step_span("section 1: Intro") as step:
            chat = tel.start_chat(MODEL, "openrouter", request_attributes={attrs.PHASE: "outline"})
            chat.stop(usage())
    assert (step.attributes or {})[attrs.PHASE] == "sections"  # type: ignore[attr-defined]
    assert chat.phase == "outline"
    assert list(tel.cost.summary().phases) == ["outline"]


def test_a_settlement_after_shutdown_still_counts() -> None:
    # Cost look-ups can finish after the exporters have been shut down; the summary must not
    # depend on them.
    tel = Telemetry.for_testing()
    with tel.phase_span("sections"):
        chat = tel.start_chat(MODEL, "openrouter")
        chat.stop(usage(cost_pending=True))
    tel.shutdown()
    tel.settle_cost(chat, cost_usd=0.07, lookup_attempts=2)
    totals = tel.cost.summary().phases["sections"]
    assert (totals.cost_usd, totals.calls_with_cost, totals.calls_pending) == (0.07, 1, 0)


def test_the_totals_sum_every_token_count_of_the_usage_record(tel: Telemetry) -> None:
    # One record, read back from the span: every token count a call carries reaches the totals.
    assert set(TOKEN_FIELDS) <= {field.name for field in fields(UsageTotals)}
    usage = UsageStats(prompt_tokens=90, completion_tokens=40, total_tokens=130, cost_usd=0.25,
                       cached_tokens=30, reasoning_tokens=12, cache_write_tokens=7,
                       upstream_cost_usd=1.5, is_byok=True, generation_id="gen-9",
                       cost_source="inline")
    tel.start_chat(MODEL, "openrouter").stop(ChatAnswer(usage, MODEL, ["stop"]))
    total = tel.cost.summary().total
    assert {name: getattr(total, name) for name in TOKEN_FIELDS} == usage.token_counts()
    assert (total.cost_usd, total.upstream_cost_usd, total.total_tokens) == (0.25, 1.5, 130)
    assert (total.calls, total.calls_with_cost, total.complete) == (1, 1, True)
