"""The cost attributes of the open GenAI proposal (semantic-conventions-genai PR #443).

The GenAI conventions have no cost attribute yet. The proposal names three, written here beside
the de-facto names (``gen_ai.usage.cost``, ``llm.cost.*``, ``mlflow.llm.cost``), so a backend
that adopts it reads tech_writer's spans as they are:

* ``gen_ai.usage.cost.amount``: the provider's billed figure, unmodified (not rounded, not
  split; the same float as ``gen_ai.usage.cost``);
* ``gen_ai.usage.cost.currency``: ISO 4217, ``USD`` (OpenRouter bills credits of one dollar);
* ``gen_ai.usage.cost.source``: ``provider`` when the provider billed it (the answer's
  ``usage.cost`` or ``/generation``), ``local`` when tech_writer worked it out (a local server's
  known $0).

All three are left out when the cost is unknown (or not a finite number): an absent amount says
"unknown", a zero would say "free".
"""

from __future__ import annotations

import math

from opentelemetry.util.types import AttributeValue

from telemetry import attributes as attrs

__all__ = ["proposed_cost_attributes"]


def proposed_cost_attributes(cost_usd: float | None, cost_source: str | None
                             ) -> dict[str, AttributeValue]:
    """The proposal's attributes for a call that cost ``cost_usd`` (None: unknown), as
    ``tech_writer.cost.source`` says it was learned (None: billed by the provider)."""
    if cost_usd is None or not math.isfinite(cost_usd):
        return {}
    origin = attrs.COST_ORIGIN_BY_SOURCE.get(cost_source or "", attrs.COST_ORIGIN_PROVIDER)
    return {
        attrs.GEN_AI_USAGE_COST_AMOUNT: cost_usd,
        attrs.GEN_AI_USAGE_COST_CURRENCY: attrs.COST_CURRENCY_USD,
        attrs.GEN_AI_USAGE_COST_SOURCE: origin,
    }
