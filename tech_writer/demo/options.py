"""How the fake OpenRouter behaves beyond the demo's defaults: the test double's controls.

``FakeOpenRouter()`` as ``--provider demo`` runs it needs none of these. Tests pass one
:class:`FakeOptions` to script what a real OpenRouter may do: another price table, a cost only
on ``/generation``, BYOK billing, cached or reasoning tokens, a credit limit, latency, answers
without ``usage``, per-model capability profiles, a reasoning model, and the shape of its JSON.
Failures are scripted separately, request by request, through ``FakeOpenRouter.faults``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ._shapes import SHAPES, Shape
from .capabilities import ModelProfile
from .pricing import DEFAULT_PRICING, Pricing

__all__ = ["FakeOptions"]


@dataclass(frozen=True, kw_only=True)
class FakeOptions:
    """The fake server's scripted behaviour; the defaults are the demo's."""

    pricing: Pricing = field(default_factory=lambda: DEFAULT_PRICING)
    # False: ``usage.cost`` is left out of answers; clients must look it up on /generation.
    inline_cost: bool = True
    # /generation answers 404 this many times per id before it knows the completion ...
    generation_404s: int = 0
    # ... or never (False), as when OpenRouter's accounting lags behind for good.
    generation_available: bool = True
    byok: bool = False  # the upstream provider bills the user; OpenRouter's cost is its fee
    cached_tokens: int = 0  # billed per call at the cache-read price (within prompt tokens)
    cache_write_tokens: int = 0  # billed per call at the cache-write price
    reasoning_tokens: int = 0  # billed per call as output (within completion tokens)
    latency_s: float = 0.0  # every answer waits this long first
    credit_usd: float | None = None  # the key's credit: a call past it is refused with 402
    # False: answers carry no ``usage`` at all (still billed in the ledger), as some local
    # OpenAI-compatible servers answer.
    send_usage: bool = True
    # Per model: what it supports (listed on /models, enforced on chat requests); a model without
    # a profile supports what the pipeline uses (see tech_writer.demo.capabilities).
    profiles: Mapping[str, ModelProfile] = field(default_factory=dict)
    # True: every answer carries reasoning and signed reasoning_details (see ._reasoning).
    reasoning: bool = False
    shape: Shape = "usual"  # which optional fields the JSON carries (see ._shapes)

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"shape must be one of {SHAPES}, got {self.shape!r}")
        counts = {
            "generation_404s": self.generation_404s,
            "cached_tokens": self.cached_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "latency_s": self.latency_s,
        }
        for name, value in counts.items():
            if value < 0:
                raise ValueError(f"{name} must be >= 0")
