"""Span helpers: scoped spans for the run's structure, and one object per LLM call / tool call.

Modelled on opentelemetry-util-genai: ``Telemetry.start_chat()`` returns a
:class:`ChatInvocation` whose ``stop()`` / ``fail()`` end the span; scoped spans set ERROR status
and ``error.type`` when the block raises, and re-raise. Telemetry must never break the program:
these methods log their own failures instead of raising them.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Span, SpanContext, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from telemetry import attributes as attrs
from telemetry.cost import TokenPrices, split_billed_cost
from telemetry.metrics import ChatMetrics
from telemetry.usage import UsageStats

__all__ = [
    "ChatAnswer",
    "ChatInvocation",
    "ChatRequest",
    "SETTLEMENT_ERROR_TYPE",
    "TOOL_ERROR_TYPE",
    "ToolInvocation",
    "mark_failed",
    "span_scope",
    "tool_attributes",
]

_logger = logging.getLogger(__name__)

TOOL_ERROR_TYPE = "tool_error"
SETTLEMENT_ERROR_TYPE = "cost_unavailable"
_TOOL_TYPE_FUNCTION = "function"
_DESCRIPTION_LIMIT = 300

_F = TypeVar("_F", bound=Callable[..., Any])


def _never_raises(method: _F) -> _F:
    """Log (with the traceback: it is a bug) instead of raising into the host program."""

    @functools.wraps(method)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception:
            _logger.warning("telemetry: %s failed", method.__qualname__, exc_info=True)
            return None

    return guarded  # type: ignore[return-value]


@dataclass(frozen=True)
class ChatAnswer:
    """What a finished LLM call reports to its span: its :class:`~telemetry.usage.UsageStats`
    (``generation_id`` is the response id) and the answer around it. ``cost_pending`` is only
    honoured when the usage's ``cost_usd`` is None."""

    usage: UsageStats
    response_model: str | None
    finish_reasons: Sequence[str] = ()
    cost_pending: bool = False  # True: a Telemetry.settle_cost() will follow
    simulated: bool = False
    output_messages: list[Any] | None = None  # recorded only if content capture is on
    # The model's list prices: only used to split the bill into input and output shares for
    # the backends that show them (MLflow, Phoenix). None: the shares are not written.
    prices: TokenPrices | None = None


@dataclass(frozen=True)
class ChatRequest:
    """What a ``chat`` span knows when it starts: the model asked, the provider and server,
    request attributes and, with content capture on, the messages sent."""

    model: str
    provider: str
    server_address: str | None = None
    server_port: int | None = None
    attributes: Mapping[str, AttributeValue] | None = None
    input_messages: list[Any] | None = None


@contextmanager
def span_scope(tracer: Tracer, name: str, *, kind: SpanKind = SpanKind.INTERNAL,
               attributes: Mapping[str, AttributeValue] | None = None) -> Iterator[Span]:
    """A current span for the block; on an exception: ERROR status, ``error.type``, an
    exception event, re-raise."""
    with tracer.start_as_current_span(name, kind=kind, attributes=attributes,
                                      record_exception=False, set_status_on_exception=False) as span:
        try:
            yield span
        except GeneratorExit:
            raise
        except BaseException as exc:  # KeyboardInterrupt too: the run span shows it was cut short
            mark_failed(span, exc, record_exception=True)
            raise


def mark_failed(span: Span, exc: BaseException, *, error_type: str | None = None,
                record_exception: bool = False) -> None:
    """ERROR status and ``error.type``: ``error_type`` if given, else one already set on the span
    (the caller's explicit choice), else ``exc.error_type`` if it is a string, else the
    exception's qualified class name."""
    try:
        existing = (getattr(span, "attributes", None) or {}).get(attrs.ERROR_TYPE)
        own = getattr(exc, "error_type", None)
        chosen = error_type or existing or (own if isinstance(own, str) and own else None)
        span.set_attribute(attrs.ERROR_TYPE, chosen or type(exc).__qualname__)
        span.set_status(Status(StatusCode.ERROR, _describe(exc)))
        if record_exception:
            span.record_exception(exc, escaped=True)
    except Exception:
        _logger.warning("telemetry: could not mark span as failed", exc_info=True)


