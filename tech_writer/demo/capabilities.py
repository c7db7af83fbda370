"""What each fake model supports, and how the fake answers a request that asks for more.

A :class:`ModelProfile` lists a model's ``supported_parameters`` (shown on ``/models``) and, for a
reasoning model, the reasoning tokens it spends per answer. A request is then treated as
OpenRouter treats it:

* ``tools`` sent to a model without tool support: 404 "No endpoints found that support tool
  use." (OpenRouter's wording, as users report it);
* with ``provider.require_parameters``, any other parameter the model does not list: 404 "No
  endpoints found that can handle the requested parameters." (the wording users report);
* without it, the unsupported parameters are ignored: the model never sees them, as when
  OpenRouter routes to a provider that drops them (assumed: OpenRouter documents that
  unsupported parameters are ignored, not how each provider does it).

A ``reasoning`` parameter with ``enabled: false`` or ``effort: "none"`` turns a reasoning model's
thinking off (no reasoning tokens billed); otherwise it spends ``reasoning_tokens``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_PARAMETERS",
    "NO_ENDPOINT_FOR_PARAMETERS",
    "NO_ENDPOINT_FOR_TOOLS",
    "ModelProfile",
    "reasoning_tokens_for",
    "refusal",
    "without_ignored",
]

DEFAULT_PARAMETERS = ("tools", "tool_choice", "response_format", "structured_outputs")
NO_ENDPOINT_FOR_TOOLS = "No endpoints found that support tool use."
NO_ENDPOINT_FOR_PARAMETERS = "No endpoints found that can handle the requested parameters."
# Request fields that are optional parameters on OpenRouter (each under the name /models lists).
_OPTIONAL = ("tool_choice", "response_format", "reasoning", "parallel_tool_calls")


@dataclass(frozen=True)
class ModelProfile:
    """One fake model's capabilities; the default supports what the pipeline uses."""

    supported_parameters: tuple[str, ...] = DEFAULT_PARAMETERS
    reasoning_tokens: int = 0  # spent per answer while reasoning is on
    max_completion_tokens: int | None = None

    def supports(self, parameter: str) -> bool:
        return parameter in self.supported_parameters


def _listed_as(name: str, value: Any) -> str:
    """The ``supported_parameters`` entry a request field needs."""
    if name == "response_format" and isinstance(value, Mapping) \
            and value.get("type") == "json_schema":
        return "structured_outputs"
    return name


def refusal(body: Mapping[str, Any], profile: ModelProfile) -> str | None:
    """The 404 message OpenRouter would answer ``body`` with, or None when it is routable."""
    if body.get("tools") and not profile.supports("tools"):
        return NO_ENDPOINT_FOR_TOOLS
    provider = body.get("provider")
    required = isinstance(provider, Mapping) and provider.get("require_parameters") is True
    if required and any(not profile.supports(_listed_as(name, body[name]))
                        for name in _OPTIONAL if name in body):
        return NO_ENDPOINT_FOR_PARAMETERS
    return None


def without_ignored(body: dict[str, Any], profile: ModelProfile) -> dict[str, Any]:
    """``body`` as the model sees it: parameters it does not support are dropped."""
    dropped = [name for name in _OPTIONAL
               if name in body and not profile.supports(_listed_as(name, body[name]))]
    if not dropped:
        return body
    return {key: value for key, value in body.items() if key not in dropped}


def reasoning_tokens_for(body: Mapping[str, Any], profile: ModelProfile) -> int:
    """Reasoning tokens this request makes the model spend (0 when reasoning is turned off)."""
    if not profile.reasoning_tokens or not profile.supports("reasoning"):
        return 0
    reasoning = body.get("reasoning")
    if isinstance(reasoning, Mapping) and (
            reasoning.get("enabled") is False or reasoning.get("effort") == "none"):
        return 0
    return profile.reasoning_tokens
