"""History compaction: old tool output elided in batches, the model's notes and recent results kept."""

from __future__ import annotations

from tech_writer.pipeline.history import (
    ELIDED,
    HistoryPolicy,
    compact_history,
    history_chars,
    trim_for_context,
)


def conversation(tool_results: int, size: int) -> list[dict]:
    messages = [{"role": "system", "content": "system"}, {"role": "user", "content": "task"}]
    for i in range(tool_results):
        messages.append({"role": "assistant", "content": f"note {i}",
                         "tool_calls": [{"id": f"c{i}", "type": "function",
                                         "function": {"name": "read_file", "arguments": "{}"}}]})
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "content": "x" * size})
    return messages


def test_nothing_changes_below_the_high_watermark():
    messages = conversation(3, 100)
    before = [dict(m) for m in messages]
    assert compact_history(messages, HistoryPolicy(high_watermark_chars=10_000)) == 0
    assert messages == before


def test_compaction_elides_oldest_results_down_to_the_low_watermark():
    messages = conversation(10, 1_000)
    policy = HistoryPolicy(high_watermark_chars=8_000, low_watermark_chars=5_000,
                           keep_recent_tool_results=2)
    elided = compact_history(messages, policy)
    tools = [m for m in messages if m["role"] == "tool"]
    assert elided == sum(1 for m in tools if m["content"] == ELIDED) > 0
    assert history_chars(messages) <= policy.low_watermark_chars
    assert all(m["content"] != ELIDED for m in tools[-2:])  # recent results kept
    assert [m["content"] for m in messages if m["role"] == "assistant"] == [
        f"note {i}" for i in range(10)]  # the model's notes kept
    assert all(m["tool_call_id"] for m in tools)  # the wire shape stays valid
    # A second call right after changes nothing: the prefix stays stable between compactions.
    snapshot = [dict(m) for m in messages]
    assert compact_history(messages, policy) == 0 and messages == snapshot


def test_trim_for_context_elides_the_oldest_half():
    messages = conversation(4, 50)
    assert trim_for_context(messages) == 2
    contents = [m["content"] for m in messages if m["role"] == "tool"]
    assert contents[:2] == [ELIDED, ELIDED] and contents[2:] == ["x" * 50] * 2
    assert trim_for_context(conversation(0, 0)) == 0
