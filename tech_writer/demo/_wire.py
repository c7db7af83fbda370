"""JSON bodies and server-sent-event frames in OpenRouter's chat-completions wire format."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ._records import BilledCall
from ._types import ModelTurn
from .capabilities import ModelProfile
from .pricing import FALLBACK_MODEL_KEY, Charge, Pricing, price_for

__all__ = [
    "PROVIDER_NAME",
    "SSE_DONE",
    "SSE_KEEPALIVE",
    "Envelope",
    "completion_body",
    "error_in_200_body",
    "error_stream_frames",
    "format_price",
    "generation_body",
    "key_body",
    "malformed_json",
    "malformed_stream_frames",
    "models_body",
    "stream_frames",
    "usage_body",
]

PROVIDER_NAME = "FakeProvider"
SSE_KEEPALIVE = b": OPENROUTER PROCESSING\n\n"
SSE_DONE = b"data: [DONE]\n\n"
_CONTENT_PIECES = 4
_ARGUMENT_PIECES = 3
# What a stream that fails part-way has already sent; faulted requests never consult the model.
_PARTIAL_CONTENT = "The provider started answering and then "


Envelope = dict[str, Any]  # id, created, model, provider: shared by every body of one response


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _sse(payload: Any) -> bytes:
    return b"data: " + _dumps(payload) + b"\n\n"


def _pieces(text: str, count: int) -> list[str]:
    """Split text into up to ``count`` non-empty consecutive pieces (none for empty text)."""
    if not text:
        return []
    size = max(1, math.ceil(len(text) / count))
    return [text[i : i + size] for i in range(0, len(text), size)]


def usage_body(charge: Charge, *, inline_cost: bool, byok: bool) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": charge.prompt_tokens,
        "completion_tokens": charge.completion_tokens,
        "total_tokens": charge.total_tokens,
    }
    if inline_cost:
        usage["cost"] = charge.cost_usd
    usage["is_byok"] = byok
    usage["prompt_tokens_details"] = {
        "cached_tokens": charge.cached_tokens,
        "cache_write_tokens": charge.cache_write_tokens,
    }
    usage["cost_details"] = {"upstream_inference_cost": charge.upstream_cost_usd}
    usage["completion_tokens_details"] = {"reasoning_tokens": charge.reasoning_tokens}
    return usage


def _wire_tool_calls(turn: ModelTurn, call_ids: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments_json()},
        }
        for call, call_id in zip(turn.tool_calls, call_ids, strict=True)
    ]


def completion_body(
    envelope: Envelope, turn: ModelTurn, call_ids: Sequence[str], usage: dict[str, Any] | None
) -> dict[str, Any]:
    """A chat completion; ``usage`` None leaves the field out, as some local servers do."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.content}
    if turn.tool_calls:
        message["tool_calls"] = _wire_tool_calls(turn, call_ids)
    choice = {
        "index": 0,
        "message": message,
        "finish_reason": turn.effective_finish_reason(),
        "logprobs": None,
    }
    body = {**envelope, "object": "chat.completion", "choices": [choice]}
    if usage is not None:
        body["usage"] = usage
    return body


