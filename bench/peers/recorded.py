"""What an instrumentation recorded for one call, read from its spans, against what was billed.

Each peer writes usage under its own convention's names; the names below are the ones the four
peers and tech_writer were seen to write (checked by the benchmark's full run). Spans come as
plain dicts, ``{"name": ..., "attributes": {...}}``, as :mod:`bench.peers.client` prints them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from telemetry import attributes as attrs

__all__ = ["FIELDS", "Billed", "Recorded", "recorded_from_spans"]

FIELDS = ("input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "cost_usd")

# Field -> attribute names, in order of preference. Ours (telemetry.attributes) are the current
# GenAI semantic conventions; the others are the peers' own (read here, never written).
_KEYS: dict[str, tuple[str, ...]] = {
    "input_tokens": (attrs.GEN_AI_USAGE_INPUT_TOKENS, "gen_ai.usage.prompt_tokens",
                     "llm.token_count.prompt"),
    "output_tokens": (attrs.GEN_AI_USAGE_OUTPUT_TOKENS, "gen_ai.usage.completion_tokens",
                      "llm.token_count.completion"),
    "cached_tokens": (attrs.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
                      "gen_ai.usage.cache_read_input_tokens",
                      "llm.token_count.prompt_details.cache_read"),
    "reasoning_tokens": (attrs.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, "gen_ai.usage.reasoning_tokens",
                         "llm.usage.reasoning_tokens",
                         "llm.token_count.completion_details.reasoning"),
    "cost_usd": (attrs.GEN_AI_USAGE_COST, attrs.LLM_COST_TOTAL, "gen_ai.usage.cost_usd"),
}
# A name not listed above still counts when it says what it is (a peer's next version may rename).
_HINTS = {"cached_tokens": ("cache_read", "cached"), "reasoning_tokens": ("reasoning",),
          "cost_usd": ("cost",)}
_TOOL_OPERATION = attrs.OPERATION_EXECUTE_TOOL


@dataclass(frozen=True)
class Billed:
    """What the fake server billed for the call (its ledger entry)."""

    input_tokens: int
    output_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    cost_usd: float


@dataclass(frozen=True)
class Recorded:
    """``values[field]`` is what the spans recorded (absent: not recorded) and ``keys[field]``
    the attribute it came from."""

    values: Mapping[str, float]
    keys: Mapping[str, str]
    spans: int
    tool_spans: int
    phase: bool  # some span says which phase of the run the call belongs to

    def matches(self, field: str, billed: Billed) -> bool | None:
        """None: not recorded; else whether it equals the billed amount (costs to 1e-9)."""
        if field not in self.values:
            return None
        expected = float(getattr(billed, field))
        return math.isclose(self.values[field], expected, rel_tol=1e-9, abs_tol=1e-12)

    def correct_fields(self, billed: Billed) -> int:
        return sum(1 for field in FIELDS if self.matches(field, billed))


def recorded_from_spans(spans: Sequence[Mapping[str, Any]]) -> Recorded:
    """The first span (in the order given) holding each field wins."""
    values: dict[str, float] = {}
    keys: dict[str, str] = {}
    for field in FIELDS:
        found = _find(spans, _KEYS[field]) or _find_hinted(spans, _HINTS.get(field, ()))
        if found is not None:
            keys[field], values[field] = found
    tool_spans = sum(1 for span in spans
                     if _attributes(span).get(attrs.GEN_AI_OPERATION_NAME) == _TOOL_OPERATION)
    phase = any(attrs.PHASE in _attributes(span) for span in spans)
    return Recorded(values, keys, len(spans), tool_spans, phase)


def _attributes(span: Mapping[str, Any]) -> Mapping[str, Any]:
    found = span.get("attributes")
    return found if isinstance(found, Mapping) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _find(spans: Sequence[Mapping[str, Any]], names: Sequence[str]) -> tuple[str, float] | None:
    for span in spans:
        attributes = _attributes(span)
        for name in names:
            number = _number(attributes.get(name))
            if number is not None:
                return name, number
    return None


def _find_hinted(spans: Sequence[Mapping[str, Any]], hints: Sequence[str]
                 ) -> tuple[str, float] | None:
    for span in spans:
        for name, value in _attributes(span).items():
            number = _number(value)
            if number is not None and any(hint in name for hint in hints) \
                    and not name.startswith("tech_writer."):
                return name, number
    return None
