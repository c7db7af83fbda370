"""The run's cost summary, computed from the spans themselves (the single source of truth).

:class:`CostSpanProcessor` sits on the TracerProvider and watches spans end:

- a ``chat`` span that succeeded is one billed call: its tokens are added, and its cost if it
  carries ``gen_ai.usage.cost``; a call whose cost will be looked up later carries
  ``tech_writer.cost.pending`` and counts as pending;
- a ``chat`` span with ERROR status is a call that ultimately failed (retries are events on the
  one span): counted in ``failed_calls``, never as billed;
- a chat span whose cost is looked up after its answer stays open until the look-up settles
  (see :class:`~telemetry.spans.ChatInvocation`); while it is open and marked
  ``tech_writer.cost.pending``, it is counted as a pending call (its tokens included), and when
  it ends it is counted with its cost, or without cost when the look-up failed;
- a settlement span (``tech_writer.cost.settlement``: a look-up that settled after its chat span
  had been ended, at shutdown) turns one pending call into a call with cost, or without cost.

Everything is kept per phase (``tech_writer.phase``; ``"other"`` when absent) and in total. Costs
are kept as the individual floats and summed with :func:`math.fsum`, so the total is the correctly
rounded sum of what was billed whatever order the calls ended in.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode
from opentelemetry.util.types import AttributeValue

from telemetry import attributes as attrs
from telemetry.usage import TOKEN_FIELDS, UsageStats

__all__ = [
    "CostSpanProcessor",
    "CostSplit",
    "CostSummary",
    "OTHER_PHASE",
    "TokenPrices",
    "UsageTotals",
    "split_billed_cost",
]

_logger = logging.getLogger(__name__)

OTHER_PHASE = "other"


@dataclass(frozen=True)
class UsageTotals:
    """Tokens, calls and USD for a phase or a whole run: the sum of the calls'
    :class:`~telemetry.usage.UsageStats` (every one of its :data:`~telemetry.usage.TOKEN_FIELDS`,
    the costs summed with :func:`math.fsum`) and how many calls had a cost. Token counts follow
    the GenAI conventions: ``prompt_tokens`` includes cached and cache-write tokens,
    ``completion_tokens`` includes reasoning tokens."""

    cost_usd: float = 0.0
    upstream_cost_usd: float = 0.0  # BYOK: billed to the user by the provider directly
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    calls: int = 0  # calls that returned a completion (= with_cost + without_cost + pending)
    calls_with_cost: int = 0
    calls_without_cost: int = 0
    calls_pending: int = 0
    failed_calls: int = 0  # calls that ended in an error (not billed, not in ``calls``)
    calls_without_usage: int = 0  # answered without ``usage``: their tokens are not counted

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def calls_unknown_cost(self) -> int:
        """Calls whose cost is not (yet) known: never learned, or a look-up still pending."""
        return self.calls_without_cost + self.calls_pending

    @property
    def complete(self) -> bool:
        """Every call's cost is known: ``cost_usd`` is the whole bill, not a lower bound."""
        return self.calls_unknown_cost == 0

    @property
    def total_spend_usd(self) -> float:
        """OpenRouter's charge plus, for BYOK calls, what the provider billed directly."""
        return math.fsum((self.cost_usd, self.upstream_cost_usd))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_tokens": self.total_tokens, "complete": self.complete,
                "total_spend_usd": self.total_spend_usd}

    def rollup_attributes(self) -> dict[str, AttributeValue]:
        """Roll-up attributes for a run/phase/section span (``tech_writer.*`` names, so backends
        that sum ``gen_ai.usage.cost`` over a trace do not count calls twice)."""
        return {
            attrs.ROLLUP_COST_USD: self.cost_usd,
            attrs.ROLLUP_COST_COMPLETE: self.complete,
            attrs.ROLLUP_INPUT_TOKENS: self.prompt_tokens,
            attrs.ROLLUP_OUTPUT_TOKENS: self.completion_tokens,
            attrs.ROLLUP_CALLS: self.calls,
            attrs.ROLLUP_CALLS_WITHOUT_COST: self.calls_unknown_cost,
        }


