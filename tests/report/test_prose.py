"""Text that is not prose: an empty answer, a tool call written out as text."""

from __future__ import annotations

import pytest

from tech_writer.report.prose import looks_like_tool_call, not_prose


@pytest.mark.parametrize("text", [
    "functions.get_structure:",
    "functions.read_file: {\"path\": \"src/a.py\"}",
    '<tool_call>\n{"name": "list_files", "arguments": {}}\n</tool_call>',
    '{"name": "read_file", "arguments": {"path": "a.py"}}',
    '```json\n[{"name": "get_symbols", "parameters": {"path": "a.py"}}]\n```',
    "read_file(path='src/app.py')",
    "get_structure: {}",
])
def test_tool_calls_in_disguise_are_recognised(text: str) -> None:
    assert looks_like_tool_call(text)
    assert not_prose(text) == "a tool call written as text"


@pytest.mark.parametrize("text", [
    "The `read_file` tool returns numbered lines [tech_writer/repository/tools.py:10-40].",
    "Signing uses HMAC (see `Signer.get_signature`): the key is derived first.",
    '{"debug": true} is the default configuration of the service, read at start-up.',
    "- `functions.py` holds the helpers [pkg/functions.py:1-20]",
])
def test_prose_that_mentions_tools_is_prose(text: str) -> None:
    assert not looks_like_tool_call(text)
    assert not_prose(text) is None


def test_empty_and_letterless_answers() -> None:
    assert not_prose(None) == "empty answer"
    assert not_prose("  \n ") == "empty answer"
    assert not_prose("1. 2. 3.") == "no sentences"
