"""OpenRouter's model-availability errors: the ``error.availability`` object (since August 2026).

A routing failure keeps its status, ``code`` and ``message`` and gains ``availability``: a
stable ``code`` (11 values), whether an identical retry can help, ``retry_after`` seconds, the
models asked for and suggested, and what excluded the endpoints. The fields and the status of
each code are OpenRouter's errors page's; the object is not in OpenRouter's OpenAPI schema (its
error objects there have a free-form ``metadata`` only), so the SDK reads it as an extra field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["AVAILABILITY_STATUS", "availability_error_body"]

# Each code's HTTP status and whether it is retryable, from OpenRouter's table.
AVAILABILITY_STATUS: dict[str, tuple[int, bool]] = {
    "model_not_found": (400, False),
    "wrong_endpoint": (400, False),
    "no_endpoints": (404, False),
    "model_deprecated": (404, False),
    "model_unavailable_upstream": (404, False),
    "capacity_exhausted": (429, True),
    "temporarily_unavailable": (503, True),
    "region_restricted": (403, False),
    "privacy_restricted": (404, False),
    "constraint_filtered": (404, False),
    "free_variant_ended": (404, False),
}
_DOCS = "https://openrouter.ai/docs/errors#"


def availability_error_body(code: str, message: str, model: str, *,
                            retry_after: float | None = None,
                            fallback_models: Sequence[str] = (),
                            excluded_by: Sequence[str] = ()) -> dict[str, Any]:
    """The error body OpenRouter sends for an availability failure ``code`` on ``model``."""
    status, retryable = AVAILABILITY_STATUS[code]
    availability: dict[str, Any] = {"code": code, "retryable": retryable,
                                    "requested_models": [model], "docs_url": _DOCS + code}
    if retry_after is not None:
        availability["retry_after"] = retry_after
    if fallback_models:
        availability["fallback_models"] = list(fallback_models)
    if excluded_by:
        availability["excluded_by"] = list(excluded_by)
        availability["constraint"] = {"field": excluded_by[0], "detail": message}
    return {"error": {"code": status, "message": message, "availability": availability}}