class ToolInvocation:
    """Yielded by ``Telemetry.tool_span``; ``set_result`` records what the tool returned."""

    def __init__(self, span: Span, capture_content: bool) -> None:
        self.span = span
        self._capture_content = capture_content

    @_never_raises
    def set_result(self, text: str, is_error: bool = False, truncated: bool = False) -> None:
        self.span.set_attribute(attrs.TOOL_RESULT_BYTES, len(text.encode("utf-8", "replace")))
        self.span.set_attribute(attrs.TOOL_RESULT_TRUNCATED, truncated)
        if self._capture_content:
            self.span.set_attribute(attrs.GEN_AI_TOOL_CALL_RESULT, text)
        if is_error:
            # The model gets the error text as the tool's result; the span still shows it failed.
            self.span.set_attribute(attrs.ERROR_TYPE, TOOL_ERROR_TYPE)
            self.span.set_status(Status(StatusCode.ERROR, _truncate(text)))


def tool_attributes(tool_name: str, call_id: str | None, arguments: str | None,
                    capture_content: bool) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        attrs.GEN_AI_OPERATION_NAME: attrs.OPERATION_EXECUTE_TOOL,
        attrs.GEN_AI_TOOL_NAME: tool_name,
        attrs.GEN_AI_TOOL_TYPE: _TOOL_TYPE_FUNCTION,
    }
    if call_id:
        attributes[attrs.GEN_AI_TOOL_CALL_ID] = call_id
    if capture_content and arguments is not None:
        attributes[attrs.GEN_AI_TOOL_CALL_ARGUMENTS] = arguments
    return attributes


