"""What the fake refuses before a chat request reaches the model, as OpenRouter refuses it.

In order: no provider of the model can take the request (404, with ``error.availability``:
``no_endpoints`` when the model has no tool support, ``constraint_filtered`` when
``provider.require_parameters`` excluded every provider); a reasoning effort the model's
``/models`` entry rules out (400); a worst case (the answer as long as the request allows) the
key's remaining credit cannot cover (402, OpenRouter's "requires more credits, or fewer
max_tokens").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._availability import availability_error_body
from ._limits import unaffordable
from .capabilities import NO_ENDPOINT_FOR_TOOLS, ModelProfile, reasoning_refusal, refusal
from .pricing import ModelPrice, count_prompt_tokens

__all__ = ["admission_refusal"]


def admission_refusal(body: Mapping[str, Any], price: ModelPrice, profile: ModelProfile,
                      remaining_usd: float | None) -> tuple[int, dict[str, Any]] | None:
    """``(status, error body)`` for a request OpenRouter would refuse before routing, or None."""
    model = str(body.get("model"))
    refused = refusal(body, profile)
    if refused is not None:
        if refused == NO_ENDPOINT_FOR_TOOLS:
            return 404, availability_error_body("no_endpoints", refused, model)
        return 404, availability_error_body("constraint_filtered", refused, model,
                                            excluded_by=["require_parameters"])
    effort = reasoning_refusal(body, profile)
    if effort is not None:
        return 400, {"error": {"code": 400, "message": effort}}
    if remaining_usd is not None:
        short = unaffordable(body, price, count_prompt_tokens(body),
                             profile.max_completion_tokens, remaining_usd)
        if short is not None:
            return 402, {"error": {"code": 402, "message": short}}
    return None