@dataclass(frozen=True)
class CostSummary:
    """A snapshot: the run's totals and the same per phase (in order of first appearance)."""

    total: UsageTotals = field(default_factory=UsageTotals)
    phases: dict[str, UsageTotals] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total.to_dict(),
                "phases": {name: totals.to_dict() for name, totals in self.phases.items()}}


class CostSpanProcessor(SpanProcessor):
    """Sums tokens and cost from ended chat and settlement spans. Passive and thread-safe:
    callbacks never raise (a problem is logged and the span ignored)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = _Tally()
        self._phases: dict[str, _Tally] = {}
        self._open_chats: dict[int, ReadableSpan] = {}  # span id -> chat span not ended yet

    def on_start(self, span: Span, parent_context: context_api.Context | None = None) -> None:
        try:
            _inherit_phase(span, parent_context)
            if (span.attributes or {}).get(attrs.GEN_AI_OPERATION_NAME) == attrs.OPERATION_CHAT:
                with self._lock:
                    self._open_chats[span.context.span_id] = span
        except Exception:
            _logger.warning("cost processor: could not inherit the phase of span %r",
                            getattr(span, "name", "?"), exc_info=True)

    def on_end(self, span: ReadableSpan) -> None:
        try:
            self._count(span)
        except Exception:
            _logger.warning("cost processor: could not count span %r", getattr(span, "name", "?"),
                            exc_info=True)

    def summary(self) -> CostSummary:
        """The totals so far; an answered call still waiting for its cost counts as pending."""
        with self._lock:
            total, phases = self._total, self._phases
            # An answered call whose span waits for its cost carries tech_writer.cost.pending
            # (true, or false while its settlement is being written onto it).
            waiting = [attributes for attributes in
                       (span.attributes or {} for span in self._open_chats.values())
                       if attrs.COST_PENDING in attributes]
            if waiting:  # counted in copies: the span is counted for good when it ends
                total = total.copy()
                phases = {name: tally.copy() for name, tally in phases.items()}
                for attributes in waiting:
                    update = _waiting_update(attributes)
                    total.apply(update)
                    phases.setdefault(_phase_of(attributes), _Tally()).apply(update)
            return CostSummary(total=total.freeze(),
                               phases={name: tally.freeze() for name, tally in phases.items()})

    def shutdown(self) -> None:
        """Nothing to release; the summary stays readable after shutdown."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def _count(self, span: ReadableSpan) -> None:
        attributes: Mapping[str, Any] = span.attributes or {}
        if attributes.get(attrs.COST_SETTLEMENT) is True:
            update = _settlement_update(attributes, span)
        elif attributes.get(attrs.GEN_AI_OPERATION_NAME) == attrs.OPERATION_CHAT:
            update = _chat_update(attributes, span)
        else:
            return
        with self._lock:
            if span.context is not None:
                self._open_chats.pop(span.context.span_id, None)
            tally = self._phases.setdefault(_phase_of(attributes), _Tally())
            for target in (self._total, tally):
                target.apply(update)


@dataclass
class _Calls:
    """Call counts, as a tally keeps them and as one ended span changes them."""

    calls: int = 0
    with_cost: int = 0
    without_cost: int = 0
    pending: int = 0
    failed: int = 0
    without_usage: int = 0

    def add(self, other: _Calls) -> None:
        for name, count in vars(other).items():
            setattr(self, name, getattr(self, name) + count)


@dataclass
class _Update:
    """What one ended span adds to a tally: the usage it carries (read back from its
    attributes: tokens, cost, upstream cost) and how it changes the call counts."""

    usage: UsageStats = field(default_factory=UsageStats)
    calls: _Calls = field(default_factory=_Calls)


