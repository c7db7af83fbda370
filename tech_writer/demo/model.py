"""Scripted models behind the fake server: a replay queue for precise tests, and the demo model.

:class:`DemoModel` is what ``--provider demo`` runs. It is stateless and deterministic: it reads
the phase off each request and derives its answer from the messages alone.

=============  ===========================================  ==================================
phase          recognised by                                answer
=============  ===========================================  ==================================
exploration    a tool named ``finish_exploration`` offered  a plan of areas when asked for one;
                                                            per area, its reads in one turn,
                                                            then the notes (see ``_explore``)
outline        ``response_format`` json_schema/json_object, outline JSON (see ``_outline``), as
               a ``report_outline`` tool offered, or the    that tool's call in the tool form
               ``report_outline`` schema asked for in text
sections       other tools offered                          read_file calls (all in one turn
                                                            unless ``parallel_tool_calls`` is
                                                            off), then cited markdown
plain          neither tools nor a response format          a short answer
=============  ===========================================  ==================================

``tool_choice="none"`` is honoured (the model answers in text) and a forced
``finish_exploration`` ends exploration at once.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from ._conversation import Conversation
from ._explore import FINISH_TOOL, ExplorationOptions, exploration_turn, understanding
from ._outline import OUTLINE_MODES, OUTLINE_NAME, asks_outline_in_text, outline_turn
from ._sections import CITATION_MODES, section_turn
from ._types import ModelTurn, ScriptedModel, ToolCall

__all__ = [
    "CITATION_MODES",
    "OUTLINE_MODES",
    "DemoModel",
    "ModelTurn",
    "QueueModel",
    "ScriptExhausted",
    "ScriptedModel",
    "ToolCall",
]

# A scripted step is a fixed turn or a function of the request (for answers that echo it).
ScriptStep = ModelTurn | Callable[[dict[str, Any]], ModelTurn]


class ScriptExhausted(RuntimeError):
    """A QueueModel was asked for more turns than it was given."""


class QueueModel:
    """Replays scripted turns in order, one per chat-completion request; thread-safe."""

    def __init__(self, turns: Iterable[ScriptStep] = ()) -> None:
        self._steps: deque[ScriptStep] = deque(turns)
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []

    def add(self, *turns: ScriptStep) -> None:
        with self._lock:
            self._steps.extend(turns)

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._steps)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The request bodies answered (or refused) so far, in order."""
        with self._lock:
            return list(self._requests)

    def respond(self, request: dict[str, Any]) -> ModelTurn:
        with self._lock:
            self._requests.append(request)
            if not self._steps:
                raise ScriptExhausted(
                    f"QueueModel has no turn left for request #{len(self._requests)} "
                    f"({len(self._requests) - 1} scripted turns were used)"
                )
            step = self._steps.popleft()
        return step(request) if callable(step) else step


class DemoModel:
    """The scripted model of ``--provider demo``: explores, outlines and writes cited sections."""

    def __init__(
        self,
        *,
        max_files: int = 8,
        outline_mode: str = "ok",
        citation_mode: str = "valid",
        parallel_tool_calls: bool = True,
    ) -> None:
        if max_files < 0:
            raise ValueError("max_files must be >= 0")
        if outline_mode not in OUTLINE_MODES:
            raise ValueError(f"outline_mode must be one of {OUTLINE_MODES}, got {outline_mode!r}")
        if citation_mode not in CITATION_MODES:
            raise ValueError(
                f"citation_mode must be one of {CITATION_MODES}, got {citation_mode!r}"
            )
        self.exploration = ExplorationOptions(
            max_files=max_files, parallel_tool_calls=parallel_tool_calls
        )
        self.outline_mode = outline_mode
        self.citation_mode = citation_mode
        self.parallel_tool_calls = parallel_tool_calls

    def respond(self, request: dict[str, Any]) -> ModelTurn:
        conv = Conversation(request)
        if FINISH_TOOL in conv.tools:
            return exploration_turn(conv, self.exploration)
        if OUTLINE_NAME in conv.tools:
            return outline_turn(conv, self.outline_mode, as_tool_call=conv.offers(OUTLINE_NAME))
        if _wants_json(conv.response_format) or (not conv.tools and asks_outline_in_text(conv)):
            return outline_turn(conv, self.outline_mode)
        if conv.tools:
            return section_turn(conv, self.citation_mode, self.parallel_tool_calls)
        return _plain_turn(conv)


def _wants_json(response_format: Any) -> bool:
    return isinstance(response_format, dict) and response_format.get("type") in (
        "json_schema",
        "json_object",
    )


def _plain_turn(conv: Conversation) -> ModelTurn:
    if conv.calls:  # e.g. exploration cut short and a summary asked for without tools
        return ModelTurn(content=understanding(conv))
    question = next((text for text in reversed(conv.user_texts()) if text.strip()), "")
    first_line = question.strip().splitlines()[0][:120] if question.strip() else ""
    asked = f' You asked: "{first_line}".' if first_line else ""
    intro = (
        "This is the tech_writer demo model. It explores a repository through tools, outlines a "
        "report and writes cited sections; without tools it has nothing to look at."
    )
    return ModelTurn(content=intro + asked)
