"""The fake's reasoning-model mode: signed thinking blocks that must come back with tool calls.

Reasoning models on OpenRouter return ``message.reasoning`` (the thinking as text) and
``message.reasoning_details``: blocks of type ``reasoning.text`` (with a ``signature``),
``reasoning.summary`` and ``reasoning.encrypted``. With tool calling, Gemini 3 and Anthropic's
extended thinking need the assistant message that carried the calls sent back with its blocks
unchanged (OpenRouter's "preserving reasoning blocks"); otherwise the upstream answers 400, which
OpenRouter passes on as "Provider returned error" with the upstream's own error in
``metadata.raw``. This module issues such blocks (signed with a per-server secret) and checks
every later request that quotes the tool calls: a dropped or altered block is that 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ._types import ModelTurn
from ._wire import PROVIDER_NAME

__all__ = ["REASONING_FORMAT", "ReasoningSigner", "reasoning_text"]

REASONING_FORMAT = "anthropic-claude-v1"
_ENCRYPTED_FORMAT = "google-gemini-v1"
# The upstream's words, as Gemini and Anthropic put them (the client shows them to the user).
_MISSING = ("Function call is missing a thought_signature in functionCall parts. This is required "
            "for tools to work correctly, and missing thought_signature may lead to degraded "
            "model performance. Additional data, function call `default_api:{name}` , position "
            "{position}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures "
            "for more details.")
_ALTERED = "messages.{position}.content.0: Invalid `signature` in `thinking` block"


def reasoning_text(turn: ModelTurn) -> str:
    """The fake model's thinking before ``turn``: fixed wording, so its bill is reproducible."""
    if turn.tool_calls:
        names = ", ".join(call.name for call in turn.tool_calls)
        return f"[fake reasoning] Before answering I need more facts, so I call: {names}."
    return "[fake reasoning] I have what I need and answer in text now."


class ReasoningSigner:
    """Issues signed ``reasoning_details`` and remembers which tool calls they belong to."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._issued: dict[str, list[dict[str, Any]]] = {}  # tool call id -> its blocks

    def details(self, generation_id: str, text: str,
                call_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The blocks of one answer, in order: signed text, summary, encrypted (the Gemini-style
        thought signature, whose ``id`` is the first tool call's)."""
        signature = self._sign(generation_id, text, *call_ids)
        blocks: list[dict[str, Any]] = [
            {"type": "reasoning.text", "text": text, "signature": signature,
             "format": REASONING_FORMAT, "index": 0},
            {"type": "reasoning.summary", "summary": f"Summary: {text}",
             "format": REASONING_FORMAT, "index": 1},
        ]
        if call_ids:
            opaque = base64.b64encode(
                hashlib.sha256(self._secret + signature.encode()).digest() * 2).decode()
            blocks.append({"type": "reasoning.encrypted", "data": opaque, "id": call_ids[0],
                           "format": _ENCRYPTED_FORMAT, "index": 2})
            with self._lock:
                for call_id in call_ids:
                    self._issued[call_id] = [_significant(block) for block in blocks]
        return blocks

    def problem(self, messages: Sequence[Any]) -> dict[str, Any] | None:
        """The 400 body for a request whose history lost or altered issued blocks, else None."""
        for position, message in enumerate(messages):
            if not isinstance(message, Mapping) or message.get("role") != "assistant":
                continue
            calls = [c for c in message.get("tool_calls") or [] if isinstance(c, Mapping)]
            ids = [c.get("id") for c in calls if isinstance(c.get("id"), str)]
            with self._lock:
                expected = next((self._issued[i] for i in ids if i in self._issued), None)
            if expected is None:
                continue  # not calls this server made in reasoning mode
            sent = message.get("reasoning_details")
            if not isinstance(sent, list) or not sent:
                name = str((calls[0].get("function") or {}).get("name") or "unknown")
                return _provider_400(_MISSING.format(name=name, position=position))
            received = [_significant(b) if isinstance(b, Mapping) else b for b in sent]
            if received != expected:
                return _provider_400(_ALTERED.format(position=position))
        return None

    def _sign(self, *parts: str) -> str:
        digest = hmac.new(self._secret, "\x1f".join(parts).encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode()


def _significant(block: Mapping[str, Any]) -> dict[str, Any]:
    """A block without its unset fields: ``"signature": null`` and no signature are the same."""
    return {key: value for key, value in block.items() if value is not None}


def _provider_400(upstream_message: str) -> dict[str, Any]:
    raw = json.dumps({"error": {"code": 400, "message": upstream_message,
                                "status": "INVALID_ARGUMENT"}})
    return {"error": {"code": 400, "message": "Provider returned error",
                      "metadata": {"raw": raw, "provider_name": PROVIDER_NAME}}}
