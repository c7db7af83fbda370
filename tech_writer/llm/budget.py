"""``--max-cost``: stop starting LLM calls before the run's spend would pass the budget.

Before each call the run's known spend, plus what calls in flight (or awaiting a cost look-up)
may still cost, plus a conservative estimate of the new call (its size in tokens at the model's
``/models`` price, a cache write's where that is dearer, and the answer as long as the
``max_completion_tokens`` the call is sent with) is compared with the budget. Once a call is
refused, every later call is too: the run finishes with what it has.
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
            committed = spent_usd + sum(self._reserved.values())
            if self.exhausted or committed + estimate > self.max_cost_usd:
                self.exhausted = True
                raise BudgetExhausted(
                    f"budget of ${self.max_cost_usd:.4f} reached: ${committed:.4f} spent or "
                    f"committed, the next call would cost about ${estimate:.4f}")
            self._reserved[key] = estimate

    def release(self, key: int) -> None:
        with self._lock:
            self._reserved.pop(key, None)

    def _price(self) -> ModelPricing | None:
        with self._price_lock:
            if not self._priced:
                self._pricing = self._pricing_source()  # one /models request per run, at most
                self._priced = True
            return self._pricing