@dataclass
class _Tally:
    costs: list[float] = field(default_factory=list)
    upstream_costs: list[float] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_FIELDS, 0))
    calls: _Calls = field(default_factory=_Calls)

    def apply(self, update: _Update) -> None:
        usage = update.usage
        for name, count in usage.token_counts().items():
            self.tokens[name] += count
        self.calls.add(update.calls)
        if usage.cost_usd is not None:
            self.costs.append(usage.cost_usd)
        if usage.upstream_cost_usd is not None:
            self.upstream_costs.append(usage.upstream_cost_usd)

    def copy(self) -> _Tally:
        return _Tally(list(self.costs), list(self.upstream_costs), dict(self.tokens),
                      _Calls(**vars(self.calls)))

    def freeze(self) -> UsageTotals:
        calls = self.calls
        return UsageTotals(
            cost_usd=math.fsum(self.costs),
            upstream_cost_usd=math.fsum(self.upstream_costs),
            **self.tokens,
            calls=calls.calls,
            calls_with_cost=calls.with_cost,
            calls_without_cost=calls.without_cost,
            calls_pending=calls.pending,
            failed_calls=calls.failed,
            calls_without_usage=calls.without_usage,
        )


# span attribute -> UsageStats field
_TOKEN_ATTRIBUTES = {
    attrs.GEN_AI_USAGE_INPUT_TOKENS: "prompt_tokens",
    attrs.GEN_AI_USAGE_OUTPUT_TOKENS: "completion_tokens",
    attrs.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: "cached_tokens",
    attrs.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: "cache_write_tokens",
    attrs.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: "reasoning_tokens",
}


def _chat_update(attributes: Mapping[str, Any], span: ReadableSpan) -> _Update:
    if _is_error(span):
        # Cut off after it was sent: perhaps billed, cost unknown -> the summary is incomplete.
        maybe_billed = attributes.get(attrs.COST_MAYBE_BILLED) is True
        unknown = int(maybe_billed) + _maybe_billed_attempts(attributes)
        return _Update(calls=_Calls(failed=1, without_cost=unknown))
    usage = _usage_of(attributes, cost=_usd(attributes.get(attrs.GEN_AI_USAGE_COST)))
    calls = _Calls(calls=1, without_cost=_maybe_billed_attempts(attributes),
                   without_usage=int(usage.usage_missing))
    if usage.cost_usd is not None:
        calls.with_cost = 1
    elif attributes.get(attrs.COST_PENDING) is True:
        calls.pending = 1
    else:
        calls.without_cost += 1
    return _Update(usage, calls)


def _waiting_update(attributes: Mapping[str, Any]) -> _Update:
    """An answered call whose span is still open for its cost: pending, whatever a settlement
    being written onto it says (that counts when the span ends)."""
    calls = _Calls(calls=1, pending=1, without_cost=_maybe_billed_attempts(attributes))
    return _Update(_usage_of(attributes, cost=None), calls)


def _usage_of(attributes: Mapping[str, Any], *, cost: float | None) -> UsageStats:
    """The usage a chat span carries, read back from its attributes (``cost``: as counted)."""
    usage = UsageStats(cost_usd=cost, upstream_cost_usd=_usd(attributes.get(attrs.COST_UPSTREAM_USD)),
                       usage_missing=attributes.get(attrs.USAGE_MISSING) is True)
    for key, name in _TOKEN_ATTRIBUTES.items():
        setattr(usage, name, _count_of(attributes.get(key)))
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens
    return usage


def _maybe_billed_attempts(attributes: Mapping[str, Any]) -> int:
    return _count_of(attributes.get(attrs.COST_MAYBE_BILLED_ATTEMPTS))


def _settlement_update(attributes: Mapping[str, Any], span: ReadableSpan) -> _Update:
    cost = None if _is_error(span) else _usd(attributes.get(attrs.GEN_AI_USAGE_COST))
    usage = UsageStats(cost_usd=cost, upstream_cost_usd=_usd(attributes.get(attrs.COST_UPSTREAM_USD)))
    return _Update(usage, _Calls(pending=-1, with_cost=int(cost is not None),
                                 without_cost=int(cost is None)))


def _phase_of(attributes: Mapping[str, Any]) -> str:
    phase = attributes.get(attrs.PHASE)
    return phase if isinstance(phase, str) and phase else OTHER_PHASE


def _inherit_phase(span: Span, parent_context: context_api.Context | None) -> None:
    """Copy the parent's phase onto a span that has none: chat and tool spans started in worker
    threads (with the context propagated) land in the right phase without being told."""
    if (span.attributes or {}).get(attrs.PHASE) is not None:
        return
    parent = trace.get_current_span(parent_context)
    parent_attributes = getattr(parent, "attributes", None)  # SDK spans only
    if parent_attributes:
        phase = parent_attributes.get(attrs.PHASE)
        if phase is not None:
            span.set_attribute(attrs.PHASE, phase)


