"""The numbers a server sends about a call (its cost, its token counts), checked before trusted.

One rule for every place that reads them (the completion's ``usage``, ``/generation``): a cost
that is not a finite number from 0 to :data:`MAX_CALL_COST_USD` is *unknown* — never added,
never zero — and a token count that is not a whole number from 0 to :data:`MAX_CALL_TOKENS` is
unknown likewise. ``True``/``False`` are not numbers here (JSON ``true`` is no count).

Costs are read exactly: the JSON number's shortest decimal form, as a :class:`~decimal.Decimal`
(``0.1`` stays ``0.1``), so sums of many calls neither drift nor overflow.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

__all__ = ["MAX_CALL_COST_USD", "MAX_CALL_TOKENS", "valid_cost", "valid_tokens"]

# No single completion costs this much: a figure above it is a server's error, not a bill.
MAX_CALL_COST_USD = Decimal(1000)
# Far above any context window (10 million tokens): a larger count is not a real one.
MAX_CALL_TOKENS = 10_000_000


def valid_cost(value: object) -> Decimal | None:
    """``value`` (a JSON number) as an exact dollar amount, or None when it cannot be a call's
    cost (a string is no figure: servers send numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_CALL_COST_USD:
        return None
    return amount


def valid_tokens(value: object) -> int | None:
    """``value`` as a token count, or None when it cannot be one (negative, fractional,
    non-finite, absurdly large, not a number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= MAX_CALL_TOKENS:
        return None
    return value
