"""What a chat span is stopped with, built from one flat set of fields (the tests' shorthand):
the :class:`UsageStats` fields go to the usage record, the rest to the :class:`ChatAnswer`."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from telemetry import ChatAnswer, UsageStats

__all__ = ["chat_answer"]

_USAGE_FIELDS = frozenset(field.name for field in fields(UsageStats))


def chat_answer(**values: Any) -> ChatAnswer:
    usage = {name: value for name, value in values.items() if name in _USAGE_FIELDS}
    answer = {name: value for name, value in values.items() if name not in _USAGE_FIELDS}
    return ChatAnswer(UsageStats(**usage), **answer)
