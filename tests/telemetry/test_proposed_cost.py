"""The proposal's cost attributes (semantic-conventions-genai PR #443)."""

from __future__ import annotations

from telemetry import attributes as attrs
from telemetry.proposed_cost import proposed_cost_attributes


def test_a_billed_cost_is_the_providers_figure_unmodified_in_usd() -> None:
    billed = 0.0081234567
    assert proposed_cost_attributes(billed, attrs.COST_SOURCE_INLINE) == {
        "gen_ai.usage.cost.amount": billed, "gen_ai.usage.cost.currency": "USD",
        "gen_ai.usage.cost.source": "provider"}
    assert proposed_cost_attributes(billed, attrs.COST_SOURCE_GENERATION)[
        attrs.GEN_AI_USAGE_COST_SOURCE] == "provider"
    assert proposed_cost_attributes(billed, None)[attrs.GEN_AI_USAGE_COST_SOURCE] == "provider"


def test_a_local_servers_zero_is_a_local_figure() -> None:
    assert proposed_cost_attributes(0.0, attrs.COST_SOURCE_FREE) == {
        "gen_ai.usage.cost.amount": 0.0, "gen_ai.usage.cost.currency": "USD",
        "gen_ai.usage.cost.source": "local"}


def test_an_unknown_cost_leaves_all_three_out() -> None:
    assert proposed_cost_attributes(None, None) == {}
    assert proposed_cost_attributes(float("nan"), attrs.COST_SOURCE_INLINE) == {}
