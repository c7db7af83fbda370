"""Scripted models for the benchmarks, built on the demo model (the same seam tests use).

:class:`WideOutlineModel` answers like :class:`~tech_writer.demo.DemoModel` but outlines as many
sections as asked for (the demo model stops at four), so a report really has eight independent
sections to write. :class:`RecordingModel` keeps every request and answer, in order, so a run can
be replayed through another loop. :class:`ReadFileTurnModel` answers every request with the same
turn (text and one tool call), for the peer comparison.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass
from typing import Any

from tech_writer.demo import DemoModel, ModelTurn, ScriptedModel, ToolCall

__all__ = ["Exchange", "ReadFileTurnModel", "RecordingModel", "WideOutlineModel", "wants_outline"]


def wants_outline(request: dict[str, Any]) -> bool:
    """The outline phase asks for structured JSON output (and offers no tools)."""
    response_format = request.get("response_format")
    return isinstance(response_format, dict) and response_format.get("type") in (
        "json_schema", "json_object")


class WideOutlineModel:
    """The demo model, with its outline widened to ``sections`` entries.

    Extra sections repeat the demo's four in turn under distinct titles ("Core components (part
    2)"), with the same relevant files: each still reads its files and writes cited text.
    """

    def __init__(self, sections: int, inner: DemoModel | None = None) -> None:
        if sections < 1:
            raise ValueError("sections must be at least 1")
        self.sections = sections
        self._inner = inner or DemoModel()

    def respond(self, request: dict[str, Any]) -> ModelTurn:
        turn = self._inner.respond(request)
        if not wants_outline(request) or not turn.content:
            return turn
        try:
            outline = json.loads(turn.content)
        except ValueError:
            return turn  # an invalid outline stays invalid: the pipeline's retry is under test
        base = outline.get("sections") or []
        if not base:
            return turn
        widened = []
        for index in range(self.sections):
            section = dict(base[index % len(base)])
            round_number = index // len(base) + 1
            if round_number > 1:
                section["title"] = f"{section['title']} (part {round_number})"
            widened.append(section)
        outline["sections"] = widened
        return ModelTurn(content=json.dumps(outline, indent=2, ensure_ascii=False))


@dataclass(frozen=True)
class Exchange:
    """One chat-completion request body as received, and the turn the model answered."""

    request: dict[str, Any]
    turn: ModelTurn


class RecordingModel:
    """Delegates to ``inner`` and records each exchange (thread-safe, in answer order)."""

    def __init__(self, inner: ScriptedModel) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []

    def respond(self, request: dict[str, Any]) -> ModelTurn:
        turn = self._inner.respond(request)
        with self._lock:
            self._exchanges.append(Exchange(copy.deepcopy(request), turn))
        return turn

    @property
    def exchanges(self) -> list[Exchange]:
        with self._lock:
            return list(self._exchanges)


class ReadFileTurnModel:
    """Answers every request alike: a sentence and one ``read_file`` call, the typical turn of
    an exploration (so tech_writer's loop makes one tool span per call)."""

    TURN = ModelTurn(content="Reading the tracking module first.",
                     tool_calls=[ToolCall("read_file", {"path": "src/parcel/tracking.py"})])

    def respond(self, request: dict[str, Any]) -> ModelTurn:
        return self.TURN
