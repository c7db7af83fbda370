"""How much of OpenRouter's answer the fake sends: the usual fields, every field, or the fewest.

A client must read the same answer and the same cost whichever optional fields come along:
``"maximal"`` adds every optional field OpenRouter may send (reasoning, annotations, logprobs,
the whole cost and token breakdowns, server-tool counts, service tier...), ``"minimal"`` keeps
only what OpenRouter's schema requires plus the answer itself (tool calls, reasoning blocks) and
``usage.cost``. Neither changes a token count or a cost.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

__all__ = ["SHAPES", "Shape", "reshape_chunk", "reshape_completion"]

Shape = Literal["usual", "maximal", "minimal"]
SHAPES: tuple[str, ...] = ("usual", "maximal", "minimal")

_FINGERPRINT = "fp_fake0001"
_CITATION_URL = "https://example.org/fake-citation"
_TOP_REQUIRED = ("id", "object", "created", "model", "choices")
_MESSAGE_KEPT = ("role", "content", "tool_calls", "reasoning", "reasoning_details")
_USAGE_REQUIRED = ("prompt_tokens", "completion_tokens", "total_tokens", "cost")


def reshape_completion(body: dict[str, Any], shape: Shape) -> dict[str, Any]:
    """A ``chat.completion`` body in ``shape`` (a new dict; ``body`` is left alone)."""
    if shape == "usual":
        return body
    if shape == "minimal":
        slim = {key: body[key] for key in _TOP_REQUIRED}
        slim["system_fingerprint"] = None  # required, though null
        slim["choices"] = [_minimal_choice(choice, "message") for choice in body["choices"]]
        if "usage" in body:
            slim["usage"] = _minimal_usage(body["usage"])
        return slim
    full = copy.deepcopy(body)
    full["system_fingerprint"] = _FINGERPRINT
    full["service_tier"] = "standard"
    for choice in full["choices"]:
        message = choice["message"]
        content = message.get("content") or ""
        choice["logprobs"] = _logprobs(content)
        message.setdefault("reasoning", "Thinking it over before answering.")
        message.setdefault("reasoning_details", [
            {"type": "reasoning.text", "text": message["reasoning"], "signature": None,
             "format": "unknown", "index": 0}])
        message["annotations"] = [{"type": "url_citation", "url_citation": {
            "url": _CITATION_URL, "title": "A page the provider searched",
            "content": content[:40], "start_index": 0, "end_index": min(len(content), 40)}}]
    if "usage" in full:
        full["usage"] = _maximal_usage(full["usage"])
    return full


def reshape_chunk(payload: dict[str, Any], shape: Shape) -> dict[str, Any]:
    """One ``chat.completion.chunk`` in ``shape`` (a new dict; ``payload`` is left alone)."""
    if shape == "usual":
        return payload
    if shape == "minimal":
        slim = {key: payload[key] for key in _TOP_REQUIRED}
        slim["choices"] = [_minimal_choice(choice, "delta") for choice in payload["choices"]]
        if "usage" in payload:
            slim["usage"] = _minimal_usage(payload["usage"])
        return slim
    full = copy.deepcopy(payload)
    full["system_fingerprint"] = _FINGERPRINT
    full["service_tier"] = "standard"
    for choice in full["choices"]:
        choice["logprobs"] = _logprobs(choice["delta"].get("content") or "")
    if "usage" in full:
        full["usage"] = _maximal_usage(full["usage"])
    return full


def _minimal_choice(choice: dict[str, Any], part: str) -> dict[str, Any]:
    inner = {key: value for key, value in choice[part].items()
             if key in _MESSAGE_KEPT and value is not None}
    if part == "message":
        inner.setdefault("content", None)
    return {"index": choice["index"], part: inner, "finish_reason": choice["finish_reason"]}


def _minimal_usage(usage: dict[str, Any]) -> dict[str, Any]:
    return {key: usage[key] for key in _USAGE_REQUIRED if key in usage}


def _maximal_usage(usage: dict[str, Any]) -> dict[str, Any]:
    full = copy.deepcopy(usage)
    full.setdefault("is_byok", False)
    prompt = full.setdefault("prompt_tokens_details", {})
    prompt.setdefault("cached_tokens", 0)
    prompt.setdefault("cache_write_tokens", 0)
    prompt.update({"audio_tokens": 0, "video_tokens": 0})
    completion = full.setdefault("completion_tokens_details", {})
    completion.setdefault("reasoning_tokens", 0)
    completion.update({"audio_tokens": 0, "accepted_prediction_tokens": 0,
                       "rejected_prediction_tokens": 0})
    details = full.setdefault("cost_details", {})
    details.setdefault("upstream_inference_prompt_cost", 0.0)
    details.setdefault("upstream_inference_completions_cost", 0.0)
    if details.get("upstream_inference_cost") is None:
        # What the provider was paid: a number even when OpenRouter, not the user, paid it.
        details["upstream_inference_cost"] = (details["upstream_inference_prompt_cost"]
                                              + details["upstream_inference_completions_cost"])
    details["server_tool_cost"] = 0.0  # a metered server tool ran and settled at zero
    full["server_tool_use_details"] = {"web_search_requests": 0, "tool_calls_requested": 0,
                                       "tool_calls_executed": 0}
    return full


def _logprobs(text: str) -> dict[str, Any]:
    tokens = [text[i:i + 4] for i in range(0, len(text), 4)]
    entries = [{"token": token, "logprob": -0.25, "bytes": list(token.encode()),
                "top_logprobs": [{"token": token, "logprob": -0.25,
                                  "bytes": list(token.encode())}]} for token in tokens]
    return {"content": entries or None, "refusal": None}
