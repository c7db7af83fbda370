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
# Characters per token assumed when fitting a history into a context window: prose and code run
# about 4; 3 keeps the estimate on the safe side (as the cost estimates do).
_CHARS_PER_TOKEN = 3
# The share of the window a history may fill: the rest is the answer's and the estimate's margin.
_CONTEXT_SHARE = 0.6
_ANSWER_RESERVE_TOKENS = 4_096


@dataclass(frozen=True)
class HistoryPolicy:
    high_watermark_chars: int = 60_000  # ~15k tokens: what keeps a long exploration affordable
    low_watermark_chars: int = 30_000
    keep_recent_tool_results: int = 3

    @classmethod
    def for_context(cls, context_length: int | None,
                    max_completion_tokens: int | None = None) -> HistoryPolicy:
        """The default watermarks, lowered to fit a model whose context window is smaller (a
        local model's 8k, say); ``None`` (window unknown) keeps the defaults."""
        default = cls()
        if context_length is None:
            return default
        reserve = min(max_completion_tokens or _ANSWER_RESERVE_TOKENS, context_length // 4)
        room = int((context_length - reserve) * _CONTEXT_SHARE * _CHARS_PER_TOKEN)
        high = max(min(default.high_watermark_chars, room), 2_000)
        if high == default.high_watermark_chars:
            return default
        return cls(high, high // 2, default.keep_recent_tool_results)


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
