"""Content parts reach a local server as one string: its chat template may render strings only."""

from __future__ import annotations

from tech_writer.llm.client import _as_plain_text


def test_text_parts_are_joined_and_other_content_is_kept() -> None:
    parts = {"role": "user", "content": [{"type": "text", "text": "Shared request."},
                                         {"type": "text", "text": "Your area: storage."}]}
    assert _as_plain_text(parts) == {"role": "user",
                                     "content": "Shared request.\n\nYour area: storage."}
    image = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
    assert _as_plain_text(image) is image
    plain = {"role": "assistant", "content": None, "tool_calls": []}
    assert _as_plain_text(plain) is plain