class ChatInvocation:
    """One logical LLM call: a CLIENT span ``chat {model}`` (retries are events on it).

    A call whose cost is looked up after its answer (``cost_pending``) keeps its span open until
    the look-up settles, and the cost is then set on the span itself: an ended span cannot change,
    and backends that read the cost from the chat span (MLflow) would otherwise show a cost of
    their own making. The span still ends at the moment the answer arrived (an explicit end time),
    so its duration is the call's. A look-up still unsettled at :meth:`end_unsettled` (telemetry
    shutting down) ends the span without its cost; a settlement after that goes on the
    ``settle_cost`` span instead, as ``tech_writer.cost.settlement``.
    """

    def __init__(self, tracer: Tracer, metrics: ChatMetrics, request: ChatRequest, *,
                 capture_content: bool, clock: Callable[[], float]) -> None:
        self.request_model = request.model
        self.provider = request.provider
        self._metrics = metrics
        self._capture_content = capture_content
        self._clock = clock
        self._lock = threading.Lock()
        self._ended = False  # stop() or fail() has been called
        self._span_open = True  # the span has not been ended yet (it may outlive stop())
        self._awaiting_settlement = False
        self._answered_ns: int | None = None  # the end time of a span left open for its cost
        self._answer: ChatAnswer | None = None
        self._simulated = False
        self.response_id: str | None = None
        # Started, not made current: nothing runs "inside" an LLM call.
        self.span: Span = tracer.start_span(f"{attrs.OPERATION_CHAT} {request.model}",
                                            kind=SpanKind.CLIENT,
                                            attributes=_request_attributes(request,
                                                                           capture_content))
        self._started = clock()
        # Read after start: the cost processor's on_start has copied the parent's phase by now.
        phase = (getattr(self.span, "attributes", None) or {}).get(attrs.PHASE)
        self.phase: str | None = phase if isinstance(phase, str) else None

    @property
    def span_context(self) -> SpanContext:
        return self.span.get_span_context()

    @property
    def ended(self) -> bool:
        """``stop()`` or ``fail()`` was called (the span itself may wait for its cost)."""
        return self._ended

    @property
    def awaiting_settlement(self) -> bool:
        return self._awaiting_settlement

    @_never_raises
    def record_attempt(self, attempt: int, *, status_code: int | None = None,
                       error_type: str | None = None, wait_s: float | None = None) -> None:
        """One event per HTTP attempt; ``wait_s`` is the back-off before the next one."""
        event: dict[str, AttributeValue] = {attrs.RETRY_ATTEMPT: attempt}
        if status_code is not None:
            event[attrs.RETRY_STATUS_CODE] = status_code
        if error_type:
            event[attrs.ERROR_TYPE] = error_type
        if wait_s is not None:
            event[attrs.RETRY_WAIT_S] = wait_s
        self.span.add_event(attrs.RETRY_EVENT, event)

    @_never_raises
    def stop(self, answer: ChatAnswer) -> None:
        """Record the response, usage and cost, record metrics; end the span, or leave it open
        until :meth:`settle` when the cost is pending."""
        if not self._claim_end():
            return
        span, usage = self.span, answer.usage
        self.response_id = usage.generation_id
        self._simulated = answer.simulated
        span.set_attributes(_answer_attributes(answer))
        if self._capture_content and answer.output_messages is not None:
            span.set_attribute(attrs.GEN_AI_OUTPUT_MESSAGES, _to_json(answer.output_messages))
        pending = usage.cost_usd is None and answer.cost_pending
        known = not usage.usage_missing
        self._metrics.record_call(self._metric_attributes(), duration_s=self._clock() - self._started,
                                  response_model=answer.response_model,
                                  input_tokens=usage.prompt_tokens if known else None,
                                  output_tokens=usage.completion_tokens if known else None)
        if usage.cost_usd is not None:
            self._metrics.record_cost(self._metric_attributes(), usage.cost_usd)
        if pending:
            with self._lock:
                self._answer = answer
                self._answered_ns = time.time_ns()
                self._awaiting_settlement = True
            return
        self._end_span()

    @_never_raises
    def fail(self, exc: BaseException, *, error_type: str | None = None,
             attributes: Mapping[str, AttributeValue] | None = None) -> None:
        """ERROR status and ``error.type``, duration metric with ``error.type``, end the span.
        ``attributes`` are set first (e.g. that the request may have been billed)."""
        if not self._claim_end():
            return
        if attributes:
            self.span.set_attributes(attributes)
        mark_failed(self.span, exc, error_type=error_type)
        chosen = (getattr(self.span, "attributes", None) or {}).get(attrs.ERROR_TYPE)
        self._metrics.record_call(self._metric_attributes(), duration_s=self._clock() - self._started,
                                  error_type=str(chosen or error_type or type(exc).__qualname__))
        self._end_span()

    @_never_raises
    def settle(self, tracer: Tracer, *, cost_usd: float | None, upstream_cost_usd: float | None,
               lookup_attempts: int, error: str | None) -> None:
        """Settle a pending cost (see ``Telemetry.settle_cost``): on the chat span, which then
        ends, when it is still open; on the ``settle_cost`` span when it is not."""
        with self._lock:
            if not self._awaiting_settlement:
                _logger.warning("telemetry: ignoring cost settlement for %s: its cost is not "
                                "pending (already settled, or known when the call ended)",
                                self.response_id or "a call")
                return
            self._awaiting_settlement = False
            span_open, self._span_open = self._span_open, False
        lookup = self._lookup_attributes(lookup_attempts)
        if span_open:
            self.span.set_attributes(_settled_chat_attributes(cost_usd, upstream_cost_usd,
                                                              self._answer))
        else:
            lookup.update(_late_settlement_attributes(cost_usd, upstream_cost_usd))
        self._lookup_span(tracer, lookup, known=cost_usd is not None, error=error)
        if span_open:
            self.span.end(end_time=self._answered_ns)
        if cost_usd is not None:
            self._metrics.record_cost(self._metric_attributes(), cost_usd)

    @_never_raises
    def end_unsettled(self) -> None:
        """End a span still waiting for its cost, without it (``tech_writer.cost.pending`` stays
        true), so that it is exported before the exporters stop."""
        with self._lock:
            if not (self._awaiting_settlement and self._span_open):
                return
            self._span_open = False
        self.span.end(end_time=self._answered_ns)

    def _claim_end(self) -> bool:
        with self._lock:
            if self._ended:
                _logger.debug("telemetry: chat span for %s already ended", self.request_model)
                return False
            self._ended = True
            return True

    def _end_span(self) -> None:
        with self._lock:
            span_open, self._span_open = self._span_open, False
        if span_open:
            self.span.end()

    def _lookup_span(self, tracer: Tracer, attributes: dict[str, AttributeValue], *, known: bool,
                     error: str | None) -> None:
        """The ``settle_cost`` child span: the record of the ``/generation`` look-up."""
        # Explicit parent: settlement happens on a look-up thread with no useful current context.
        parent = trace.set_span_in_context(trace.NonRecordingSpan(self.span_context))
        span = tracer.start_span(f"settle_cost {self.response_id or self.request_model}",
                                 context=parent, kind=SpanKind.INTERNAL, attributes=attributes)
        if not known:
            span.set_attribute(attrs.ERROR_TYPE, SETTLEMENT_ERROR_TYPE)
            span.set_status(Status(StatusCode.ERROR, _truncate(error or "cost unknown")))
        span.end()

    def _metric_attributes(self) -> dict[str, AttributeValue]:
        base: dict[str, AttributeValue] = {
            attrs.GEN_AI_OPERATION_NAME: attrs.OPERATION_CHAT,
            attrs.GEN_AI_PROVIDER_NAME: self.provider,
            attrs.GEN_AI_REQUEST_MODEL: self.request_model,
        }
        if self.phase:
            base[attrs.PHASE] = self.phase
        return base

    def _lookup_attributes(self, lookup_attempts: int) -> dict[str, AttributeValue]:
        attributes: dict[str, AttributeValue] = {
            attrs.GEN_AI_REQUEST_MODEL: self.request_model,
            attrs.GEN_AI_PROVIDER_NAME: self.provider,
            attrs.COST_LOOKUP_ATTEMPTS: lookup_attempts,
        }
        if self.response_id:
            attributes[attrs.GEN_AI_RESPONSE_ID] = self.response_id
        if self.phase:
            attributes[attrs.PHASE] = self.phase
        if self._simulated:
            attributes[attrs.COST_SIMULATED] = True
        return attributes


