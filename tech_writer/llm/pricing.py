"""Model prices from OpenRouter's ``GET /models``, and conservative call-cost estimates.

Prices are only used *before* spending (``--max-cost`` and ``--dry-run``), and to split a billed
cost into input and output shares for the backends that show them: what a run actually cost
always comes from OpenRouter's billing (``usage.cost``), never from tokens × list price.

The same ``/models`` entry also gives the model's capabilities (:mod:`tech_writer.llm.capabilities`):
:func:`fetch_model_entry` reads it once and both are parsed from it.

``/models`` lists prices as strings in USD **per token** (not per million): they are used as is.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = [
    "CHARS_PER_TOKEN",
    "COMPLETION_RESERVE_TOKENS",
    "ModelPricing",
    "estimate_prompt_tokens",
    "fetch_model_entry",
    "fetch_model_pricing",
    "parse_pricing",
]

log = logging.getLogger("tech_writer.pricing")

# English prose and code run about 4 characters per token; 3 over-estimates on purpose.
CHARS_PER_TOKEN = 3.0
# What one answer is assumed to cost in output before it happens (a section, a tool call).
COMPLETION_RESERVE_TOKENS = 1500


@dataclass(frozen=True)
class ModelPricing:
    model: str
    prompt_usd_per_token: float
    completion_usd_per_token: float
    request_usd: float = 0.0
    context_length: int | None = None
    # Cached and cache-write input tokens, when the model lists prices for them.
    cache_read_usd_per_token: float | None = None
    cache_write_usd_per_token: float | None = None

    def estimate(self, prompt_tokens: float, completion_tokens: float) -> float:
        return (prompt_tokens * self.prompt_usd_per_token
                + completion_tokens * self.completion_usd_per_token + self.request_usd)

    @property
    def prompt_worst_usd_per_token(self) -> float:
        """The most one prompt token can cost: a cache write where the model bills writes above
        the input price (``input_cache_write``: 1.25x on Anthropic, and on OpenAI's newest
        models even with automatic caching), else the input price."""
        write = self.cache_write_usd_per_token or 0.0
        return max(self.prompt_usd_per_token, write)

    def worst_case(self, prompt_tokens: float, completion_tokens: float) -> float:
        """An upper bound for one call: every prompt token written to the cache (when writes
        cost more than input) and the answer as long as its cap."""
        return (prompt_tokens * self.prompt_worst_usd_per_token
                + completion_tokens * self.completion_usd_per_token + self.request_usd)


def fetch_model_pricing(base_url: str, model: str, *, api_key: str | None = None,
                        timeout_s: float = 15.0,
                        transport: httpx.BaseTransport | None = None) -> ModelPricing | None:
    """The model's prices from ``{base_url}/models``; ``None`` (with a warning) if unavailable."""
    entry = fetch_model_entry(base_url, model, api_key=api_key, timeout_s=timeout_s,
                              transport=transport)
    return None if entry is None else parse_pricing(model, entry)


def fetch_model_entry(base_url: str, model: str, *, api_key: str | None = None,
                      timeout_s: float = 15.0, transport: httpx.BaseTransport | None = None
                      ) -> Mapping[str, Any] | None:
    """The model's entry in ``{base_url}/models`` (prices, capabilities); ``None`` (with a
    warning) if unavailable."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with httpx.Client(timeout=timeout_s, transport=transport, headers=headers) as http:
            response = http.get(base_url.rstrip("/") + "/models")
        response.raise_for_status()
        entries = response.json().get("data", [])
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        log.warning("could not read model prices and capabilities from %s/models (%s)",
                    base_url, type(exc).__name__)
        return None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping) and entry.get("id") == model:
            return entry
    log.warning("model %s is not listed at %s/models: no price to estimate with, "
                "capabilities unknown", model, base_url)
    return None


def parse_pricing(model: str, entry: Mapping[str, Any]) -> ModelPricing | None:
    pricing = entry.get("pricing")
    if not isinstance(pricing, Mapping):
        return None
    try:
        prompt = float(pricing.get("prompt", "0"))
        completion = float(pricing.get("completion", "0"))
        request = float(pricing.get("request", "0") or 0)
    except (TypeError, ValueError):
        return None
    context = entry.get("context_length")
    return ModelPricing(model, prompt, completion, request,
                        context if isinstance(context, int) else None,
                        cache_read_usd_per_token=_optional_price(pricing.get("input_cache_read")),
                        cache_write_usd_per_token=_optional_price(pricing.get("input_cache_write")))


def _optional_price(value: object) -> float | None:
    """A listed price, or None when it is absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        price = float(value)
    except ValueError:
        return None
    return price if math.isfinite(price) and price >= 0 else None


def estimate_prompt_tokens(messages: Sequence[Mapping[str, Any]],
                           tools: Sequence[Mapping[str, Any]] | None = None) -> float:
    """A deliberately high estimate of a request's prompt tokens, from its size."""
    size = len(json.dumps(list(messages), ensure_ascii=False))
    if tools:
        size += len(json.dumps(list(tools), ensure_ascii=False))
    return size / CHARS_PER_TOKEN
