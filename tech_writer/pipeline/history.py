"""Keeping a tool loop's history affordable: old tool output is elided, the model's notes kept.

Every call resends the whole conversation, so a long exploration that keeps every file it read
pays for each file again on every later step. Past a high watermark the oldest tool results are
replaced by a one-line stub until the history is under a low watermark. Eliding in one batch
(rather than one result per call) changes the prompt prefix rarely, so provider prompt caching
keeps hitting between compactions. The model's own messages (its reasoning and notes) and the
most recent tool results are always kept.
"""

from __future__ import annotations

import json
from collections.abc import MutableSequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ELIDED", "HistoryPolicy", "compact_history", "history_chars", "trim_for_context"]

ELIDED = "[earlier tool output elided to save tokens; call the tool again if you need it]"


@dataclass(frozen=True)
class HistoryPolicy:
    high_watermark_chars: int = 60_000  # ~15k tokens
    low_watermark_chars: int = 30_000
    keep_recent_tool_results: int = 3


def history_chars(messages: MutableSequence[dict[str, Any]]) -> int:
    return sum(len(json.dumps(m, ensure_ascii=False)) for m in messages)


def _elidable(messages: MutableSequence[dict[str, Any]], keep_recent: int) -> list[int]:
    tool_indexes = [i for i, m in enumerate(messages)
                    if m.get("role") == "tool" and m.get("content") != ELIDED]
    return tool_indexes[:-keep_recent] if keep_recent else tool_indexes


def compact_history(messages: MutableSequence[dict[str, Any]],
                    policy: HistoryPolicy = HistoryPolicy()) -> int:
    """Elide old tool results if the history is past the high watermark; return how many."""
    size = history_chars(messages)
    if size <= policy.high_watermark_chars:
        return 0
    elided = 0
    for index in _elidable(messages, policy.keep_recent_tool_results):
        if size <= policy.low_watermark_chars:
            break
        before = len(json.dumps(messages[index], ensure_ascii=False))
        messages[index] = {**messages[index], "content": ELIDED}
        size -= before - len(json.dumps(messages[index], ensure_ascii=False))
        elided += 1
    return elided


def trim_for_context(messages: MutableSequence[dict[str, Any]]) -> int:
    """After a "context length exceeded": elide the oldest half of the tool results (at least
    one, the most recent included if it is the only one). Returns how many were elided."""
    candidates = _elidable(messages, 0)
    if not candidates:
        return 0
    count = max(1, len(candidates) // 2)
    for index in candidates[:count]:
        messages[index] = {**messages[index], "content": ELIDED}
    return count
