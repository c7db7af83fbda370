"""demo/careful and demo/sloppy, and the scripted judge that reads what it is shown."""

from __future__ import annotations

import json

from tech_writer.demo import ModelTurn
from tech_writer.demo._conversation import FileView
from tech_writer.demo._judge import CITATION_SCHEMA, COMPLETENESS_SCHEMA, FAITHFULNESS_SCHEMA, support
from tech_writer.demo._sloppy import SHIFT, degrade_section
from tech_writer.demo.catalog import DemoCatalog

SECTION = ("Storage. What follows is drawn from `store.py`.\n\n"
           "- `Store` keeps items in SQLite [store.py:3-5]\n"
           "- `add` inserts one row [store.py:8-9]\n"
           "- `all` lists the rows [store.py:11-12]")


def test_sloppy_moves_citations_invents_helpers_and_drops_a_citation() -> None:
    views = {"store.py": FileView("store.py", 60)}
    degraded = degrade_section(SECTION, views).split("\n")
    assert degraded[:2] == SECTION.split("\n")[:2]  # the intro is untouched
    assert degraded[2] == f"- `Store` keeps items in SQLite [store.py:{3 + SHIFT}-{5 + SHIFT}]"
    assert degraded[3] == (f"- `add` inserts one row, registered through `StoreRegistry.dispatch()`. "
                           f"[store.py:{8 + SHIFT}-{9 + SHIFT}]")
    assert degraded[4] == "- `all` lists the rows"


def test_sloppy_citations_stay_inside_short_files() -> None:
    degraded = degrade_section("- `x` is one [a.py:2-3]\n- `y` too [a.py:1]", {"a.py": FileView("a.py", 10)})
    assert "[a.py:2-3]" in degraded  # nowhere to move to in a 10-line file


def request(schema: str, payload: dict, model: str = "demo/judge") -> dict:
    return {"model": model, "messages": [{"role": "user", "content": json.dumps(payload)}],
            "response_format": {"type": "json_schema", "json_schema": {"name": schema, "schema": {}}}}


def test_the_judge_reads_the_claim_and_the_lines() -> None:
    lines = "10\tclass Store:\n11\t    def add(self, item):\n12\t        self.items.append(item)"
    assert support("`Store.add` appends the item to items", lines)[0] == "supported"
    assert support("`Store` keeps items and `purge` deletes them", lines)[0] == "partial"
    verdict, reasoning = support("`Cache.evict` drops stale entries", lines)
    assert verdict == "unsupported" and "missing: evict" in reasoning
    answer = DemoCatalog().respond(request(CITATION_SCHEMA, {"items": [
        {"id": 4, "claim": "`Store.add` appends the item", "lines": lines},
        {"id": 5, "claim": "`Cache.evict` drops entries", "lines": lines}]}))
    verdicts = json.loads(answer.content or "")["verdicts"]
    assert [(v["id"], v["verdict"]) for v in verdicts] == [(4, "supported"), (5, "unsupported")]


def test_the_judge_scores_faithfulness_and_completeness_from_the_text() -> None:
    catalog = DemoCatalog()
    cited = [{"citation": "[s.py:1-3]", "lines": "1\tclass Store:\n2\t    def add(self): ..."}]
    good = catalog.respond(request(FAITHFULNESS_SCHEMA, {"text": "`Store` has `add`.", "cited": cited}))
    bad = catalog.respond(request(FAITHFULNESS_SCHEMA, {"text": "`Queue` has `pop`.", "cited": cited}))
    assert json.loads(good.content or "")["score"] == 3
    assert json.loads(bad.content or "")["score"] == 0
    complete = catalog.respond(request(COMPLETENESS_SCHEMA, {
        "prompt": "Describe storage and the command line.", "report": "We describe storage, then the command line."}))
    assert json.loads(complete.content or "")["score"] == 3


def test_other_requests_go_to_the_model_the_request_names() -> None:
    plain = {"model": "demo/careful", "messages": [{"role": "user", "content": "hello"}]}
    assert isinstance(DemoCatalog().respond(plain), ModelTurn)
    assert DemoCatalog().respond(plain) == DemoCatalog().respond({**plain, "model": "demo/sloppy"})
