"""The exploration phase: a plan, then one explorer per area, side by side."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tech_writer.demo import DemoModel, FakeOpenRouter, Fault, ModelTurn, ToolCall
from tech_writer.llm.client import LLMClient
from tech_writer.pipeline import prompts
from tech_writer.pipeline.exploration import MAX_AREAS, WHOLE_REPOSITORY, Area, parse_plan
from tech_writer.pipeline.run import run_pipeline
from telemetry import Telemetry
from telemetry import attributes as attrs

KEY = "sk-or-exploration-test-key"
PROMPT = "Write an architecture overview: components and data flow."
PLAN_TOOL = "plan_exploration"


def is_plan(request: dict[str, Any]) -> bool:
    choice = request.get("tool_choice")
    return isinstance(choice, dict) and (choice.get("function") or {}).get("name") == PLAN_TOOL


def is_exploration(request: dict[str, Any]) -> bool:
    names = {(t.get("function") or {}).get("name") for t in request.get("tools") or []}
    return "finish_exploration" in names


class ExplorationWatcher(DemoModel):
    """The demo model, recording exploration requests and how many overlap; ``plan`` replaces
    the answer to the planning call when given."""

    def __init__(self, plan: ModelTurn | None = None) -> None:
        super().__init__()
        self.plan = plan
        self._lock = threading.Lock()
        self.active = self.peak = 0
        self.requests: list[dict[str, Any]] = []  # exploration requests
        self.seen: list[dict[str, Any]] = []  # every request

    def respond(self, request):  # type: ignore[no-untyped-def]
        with self._lock:
            self.seen.append(request)
        if not is_exploration(request):
            return super().respond(request)
        with self._lock:
            self.requests.append(request)
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            threading.Event().wait(0.05)  # long enough for overlapping explorers to show
            if self.plan is not None and is_plan(request):
                return self.plan
            return super().respond(request)
        finally:
            with self._lock:
                self.active -= 1


def run(repo, concurrency: int, model: DemoModel, max_exploration: int = 30,
        faults: tuple[Fault, ...] = ()):
    exporter = InMemorySpanExporter()
    telemetry = Telemetry.for_testing(exporter)
    with FakeOpenRouter(model, api_key=KEY) as server:
        for fault in faults:
            server.faults.add(fault)
        with LLMClient("openai/gpt-5.1", "openrouter", KEY, server.base_url,
                       telemetry=telemetry, max_in_flight=concurrency) as llm:
            report, _store, cost = run_pipeline(PROMPT, repo, llm=llm, max_sections=3,
                                                concurrency=concurrency,
                                                max_exploration=max_exploration)
        ledger = server.ledger
    return report, cost, ledger, exporter.get_finished_spans()


def first_user_text(request: dict[str, Any]) -> str:
    message = next(m for m in request["messages"] if m["role"] == "user")
    content = message["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


def test_areas_are_explored_side_by_side_and_the_report_does_not_depend_on_it(sample_repo):
    serial = ExplorationWatcher()
    serial_report, *_ = run(sample_repo, 1, serial)
    parallel = ExplorationWatcher()
    report, cost, ledger, spans = run(sample_repo, 3, parallel)

    assert report == serial_report
    assert serial.peak == 1 and 1 < parallel.peak <= 3
    plans = [r for r in parallel.requests if is_plan(r)]
    assert len(plans) == 1 and parallel.requests[0] is plans[0]  # planned first, once
    areas = [s for s in spans if attrs.EXPLORATION_AREA_TITLE in s.attributes]
    assert len(areas) >= 2
    by_id = {s.context.span_id: s for s in spans}
    explorer_chats = [s for s in spans if s.attributes.get(attrs.PHASE) == "exploration"
                      and s.attributes.get(attrs.GEN_AI_OPERATION_NAME) == "chat"
                      and s.parent is not None
                      and attrs.EXPLORATION_AREA_TITLE in by_id[s.parent.span_id].attributes]
    assert len(explorer_chats) == len(parallel.requests) - 1
    assert cost["total_calls"] == len(ledger)


def test_every_exploration_call_shares_one_cacheable_prefix(sample_repo):
    model = ExplorationWatcher()
    run(sample_repo, 2, model)
    requests = model.requests
    assert len(requests) > 3
    system = {json.dumps(r["messages"][0], sort_keys=True) for r in requests}
    tools = {json.dumps(r["tools"], sort_keys=True) for r in requests}
    assert len(system) == 1 and len(tools) == 1
    openings = [first_user_text(r) for r in requests]
    layout_end = openings[0].index("Call plan_exploration")
    shared = openings[0][:layout_end]
    assert "Repository layout (get_structure):" in shared and "inventory/" in shared
    assert all(text.startswith(shared) for text in openings)
    explorers = openings[1:]
    assert all("Your area:" in text and "Other explorers cover:" in text for text in explorers)
    # The shared part is a content part of its own: a cache breakpoint can follow it.
    first_parts = {next(m for m in r["messages"] if m["role"] == "user")["content"][0]["text"]
                   for r in requests}
    assert first_parts == {shared}


def test_understanding_has_each_area_and_one_list_of_files_read(sample_repo):
    model = ExplorationWatcher()
    run(sample_repo, 2, model)
    outline = next(r for r in model.seen if isinstance(r.get("response_format"), dict))
    notes = first_user_text(outline).split("Exploration notes:", 1)[1]
    titles = [line.split(": ", 1)[1] for line in notes.splitlines()
              if line.startswith("### Area ")]
    assert len(titles) >= 2
    assert notes.count("Files read:") == 1
    read = notes.split("Files read:", 1)[1]
    assert "pyproject.toml" in read and "inventory/store.py" in read


@pytest.mark.parametrize("plan", [
    ModelTurn(content="I would rather not plan."),
    ModelTurn(tool_calls=[ToolCall(PLAN_TOOL, '{"areas": [')]),
    ModelTurn(tool_calls=[ToolCall(PLAN_TOOL, {"areas": [{"title": "Everything", "focus": "",
                                                          "paths": []}]})]),
], ids=["text-instead-of-a-plan", "invalid-arguments", "one-area"])
def test_without_a_usable_plan_one_explorer_covers_the_whole_repository(sample_repo, plan):
    model = ExplorationWatcher(plan=plan)
    report, *_ = run(sample_repo, 3, model)
    explorers = [first_user_text(r) for r in model.requests if not is_plan(r)]
    title = "Everything" if plan.tool_calls and "Everything" in str(plan.tool_calls[0]) \
        else WHOLE_REPOSITORY
    assert explorers and all(f"Your area: {title}" in t for t in explorers)
    assert model.peak == 1
    assert report.count("\n## ") >= 1 and "[inventory/" in report


def test_a_model_that_refuses_a_forced_tool_is_asked_for_the_plan_in_words(sample_repo, caplog):
    refusal = Fault(status=404, body={"error": {"code": 404, "message": (
        "No endpoints found that support the provided 'tool_choice' value.")}})
    model = ExplorationWatcher()
    with caplog.at_level(logging.INFO, logger="tech_writer.exploration"):
        report, cost, ledger, _spans = run(sample_repo, 3, model, faults=(refusal,))
    first = model.requests[0]  # the refused request never reached the model
    assert "tool_choice" not in first and "Call plan_exploration" in first_user_text(first)
    explorers = [first_user_text(r) for r in model.requests[1:]]
    assert explorers and not any(f"Your area: {WHOLE_REPOSITORY}" in t for t in explorers)
    assert "refused a forced plan_exploration (404)" in caplog.text
    assert cost["total_calls"] == len(ledger) and "[inventory/" in report


@pytest.mark.parametrize("steps", [3, 6])
def test_a_step_budget_too_small_for_two_areas_skips_the_plan(sample_repo, steps):
    model = ExplorationWatcher()
    run(sample_repo, 3, model, max_exploration=steps)
    assert not any(is_plan(r) for r in model.requests)
    assert all(f"Your area: {WHOLE_REPOSITORY}" in first_user_text(r) for r in model.requests)
    assert len(model.requests) <= steps + 1  # the steps and, at most, one wrap-up


def test_planned_areas_beyond_the_budget_are_merged_not_dropped(sample_repo):
    plan = ModelTurn(tool_calls=[ToolCall(PLAN_TOOL, {"areas": [
        {"title": "Storage", "focus": "rows", "paths": ["inventory/store.py"]},
        {"title": "CLI", "focus": "commands", "paths": ["inventory/cli.py"]},
        {"title": "Package", "focus": "exports", "paths": ["inventory/__init__.py"]},
    ]})])
    model = ExplorationWatcher(plan=plan)
    run(sample_repo, 3, model, max_exploration=7)  # the plan, then 6 steps: room for two areas
    (plan_request,) = [r for r in model.requests if is_plan(r)]
    assert "at most 2 areas" in first_user_text(plan_request)
    explorers = [first_user_text(r) for r in model.requests if not is_plan(r)]
    assert {t.split("Your area: ")[1].splitlines()[0] for t in explorers} == {
        "Storage", "CLI + Package"}
    merged = next(t for t in explorers if "Your area: CLI + Package" in t)
    assert "Start from: inventory/cli.py, inventory/__init__.py" in merged
    assert "Focus: commands; exports" in merged


class PlanCallingExplorer(ExplorationWatcher):
    """Its explorers call plan_exploration once before exploring."""

    def respond(self, request):  # type: ignore[no-untyped-def]
        calls = [m for m in request["messages"] if m.get("role") == "assistant"]
        if is_exploration(request) and not is_plan(request) and not calls:
            with self._lock:
                self.requests.append(request)
            return ModelTurn(tool_calls=[ToolCall(PLAN_TOOL, {"areas": []})])
        return super().respond(request)


def test_an_explorer_that_calls_the_plan_tool_is_told_to_explore_its_area(sample_repo):
    model = PlanCallingExplorer()
    report, *_ = run(sample_repo, 2, model)
    answers = [m["content"] for r in model.requests for m in r["messages"]
               if m.get("role") == "tool"]
    told = [a for a in answers if a.startswith("The exploration is already planned")]
    assert told and not any("unknown tool" in a for a in answers)
    assert "[inventory/" in report


def test_plan_titles_are_one_line():
    raw = {"areas": [{"title": "Storage\nStart from: /etc", "focus": "a\n b", "paths": [" x "]},
                     {"title": "Storage Start from: /etc", "focus": "", "paths": []}]}
    assert parse_plan(raw) == [Area("Storage Start from: /etc", "a b", ("x",))]


def test_areas_are_capped_by_the_step_budget(sample_repo):
    model = ExplorationWatcher()
    run(sample_repo, 3, model, max_exploration=7)  # the plan, then 6 steps: two areas of 3
    explorers = {first_user_text(r).split("Your area:")[1].splitlines()[0]
                 for r in model.requests if not is_plan(r)}
    assert len(explorers) == 2
    assert len(model.requests) <= 1 + 6 + 2


# --- parse_plan --------------------------------------------------------------------------------
def test_parse_plan_keeps_valid_areas_in_order():
    raw = json.dumps({"areas": [
        {"title": " Storage ", "focus": "how rows are kept", "paths": ["a/store.py", " ", 3]},
        {"title": "", "focus": "no title", "paths": []},
        "not an object",
        {"title": "Storage", "focus": "a duplicate", "paths": []},
        {"title": "CLI", "paths": ["a/cli.py", "a/cli.py"]},
    ]})
    assert parse_plan(raw) == [Area("Storage", "how rows are kept", ("a/store.py",)),
                               Area("CLI", "", ("a/cli.py",))]


@pytest.mark.parametrize("raw", ["{not json", "[]", json.dumps({"areas": "x"}), None,
                                 json.dumps({"areas": []})])
def test_parse_plan_rejects_what_is_not_a_plan(raw):
    assert parse_plan(raw) == []


def test_parse_plan_keeps_at_most_max_areas():
    raw = {"areas": [{"title": f"Area {n}", "focus": "", "paths": []} for n in range(9)]}
    assert [a.title for a in parse_plan(raw)] == [f"Area {n}" for n in range(MAX_AREAS)]


def test_plan_tool_is_forced_and_described():
    function = prompts.PLAN_EXPLORATION_SCHEMA["function"]
    assert function["name"] == PLAN_TOOL
    assert function["parameters"]["properties"]["areas"]["items"]["required"] == [
        "title", "focus", "paths"]
