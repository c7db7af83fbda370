"""The output cap and the credit reservation, as OpenRouter applies them to a chat request.

* **The cap.** ``max_completion_tokens`` (the current name) or the deprecated ``max_tokens`` bounds
  the answer. An answer that would run past it is cut there, with ``finish_reason: "length"``:
  the text ends mid-way, a tool call's arguments end mid-JSON. Reasoning tokens count against
  the cap first (they are output tokens).
* **The reservation.** Before routing, OpenRouter reserves credit for the largest answer the
  request allows: the cap when one is sent, else the model's ``top_provider.max_completion_tokens``,
  else whatever the context window leaves. A key whose remaining credit cannot cover that worst
  case gets 402 "This request requires more credits, or fewer max_tokens. You requested up to N
  tokens, but can only afford M." although the answer itself might have cost cents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._types import ModelTurn, ToolCall
from .pricing import _CHARS_PER_TOKEN, ModelPrice

__all__ = ["LENGTH", "output_cap", "truncated", "unaffordable", "worst_case_tokens"]

LENGTH = "length"


def output_cap(body: Mapping[str, Any]) -> int | None:
    """The request's cap on answer tokens: ``max_completion_tokens``, else ``max_tokens``."""
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def worst_case_tokens(body: Mapping[str, Any], price: ModelPrice, prompt_tokens: int,
                      model_max: int | None) -> int:
    """The most answer tokens the request allows (what OpenRouter reserves credit for)."""
    cap = output_cap(body)
    if cap is not None:
        return cap
    if model_max is not None:
        return model_max
    return max(price.context_length - prompt_tokens, 1)


def unaffordable(body: Mapping[str, Any], price: ModelPrice, prompt_tokens: int,
                 model_max: int | None, remaining_usd: float) -> str | None:
    """OpenRouter's 402 message when the worst case costs more than ``remaining_usd``."""
    requested = worst_case_tokens(body, price, prompt_tokens, model_max)
    worst_usd = prompt_tokens * price.prompt + requested * price.completion
    if worst_usd <= remaining_usd:
        return None
    left = max(remaining_usd - prompt_tokens * price.prompt, 0.0)
    affordable = int(left / price.completion) if price.completion > 0 else 0
    return ("This request requires more credits, or fewer max_tokens. You requested up to "
            f"{requested} tokens, but can only afford {affordable}. To increase, visit "
            "https://openrouter.ai/settings/credits and add more credits")


def truncated(turn: ModelTurn, cap: int | None, reasoning_tokens: int) -> ModelTurn:
    """``turn`` cut at ``cap`` answer tokens (``finish_reason: "length"``), or ``turn`` itself
    when it fits. Reasoning is spent first; what is left holds the text, then the tool calls."""
    if cap is None:
        return turn
    room = (cap - reasoning_tokens) * _CHARS_PER_TOKEN
    if len(turn.billed_text()) // _CHARS_PER_TOKEN + reasoning_tokens <= cap:
        return turn
    if room <= 0:
        return ModelTurn(content="", finish_reason=LENGTH)
    content = turn.content or ""
    if len(content) >= room or not turn.tool_calls:
        return ModelTurn(content=content[:room], finish_reason=LENGTH)
    room -= len(content)
    calls: list[ToolCall] = []
    for call in turn.tool_calls:
        arguments = call.arguments_json()
        if len(call.name) + len(arguments) <= room:
            calls.append(call)
            room -= len(call.name) + len(arguments)
            continue
        # The provider stops mid-arguments: the call arrives with JSON that does not parse.
        calls.append(ToolCall(call.name, arguments[:max(room - len(call.name), 0)]))
        break
    return ModelTurn(content=turn.content, tool_calls=calls, finish_reason=LENGTH)