def _chunk(envelope: Envelope, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
    return _sse({**envelope, "object": "chat.completion.chunk", "choices": [choice]})


def stream_frames(
    envelope: Envelope, turn: ModelTurn, call_ids: Sequence[str], usage: dict[str, Any] | None
) -> list[bytes]:
    """Every frame of a successful stream, keep-alive comments included, ending with [DONE]."""
    frames = [SSE_KEEPALIVE, _chunk(envelope, {"role": "assistant", "content": ""}), SSE_KEEPALIVE]
    frames += [
        _chunk(envelope, {"content": piece})
        for piece in _pieces(turn.content or "", _CONTENT_PIECES)
    ]
    for index, (call, call_id) in enumerate(zip(turn.tool_calls, call_ids, strict=True)):
        opening = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        frames.append(_chunk(envelope, {"tool_calls": [opening]}))
        for piece in _pieces(call.arguments_json(), _ARGUMENT_PIECES):
            argument_delta = {"index": index, "function": {"arguments": piece}}
            frames.append(_chunk(envelope, {"tool_calls": [argument_delta]}))
    frames.append(_chunk(envelope, {}, turn.effective_finish_reason()))
    # OpenRouter sends usage once, in a final chunk whose choices list is empty.
    if usage is not None:
        frames.append(
            _sse({**envelope, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        )
    frames.append(SSE_DONE)
    return frames


def _provider_error(status: int, error_body: dict[str, Any]) -> dict[str, Any]:
    """The ``error`` object of a failure reported inside a 200 response."""
    error = dict(error_body.get("error") or {"code": status, "message": f"HTTP {status}"})
    metadata = dict(error.get("metadata") or {})
    metadata.setdefault("error_type", "server")
    metadata.setdefault("provider_code", status)
    error["metadata"] = metadata
    return error


def error_in_200_body(
    envelope: Envelope, status: int, error_body: dict[str, Any]
) -> dict[str, Any]:
    error = _provider_error(status, error_body)
    return {**envelope, "object": "chat.completion", "choices": [], "error": error}


def error_stream_frames(envelope: Envelope, status: int, error_body: dict[str, Any]) -> list[bytes]:
    """A stream that starts well, then sends an error chunk (finish_reason "error") and ends."""
    frames = [SSE_KEEPALIVE, _chunk(envelope, {"role": "assistant", "content": ""}), SSE_KEEPALIVE]
    frames += [_chunk(envelope, {"content": piece}) for piece in _pieces(_PARTIAL_CONTENT, 2)]
    choice = {"index": 0, "delta": {"content": ""}, "finish_reason": "error", "logprobs": None}
    error = _provider_error(status, error_body)
    frames.append(
        _sse({**envelope, "object": "chat.completion.chunk", "choices": [choice], "error": error})
    )
    return frames


def malformed_json(envelope: Envelope) -> bytes:
    """A body cut off mid-way, as from a proxy that dropped the rest."""
    return (
        _dumps({**envelope, "object": "chat.completion"})[:-1] + b', "choices": [{"index": 0, "mess'
    )


def malformed_stream_frames(envelope: Envelope) -> list[bytes]:
    return [SSE_KEEPALIVE, b"data: " + malformed_json(envelope) + b"\n\n", SSE_DONE]


def generation_body(call: BilledCall) -> dict[str, Any]:
    data = {
        "id": call.generation_id,
        "total_cost": call.cost_usd,
        "cache_discount": None,
        "upstream_inference_cost": call.upstream_cost_usd,
        "is_byok": call.is_byok,
        "native_tokens_prompt": call.prompt_tokens,
        "native_tokens_completion": call.completion_tokens,
        "native_tokens_reasoning": call.reasoning_tokens,
        "native_tokens_cached": call.cached_tokens,
        "tokens_prompt": call.prompt_tokens,
        "tokens_completion": call.completion_tokens,
        "model": call.model,
        "provider_name": PROVIDER_NAME,
        "streamed": call.streamed,
        "finish_reason": call.finish_reason,
        "latency": call.latency_ms,
        "generation_time": call.latency_ms,
        "cancelled": False,
    }
    return {"data": data}


def format_price(usd_per_token: float) -> str:
    """A price as OpenRouter writes it: a plain decimal string, never exponent notation."""
    if usd_per_token == 0:
        return "0"
    # repr gives the shortest string that round-trips, so float(result) == usd_per_token.
    return format(Decimal(repr(usd_per_token)), "f")


def models_body(pricing: Pricing,
                profiles: Mapping[str, ModelProfile] | None = None) -> dict[str, Any]:
    """Every priced model, and every model with a profile (priced by the fallback if need be)."""
    profiles = profiles or {}
    models = []
    listed = [m for m in pricing if m != FALLBACK_MODEL_KEY]  # the fallback is a billing rule
    listed += [m for m in profiles if m not in pricing]
    for model_id in listed:
        price = price_for(pricing, model_id)
        if price is None:
            continue
        profile = profiles.get(model_id, ModelProfile())
        models.append(
            {
                "id": model_id,
                "name": model_id,
                "context_length": price.context_length,
                "pricing": {
                    "prompt": format_price(price.prompt),
                    "completion": format_price(price.completion),
                    "request": "0",
                    "image": "0",
                    "web_search": "0",
                    "internal_reasoning": "0",
                    "input_cache_read": format_price(price.input_cache_read),
                    "input_cache_write": format_price(price.input_cache_write),
                },
                "top_provider": {
                    "context_length": price.context_length,
                    "max_completion_tokens": profile.max_completion_tokens,
                    "is_moderated": False,
                },
                "supported_parameters": list(profile.supported_parameters),
            }
        )
    return {"data": models}


def key_body(credit_usd: float | None, billed_usd: float) -> dict[str, Any]:
    remaining = None if credit_usd is None else round(credit_usd - billed_usd, 12)
    data = {
        "label": "fake",
        "limit": credit_usd,
        "limit_remaining": remaining,
        "limit_reset": None,
        "usage": billed_usd,
        "is_free_tier": False,
    }
    return {"data": data}
