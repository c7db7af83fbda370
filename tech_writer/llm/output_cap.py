"""How many answer tokens each call may produce: ``max_completion_tokens`` on every request.

Without a cap OpenRouter reserves credit for the model's largest possible answer before routing
(``top_provider.max_completion_tokens``, or the context window), so a key with a small balance
gets 402 on a call that would have cost cents; and an unbounded answer is an unbounded cost. So
every OpenRouter request carries ``max_completion_tokens`` (``max_tokens`` is deprecated in
OpenRouter's schema), sized from what the phase's answer needs:

* the answer itself (:data:`PHASE_ANSWER_TOKENS`: a batch of tool calls and notes while exploring,
  the outline's JSON, a section's prose, the judge's scores), with room to spare;
* plus the reasoning the model spends first: reasoning tokens are output tokens and count against
  the cap. OpenRouter turns an effort into a share of the cap (its reasoning guide: ``max`` and
  ``xhigh`` about 95 %, ``high`` 80 %, ``medium`` 50 %, ``low`` 20 %, ``minimal`` 10 %), so the
  cap is the answer divided by what that share leaves;
* at most the model's ``top_provider.max_completion_tokens``.

The same figure is the answer's worst case in ``--max-cost``'s estimate of the next call and in
``--dry-run``. An answer cut at the cap (``finish_reason: "length"``) is retried once with
:func:`grown` (twice the cap, within the model's maximum).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "DEFAULT_ANSWER_TOKENS",
    "PHASE_ANSWER_TOKENS",
    "REASONING_SHARE",
    "OutputCaps",
    "grown",
]

# What one answer of each phase needs, with room to spare (--dry-run's typical answers: a
# section ~900 tokens, the outline ~400, the exploration's summary ~1,000). Not more: the cap is
# also what --max-cost reserves for every call, and what OpenRouter holds back from the key.
PHASE_ANSWER_TOKENS: Mapping[str, int] = {
    "exploration": 4096,  # a batch of tool calls, or the summary of what was found
    "outline": 2048,  # the outline's JSON
    "sections": 4096,  # a section's prose
    "evaluate": 2048,  # the judge's scores
}
DEFAULT_ANSWER_TOKENS = 4096  # a call outside any phase
# The share of the cap OpenRouter gives reasoning at each effort (its reasoning-tokens guide).
REASONING_SHARE: Mapping[str, float] = {
    "max": 0.95, "xhigh": 0.95, "high": 0.8, "medium": 0.5, "low": 0.2, "minimal": 0.1,
    "none": 0.0,
}


@dataclass(frozen=True)
class OutputCaps:
    """The caps of one run: the reasoning effort in force and the model's maximum."""

    effort: str | None = None  # sent, or the model's default when reasoning is on by default
    model_max: int | None = None  # top_provider.max_completion_tokens; None: not listed

    def for_phase(self, phase: str | None) -> int:
        """``max_completion_tokens`` for a call of ``phase``."""
        answer = PHASE_ANSWER_TOKENS.get(phase or "", DEFAULT_ANSWER_TOKENS)
        share = REASONING_SHARE.get(self.effort or "none", 0.0)
        cap = math.ceil(round(answer / (1.0 - share), 6))  # 4096 / 0.2 is 20480.000000000004
        return cap if self.model_max is None else min(cap, self.model_max)


def grown(cap: int, model_max: int | None) -> int | None:
    """The cap to retry a truncated answer with: twice as large, within the model's maximum;
    None when the cap cannot grow (it already is the maximum)."""
    bigger = cap * 2 if model_max is None else min(cap * 2, model_max)
    return bigger if bigger > cap else None
