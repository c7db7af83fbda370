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

A profile's :class:`ReasoningProfile` is the model's ``reasoning`` entry on ``/models``
(OpenRouter's ``ModelReasoning``: ``supported_efforts``, ``mandatory``, ``default_effort``,
``default_enabled``). A request asking for an effort outside ``supported_efforts``, or turning a
mandatory reasoning off, is refused with 400 (the schema says such an effort "is rejected"; the
wording of the message is the fake's own: OpenRouter's is not documented).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_PARAMETERS",
    "REASONING_EFFORTS",
    "NO_ENDPOINT_FOR_PARAMETERS",
    "NO_ENDPOINT_FOR_TOOLS",
    "ModelProfile",
    "ReasoningProfile",
    "reasoning_refusal",
    "reasoning_tokens_for",
    "refusal",
    "without_ignored",
]

DEFAULT_PARAMETERS = ("tools", "tool_choice", "response_format", "structured_outputs")
NO_ENDPOINT_FOR_TOOLS = "No endpoints found that support tool use."
NO_ENDPOINT_FOR_PARAMETERS = "No endpoints found that can handle the requested parameters."
# Request fields that are optional parameters on OpenRouter (each under the name /models lists).
_OPTIONAL = ("tool_choice", "response_format", "reasoning", "parallel_tool_calls")
# OpenRouter's ReasoningEffort, highest first (the order supported_efforts lists them in).
REASONING_EFFORTS = ("max", "xhigh", "high", "medium", "low", "minimal", "none")


@dataclass(frozen=True)
class ReasoningProfile:
    """A reasoning model's ``reasoning`` entry on ``/models`` (OpenRouter's ModelReasoning)."""

    supported_efforts: tuple[str, ...] | None = None  # None: no allowlist, every effort accepted
    mandatory: bool = False  # True: reasoning cannot be turned off ("none" is rejected)
    default_effort: str | None = "medium"
    default_enabled: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.supported_efforts or ()) | {self.default_effort or "medium"}
        unknown -= set(REASONING_EFFORTS)
        if unknown:
            raise ValueError(f"unknown reasoning efforts {sorted(unknown)}")

    def entry(self) -> dict[str, Any]:
        """The ``reasoning`` object of the model's ``/models`` entry."""
        efforts = self.supported_efforts
        return {
            "default_effort": self.default_effort,
            "default_enabled": self.default_enabled,
            "mandatory": self.mandatory,
            "supported_efforts": None if efforts is None else list(efforts),
        }

    def accepts(self, effort: str) -> bool:
        if effort == "none" and self.mandatory:
            return False
        return self.supported_efforts is None or effort in self.supported_efforts


@dataclass(frozen=True)
class ModelProfile:
    """One fake model's capabilities; the default supports what the pipeline uses."""

    supported_parameters: tuple[str, ...] = DEFAULT_PARAMETERS
    reasoning_tokens: int = 0  # spent per answer while reasoning is on
    max_completion_tokens: int | None = None
    reasoning: ReasoningProfile | None = None  # listed on /models; None: no ``reasoning`` entry

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


def reasoning_refusal(body: Mapping[str, Any], profile: ModelProfile) -> str | None:
    """The 400 message for a ``reasoning`` the model's profile rejects, or None."""
    reasoning = body.get("reasoning")
    if profile.reasoning is None or not isinstance(reasoning, Mapping):
        return None
    effort = reasoning.get("effort")
    if reasoning.get("enabled") is False:
        effort = "none"
    if not isinstance(effort, str) or profile.reasoning.accepts(effort):
        return None
    if effort == "none":
        return "Reasoning is mandatory for this model and cannot be disabled."
    listed = ", ".join(profile.reasoning.supported_efforts or ())
    return f"Reasoning effort '{effort}' is not supported by this model (supported: {listed})."


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
