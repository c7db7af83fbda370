"""A fake OpenRouter server and the scripted demo model.

The server is a real HTTP server on 127.0.0.1 speaking OpenRouter's chat-completions wire format,
with deterministic billing, scripted faults and the ``/generation``, ``/models`` and ``/key``
endpoints. It is the project's test double and the engine of ``--provider demo``.

Imports: of tech_writer only the repository's pure readers of tool answers —
:mod:`tech_writer.repository.ranking` (which files matter most), ``filekinds`` and
``toolresults``; never a Repository, the tools, the model client or anything above.
"""

from __future__ import annotations

from ._types import ModelTurn, ScriptedModel, ToolCall
from .capabilities import ModelProfile
from .faults import Fault, FaultPlan, default_error_body
from .model import CITATION_MODES, OUTLINE_MODES, DemoModel, QueueModel, ScriptExhausted
from .options import FakeOptions
from .pricing import DEFAULT_PRICING, ModelPrice, Pricing
from .server import BilledCall, FakeOpenRouter, RecordedRequest

__all__ = [
    "CITATION_MODES",
    "DEFAULT_PRICING",
    "OUTLINE_MODES",
    "BilledCall",
    "DemoModel",
    "FakeOpenRouter",
    "FakeOptions",
    "Fault",
    "FaultPlan",
    "ModelPrice",
    "ModelProfile",
    "ModelTurn",
    "Pricing",
    "QueueModel",
    "RecordedRequest",
    "ScriptExhausted",
    "ScriptedModel",
    "ToolCall",
    "default_error_body",
]
