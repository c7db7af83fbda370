"""JSON bodies and server-sent-event frames in OpenRouter's chat-completions wire format.

Every body validates against the models of OpenRouter's own Python SDK (``openrouter``, generated
from OpenRouter's published API schema): required fields are present even when null
(``system_fingerprint``, the ``/generation`` record's many fields, a model's ``architecture``...),
and fields OpenRouter sends beyond the schema (``provider``, ``native_finish_reason`` on a choice)
are kept as OpenRouter sends them. ``tests/demo/test_conformance.py`` checks each one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from ._records import BilledCall
from ._shapes import Shape, reshape_chunk, reshape_completion
from ._types import ModelTurn
from .capabilities import DEFAULT_PARAMETERS, ModelProfile
from .pricing import FALLBACK_MODEL_KEY, Charge, ModelPrice, Pricing, price_for

__all__ = [
    "PROVIDER_NAME",
    "SSE_DONE",
    "SSE_KEEPALIVE",
    "Envelope",
    "Reasoning",
    "completion_body",
    "error_in_200_body",
    "error_stream_frames",
    "format_price",
    "generation_body",
    "key_body",
    "malformed_json",
    "malformed_stream_frames",
    "model_entry",
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
_MODELS_CREATED = 1_750_000_000  # a fixed listing date: the fake's /models never changes


@dataclass(frozen=True)
class Reasoning:
    """A reasoning model's thinking for one answer: the text and its ``reasoning_details``."""

    text: str
    details: list[dict[str, Any]]


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
    usage["cost_details"] = {
        "upstream_inference_cost": charge.upstream_cost_usd,
        "upstream_inference_prompt_cost": charge.upstream_prompt_cost_usd,
        "upstream_inference_completions_cost": charge.upstream_completion_cost_usd,
    }
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
    envelope: Envelope,
    turn: ModelTurn,
    call_ids: Sequence[str],
    usage: dict[str, Any] | None,
    reasoning: Reasoning | None = None,
    shape: Shape = "usual",
) -> dict[str, Any]:
    """A chat completion; ``usage`` None leaves the field out, as some local servers do."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": turn.content,
        "refusal": None,
        "reasoning": reasoning.text if reasoning else None,
    }
    if reasoning is not None:
        message["reasoning_details"] = reasoning.details
    if turn.tool_calls:
        message["tool_calls"] = _wire_tool_calls(turn, call_ids)
    finish_reason = turn.effective_finish_reason()
    choice = {
        "index": 0,
        "message": message,
        "finish_reason": finish_reason,
        "native_finish_reason": finish_reason,
        "logprobs": None,
    }
    body: dict[str, Any] = {
        **envelope,
        "object": "chat.completion",
        "system_fingerprint": None,
        "choices": [choice],
    }
    if usage is not None:
        body["usage"] = usage
    return reshape_completion(body, shape)


def _chunk_payload(
    envelope: Envelope, delta: dict[str, Any], finish_reason: str | None = None
) -> dict[str, Any]:
    choice = {
        "index": 0,
        "delta": delta,
        "finish_reason": finish_reason,
        "native_finish_reason": finish_reason,
        "logprobs": None,
    }
    return {**envelope, "object": "chat.completion.chunk", "choices": [choice]}


def _chunk(envelope: Envelope, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
    return _sse(_chunk_payload(envelope, delta, finish_reason))


def _reasoning_deltas(reasoning: Reasoning) -> list[dict[str, Any]]:
    """The thinking streamed as OpenRouter does: text in pieces (each piece a ``reasoning``
    string and a ``reasoning_details`` item with the block's ``index``), the signature with the
    block's last piece, the other blocks whole."""
    deltas: list[dict[str, Any]] = []
    for block in reasoning.details:
        if block.get("type") != "reasoning.text":
            deltas.append({"reasoning_details": [block]})
            continue
        pieces = _pieces(str(block.get("text") or ""), _CONTENT_PIECES) or [""]
        head = {key: value for key, value in block.items() if key not in ("text", "signature")}
        for number, piece in enumerate(pieces, start=1):
            item = {**head, "text": piece}
            if number == len(pieces):
                item["signature"] = block.get("signature")
            deltas.append({"reasoning": piece, "reasoning_details": [item]})
    return deltas


def stream_frames(
    envelope: Envelope,
    turn: ModelTurn,
    call_ids: Sequence[str],
    usage: dict[str, Any] | None,
    reasoning: Reasoning | None = None,
    shape: Shape = "usual",
) -> list[bytes]:
    """Every frame of a successful stream, keep-alive comments included, ending with [DONE]."""
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    if reasoning is not None:
        deltas += _reasoning_deltas(reasoning)
    deltas += [{"content": piece} for piece in _pieces(turn.content or "", _CONTENT_PIECES)]
    for index, (call, call_id) in enumerate(zip(turn.tool_calls, call_ids, strict=True)):
        opening = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        deltas.append({"tool_calls": [opening]})
        for piece in _pieces(call.arguments_json(), _ARGUMENT_PIECES):
            deltas.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    payloads = [_chunk_payload(envelope, delta) for delta in deltas]
    payloads.append(_chunk_payload(envelope, {}, turn.effective_finish_reason()))
    # OpenRouter sends usage once, in a final chunk whose choices list is empty.
    if usage is not None:  # some local servers send no usage at all
        payloads.append(
            {**envelope, "object": "chat.completion.chunk", "choices": [], "usage": usage}
        )
    frames = [_sse(reshape_chunk(payload, shape)) for payload in payloads]
    # Keep-alive comments around the first chunk, as OpenRouter sends while the model starts.
    return [SSE_KEEPALIVE, frames[0], SSE_KEEPALIVE, *frames[1:], SSE_DONE]


def _provider_error(status: int, error_body: dict[str, Any]) -> dict[str, Any]:
    """The ``error`` object of a failure reported inside a 200 response."""
    error = dict(error_body.get("error") or {"code": status, "message": f"HTTP {status}"})
    scripted = error.get("metadata") or {}
    # Exactly the schema's two fields here (an HTTP error body's metadata may say more).
    error["metadata"] = {
        "error_type": scripted.get("error_type", "server"),
        "provider_code": str(scripted.get("provider_code", status)),  # a string in the schema
    }
    return error


def error_in_200_body(
    envelope: Envelope, status: int, error_body: dict[str, Any]
) -> dict[str, Any]:
    error = _provider_error(status, error_body)
    return {
        **envelope,
        "object": "chat.completion",
        "system_fingerprint": None,
        "choices": [],
        "error": error,
    }


def error_stream_frames(envelope: Envelope, status: int, error_body: dict[str, Any]) -> list[bytes]:
    """A stream that starts well, then sends an error chunk (finish_reason "error") and ends."""
    frames = [SSE_KEEPALIVE, _chunk(envelope, {"role": "assistant", "content": ""}), SSE_KEEPALIVE]
    frames += [_chunk(envelope, {"content": piece}) for piece in _pieces(_PARTIAL_CONTENT, 2)]
    choice = {
        "index": 0,
        "delta": {"content": ""},
        "finish_reason": "error",
        "native_finish_reason": "error",
        "logprobs": None,
    }
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
    """The ``/generation`` record: every field OpenRouter's schema requires, null when the fake
    has nothing to say (no app, no preset, no web search, no media)."""
    data = {
        "id": call.generation_id,
        "upstream_id": f"upstream-{call.generation_id}",
        "total_cost": call.cost_usd,
        "usage": call.cost_usd,  # OpenRouter repeats the billed amount here
        "cache_discount": None,
        "upstream_inference_cost": call.upstream_cost_usd,
        "is_byok": call.is_byok,
        "created_at": datetime.fromtimestamp(call.created, tz=timezone.utc).isoformat(
            timespec="milliseconds"),
        "model": call.model,
        "app_id": None,
        "api_type": "completions",
        "router": None,
        "origin": call.http_referer or "",
        "http_referer": call.http_referer,
        "user_agent": call.user_agent,
        "external_user": None,
        "session_id": call.session_id,
        "preset_id": None,
        "workspace_id": None,
        "data_region": "global",
        "service_tier": None,
        "streamed": call.streamed,
        "cancelled": False,
        "finish_reason": call.finish_reason,
        "native_finish_reason": call.finish_reason,
        "latency": call.latency_ms,
        "moderation_latency": None,
        "generation_time": call.latency_ms,
        "provider_name": PROVIDER_NAME,
        "provider_responses": [
            {
                "status": 200,
                "provider_name": PROVIDER_NAME,
                "id": f"upstream-{call.generation_id}",
                "latency": call.latency_ms,
                "is_byok": call.is_byok,
            }
        ],
        "tokens_prompt": call.prompt_tokens,
        "tokens_completion": call.completion_tokens,
        "native_tokens_prompt": call.prompt_tokens,
        "native_tokens_completion": call.completion_tokens,
        "native_tokens_completion_images": None,
        "native_tokens_reasoning": call.reasoning_tokens,
        "native_tokens_cached": call.cached_tokens,
        "num_media_prompt": None,
        "num_media_completion": None,
        "num_input_audio_prompt": None,
        "num_search_results": None,
        "num_fetches": None,
        "web_search_engine": None,
    }
    return {"data": data}


def format_price(usd_per_token: float) -> str:
    """A price as OpenRouter writes it: a plain decimal string, never exponent notation."""
    if usd_per_token == 0:
        return "0"
    # repr gives the shortest string that round-trips, so float(result) == usd_per_token.
    return format(Decimal(repr(usd_per_token)), "f")


def model_entry(
    model_id: str,
    price: ModelPrice,
    supported_parameters: Sequence[str] = DEFAULT_PARAMETERS,
    max_completion_tokens: int | None = None,
    reasoning: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One model of ``/models``, with every field OpenRouter's schema requires, and the optional
    ``reasoning`` (ModelReasoning) of a reasoning model."""
    entry: dict[str, Any] = {
        "id": model_id,
        "canonical_slug": model_id,
        "name": model_id,
        "created": _MODELS_CREATED,
        "description": f"{model_id}, as priced by the fake OpenRouter.",
        "context_length": price.context_length,
        "architecture": {
            "modality": "text->text",
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "tokenizer": "Other",
            "instruct_type": None,
        },
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
            "max_completion_tokens": max_completion_tokens,
            "is_moderated": False,
        },
        "per_request_limits": None,
        "supported_parameters": list(supported_parameters),
        "default_parameters": {"temperature": None, "top_p": None, "frequency_penalty": None},
        "supported_voices": None,
        "links": {"details": f"/api/v1/models/{model_id}/endpoints"},
    }
    if reasoning is not None:
        entry["reasoning"] = dict(reasoning)
    return entry


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
        reasoning = profile.reasoning.entry() if profile.reasoning is not None else None
        models.append(model_entry(model_id, price, profile.supported_parameters,
                                  profile.max_completion_tokens, reasoning))
    return {"data": models, "total_count": len(models), "links": {"next": None}}


def key_body(
    credit_usd: float | None, billed_usd: float, byok_usage_usd: float = 0.0
) -> dict[str, Any]:
    """``/key``: the key's limit and usage (all of it "today": the fake has no calendar)."""
    remaining = None if credit_usd is None else round(credit_usd - billed_usd, 12)
    data = {
        "label": "fake",
        "limit": credit_usd,
        "limit_remaining": remaining,
        "limit_reset": None,
        "include_byok_in_limit": False,
        "usage": billed_usd,
        "usage_daily": billed_usd,
        "usage_weekly": billed_usd,
        "usage_monthly": billed_usd,
        "byok_usage": byok_usage_usd,
        "byok_usage_daily": byok_usage_usd,
        "byok_usage_weekly": byok_usage_usd,
        "byok_usage_monthly": byok_usage_usd,
        "is_free_tier": False,
        "is_management_key": False,
        "is_provisioning_key": False,
        "free_model_daily_requests": {"limit": 1000, "remaining": 1000, "used": 0},
        "rate_limit": {
            "requests": -1,
            "interval": "10s",
            "note": "This field is deprecated and safe to ignore.",
        },
        "allowed_data_regions": ["global"],
        "budgets": [],
        "effective_budget": None,
        "creator_user_id": None,
        "organization_id": None,
        "workspace_id": None,
        "expires_at": None,
    }
    return {"data": data}
