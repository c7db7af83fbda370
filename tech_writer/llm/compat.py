"""Requests written the way narrower OpenAI-compatible servers read them.

Some local servers read the OpenAI API more narrowly than OpenAI does. Measured against
llama-cpp-python 0.3.36's server (chat format ``chatml-function-calling``, the one of its chat
formats that takes ``tools`` for a ChatML model):

* ``tools`` sent without ``tool_choice`` are not shown to the model at all, where OpenAI's default
  is ``"auto"``: the request says ``"auto"`` itself;
* an assistant message that carried only tool calls, ``"content": null`` (what OpenAI returns
  and accepts), is refused with a 500 validation error: its content goes back as ``""``.

Both mean the same to OpenAI's API as what they replace, so every local server is sent them.
And one bound: a server's own default for ``max_tokens`` is often "until the context is full",
and a small model can loop inside a grammar-constrained string (SmolLM2 wrote a ``search_text``
query for minutes): every answer the pipeline asks for fits in :data:`LOCAL_MAX_TOKENS`, and a
section cut off there is continued once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["LOCAL_MAX_TOKENS", "for_local_server"]

LOCAL_MAX_TOKENS = 2048


def for_local_server(request: dict[str, Any]) -> None:
    """Rewrite ``request`` (a chat-completions request, after it was fitted to the model's
    capabilities) in place; the caller's message history is not changed."""
    if request.get("tools") and "tool_choice" not in request:
        request["tool_choice"] = "auto"
    request.setdefault("max_tokens", LOCAL_MAX_TOKENS)
    request["messages"] = [_with_text_content(message) for message in request["messages"]]


def _with_text_content(message: Any) -> Any:
    if isinstance(message, Mapping) and message.get("role") == "assistant" \
            and message.get("content") is None:
        return {**message, "content": ""}
    return message
