"""What a scripted model returns for one chat-completion request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["ModelTurn", "ScriptedModel", "ToolCall"]


@dataclass(frozen=True)
class ToolCall:
    """A function call the model asks for.

    ``arguments`` as a dict is sent as its JSON encoding; as a str it is sent verbatim, which lets
    tests script malformed arguments (invalid JSON, a JSON array, ...).
    """

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)

    def arguments_json(self) -> str:
        """The ``function.arguments`` string exactly as it goes on the wire."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass(frozen=True)
class ModelTurn:
    """One assistant message; ``finish_reason`` None means derive it from the turn's shape."""

    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None

    def effective_finish_reason(self) -> str:
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"

    def billed_text(self) -> str:
        """The generated text that completion tokens are counted from."""
        parts = [self.content or ""]
        for call in self.tool_calls:
            parts.append(call.name)
            parts.append(call.arguments_json())
        return "".join(parts)


@runtime_checkable
class ScriptedModel(Protocol):
    """Anything that can answer a parsed chat-completion request body."""

    def respond(self, request: dict[str, Any]) -> ModelTurn: ...
