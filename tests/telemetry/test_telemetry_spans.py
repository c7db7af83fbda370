from __future__ import annotations

import contextvars
import json
import logging
import threading

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode
from span_helpers import chat_answer

from telemetry import ChatAnswer, Telemetry
from telemetry import attributes as attrs

MODEL = "openai/gpt-5.1"


def usage(**overrides: object) -> ChatAnswer:
    fields: dict[str, object] = dict(generation_id="gen-1", response_model=MODEL,
                                     finish_reasons=["stop"], prompt_tokens=120,
                                     completion_tokens=30)
    fields.update(overrides)
    return chat_answer(**fields)


def by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    spans = exporter.get_finished_spans()
    named = {span.name: span for span in spans}
    assert len(named) == len(spans), "span names are not unique in this test"
    return named


def test_run_phase_step_and_tool_spans_nest(tel: Telemetry, exporter: InMemorySpanExporter) -> None:
    with tel.run_span(agent_name="tech_writer", attributes={attrs.RUN_REPO: "demo"}):
        with tel.phase_span("sections"):
            with tel.step_span("section 2: Storage",
                               {attrs.SECTION_TITLE: "Storage", attrs.SECTION_INDEX: 2}):
                with tel.tool_span("read_file", "call_1", arguments='{"path": "a.py"}') as tool:
                    tool.set_result("line1\nline2é", is_error=False, truncated=True)
    spans = by_name(exporter)
    run, phase = spans["invoke_agent tech_writer"], spans["phase sections"]
    step, tool_span = spans["section 2: Storage"], spans["execute_tool read_file"]
    assert run.parent is None
    assert phase.parent is not None and phase.parent.span_id == run.context.span_id
    assert step.parent is not None and step.parent.span_id == phase.context.span_id
    assert tool_span.parent is not None and tool_span.parent.span_id == step.context.span_id
    assert all(span.kind is SpanKind.INTERNAL for span in spans.values())
    assert dict(run.attributes or {}) == {
        attrs.GEN_AI_OPERATION_NAME: "invoke_agent", attrs.GEN_AI_AGENT_NAME: "tech_writer",
        attrs.RUN_REPO: "demo"}
    assert dict(phase.attributes or {}) == {attrs.PHASE: "sections"}
    assert dict(step.attributes or {}) == {
        attrs.SECTION_TITLE: "Storage", attrs.SECTION_INDEX: 2, attrs.PHASE: "sections"}
    assert dict(tool_span.attributes or {}) == {
        attrs.GEN_AI_OPERATION_NAME: "execute_tool",
        attrs.GEN_AI_TOOL_NAME: "read_file",
        attrs.GEN_AI_TOOL_CALL_ID: "call_1",
        attrs.GEN_AI_TOOL_TYPE: "function",
        attrs.PHASE: "sections",
        attrs.TOOL_RESULT_BYTES: len("line1\nline2é".encode()),
        attrs.TOOL_RESULT_TRUNCATED: True,
    }
    assert all(span.status.status_code is StatusCode.UNSET for span in spans.values())


