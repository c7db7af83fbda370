"""The fake applies OpenRouter's output cap, credit reservation and reasoning rules."""

from __future__ import annotations

from tech_writer.demo import ModelTurn, ToolCall
from tech_writer.demo._limits import output_cap, truncated, unaffordable, worst_case_tokens
from tech_writer.demo._wire import models_body
from tech_writer.demo.capabilities import ModelProfile, ReasoningProfile, reasoning_refusal
from tech_writer.demo.pricing import DEFAULT_PRICING

PRICE = DEFAULT_PRICING["anthropic/claude-sonnet-4"]  # $3 / $15 per million, 200k context


def test_the_cap_is_max_completion_tokens_else_the_deprecated_max_tokens() -> None:
    assert output_cap({"max_completion_tokens": 100, "max_tokens": 5}) == 100
    assert output_cap({"max_tokens": 50}) == 50
    assert output_cap({}) is None and output_cap({"max_completion_tokens": True}) is None


def test_without_a_cap_the_worst_case_is_the_models_maximum_or_the_context_left() -> None:
    assert worst_case_tokens({}, PRICE, 1000, 64000) == 64000
    assert worst_case_tokens({}, PRICE, 1000, None) == 199_000
    assert worst_case_tokens({"max_completion_tokens": 800}, PRICE, 1000, 64000) == 800


def test_a_worst_case_past_the_remaining_credit_is_openrouters_402() -> None:
    remaining = 0.05  # $0.05: 1000 prompt tokens ($0.003) and up to ~3,133 answer tokens
    message = unaffordable({}, PRICE, 1000, 64000, remaining)
    assert message is not None
    assert message.startswith("This request requires more credits, or fewer max_tokens. "
                              "You requested up to 64000 tokens, but can only afford 3133.")
    assert unaffordable({"max_completion_tokens": 3000}, PRICE, 1000, 64000, remaining) is None


def test_an_answer_past_the_cap_is_cut_with_finish_reason_length() -> None:
    text = ModelTurn(content="x" * 400)  # 100 tokens
    assert truncated(text, 200, 0) is text
    cut = truncated(text, 50, 10)  # reasoning spends 10 of the 50 first
    assert cut.finish_reason == "length" and cut.content == "x" * 160
    call = ModelTurn(tool_calls=[ToolCall("read_file", {"path": "a" * 200})])
    cut_call = truncated(call, 20, 0)
    assert cut_call.finish_reason == "length"
    (arguments,) = [c.arguments for c in cut_call.tool_calls]
    assert isinstance(arguments, str) and arguments.startswith('{"path": "aaa')
    assert not arguments.endswith("}")  # mid-JSON, as a provider cut off mid-call sends it
    assert truncated(call, 5, 10).content == ""  # reasoning alone used the cap up


def test_models_lists_a_reasoning_profile_and_the_fake_enforces_it() -> None:
    profile = ModelProfile(("tools", "reasoning"), reasoning=ReasoningProfile(
        supported_efforts=("high", "medium", "low"), mandatory=True))
    (entry,) = models_body({"r/one": PRICE}, {"r/one": profile})["data"]
    assert entry["reasoning"] == {"default_effort": "medium", "default_enabled": True,
                                  "mandatory": True, "supported_efforts": ["high", "medium", "low"]}
    assert "reasoning" not in models_body({"p/lain": PRICE})["data"][0]
    assert reasoning_refusal({"reasoning": {"effort": "low"}}, profile) is None
    assert reasoning_refusal({}, profile) is None
    assert "mandatory" in str(reasoning_refusal({"reasoning": {"effort": "none"}}, profile))
    assert "mandatory" in str(reasoning_refusal({"reasoning": {"enabled": False}}, profile))
    assert "'max' is not supported" in str(reasoning_refusal({"reasoning": {"effort": "max"}},
                                                             profile))
