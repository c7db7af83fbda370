"""The fields an OpenRouter request carries beyond OpenAI's, and when an answer was cut short.

Every OpenRouter (and demo) chat request carries:

* ``max_completion_tokens``: the phase's cap (:mod:`tech_writer.llm.output_cap`), or the larger
  one a retry of a truncated answer asks for;
* ``session_id``: one per run, OpenRouter's sticky-routing key (the prompt cache stays warm);
* ``provider: {"require_parameters": true}`` when the request has tools or a response format;
* ``reasoning: {"effort": ...}`` for ``--reasoning`` on a model that lists ``reasoning``;
* ``trace``: the Broadcast ``TraceConfig`` when the chat span is exported
  (:mod:`tech_writer.llm.broadcast`).

``usage: {"include": true}`` is no longer sent: OpenRouter returns usage (with ``cost``) on every
answer, and its schema has no such request field (the docs call it deprecated, without effect).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace

from tech_writer.errors import UsageError
from tech_writer.llm.capabilities import Capabilities, parse_capabilities, reasoning_parameter
from tech_writer.llm.output_cap import OutputCaps, grown
from tech_writer.llm.pricing import ModelPricing, fetch_model_entry, parse_pricing
from telemetry import attributes as attrs

__all__ = [
    "APP_CATEGORIES",
    "attribution_headers",
    "current_phase",
    "larger_cap_for",
    "output_caps",
    "plan_inputs",
    "reasoning_field",
]

log = logging.getLogger("tech_writer.llm")

# OpenRouter's marketplace category for terminal-based coding assistants.
APP_CATEGORIES = "cli-agent"
_FREE_FORM_CHOICES = (None, "auto", "none")


def attribution_headers(app_name: str, app_url: str) -> dict[str, str]:
    """``HTTP-Referer`` (required for an app page), ``X-OpenRouter-Title`` (the header's current
    name; the legacy ``X-Title`` is only still accepted, so it is not sent twice) and
    ``X-OpenRouter-Categories``."""
    return {"HTTP-Referer": app_url, "X-OpenRouter-Title": app_name,
            "X-OpenRouter-Categories": APP_CATEGORIES}


def current_phase() -> str | None:
    """``tech_writer.phase`` of the current span (phase spans set it, their children inherit
    it): which phase a call about to start belongs to."""
    attributes = getattr(trace.get_current_span(), "attributes", None) or {}
    phase = attributes.get(attrs.PHASE)
    return phase if isinstance(phase, str) else None


def output_caps(capabilities: Capabilities, effort: str | None) -> OutputCaps:
    """The run's caps: the effort sent, else the model's default effort when its reasoning is
    on by default or mandatory (its reasoning still spends part of the cap)."""
    reasoning = capabilities.reasoning
    if effort is None and reasoning is not None and capabilities.supports("reasoning"):
        effort = reasoning.default_effort
    return OutputCaps(effort=effort, model_max=capabilities.max_completion_tokens)


def plan_inputs(base_url: str, model: str, effort: str | None
                ) -> tuple[ModelPricing | None, OutputCaps]:
    """``--dry-run``'s prices and answer caps from one ``/models`` request (public: no key)."""
    entry = fetch_model_entry(base_url, model)
    if entry is None:
        return None, OutputCaps(effort=effort)
    return parse_pricing(model, entry), output_caps(parse_capabilities(model, entry), effort)


def reasoning_field(capabilities: Capabilities, effort: str | None,
                    warned: list[str]) -> dict[str, Any] | None:
    """``reasoning`` for ``--reasoning effort``; None when not asked for, or when the model does
    not list ``reasoning`` (warned once: ``warned`` remembers). An effort the model's
    ``/models`` entry rules out raises :class:`UsageError` (the pipeline refuses it before the
    first call; this catches a caller that did not ask first)."""
    if effort is None:
        return None
    refusal = capabilities.reasoning_refusal(effort)
    if refusal is not None:
        raise UsageError(refusal)
    if capabilities.supports("reasoning"):
        return reasoning_parameter(effort)
    if not warned:
        warned.append(effort)
        log.warning("--reasoning %s ignored: %s does not list 'reasoning' among its "
                    "supported parameters", effort, capabilities.model)
    return None


def larger_cap_for(reply: Mapping[str, Any], request_kwargs: Mapping[str, Any], cap: int | None,
                   model_max: int | None) -> int | None:
    """The cap to ask again with when ``reply`` was cut at ``cap`` and its cut part cannot be
    used (tool calls with arguments cut mid-JSON, a structured answer); None when it need not or
    cannot be asked again (a text answer is kept and continued by its caller, as sections do)."""
    if cap is None or reply.get("finish_reason") != "length":
        return None
    structured = ("response_format" in request_kwargs
                  or request_kwargs.get("tool_choice") not in _FREE_FORM_CHOICES)
    if not (reply.get("tool_calls") or structured):
        return None
    return grown(cap, model_max)
