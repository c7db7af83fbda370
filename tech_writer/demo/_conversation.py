"""Reading a chat-completions request the way the demo model needs it.

The demo model is stateless: everything it knows comes from the request — the offered tools, the
tool calls it made earlier (assistant messages) and their results (tool messages), and the text
of the user messages. Tool results are read back with
:mod:`tech_writer.repository.toolresults`, the one reader of the formats the repository tools
document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tech_writer.repository.toolresults import ERROR_PREFIX, FileView, merged_file_views, parse_read_result

__all__ = [
    "ERROR_PREFIX",
    "Conversation",
    "FileView",
    "RecordedCall",
    "message_text",
    "parse_read_result",
]


def message_text(message: dict[str, Any]) -> str:
    """The text of a message whose content is a string or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


@dataclass(frozen=True)
class RecordedCall:
    """A tool call from an earlier assistant message, with its result when one was sent back."""

    call_id: str
    name: str
    arguments: dict[str, Any]
    result: str | None

    @property
    def failed(self) -> bool:
        return self.result is None or self.result.startswith(ERROR_PREFIX)


def _parse_arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


class Conversation:
    """The parts of a request body the demo model decides from."""

    def __init__(self, request: dict[str, Any]) -> None:
        raw_messages = request.get("messages")
        self.messages: list[dict[str, Any]] = [
            m
            for m in (raw_messages if isinstance(raw_messages, list) else [])
            if isinstance(m, dict)
        ]
        self.tools: dict[str, dict[str, Any]] = {}
        for tool in request.get("tools") or []:
            function = tool.get("function") if isinstance(tool, dict) else None
            if isinstance(function, dict) and isinstance(function.get("name"), str):
                self.tools[function["name"]] = function
        self.tool_choice: Any = request.get("tool_choice")
        self.response_format: Any = request.get("response_format")
        self.calls: list[RecordedCall] = self._collect_calls()

    def _collect_calls(self) -> list[RecordedCall]:
        results = {
            m.get("tool_call_id"): message_text(m) for m in self.messages if m.get("role") == "tool"
        }
        calls = []
        for message in self.messages:
            if message.get("role") != "assistant":
                continue
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                calls.append(
                    RecordedCall(
                        call_id=str(call.get("id")),
                        name=str(function.get("name")),
                        arguments=_parse_arguments(function.get("arguments")),
                        result=results.get(call.get("id")),
                    )
                )
        return calls

    # --- questions the phases ask ------------------------------------------------------------
    def offers(self, tool_name: str) -> bool:
        """Whether the model may call ``tool_name`` in this request."""
        if self.tool_choice == "none":
            return False
        return tool_name in self.tools

    def forced_tool(self) -> str | None:
        """The function named by ``tool_choice``, when the caller forces one."""
        choice = self.tool_choice
        if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
            name = choice["function"].get("name")
            return name if isinstance(name, str) else None
        return None

    def calls_to(self, tool_name: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.name == tool_name]

    def has_called(self, tool_name: str, **arguments: Any) -> bool:
        """Whether an earlier call to ``tool_name`` had (at least) these argument values."""
        return any(
            all(call.arguments.get(key) == value for key, value in arguments.items())
            for call in self.calls_to(tool_name)
        )

    def user_texts(self) -> list[str]:
        return [message_text(m) for m in self.messages if m.get("role") == "user"]

    def all_texts(self) -> list[str]:
        return [message_text(m) for m in self.messages]

    def assistant_turns(self) -> int:
        return sum(1 for m in self.messages if m.get("role") == "assistant")

    def file_views(self) -> dict[str, FileView]:
        """Every file seen through ``read_file`` results, in first-read order."""
        return merged_file_views(self.calls)