def test_chat_span_carries_request_response_usage_and_cost(
        tel: Telemetry, exporter: InMemorySpanExporter) -> None:
    with tel.phase_span("exploration"):
        chat = tel.start_chat(MODEL, "openrouter", server_address="openrouter.ai", server_port=443,
                              request_attributes={"gen_ai.request.temperature": 0.2},
                              input_messages=[{"role": "user", "content": "hi"}])
        assert chat.phase == "exploration"
        chat.stop(usage(cached_tokens=100, cache_write_tokens=7, reasoning_tokens=12,
                        cost_usd=0.0123, cost_source="inline", upstream_cost_usd=0.002,
                        is_byok=True, simulated=True,
                        output_messages=[{"role": "assistant", "content": "hello"}]))
    span = by_name(exporter)[f"chat {MODEL}"]
    phase = by_name(exporter)["phase exploration"]
    assert span.kind is SpanKind.CLIENT
    assert span.parent is not None and span.parent.span_id == phase.context.span_id
    assert dict(span.attributes or {}) == {
        attrs.GEN_AI_OPERATION_NAME: "chat",
        attrs.GEN_AI_PROVIDER_NAME: "openrouter",
        attrs.GEN_AI_REQUEST_MODEL: MODEL,
        attrs.SERVER_ADDRESS: "openrouter.ai",
        attrs.SERVER_PORT: 443,
        "gen_ai.request.temperature": 0.2,
        attrs.PHASE: "exploration",
        attrs.GEN_AI_RESPONSE_ID: "gen-1",
        attrs.GEN_AI_RESPONSE_MODEL: MODEL,
        attrs.GEN_AI_RESPONSE_FINISH_REASONS: ("stop",),
        attrs.GEN_AI_USAGE_INPUT_TOKENS: 120,
        attrs.GEN_AI_USAGE_OUTPUT_TOKENS: 30,
        attrs.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 100,
        attrs.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 7,
        attrs.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 12,
        attrs.GEN_AI_USAGE_COST: 0.0123,
        attrs.LLM_COST_TOTAL: 0.0123,
        attrs.MLFLOW_LLM_COST: '{"total_cost": 0.0123}',  # no prices given: no split
        attrs.COST_SOURCE: "inline",
        attrs.COST_UPSTREAM_USD: 0.002,
        attrs.COST_IS_BYOK: True,
        attrs.COST_SIMULATED: True,
    }  # no message content: capture is off by default
    assert span.status.status_code is StatusCode.UNSET


def test_content_is_recorded_only_when_capture_is_on(exporter: InMemorySpanExporter) -> None:
    tel = Telemetry.for_testing(exporter, capture_content=True)
    chat = tel.start_chat(MODEL, "openrouter", input_messages=[{"role": "user", "content": "hé"}])
    chat.stop(usage(output_messages=[{"role": "assistant", "content": "ok"}]))
    with tel.tool_span("search", None, arguments='{"q": "x"}') as tool:
        tool.set_result("3 matches", is_error=False, truncated=False)
    spans = by_name(exporter)
    chat_attributes = spans[f"chat {MODEL}"].attributes or {}
    assert json.loads(str(chat_attributes[attrs.GEN_AI_INPUT_MESSAGES])) == [
        {"role": "user", "content": "hé"}]
    assert json.loads(str(chat_attributes[attrs.GEN_AI_OUTPUT_MESSAGES])) == [
        {"role": "assistant", "content": "ok"}]
    tool_attributes = spans["execute_tool search"].attributes or {}
    assert tool_attributes[attrs.GEN_AI_TOOL_CALL_ARGUMENTS] == '{"q": "x"}'
    assert tool_attributes[attrs.GEN_AI_TOOL_CALL_RESULT] == "3 matches"
    assert attrs.GEN_AI_TOOL_CALL_ID not in tool_attributes
    tel.shutdown()


def test_retry_attempts_are_events(tel: Telemetry, exporter: InMemorySpanExporter) -> None:
    chat = tel.start_chat(MODEL, "openrouter")
    chat.record_attempt(1, status_code=429, error_type="rate_limited", wait_s=1.5)
    chat.record_attempt(2, status_code=200)
    chat.stop(usage())
    (span,) = exporter.get_finished_spans()
    assert [(event.name, dict(event.attributes or {})) for event in span.events] == [
        (attrs.RETRY_EVENT, {attrs.RETRY_ATTEMPT: 1, attrs.RETRY_STATUS_CODE: 429,
                             attrs.ERROR_TYPE: "rate_limited", attrs.RETRY_WAIT_S: 1.5}),
        (attrs.RETRY_EVENT, {attrs.RETRY_ATTEMPT: 2, attrs.RETRY_STATUS_CODE: 200}),
    ]


class QuotaExceeded(Exception):
    error_type = "insufficient_credits"


@pytest.mark.parametrize(("exc", "explicit", "expected"), [
    (TimeoutError("read timed out"), None, "TimeoutError"),
    (TimeoutError("read timed out"), "timeout", "timeout"),
    (QuotaExceeded("402"), None, "insufficient_credits"),
])
def test_failed_chat_has_error_status_and_type(tel: Telemetry, exporter: InMemorySpanExporter,
                                               exc: Exception, explicit: str | None,
                                               expected: str) -> None:
    chat = tel.start_chat(MODEL, "openrouter")
    chat.fail(exc, error_type=explicit)
    chat.stop(usage())  # ignored: the span has ended
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == f"{type(exc).__qualname__}: {exc}"
    assert (span.attributes or {})[attrs.ERROR_TYPE] == expected
    assert attrs.GEN_AI_USAGE_INPUT_TOKENS not in (span.attributes or {})


