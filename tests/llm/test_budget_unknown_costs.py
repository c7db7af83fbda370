"""Issue 26, finding 4: --max-cost stays a hard ceiling when a call's cost comes back unknown."""

from __future__ import annotations

import pytest

from tech_writer.llm.budget import Budget, BudgetExhausted
from tech_writer.llm.pricing import ModelPricing

PRICING = ModelPricing("demo/m", prompt_usd_per_token=1e-6, completion_usd_per_token=4e-6)
MESSAGES = [{"role": "user", "content": "x" * 4_000}]


def test_an_unknown_cost_is_counted_at_its_estimate_until_it_is_known() -> None:
    budget = Budget(0.015, lambda: PRICING)  # each call is reserved ~$0.0073
    budget.reserve(1, MESSAGES, None, spent_usd=0.0)
    estimate = budget.usage_estimate(3_000, 2_000)
    assert estimate == pytest.approx(0.011)
    assert budget.hold(1, estimate) == pytest.approx(0.011)
    assert budget.held_usd == pytest.approx(0.011)
    # Nothing billed is known, yet the next call that would pass the ceiling is refused.
    with pytest.raises(BudgetExhausted, match="estimated for calls whose cost is not known"):
        budget.reserve(2, MESSAGES, None, spent_usd=0.0)


def test_once_the_real_cost_arrives_the_estimate_gives_way() -> None:
    budget = Budget(0.05, lambda: PRICING)
    budget.reserve(1, MESSAGES, None, spent_usd=0.0)
    budget.hold(1, budget.usage_estimate(3_000, 2_000))
    budget.settle(1)  # the look-up answered: the real figure is in the spend now
    assert budget.held_usd == 0
    budget.reserve(2, MESSAGES, None, spent_usd=0.004)


def test_without_usage_the_reservation_is_held() -> None:
    budget = Budget(1.0, lambda: PRICING)
    budget.reserve(1, MESSAGES, None, spent_usd=0.0)
    reserved = budget.estimate(MESSAGES, None)
    assert budget.hold(1, budget.usage_estimate(None, None)) == pytest.approx(reserved)


def test_an_unknown_cost_at_an_unknown_price_stops_the_run() -> None:
    budget = Budget(1.0, lambda: None)
    budget.reserve(1, MESSAGES, None, spent_usd=0.0)
    assert budget.hold(1, budget.usage_estimate(100, 100), what="call gen-1") is None
    with pytest.raises(BudgetExhausted, match="cost of call gen-1 is unknown"):
        budget.reserve(2, MESSAGES, None, spent_usd=0.0)
