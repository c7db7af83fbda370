"""demo/uncited, demo/inventive, demo/leaky: the scripted models that fail like small real ones."""

from __future__ import annotations

from typing import Any

import pytest

from tech_writer.demo._types import ModelTurn, ToolCall
from tech_writer.demo._ungrounded import (
    INVENTIVE_MODEL,
    LEAKED_CALL,
    LEAKY_MODEL,
    UNCITED_MODEL,
    UngroundedModel,
    drop_citations,
    invent_names,
)
from tech_writer.demo.catalog import DemoCatalog

SECTION = ("Storage. What follows is drawn from `store.py` [store.py:1-2; cli.py:4].\n\n"
           "- `Store` keeps items in SQLite [store.py:3-5]\n"
           "- `add` inserts one row [store.py:8-9]")


class _Fixed:
    """A scripted model that always gives the same turn, and counts its requests."""

    def __init__(self, turn: ModelTurn) -> None:
        self.turn, self.requests = turn, 0

    def respond(self, request: dict[str, Any]) -> ModelTurn:
        self.requests += 1
        return self.turn


def _request(*tools: str, model: str = UNCITED_MODEL) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "write"}],
            "tools": [{"type": "function", "function": {"name": name, "parameters": {}}}
                      for name in tools]}


def test_uncited_drops_every_citation_and_keeps_the_names() -> None:
    assert drop_citations(SECTION) == ("Storage. What follows is drawn from `store.py`.\n\n"
                                       "- `Store` keeps items in SQLite\n"
                                       "- `add` inserts one row")


def test_inventive_names_a_missing_helper_in_every_cited_bullet() -> None:
    lines = invent_names(SECTION).split("\n")
    assert lines[0] == SECTION.split("\n")[0]  # not a bullet: untouched
    assert lines[2] == ("- `Store` keeps items in SQLite, registered through "
                        "`StoreRegistry.dispatch()`. [store.py:3-5]")
    assert lines[3] == ("- `add` inserts one row, registered through `StoreRegistry.dispatch()`. "
                        "[store.py:8-9]")


@pytest.mark.parametrize("kind, expected", [
    (UNCITED_MODEL, drop_citations(SECTION)),
    (INVENTIVE_MODEL, invent_names(SECTION)),
    (LEAKY_MODEL, LEAKED_CALL),
])
def test_sections_are_spoiled_as_the_model_name_says(kind: str, expected: str) -> None:
    inner = _Fixed(ModelTurn(content=SECTION, finish_reason="stop"))
    turn = UngroundedModel(inner, kind).respond(_request("read_file", model=kind))
    assert turn.content == expected and not turn.tool_calls


def test_leaky_ends_exploration_at_once_with_text_and_the_others_explore() -> None:
    call = ModelTurn(tool_calls=[ToolCall("read_file", {"path": "a.py"})])
    inner = _Fixed(call)
    leaked = UngroundedModel(inner, LEAKY_MODEL).respond(_request("read_file", "finish_exploration"))
    assert leaked.content == LEAKED_CALL and not leaked.tool_calls and inner.requests == 0
    for kind in (UNCITED_MODEL, INVENTIVE_MODEL):
        assert UngroundedModel(inner, kind).respond(
            _request("read_file", "finish_exploration", model=kind)) == call


def test_the_catalog_routes_the_three_names() -> None:
    inner = _Fixed(ModelTurn(content=SECTION, finish_reason="stop"))
    catalog = DemoCatalog(careful=inner)
    assert catalog.respond(_request("read_file", model=LEAKY_MODEL)).content == LEAKED_CALL
    assert catalog.respond(_request("read_file", model=UNCITED_MODEL)).content == drop_citations(SECTION)
    assert catalog.respond(_request("read_file", model="demo/careful")).content == SECTION
    with pytest.raises(ValueError, match="unknown"):
        UngroundedModel(inner, "demo/other")