def test_scoped_span_records_exception_and_reraises(
        tel: Telemetry, exporter: InMemorySpanExporter) -> None:
    with pytest.raises(ValueError, match="bad outline"):
        with tel.phase_span("outline"):
            raise ValueError("bad outline")
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})[attrs.ERROR_TYPE] == "ValueError"
    (event,) = span.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.message"] == "bad outline"


def test_error_type_set_by_the_caller_is_kept(tel: Telemetry,
                                              exporter: InMemorySpanExporter) -> None:
    with pytest.raises(RuntimeError):
        with tel.step_span("section 1: Intro") as span:
            span.set_attribute(attrs.ERROR_TYPE, "citation_check_failed")
            raise RuntimeError("3 invalid citations")
    (ended,) = exporter.get_finished_spans()
    assert (ended.attributes or {})[attrs.ERROR_TYPE] == "citation_check_failed"


def test_interrupted_run_is_marked(tel: Telemetry, exporter: InMemorySpanExporter) -> None:
    with pytest.raises(KeyboardInterrupt):
        with tel.run_span():
            raise KeyboardInterrupt
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})[attrs.ERROR_TYPE] == "KeyboardInterrupt"


def test_tool_error_result_marks_the_span(tel: Telemetry, exporter: InMemorySpanExporter) -> None:
    with tel.tool_span("read_file", "call_9") as tool:
        tool.set_result("Error: no such file", is_error=True, truncated=False)
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "Error: no such file"
    assert (span.attributes or {})[attrs.ERROR_TYPE] == "tool_error"
    assert attrs.GEN_AI_TOOL_CALL_RESULT not in (span.attributes or {})


def test_settlement_span_is_a_child_of_the_chat_even_from_another_thread(
        tel: Telemetry, exporter: InMemorySpanExporter) -> None:
    with tel.phase_span("outline"):
        chat = tel.start_chat(MODEL, "openrouter")
        chat.stop(usage(generation_id="gen-42", cost_pending=True, simulated=True))
    worker = threading.Thread(target=tel.settle_cost, args=(chat,),
                              kwargs={"cost_usd": 0.004, "upstream_cost_usd": None,
                                      "lookup_attempts": 3})
    worker.start()
    worker.join(5)
    spans = by_name(exporter)
    chat_span, settle = spans[f"chat {MODEL}"], spans["settle_cost gen-42"]
    # The chat span waited for its cost and carries it; the look-up is recorded on its child.
    chat_attributes = chat_span.attributes or {}
    assert chat_attributes[attrs.COST_PENDING] is False
    assert chat_attributes[attrs.GEN_AI_USAGE_COST] == chat_attributes[attrs.LLM_COST_TOTAL] == 0.004
    assert chat_attributes[attrs.COST_SOURCE] == "generation"
    assert json.loads(str(chat_attributes[attrs.MLFLOW_LLM_COST])) == {"total_cost": 0.004}
    assert settle.parent is not None and settle.parent.span_id == chat_span.context.span_id
    assert settle.context.trace_id == chat_span.context.trace_id
    assert settle.kind is SpanKind.INTERNAL
    assert dict(settle.attributes or {}) == {
        attrs.GEN_AI_RESPONSE_ID: "gen-42",
        attrs.PHASE: "outline",
        attrs.GEN_AI_REQUEST_MODEL: MODEL,
        attrs.GEN_AI_PROVIDER_NAME: "openrouter",
        attrs.COST_LOOKUP_ATTEMPTS: 3,
        attrs.COST_SIMULATED: True,
    }
    assert settle.status.status_code is StatusCode.UNSET
    # The chat span ends when the answer came, not when its cost did.
    assert chat_span.end_time is not None and settle.start_time is not None
    assert chat_span.end_time <= settle.start_time


