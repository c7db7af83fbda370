"""OpenRouter's ``error.availability``: why a model could not be served, as a stable code.

Since August 2026 a routing failure (unknown model, no endpoint left under the request's
constraints, all providers at capacity, ...) carries ``error.availability`` beside the usual
``code`` and ``message``: ``code`` (one of 11 stable values), ``retryable``, ``retry_after``
(seconds), ``requested_models``, ``fallback_models``, ``excluded_by``, ``constraint``. OpenRouter
asks clients to switch on ``availability.code`` and ``availability.retryable`` rather than on the
message prose, which is what this module reads. (The object is documented in OpenRouter's
errors page and changelog; its OpenAPI schema, August 2026, does not list it: the error objects
there have ``code``, ``message`` and free-form ``metadata`` only.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Availability", "read_availability"]

# What each code tells a tech_writer user to do; unknown codes fall back to ``retryable``.
_ADVICE = {
    "model_not_found": "the model id is unknown: check --model (https://openrouter.ai/models)",
    "wrong_endpoint": "the model does not answer chat completions: choose a chat model",
    "no_endpoints": "no provider serves this model for this request: try another --model",
    "model_deprecated": "the model was retired: choose another --model",
    "model_unavailable_upstream": "its providers removed the model: choose another --model",
    "capacity_exhausted": "every provider of the model is at capacity: retry later",
    "temporarily_unavailable": "the model's providers are failing for now: retry later",
    "region_restricted": "the model is not available in your region",
    "privacy_restricted": "your privacy settings exclude every provider of the model "
                          "(https://openrouter.ai/settings/privacy)",
    "constraint_filtered": "no provider of this model supports every parameter the run needs: "
                           "try another --model, or leave out --reasoning",
    "free_variant_ended": "the :free variant ended: use the paid model id",
}


@dataclass(frozen=True)
class Availability:
    code: str
    retryable: bool
    retry_after_s: float | None = None
    fallback_models: tuple[str, ...] = ()
    excluded_by: tuple[str, ...] = ()

    def advice(self) -> str:
        """One line for the user: what the code means for them, and OpenRouter's suggestions."""
        text = _ADVICE.get(self.code, "the model could not be served")
        if self.code == "constraint_filtered" and self.excluded_by \
                and "require_parameters" not in self.excluded_by:
            text = f"a routing constraint ({', '.join(self.excluded_by)}) excluded every provider"
        if self.fallback_models:
            text += f"; OpenRouter suggests {', '.join(self.fallback_models[:3])}"
        return f"{text} [{self.code}]"


def read_availability(body: Any) -> Availability | None:
    """``error.availability`` of an error body (or of the ``error`` object itself), validated;
    None when absent or unreadable."""
    error = body.get("error", body) if isinstance(body, Mapping) else None
    found = error.get("availability") if isinstance(error, Mapping) else None
    if not isinstance(found, Mapping):
        return None
    code, retryable = found.get("code"), found.get("retryable")
    if not isinstance(code, str) or not code or not isinstance(retryable, bool):
        return None
    return Availability(code, retryable, _seconds(found.get("retry_after")),
                        _strings(found.get("fallback_models")), _strings(found.get("excluded_by")))


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and 0 <= value <= 3600 else None


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()