def _is_error(span: ReadableSpan) -> bool:
    status = span.status
    return status is not None and status.status_code is StatusCode.ERROR


def _usd(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    amount = float(value)
    return amount if math.isfinite(amount) else None


def _count_of(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return max(value, 0)


# --- The bill split into input and output ---------------------------------------------------
@dataclass(frozen=True)
class TokenPrices:
    """A model's list prices in USD per token (OpenRouter's ``/models``). Only ever used to split
    a billed total into shares (:func:`split_billed_cost`), never to compute what a call cost."""

    input_usd_per_token: float
    output_usd_per_token: float
    cache_read_usd_per_token: float | None = None  # None: cached tokens priced as input
    cache_write_usd_per_token: float | None = None  # None: cache writes priced as input
    request_usd: float = 0.0  # a per-request fee, counted with the input


@dataclass(frozen=True)
class CostSplit:
    """A billed total and its input and output shares; ``input_usd + output_usd == total_usd``
    in floating point, and ``total_usd`` is the bill itself."""

    input_usd: float
    output_usd: float
    total_usd: float


def split_billed_cost(total_usd: float, prices: TokenPrices | None, *, input_tokens: int,
                      output_tokens: int, cached_tokens: int = 0,
                      cache_write_tokens: int = 0) -> CostSplit | None:
    """Split a call's bill into input and output in the proportion its list prices give.

    OpenRouter bills one total; the shares are derived: each side's list-price cost (cached and
    cache-write tokens at their own prices when listed, a request fee with the input), scaled so
    that they add up to the bill exactly. ``None`` when there is nothing to derive the shares
    from: no prices, a bill that is not a finite non-negative number, or list prices that give
    both sides zero weight while the bill is not zero.
    """
    total = _usd(total_usd)
    if total is None or total < 0:
        return None
    if total == 0:
        return CostSplit(0.0, 0.0, total)
    if prices is None:
        return None
    input_weight, output_weight = _list_costs(prices, input_tokens, output_tokens, cached_tokens,
                                              cache_write_tokens)
    weight = input_weight + output_weight
    if not (math.isfinite(weight) and weight > 0):
        return None
    input_share = min(max(total * (input_weight / weight), 0.0), total)
    return _exact_parts(total, input_share)


def _list_costs(prices: TokenPrices, input_tokens: int, output_tokens: int, cached_tokens: int,
                cache_write_tokens: int) -> tuple[float, float]:
    """Input and output at list price; counts are clamped as OpenRouter bills them (cached and
    cache-write tokens are part of the input)."""
    prompt = max(input_tokens, 0)
    cached = min(max(cached_tokens, 0), prompt)
    written = min(max(cache_write_tokens, 0), prompt - cached)
    cache_read = prices.cache_read_usd_per_token
    cache_write = prices.cache_write_usd_per_token
    input_cost = math.fsum((
        (prompt - cached - written) * prices.input_usd_per_token,
        cached * (prices.input_usd_per_token if cache_read is None else cache_read),
        written * (prices.input_usd_per_token if cache_write is None else cache_write),
        prices.request_usd,
    ))
    output_cost = max(output_tokens, 0) * prices.output_usd_per_token
    return max(input_cost, 0.0), max(output_cost, 0.0)


def _exact_parts(total: float, input_share: float) -> CostSplit:
    """Shares that add up to ``total`` in floating point. ``total - input_share`` is the output
    share, but the sum can round one unit in the last place away from the bill (and for some
    input shares no output share reaches it at all), so the output is tried one unit either side
    and, failing that, the input moved one unit toward zero: a few steps at most."""
    for _ in range(8):
        output_share = max(total - input_share, 0.0)
        for candidate in (output_share, math.nextafter(output_share, math.inf),
                          math.nextafter(output_share, 0.0)):
            if input_share + candidate == total:
                return CostSplit(input_share, candidate, total)
        input_share = math.nextafter(input_share, 0.0)
    return CostSplit(0.0, total, total)  # not reached: input 0 and output total always add up