def _request_attributes(request: ChatRequest, capture_content: bool
                        ) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        attrs.GEN_AI_OPERATION_NAME: attrs.OPERATION_CHAT,
        attrs.GEN_AI_PROVIDER_NAME: request.provider,
        attrs.GEN_AI_REQUEST_MODEL: request.model,
    }
    if request.server_address:
        attributes[attrs.SERVER_ADDRESS] = request.server_address
        if request.server_port is not None:
            attributes[attrs.SERVER_PORT] = request.server_port
    attributes.update(request.attributes or {})
    if capture_content and request.input_messages is not None:
        attributes[attrs.GEN_AI_INPUT_MESSAGES] = _to_json(request.input_messages)
    return attributes


def _answer_attributes(answer: ChatAnswer) -> dict[str, AttributeValue]:
    usage = answer.usage
    attributes: dict[str, AttributeValue] = {
        attrs.GEN_AI_RESPONSE_FINISH_REASONS: [str(reason) for reason in answer.finish_reasons],
    }
    if usage.usage_missing:
        attributes[attrs.USAGE_MISSING] = True  # token attributes left out: unknown, not 0
    else:
        attributes[attrs.GEN_AI_USAGE_INPUT_TOKENS] = usage.prompt_tokens
        attributes[attrs.GEN_AI_USAGE_OUTPUT_TOKENS] = usage.completion_tokens
    if usage.generation_id:
        attributes[attrs.GEN_AI_RESPONSE_ID] = usage.generation_id
    if answer.response_model:
        attributes[attrs.GEN_AI_RESPONSE_MODEL] = answer.response_model
    for key, count in ((attrs.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, usage.cached_tokens),
                       (attrs.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, usage.cache_write_tokens),
                       (attrs.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, usage.reasoning_tokens)):
        if count:
            attributes[key] = count
    if usage.cost_usd is not None:
        attributes.update(_cost_attributes(usage.cost_usd, answer))
        if usage.cost_source:
            attributes[attrs.COST_SOURCE] = usage.cost_source
    else:
        # Unknown (or not known yet): MLflow would otherwise price the call from its own table.
        attributes[attrs.MLFLOW_LLM_COST] = MLFLOW_COST_UNKNOWN
        if answer.cost_pending:
            attributes[attrs.COST_PENDING] = True
    if usage.upstream_cost_usd is not None:
        attributes[attrs.COST_UPSTREAM_USD] = usage.upstream_cost_usd
    if usage.is_byok:
        attributes[attrs.COST_IS_BYOK] = True
    if answer.simulated:
        attributes[attrs.COST_SIMULATED] = True
    return attributes


