"""Three demo models that fail the way small real models do, for testing the grounding gate.

Each wraps the demo model (exploration and outline as it does them, unless said otherwise) and
spoils what it writes, every time it is asked, feedback or not, as a model that cannot do better:

- ``demo/uncited``: sections without a single citation (the brackets dropped; the sentences and
  the names in them stay, so the tool can anchor those that name a definition);
- ``demo/inventive``: every cited section bullet also names a helper the repository does not
  have (``<Stem>Registry.dispatch()``, as ``demo/sloppy`` does for every second one), under the
  bullet's own citation; the other claims are left as they are;
- ``demo/leaky``: ends its exploration at once, having read nothing, with the text of a tool
  call instead of notes, and answers every section with that text (``functions.get_structure:``,
  as Qwen2.5-Coder-1.5B did behind llama-cpp-python's ``chatml-function-calling``).
"""

from __future__ import annotations

import re
from typing import Any

from ._conversation import Conversation
from ._explore import FINISH_TOOL, PLAN_TOOL
from ._sloppy import _with_invented_helper
from ._types import ModelTurn

__all__ = ["INVENTIVE_MODEL", "LEAKED_CALL", "LEAKY_MODEL", "UNCITED_MODEL", "UngroundedModel",
           "drop_citations", "invent_names"]

UNCITED_MODEL = "demo/uncited"
INVENTIVE_MODEL = "demo/inventive"
LEAKY_MODEL = "demo/leaky"
LEAKED_CALL = "functions.get_structure:"
_CITATION = re.compile(r"\s*\[[^\[\]\s:]+:\d+(?:-\d+)?(?:\s*[,;]\s*[^\[\]\s:]+:\d+(?:-\d+)?)*\]")
_BULLET = re.compile(r"^\s*[-*+]\s+")


def drop_citations(markdown: str) -> str:
    return _CITATION.sub("", markdown)


def invent_names(markdown: str) -> str:
    """Each cited bullet also names a made-up helper, in a clause of its own sentence after the
    citation (so that clause is a claim without a citation that names what does not exist)."""
    lines = markdown.split("\n")
    for index, line in enumerate(lines):
        if _BULLET.match(line) and _CITATION.search(line):
            lines[index] = _with_invented_helper(line)
    return "\n".join(lines)


class UngroundedModel:
    """Wraps a scripted model (normally the DemoModel) and spoils it as ``kind`` says."""

    def __init__(self, inner: Any, kind: str) -> None:
        if kind not in (UNCITED_MODEL, INVENTIVE_MODEL, LEAKY_MODEL):
            raise ValueError(f"unknown ungrounded demo model {kind!r}")
        self.inner, self.kind = inner, kind

    def respond(self, request: dict[str, Any]) -> ModelTurn:
        conv = Conversation(request)
        exploring = FINISH_TOOL in conv.tools or PLAN_TOOL in conv.tools
        if self.kind == LEAKY_MODEL and (exploring or conv.tools):
            # The plan call is forced: a model that cannot call tools answers it in text too.
            return ModelTurn(content=LEAKED_CALL, finish_reason="stop")
        turn: ModelTurn = self.inner.respond(request)
        is_section = bool(conv.tools) and not exploring
        if not is_section or turn.tool_calls or not turn.content:
            return turn
        spoil = drop_citations if self.kind == UNCITED_MODEL else invent_names
        return ModelTurn(content=spoil(turn.content), finish_reason=turn.finish_reason)