def test_unknown_settlement_is_an_error_without_cost(
        tel: Telemetry, exporter: InMemorySpanExporter) -> None:
    chat = tel.start_chat(MODEL, "openrouter")
    chat.stop(usage(generation_id="gen-7", cost_pending=True))
    tel.settle_cost(chat, cost_usd=None, lookup_attempts=5, error="generation not found (404)")
    settle = by_name(exporter)["settle_cost gen-7"]
    assert settle.status.status_code is StatusCode.ERROR
    assert settle.status.description == "generation not found (404)"
    settle_attributes = settle.attributes or {}
    assert attrs.GEN_AI_USAGE_COST not in settle_attributes
    assert attrs.LLM_COST_TOTAL not in settle_attributes
    assert settle_attributes[attrs.COST_LOOKUP_ATTEMPTS] == 5


def test_settling_twice_or_without_pending_cost_is_ignored(
        tel: Telemetry, exporter: InMemorySpanExporter, caplog: pytest.LogCaptureFixture) -> None:
    pending = tel.start_chat(MODEL, "openrouter")
    pending.stop(usage(generation_id="gen-1", cost_pending=True))
    known = tel.start_chat(MODEL, "openrouter")
    known.stop(usage(generation_id="gen-2", cost_usd=0.1, cost_pending=True))  # cost wins
    with caplog.at_level(logging.WARNING, logger="telemetry"):
        tel.settle_cost(pending, cost_usd=0.5, lookup_attempts=1)
        tel.settle_cost(pending, cost_usd=0.5, lookup_attempts=1)
        tel.settle_cost(known, cost_usd=0.5, lookup_attempts=1)
    settlements = [s for s in exporter.get_finished_spans() if s.name.startswith("settle_cost")]
    assert [s.name for s in settlements] == ["settle_cost gen-1"]
    assert len(caplog.records) == 2
    summary = tel.cost.summary().total
    assert (summary.cost_usd, summary.calls, summary.calls_with_cost) == (0.6, 2, 2)


def test_always_off_sampler_exports_nothing_but_cost_is_still_counted(
        exporter: InMemorySpanExporter) -> None:
    tel = Telemetry.for_testing(exporter, sampler=ALWAYS_OFF)
    with tel.run_span(), tel.phase_span("exploration"):
        chat = tel.start_chat(MODEL, "openrouter")
        assert chat.phase == "exploration"  # recorded (not sampled) spans keep attributes
        chat.stop(usage(cost_usd=0.25))
        pending = tel.start_chat(MODEL, "openrouter")
        pending.stop(usage(cost_pending=True))
    tel.settle_cost(pending, cost_usd=0.5, lookup_attempts=1)
    assert exporter.get_finished_spans() == ()
    totals = tel.cost.summary().phases["exploration"]
    assert (totals.cost_usd, totals.calls, totals.complete) == (0.75, 2, True)
    tel.shutdown()


def test_chat_in_a_worker_thread_inherits_the_phase_through_the_context(
        tel: Telemetry, exporter: InMemorySpanExporter) -> None:
    def call_llm() -> None:
        tel.start_chat(MODEL, "openrouter").stop(usage(cost_usd=0.01))

    with tel.phase_span("sections"):
        context = contextvars.copy_context()
        worker = threading.Thread(target=context.run, args=(call_llm,))
        worker.start()
        worker.join(5)
    chat_span = by_name(exporter)[f"chat {MODEL}"]
    assert (chat_span.attributes or {})[attrs.PHASE] == "sections"
    assert tel.cost.summary().phases["sections"].calls == 1


def test_telemetry_errors_never_reach_the_caller(
        tel: Telemetry, caplog: pytest.LogCaptureFixture) -> None:
    chat = tel.start_chat(MODEL, "openrouter")
    with caplog.at_level(logging.WARNING, logger="telemetry"):
        chat.stop(None)  # type: ignore[arg-type]  # a caller bug: logged, not raised
        with tel.tool_span("read_file", "c") as tool:
            tool.set_result(None, is_error=False, truncated=False)  # type: ignore[arg-type]
    assert len(caplog.records) == 2
    assert all(record.levelno == logging.WARNING for record in caplog.records)