# What a call of unknown cost carries as ``mlflow.llm.cost``: with the attribute present MLflow
# does not price the call from its own table, and an object without costs adds nothing to the
# trace's cost. (``null`` or a bare string would make MLflow's span ingestion fail.)
MLFLOW_COST_UNKNOWN = "{}"


def _cost_attributes(cost_usd: float, answer: ChatAnswer | None) -> dict[str, AttributeValue]:
    """The billed cost under every name a backend reads it by (docs/telemetry-backends.md),
    with the input and output shares derived from the list prices when there are any."""
    attributes: dict[str, AttributeValue] = {attrs.GEN_AI_USAGE_COST: cost_usd,
                                             attrs.LLM_COST_TOTAL: cost_usd}
    split = None
    if answer is not None:
        usage = answer.usage
        split = split_billed_cost(cost_usd, answer.prices, input_tokens=usage.prompt_tokens,
                                  output_tokens=usage.completion_tokens,
                                  cached_tokens=usage.cached_tokens,
                                  cache_write_tokens=usage.cache_write_tokens)
    mlflow_cost: dict[str, float] = {}
    if split is not None:
        attributes[attrs.LLM_COST_PROMPT] = split.input_usd
        attributes[attrs.LLM_COST_COMPLETION] = split.output_usd
        mlflow_cost = {attrs.MLFLOW_COST_INPUT: split.input_usd,
                       attrs.MLFLOW_COST_OUTPUT: split.output_usd}
    if math.isfinite(cost_usd):
        mlflow_cost[attrs.MLFLOW_COST_TOTAL] = cost_usd
        attributes[attrs.MLFLOW_LLM_COST] = json.dumps(mlflow_cost)
    else:
        attributes[attrs.MLFLOW_LLM_COST] = MLFLOW_COST_UNKNOWN
    return attributes


def _settled_chat_attributes(cost_usd: float | None, upstream_cost_usd: float | None,
                             answer: ChatAnswer | None) -> dict[str, AttributeValue]:
    """What a settlement adds to the chat span still open for it (a cost that stays unknown
    leaves the span's unknown-cost marker as it is)."""
    attributes: dict[str, AttributeValue] = {attrs.COST_PENDING: False}
    if cost_usd is not None:
        attributes.update(_cost_attributes(cost_usd, answer))
        attributes[attrs.COST_SOURCE] = attrs.COST_SOURCE_GENERATION
    if upstream_cost_usd is not None:
        attributes[attrs.COST_UPSTREAM_USD] = upstream_cost_usd
    return attributes


def _late_settlement_attributes(cost_usd: float | None, upstream_cost_usd: float | None
                                ) -> dict[str, AttributeValue]:
    """A settlement for a chat span already ended: the cost goes on the ``settle_cost`` span,
    which the cost processor reads (backends that read the chat span do not see it)."""
    attributes: dict[str, AttributeValue] = {attrs.COST_SETTLEMENT: True}
    if cost_usd is not None:
        attributes.update({attrs.GEN_AI_USAGE_COST: cost_usd, attrs.LLM_COST_TOTAL: cost_usd,
                           attrs.COST_SOURCE: attrs.COST_SOURCE_GENERATION})
    if upstream_cost_usd is not None:
        attributes[attrs.COST_UPSTREAM_USD] = upstream_cost_usd
    return attributes


def _to_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return _truncate(f"{type(exc).__qualname__}: {text}" if text else type(exc).__qualname__)


def _truncate(text: str) -> str:
    return text if len(text) <= _DESCRIPTION_LIMIT else text[: _DESCRIPTION_LIMIT - 1] + "…"
