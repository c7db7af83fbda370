"""Deterministic token counting and billing for the fake OpenRouter server.

The rules are simple on purpose, so a client can reproduce every charge from what it receives:

* ``prompt_tokens = max(1, len(canonical JSON of [messages, tools, response_format]) // 4)``,
  where canonical JSON is ``json.dumps(..., sort_keys=True, separators=(",", ":"),
  ensure_ascii=False)`` and absent fields are ``null``.
* ``completion_tokens = max(1, len(content + tool names + tool argument strings) // 4)
  + reasoning_tokens`` (reasoning is billed as output, as on OpenRouter).
* Cached and cache-write tokens are part of ``prompt_tokens`` and are billed at
  ``input_cache_read`` / ``input_cache_write`` instead of the prompt price.
* ``cost`` is the sum of the priced parts rounded to 12 decimal places; that exact float is sent
  as ``usage.cost`` (and ``/generation`` ``total_cost``) and recorded in the ledger.
* BYOK: the provider bills the user directly (``upstream_inference_cost``) and OpenRouter's own
  ``cost`` is its 5 % fee on that upstream amount.
* ``cost_details.upstream_inference_prompt_cost`` / ``..._completions_cost`` split the list-price
  amount into its prompt part (cache reads and writes included) and its completion part, each
  rounded to 12 decimal places; they are reported for every call, BYOK or not.

Model lookup: an exact id in the pricing table wins; otherwise a ``"*"`` entry, when present, is
the fallback price (``DEFAULT_PRICING`` has one so tests may use any model name); otherwise the
server answers 400 "is not a valid model ID", as OpenRouter does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BYOK_FEE_RATE",
    "DEFAULT_PRICING",
    "FALLBACK_MODEL_KEY",
    "Charge",
    "ModelPrice",
    "Pricing",
    "compute_charge",
    "count_completion_tokens",
    "count_prompt_tokens",
    "price_for",
]

# OpenRouter charges BYOK users a fee proportional to what the upstream provider billed.
BYOK_FEE_RATE = 0.05
FALLBACK_MODEL_KEY = "*"
_COST_DECIMALS = 12
_CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class ModelPrice:
    """USD per token, as OpenRouter's ``/models`` lists them (before string formatting)."""

    prompt: float
    completion: float
    input_cache_read: float
    input_cache_write: float
    context_length: int = 128_000


Pricing = Mapping[str, ModelPrice]

DEFAULT_PRICING: Pricing = {
    "openai/gpt-5.1": ModelPrice(1.25e-6, 1e-5, 1.25e-7, 0.0, 400_000),
    "gpt-5.1": ModelPrice(1.25e-6, 1e-5, 1.25e-7, 0.0, 400_000),
    "openai/gpt-4o-mini": ModelPrice(1.5e-7, 6e-7, 7.5e-8, 0.0, 128_000),
    "anthropic/claude-sonnet-4": ModelPrice(3e-6, 1.5e-5, 3e-7, 3.75e-6, 200_000),
    # The demo model is priced (cheaply) rather than free so that demo runs exercise the whole
    # cost pipeline with non-zero numbers; the CLI labels those costs as simulated.
    "demo/scripted": ModelPrice(1e-7, 4e-7, 1e-8, 1.25e-7, 128_000),
    # The two demo models of `tech-writer compare`: the careful one is priced like a frontier
    # model, the sloppy one like a small cheap one, so the comparison has a trade-off to show.
    "demo/careful": ModelPrice(1.25e-6, 1e-5, 1.25e-7, 0.0, 400_000),
    "demo/sloppy": ModelPrice(1.5e-7, 6e-7, 7.5e-8, 0.0, 128_000),
    # The judge the README names (`--judge demo/judge`): listed, so its price is known.
    "demo/judge": ModelPrice(1.5e-7, 6e-7, 7.5e-8, 0.0, 128_000),
    FALLBACK_MODEL_KEY: ModelPrice(1e-6, 2e-6, 1e-7, 1.25e-6, 128_000),
}


@dataclass(frozen=True)
class Charge:
    """Token counts and the billed amounts for one completion."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_usd: float
    upstream_cost_usd: float | None
    upstream_prompt_cost_usd: float = 0.0
    upstream_completion_cost_usd: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def price_for(pricing: Pricing, model: str) -> ModelPrice | None:
    """The price of ``model``: exact entry, else the ``"*"`` fallback, else None (unknown)."""
    if model in pricing:
        return pricing[model]
    return pricing.get(FALLBACK_MODEL_KEY)


def count_prompt_tokens(body: Mapping[str, Any]) -> int:
    """Tokens billed for a request body (see the module docstring for the rule)."""
    billed_parts = [body.get("messages"), body.get("tools"), body.get("response_format")]
    canonical = json.dumps(billed_parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return max(1, len(canonical) // _CHARS_PER_TOKEN)


def count_completion_tokens(generated_text: str, reasoning_tokens: int = 0) -> int:
    """Tokens billed for the generated text (content plus tool names and arguments)."""
    return max(1, len(generated_text) // _CHARS_PER_TOKEN) + reasoning_tokens


def compute_charge(
    price: ModelPrice,
    *,
    prompt_tokens: int,
    completion_tokens: int,
    cached_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
    byok: bool = False,
) -> Charge:
    """Bill one completion. Cached/cache-write counts are clamped to fit inside prompt_tokens."""
    cached = max(0, min(cached_tokens, prompt_tokens))
    written = max(0, min(cache_write_tokens, prompt_tokens - cached))
    uncached = prompt_tokens - cached - written
    prompt_parts = [
        uncached * price.prompt,
        cached * price.input_cache_read,
        written * price.input_cache_write,
    ]
    completion_part = completion_tokens * price.completion
    list_cost = round(math.fsum([*prompt_parts, completion_part]), _COST_DECIMALS)
    if byok:
        cost, upstream = round(list_cost * BYOK_FEE_RATE, _COST_DECIMALS), list_cost
    else:
        cost, upstream = list_cost, None
    return Charge(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cached_tokens=cached,
        cache_write_tokens=written,
        reasoning_tokens=reasoning_tokens,
        cost_usd=cost,
        upstream_cost_usd=upstream,
        upstream_prompt_cost_usd=round(math.fsum(prompt_parts), _COST_DECIMALS),
        upstream_completion_cost_usd=round(completion_part, _COST_DECIMALS),
    )
