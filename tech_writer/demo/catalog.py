"""The demo provider's models, chosen by the request's model name.

- ``demo/sloppy``: :class:`~tech_writer.demo._sloppy.SloppyModel` (cites the wrong lines, names
  helpers that do not exist, leaves a claim uncited);
- ``demo/uncited``, ``demo/inventive``, ``demo/leaky``: :class:`~tech_writer.demo._ungrounded.UngroundedModel`
  (cites nothing; names what does not exist; writes a tool call as its text), for the grounding gate;
- any other name (``demo/careful``, ``openai/gpt-5.1``, ...): the :class:`~tech_writer.demo.model.DemoModel`;
- whatever the name, an evaluation request (``tech-writer eval --judge``) is answered by the
  scripted judge of :mod:`tech_writer.demo._judge`.
"""

from __future__ import annotations

from typing import Any

from ._judge import is_judge_request, judge_turn
from ._sloppy import SloppyModel
from ._types import ModelTurn
from ._ungrounded import INVENTIVE_MODEL, LEAKY_MODEL, UNCITED_MODEL, UngroundedModel
from .model import DemoModel

__all__ = ["CAREFUL_MODEL", "DEMO_MODELS", "INVENTIVE_MODEL", "LEAKY_MODEL", "SLOPPY_MODEL",
           "UNCITED_MODEL", "DemoCatalog"]

CAREFUL_MODEL = "demo/careful"
SLOPPY_MODEL = "demo/sloppy"
DEMO_MODELS = (CAREFUL_MODEL, SLOPPY_MODEL)


class DemoCatalog:
    """A ScriptedModel that routes each request to the demo model its ``model`` field names."""

    def __init__(self, careful: Any | None = None) -> None:
        self.careful = careful if careful is not None else DemoModel()
        self.sloppy = SloppyModel(self.careful)
        self.ungrounded = {kind: UngroundedModel(self.careful, kind)
                           for kind in (UNCITED_MODEL, INVENTIVE_MODEL, LEAKY_MODEL)}

    def respond(self, request: dict[str, Any]) -> ModelTurn:
        if is_judge_request(request):
            return judge_turn(request)
        if request.get("model") == SLOPPY_MODEL:
            turn: ModelTurn = self.sloppy.respond(request)
            return turn
        spoiled = self.ungrounded.get(str(request.get("model")))
        if spoiled is not None:
            return spoiled.respond(request)
        result: ModelTurn = self.careful.respond(request)
        return result
