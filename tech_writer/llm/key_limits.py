"""``GET /api/v1/key``: what the API key may still spend, read before the first paid call.

OpenRouter keeps a key's spend limit there (``data.limit``, ``data.limit_remaining``, USD, null
when the key has no limit; both required by its schema). The figure is validated before it is
trusted (a finite number, not negative); anything else counts as "not known".
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["KeyLimits", "fetch_key_limits", "key_limit_problem", "parse_key_limits"]

log = logging.getLogger("tech_writer.key")


@dataclass(frozen=True)
class KeyLimits:
    limit_usd: float | None  # None: the key has no spend limit
    remaining_usd: float | None  # None: no limit (or not reported)


def parse_key_limits(body: Any) -> KeyLimits | None:
    """The limits in a ``/key`` answer; None when it is not one."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or "limit_remaining" not in data:
        return None
    return KeyLimits(_usd(data.get("limit")), _usd(data.get("limit_remaining")))


def fetch_key_limits(base_url: str, api_key: str, *, timeout_s: float = 15.0,
                     transport: httpx.BaseTransport | None = None) -> KeyLimits | None:
    """The key's limits from ``{base_url}/key``; None (logged) when they cannot be read."""
    try:
        with httpx.Client(timeout=timeout_s, transport=transport,
                          headers={"Authorization": f"Bearer {api_key}"}) as http:
            response = http.get(base_url.rstrip("/") + "/key")
        response.raise_for_status()
        limits = parse_key_limits(response.json())
    except (httpx.HTTPError, ValueError) as exc:
        log.info("could not read the key's spend limit (%s)", type(exc).__name__)
        return None
    if limits is None:
        log.info("the key's spend limit was not in /key's answer")
    return limits


def key_limit_problem(limits: KeyLimits | None, worst_answer_usd: float | None,
                      max_cost_usd: float | None = None) -> str | None:
    """Why the run cannot start on this key (one line), or None. OpenRouter refuses (402) a
    call whose worst case, answer capped, is more than the key has left: when even the
    cheapest call of the run is, no call can succeed. A ``--max-cost`` above what the key has
    left is only logged: the key then stops the run first."""
    if limits is None or limits.remaining_usd is None:
        return None
    remaining = limits.remaining_usd
    if max_cost_usd is not None and max_cost_usd > remaining:
        log.warning("the API key has $%.4f left of its spend limit, less than --max-cost "
                    "$%.4f: OpenRouter will refuse calls (402) before the budget is spent",
                    remaining, max_cost_usd)
    if worst_answer_usd is None or worst_answer_usd <= remaining:
        return None
    return (f"the API key has ${remaining:.4f} left of its spend limit, and OpenRouter sets aside "
            f"${worst_answer_usd:.4f} or more for each answer of this model: raise the key's limit "
            "(https://openrouter.ai/settings/keys) or choose a cheaper --model")


def _usd(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None
