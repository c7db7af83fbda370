"""``--max-cost``: stop starting LLM calls before the run's spend would pass the budget.

Before each call the run's known spend, plus what calls in flight (or awaiting a cost look-up)
may still cost, plus a conservative estimate of the new call (its size in tokens at the model's
``/models`` price, a cache write's where that is dearer, and the answer as long as the
``max_completion_tokens`` the call is sent with) is compared with the budget. Once a call is
refused, every later call is too: the run finishes with what it has.

A call whose cost came back unknown stays a ceiling, not a hole: :meth:`Budget.hold` keeps an
estimate of it counted (its own token counts at the ``/models`` price, or, with no usage either,
what was reserved for it from the request's size and output cap) until :meth:`Budget.settle`
says the real figure is in the spend. When not even an estimate can be made (the model's price is
unknown too), no further call is started: the budget cannot be kept otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tech_writer.errors import EXIT_BUDGET, TechWriterError
from tech_writer.llm.pricing import (
    COMPLETION_RESERVE_TOKENS,
    ModelPricing,
    estimate_prompt_tokens,
)

__all__ = ["Budget", "BudgetExhausted"]


class BudgetExhausted(TechWriterError):
    exit_code = EXIT_BUDGET


class Budget:
    def __init__(self, max_cost_usd: float, pricing: Callable[[], ModelPricing | None]) -> None:
        self.max_cost_usd = max_cost_usd
        self._pricing_source = pricing
        self._pricing: ModelPricing | None = None
        self._priced = False
        self._reserved: dict[int, float] = {}
        self._held: dict[int, float] = {}  # calls of unknown cost: their estimates, still counted
        self._blind: str | None = None  # why an unknown cost could not even be estimated
        self._lock = threading.Lock()
        self._price_lock = threading.Lock()
        self.exhausted = False

    def estimate(self, messages: Sequence[Mapping[str, Any]],
                 tools: Sequence[Mapping[str, Any]] | None,
                 completion_tokens: int | None = None) -> float:
        """The call's worst case; ``completion_tokens``: the cap it is sent with (None: a
        fixed reserve, for a provider that takes no cap)."""
        pricing = self._price()
        if pricing is None:
            return 0.0  # unknown price: only the spend already billed can stop the run
        answer = COMPLETION_RESERVE_TOKENS if completion_tokens is None else completion_tokens
        return pricing.worst_case(estimate_prompt_tokens(messages, tools), answer)

    def reserve(self, key: int, messages: Sequence[Mapping[str, Any]],
                tools: Sequence[Mapping[str, Any]] | None, spent_usd: float,
                completion_tokens: int | None = None) -> None:
        """Admit the call ``key`` or raise :class:`BudgetExhausted`."""
        estimate = self.estimate(messages, tools, completion_tokens)
        with self._lock:
            committed = spent_usd + sum(self._reserved.values()) + sum(self._held.values())
            if self._blind is not None:
                self.exhausted = True
                raise BudgetExhausted(f"budget of ${self.max_cost_usd:.4f}: {self._blind}; "
                                      "no further call is started")
            if self.exhausted or committed + estimate > self.max_cost_usd:
                self.exhausted = True
                held = (f" (${sum(self._held.values()):.4f} of it estimated for calls whose "
                        "cost is not known yet)" if self._held else "")
                raise BudgetExhausted(
                    f"budget of ${self.max_cost_usd:.4f} reached: ${committed:.4f} spent or "
                    f"committed{held}, the next call would cost about ${estimate:.4f}")
            self._reserved[key] = estimate

    def release(self, key: int) -> None:
        with self._lock:
            self._reserved.pop(key, None)

    def usage_estimate(self, prompt_tokens: int | None, completion_tokens: int | None
                       ) -> float | None:
        """A call's cost from its own token counts at the ``/models`` price (None when either
        is unknown)."""
        pricing = self._price()
        if pricing is None or prompt_tokens is None or completion_tokens is None:
            return None
        return pricing.estimate(prompt_tokens, completion_tokens)

    def hold(self, key: int, estimate_usd: float | None, what: str = "a call") -> float | None:
        """The call ``key`` ended with its cost unknown: keep ``estimate_usd`` (or, without
        one, what was reserved for it) counted until :meth:`settle`. Returns the amount held;
        None when nothing could be estimated, and then no further call is admitted."""
        with self._lock:
            reserved = self._reserved.pop(key, None)
            amount = estimate_usd if estimate_usd is not None else reserved
            if amount is None or (amount <= 0 and self._pricing is None):
                self._blind = (f"the cost of {what} is unknown and the model's price too, so "
                               "the spend cannot be bounded")
                return None
            self._held[key] = amount
            return amount

    def settle(self, key: int) -> None:
        """The real cost of the held call ``key`` is now part of the spend (or will never be:
        call :meth:`settle` only when it is)."""
        with self._lock:
            self._held.pop(key, None)

    @property
    def held_usd(self) -> float:
        """What is counted for calls whose cost is not known yet."""
        with self._lock:
            return sum(self._held.values())

    def _price(self) -> ModelPricing | None:
        with self._price_lock:
            if not self._priced:
                self._pricing = self._pricing_source()  # one /models request per run, at most
                self._priced = True
            return self._pricing
