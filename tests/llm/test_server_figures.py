"""Issue 26, findings 4 and 5: every number from the server is validated where it is read."""

from __future__ import annotations

import math

import pytest
from misbehaving_http import MisbehavingServer, completion, openrouter

from tech_writer.llm.client import LLMClient
from tech_writer.llm.cost_lookup import LookupPolicy
from tech_writer.llm.retry import RetryPolicy

KEY = "sk-or-v1-hostile-figures-0000"
RETRY = RetryPolicy(max_attempts=1, initial_backoff_s=0.01, max_backoff_s=0.01, max_total_wait_s=1)
LOOKUP = LookupPolicy(max_wait_s=0.5, initial_delay_s=0.01, max_delay_s=0.05)
MESSAGES = [{"role": "user", "content": "Say hello."}]


def usage(cost: str, prompt: str = "10", completion_tokens: str = "5") -> str:
    return (f'{{"prompt_tokens": {prompt}, "completion_tokens": {completion_tokens}, '
            f'"total_tokens": 15, "cost": {cost}}}')


def run_calls(bodies, *, generation=None, calls=None):
    script = openrouter(lambda n: bodies[min(n, len(bodies) - 1)], generation=generation)
    with MisbehavingServer(script) as server, LLMClient(
            "openai/gpt-5.1", "openrouter", KEY, server.base_url, retry=RETRY,
            lookup=LOOKUP) as llm:
        errors = []
        for _ in range(calls or len(bodies)):
            try:
                llm.chat(MESSAGES)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
        return llm.get_cost_summary(), errors


@pytest.mark.parametrize("cost", ["-0.94", "NaN", "Infinity", "1e308", "5000", "true", '"0.1"'])
def test_a_cost_that_cannot_be_a_bill_is_unknown_never_added(cost: str) -> None:
    summary, errors = run_calls([completion(usage(cost))] * 2)
    assert errors == []
    assert summary["total_calls"] == 2 and summary["calls_without_cost"] == 2
    assert summary["complete"] is False
    assert summary["total_cost_usd"] == 0.0


def test_a_bad_inline_cost_is_looked_up_on_generation() -> None:
    summary, _ = run_calls([completion(usage("-21.0"))],
                           generation=b'{"data": {"total_cost": 0.0125}}')
    assert summary["complete"] is True and summary["total_cost_usd"] == 0.0125


@pytest.mark.parametrize("tokens", ["NaN", "Infinity", "-5", "1.5", "1e30", '"many"'])
def test_token_counts_that_cannot_be_counts_are_unknown_and_the_call_still_counts(tokens):
    summary, errors = run_calls([completion(usage("0.01", prompt=tokens))])
    assert errors == []
    assert summary["total_calls"] == 1 and summary["calls_without_usage"] == 1
    assert summary["total_cost_usd"] == 0.01 and summary["complete"] is True
    assert summary["prompt_tokens"] == 0  # the usage is unknown as a whole, not half-counted


@pytest.mark.parametrize("choices", ["[]", "null"])
def test_a_billed_answer_without_choices_is_still_counted(choices: str) -> None:
    summary, errors = run_calls([completion(usage("0.02"), choices=choices)])
    assert errors  # the client could not use it
    # Billed, but not usable: a call whose cost is not known, so the total is a lower bound.
    assert summary["calls_without_cost"] == 1
    assert summary["complete"] is False


def test_sums_are_exact_and_cannot_overflow() -> None:
    costs = [0.1, 0.2, 1e-9, 3.3]
    summary, _ = run_calls([completion(usage(repr(cost))) for cost in costs])
    assert summary["total_cost_usd"] == math.fsum(costs)  # one rounding, whatever the order
    summary, _ = run_calls([completion(usage("1e308")), completion(usage("1e308"))])
    assert summary["total_cost_usd"] == 0.0 and summary["calls_without_cost"] == 2


def test_max_cost_stays_a_ceiling_when_every_cost_is_unknown() -> None:
    """The issue's case: NaN costs, /generation never knows them; each call really costs
    2,000 x $1e-6 + 1,000 x $4e-6 = $0.006 at the /models price."""
    from tech_writer.llm.budget import BudgetExhausted

    body = completion('{"prompt_tokens": 2000, "completion_tokens": 1000, "total_tokens": 3000, '
                      '"cost": NaN}')
    script = openrouter(lambda n: body)
    made = 0
    with MisbehavingServer(script) as server, LLMClient(
            "openai/gpt-5.1", "openrouter", KEY, server.base_url, retry=RETRY, lookup=LOOKUP,
            max_cost_usd=0.02) as llm:
        with pytest.raises(BudgetExhausted, match="estimated"):
            for _ in range(20):
                llm.chat(MESSAGES)
                made += 1
    billed = made * 0.006
    assert 1 <= made and billed <= 0.02
