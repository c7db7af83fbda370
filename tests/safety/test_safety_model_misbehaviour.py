"""Issue 6, model misbehaviour: each kind of bad answer has a defined outcome and none crashes
the run. The real command runs against the fake OpenRouter; a PhaseRouter swaps in bad turns."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import KEY, assert_no_traceback, independent_citation_check, run_cli
from safety_helpers import (
    PhaseRouter,
    chat_bodies,
    last_user_text,
    phase_of,
    section_title_of,
)

from tech_writer.demo import DemoModel, FakeOpenRouter, Fault, ModelTurn, ToolCall
from tech_writer.pipeline.history import ELIDED
from tech_writer.pipeline.prompts import GROUNDING_FEEDBACK_HEADER
from tech_writer.pipeline.sections import (
    CONTINUE,
    CUT_OFF_NOTE,
    EMPTY_NOTE,
    MAX_FIX_ROUNDS,
    MAX_SECTION_STEPS,
    clean_section_text,
)
from tech_writer.pipeline.toolloop import MAX_IDENTICAL_CALLS, MAX_REPEAT_TURNS

ENV = {"OPENROUTER_API_KEY": KEY}
FEEDBACK = "Some citations are invalid:"
CONTEXT_EXCEEDED = Fault(status=400, body={"error": {
    "code": 400,
    "message": "This endpoint's maximum context length is 128000 tokens. However, you requested "
               "about 131072 tokens. Please reduce the length of the messages.",
    "metadata": {"error_type": "context_length_exceeded"}}})


class Run:
    """One CLI run against a fake serving ``model``; keeps what the fake saw."""

    def __init__(self, model: Any, repo: Path, prompt: Path, *extra: str | Path,
                 faults: Sequence[Fault] = (), server_box: list[FakeOpenRouter] | None = None
                 ) -> None:
        with FakeOpenRouter(model, api_key=KEY) as server:
            if server_box is not None:
                server_box.append(server)
            for fault in faults:
                server.faults.add(fault)
            self.result = run_cli("--prompt", prompt, "--repo", repo, "--provider", "openrouter",
                                  "--base-url", server.base_url, "--eval-json", "--concurrency",
                                  "1", "--max-sections", "2", *extra, env=ENV)
            self.bodies = chat_bodies(server)
            self.billed = server.billed_total_usd()
            self.internal_errors = server.internal_errors
        assert_no_traceback(self.result)
        assert not self.internal_errors, self.internal_errors
        self.code = self.result.returncode
        self.stderr = self.result.stderr
        self.document: dict[str, Any] = json.loads(self.result.stdout)

    @property
    def report(self) -> str:
        return self.document["report"]

    def completed(self) -> None:
        assert self.code == 0, self.stderr
        assert self.report.startswith("# ") and "Incomplete report" not in self.report
        assert len(re.findall(r"^## ", self.report, re.M)) == 2
        assert self.document["cost"]["total_cost_usd"] == pytest.approx(self.billed, abs=1e-12)


def tool_results(body: dict[str, Any]) -> list[str]:
    return [m.get("content") or "" for m in body["messages"] if m.get("role") == "tool"]


# --- tool calls the tools cannot honour --------------------------------------------------------
@pytest.mark.parametrize("bad_call, error", [
    (ToolCall("read_file", '{"path": "README.md"'), "not valid JSON"),
    (ToolCall("read_file", "[1, 2, 3]"), "Error:"),
    (ToolCall("delete_repository", {"path": "."}), "unknown tool 'delete_repository'"),
    (ToolCall("read_file", {"path": "../../etc/passwd"}), "Error:"),
], ids=["invalid-json", "arguments-not-an-object", "unknown-tool", "path-outside"])
def test_bad_tool_calls_become_error_results_the_model_can_correct(sample_repo, prompt_file,
                                                                   bad_call, error):
    router = PhaseRouter(replace={("exploration", 1): ModelTurn(tool_calls=[bad_call]),
                                  ("sections", 1): ModelTurn(tool_calls=[bad_call])})
    run = Run(router, sample_repo, prompt_file)
    run.completed()
    for phase in ("exploration", "sections"):
        answer = tool_results(router.requests_of(phase)[1])[-1]
        assert answer.startswith("Error:") and error in answer, (phase, answer)
    assert "root:" not in run.report  # nothing from outside the repository


# --- endless tool calling ----------------------------------------------------------------------
class EndlessToolCaller:
    """Asks for another tool at every turn, even when told to stop (tool_choice="none")."""

    def __init__(self) -> None:
        self.outline = DemoModel()

    def respond(self, request: dict[str, Any]) -> ModelTurn:
        if phase_of(request) == "outline":
            return self.outline.respond(request)
        return ModelTurn(tool_calls=[ToolCall("read_file", {"path": "README.md"})])


def test_endless_tool_calling_is_held_by_the_step_caps(sample_repo, prompt_file):
    router = PhaseRouter(EndlessToolCaller())
    run = Run(router, sample_repo, prompt_file, "--max-exploration", "4")
    # Nothing written, so nothing grounded: the run fails with one line, the draft kept apart
    # (issue 24: no report of nothing).
    assert run.code == 1 and run.document["report"] is None
    assert "error: the model could not ground its claims" in run.stderr
    # Exploration: 4 steps leave no room for two areas, so no plan: one explorer, its 4 steps
    # and one wrap-up; each section: the same call runs twice, is refused twice, then the loop
    # stops (before its step cap) and one "write now" follows.
    assert router.counts["plan"] == 0
    assert router.counts["exploration"] == 4 + 1
    assert router.requests_of("exploration")[-1].get("tool_choice") == "none"
    assert router.counts["outline"] == 1
    per_section: dict[str, list[dict[str, Any]]] = {}
    for body in router.requests_of("sections"):
        per_section.setdefault(section_title_of(body) or "", []).append(body)
    assert len(per_section) == 2
    per_loop = MAX_IDENTICAL_CALLS + MAX_REPEAT_TURNS
    assert per_loop < MAX_SECTION_STEPS
    for title, bodies in per_section.items():
        assert len(bodies) == per_loop + 1, title
        assert bodies[-1].get("tool_choice") == "none"
        refusals = [r for r in tool_results(bodies[-1]) if "already called" in r]
        assert len(refusals) == MAX_REPEAT_TURNS
    assert run.document["ungrounded_draft"].count(EMPTY_NOTE) == 2
    assert len(run.bodies) == 5 + 1 + 2 * (per_loop + 1)
    assert "keeps repeating the same tool calls" in run.stderr


# --- empty responses ---------------------------------------------------------------------------
def test_empty_response_in_exploration_does_not_stop_the_run(sample_repo, prompt_file):
    router = PhaseRouter()
    run = Run(router, sample_repo, prompt_file, "--max-exploration", "5",
              faults=[Fault(empty_response=True)])
    # Defined outcome today: the blank answer ends the exploration (nothing learnt) and the run
    # still delivers a complete report; a re-ask would also satisfy this test.
    run.completed()
    assert router.counts["exploration"] <= 5 + 1


def test_empty_response_in_a_section_is_asked_again_once(sample_repo, prompt_file):
    box: list[FakeOpenRouter] = []

    def empty_first_section_answer(phase: str, number: int, request: dict[str, Any]) -> None:
        if phase == "outline" and number == 1:
            box[0].faults.add(Fault(empty_response=True))  # the next request: section 1, step 1

    router = PhaseRouter(before=empty_first_section_answer)
    run = Run(router, sample_repo, prompt_file, server_box=box)
    run.completed()
    first_section = [b for b in run.bodies if phase_of(b) == "sections"]
    title = section_title_of(first_section[0])
    asked_again = [b for b in first_section if section_title_of(b) == title]
    assert asked_again[1].get("tool_choice") == "none"
    assert "write the section now" in last_user_text(asked_again[1])
    write_now = [b for b in asked_again if "write the section now" in last_user_text(b)]
    assert len(write_now) == 1  # once, not in a loop
    # Written without reading anything, that answer cites nothing: the grounding gate sends it
    # back once with the evidence (the model then reads and cites), not asked to write again.
    assert asked_again[2:] and all(last_user_text(b).startswith(GROUNDING_FEEDBACK_HEADER)
                                   for b in asked_again[2:])
    sections = re.split(r"^## .+$", run.report, flags=re.M)[1:]
    assert sections[0].strip(), "the section is empty"
    assert CITATION.search(sections[0]), "the section has no citations"


# --- outlines that do not parse ----------------------------------------------------------------
@pytest.mark.parametrize("bad_outline", [
    "",
    "Here is the outline: 1. Overview 2. Storage",
    json.dumps({"title": "Only a title"}),
    "```json\n" + json.dumps({"title": "No sections", "sections": []}) + "\n```",
], ids=["empty", "prose", "no-sections", "empty-sections"])
def test_an_unusable_outline_is_asked_for_again_once(sample_repo, prompt_file, bad_outline):
    router = PhaseRouter(replace={("outline", 1): ModelTurn(content=bad_outline)})
    run = Run(router, sample_repo, prompt_file)
    run.completed()
    outlines = router.requests_of("outline")
    assert len(outlines) == 2
    assert "That outline is not usable" in last_user_text(outlines[1])


def test_an_outline_that_never_parses_falls_back_to_the_prompts_aspects(sample_repo, prompt_file,
                                                                        tmp_path):
    # The exploration was paid for: the report is written on an outline built without the model.
    out = tmp_path / "out" / "report.md"
    router = PhaseRouter(DemoModel(outline_mode="always_invalid"))
    run = Run(router, sample_repo, prompt_file, "-o", out, "--max-sections", "3")
    assert run.code == 0, run.stderr
    assert router.counts["outline"] == 2 and router.counts["sections"] > 0  # asked twice, then
    assert re.search(r"^WARNING tech_writer\.outline: outline attempt 2 unusable", run.stderr, re.M)
    assert re.search(r"usable outline after 2 attempts .*; writing the report on an outline built "
                     r"without the model: the prompt's 3 aspect\(s\)", run.stderr)
    report = out.read_text(encoding="utf-8")
    assert run.document["report"] == report and "error" not in run.document
    assert re.findall(r"^## (.+)$", report, re.M) == ["Components", "Data flow", "Storage"]
    assert "> **Outline**: The model did not return a usable outline" in report
    assert run.document["citations"]["invalid"] == 0
    assert re.search(r"^cost: \$", run.stderr, re.M)


# --- citations to files that do not exist ------------------------------------------------------
GHOSTS = "\n- Also see [ghost/missing.py:1-4] and [../outside.py:1-2]."


def ghost_citations(always: bool):
    def rewrite(phase: str, number: int, request: dict[str, Any], turn: ModelTurn) -> ModelTurn:
        if phase != "sections" or not turn.content:
            return turn
        if always or not last_user_text(request).startswith(FEEDBACK):
            return ModelTurn(content=turn.content + GHOSTS)
        return turn
    return rewrite


def feedback_requests(router: PhaseRouter) -> list[dict[str, Any]]:
    return [b for b in router.requests_of("sections")
            if b["messages"][-1].get("role") == "user" and last_user_text(b).startswith(FEEDBACK)]


def test_citations_to_missing_files_are_fed_back_and_corrected(sample_repo, prompt_file):
    router = PhaseRouter(rewrite=ghost_citations(always=False))
    run = Run(router, sample_repo, prompt_file)
    run.completed()
    feedback = feedback_requests(router)
    assert len(feedback) == 2  # one per section
    assert all("ghost/missing.py" in last_user_text(b) and "../outside.py" in last_user_text(b)
               for b in feedback)
    assert "ghost/missing.py" not in run.report
    total, valid = independent_citation_check(run.report, sample_repo)
    assert run.document["citations"] == {"total": total, "valid": valid, "invalid": 0}


def test_citations_to_missing_files_that_stay_are_counted_invalid(sample_repo, prompt_file):
    router = PhaseRouter(rewrite=ghost_citations(always=True))
    run = Run(router, sample_repo, prompt_file)
    run.completed()
    assert len(feedback_requests(router)) == 2 * MAX_FIX_ROUNDS  # bounded fix rounds
    assert "invalid citation(s) after 2 fix rounds" in run.stderr
    # The claims whose citations stay invalid never reach the report (issue 24): the gate
    # removed them, and counts them.
    total, valid = independent_citation_check(run.report, sample_repo)
    assert total == valid and "ghost/missing.py" not in run.report
    assert run.document["citations"] == {"total": total, "valid": valid, "invalid": 0}
    assert run.document["grounding"]["removed"] >= 2  # at least one per section


# --- context length exceeded -------------------------------------------------------------------
NO_PLAN = ModelTurn(content="No plan: I will explore it myself.")


def test_context_length_exceeded_trims_old_tool_results_and_retries_once(sample_repo,
                                                                         prompt_file):
    box: list[FakeOpenRouter] = []

    def overflow_after_two_steps(phase: str, number: int, request: dict[str, Any]) -> None:
        if phase == "exploration" and number == 2:
            box[0].faults.add(CONTEXT_EXCEEDED)  # the third exploration request overflows

    # No plan: one explorer, whose conversation grows long enough to overflow.
    run = Run(PhaseRouter(before=overflow_after_two_steps, replace={("plan", 1): NO_PLAN}),
              sample_repo, prompt_file, server_box=box)
    run.completed()
    refused, retried = run.bodies[1 + 2], run.bodies[1 + 3]
    assert [m["role"] for m in refused["messages"]] == [m["role"] for m in retried["messages"]]
    assert len(json.dumps(retried)) < len(json.dumps(refused))
    assert ELIDED not in tool_results(refused) and ELIDED in tool_results(retried)
    assert tool_results(retried)[0] == ELIDED  # the oldest go first
    assert "context window was exceeded" in run.stderr


def test_context_length_exceeded_twice_fails_clearly(sample_repo, prompt_file):
    box: list[FakeOpenRouter] = []

    def overflow_twice(phase: str, number: int, request: dict[str, Any]) -> None:
        if phase == "exploration" and number == 2:
            box[0].faults.add(CONTEXT_EXCEEDED, count=2)

    run = Run(PhaseRouter(before=overflow_twice, replace={("plan", 1): NO_PLAN}), sample_repo,
              prompt_file, server_box=box)
    assert run.code == 1, run.stderr
    assert len(run.bodies) == 1 + 2 + 2  # the plan, two steps, retried once, then stopped
    assert re.search(r"^tech-writer: error: .*maximum context length", run.stderr, re.M)


# --- truncated output --------------------------------------------------------------------------
def cut_first_section(*, continuation_cut_too: bool):
    state: dict[str, Any] = {}

    def rewrite(phase: str, number: int, request: dict[str, Any], turn: ModelTurn) -> ModelTurn:
        if phase != "sections":
            return turn
        if last_user_text(request) == CONTINUE:
            return ModelTurn(content=state["rest"],
                             finish_reason="length" if continuation_cut_too else "stop")
        if turn.content and "full" not in state:
            state["full"] = turn.content
            half = len(turn.content) // 2
            state["rest"] = turn.content[half:]
            return ModelTurn(content=turn.content[:half], finish_reason="length")
        return turn
    return rewrite, state


@pytest.mark.parametrize("continuation_cut_too", [False, True], ids=["continued", "cut-twice"])
def test_truncated_output_gets_one_continuation(sample_repo, prompt_file, continuation_cut_too):
    rewrite, state = cut_first_section(continuation_cut_too=continuation_cut_too)
    router = PhaseRouter(rewrite=rewrite)
    run = Run(router, sample_repo, prompt_file)
    run.completed()
    continuations = [b for b in router.requests_of("sections") if last_user_text(b) == CONTINUE]
    assert len(continuations) == 1
    assert continuations[0].get("tool_choice") == "none"
    first_body = re.split(r"^## .+$", run.report, flags=re.M)[1].split("\n> **")[0].strip()
    whole = clean_section_text(state["full"])
    if continuation_cut_too:
        assert first_body == whole + "\n\n" + CUT_OFF_NOTE
    else:
        assert first_body == whole
    assert run.document["citations"]["invalid"] == 0


# --- issue 14: more misbehaviour, each with a defined outcome ------------------------------------
def test_malformed_tool_call_json_is_a_tool_error_on_its_span(sample_repo, prompt_file):
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from tech_writer.pipeline.run import run_pipeline
    from telemetry import Telemetry
    from telemetry import attributes as attrs

    exporter = InMemorySpanExporter()
    telemetry = Telemetry.for_testing(exporter)
    bad = ToolCall("read_file", '{"path": "README.md"')
    router = PhaseRouter(replace={("sections", 1): ModelTurn(tool_calls=[bad])})
    with FakeOpenRouter(router, api_key=KEY) as server:
        report, _, cost = run_pipeline(prompt_file.read_text(), sample_repo, provider="openrouter",
                                       model="openai/gpt-5.1", api_key=KEY,
                                       base_url=server.base_url, max_sections=1, concurrency=1,
                                       telemetry=telemetry)
        billed = server.billed_total_usd()
    telemetry.shutdown()
    failed_tools = [s for s in exporter.get_finished_spans()
                    if s.name == "execute_tool read_file"
                    and (s.attributes or {}).get(attrs.ERROR_TYPE) == "tool_error"]
    assert len(failed_tools) == 1  # counted once, as a failed tool call the model was told of
    assert cost["total_cost_usd"] == pytest.approx(billed, abs=1e-12) and cost["complete"]
    assert report.startswith("# ")


def test_finish_exploration_never_called_the_prose_answer_is_the_notes(sample_repo, prompt_file):
    notes = "NOTES-MARKER: an inventory service storing items in SQLite."
    reads = ModelTurn(tool_calls=[ToolCall("read_file", {"path": path}) for path in
                                  ("README.md", "inventory/store.py", "inventory/cli.py")])
    router = PhaseRouter(replace={("plan", 1): NO_PLAN, ("exploration", 1): reads,
                                  ("exploration", 2): ModelTurn(content=notes)})
    run = Run(router, sample_repo, prompt_file)
    run.completed()
    assert router.counts["exploration"] == 2
    assert "NOTES-MARKER" in last_user_text(router.requests_of("outline")[0])


def test_notes_written_without_reading_are_dropped_for_what_the_tool_reads(sample_repo,
                                                                          prompt_file):
    # Qwen2.5-Coder-1.5B, having read nothing, noted that itsdangerous "protects against SQL
    # injection"; its sections then copied the notes. Guesses never reach the outline.
    guess = "GUESS-MARKER: an inventory service that protects against SQL injection."
    router = PhaseRouter(replace={("plan", 1): NO_PLAN,
                                  ("exploration", 1): ModelTurn(content=guess)})
    run = Run(router, sample_repo, prompt_file)
    run.completed()
    outline_request = last_user_text(router.requests_of("outline")[0])
    assert "GUESS-MARKER" not in outline_request
    assert "The tool read these files itself" in outline_request
    assert "`Store` [inventory/store.py:6-17]" in outline_request


def test_finish_exploration_in_the_wrong_shape_is_answered_and_corrected(sample_repo,
                                                                         prompt_file):
    wrong = ModelTurn(tool_calls=[ToolCall("finish_exploration", {"notes": "all done"})])
    router = PhaseRouter(replace={("plan", 1): NO_PLAN, ("exploration", 1): wrong})
    run = Run(router, sample_repo, prompt_file)
    run.completed()
    answer = tool_results(router.requests_of("exploration")[1])[-1]
    assert answer.startswith("Error: finish_exploration needs a non-empty string argument")
    assert router.counts["exploration"] >= 2


def test_an_outline_with_fifty_sections_is_cut_to_max_sections(sample_repo, prompt_file):
    fifty = json.dumps({"title": "Fifty", "sections": [
        {"title": f"Part {i}", "focus": "Something.", "relevant_files": ["README.md"]}
        for i in range(1, 51)]})
    router = PhaseRouter(replace={("outline", 1): ModelTurn(content=fifty)})
    run = Run(router, sample_repo, prompt_file)  # --max-sections 2
    run.completed()
    assert re.findall(r"^## (.+)$", run.report, re.M) == ["Part 1", "Part 2"]
    assert "the outline has 50 sections; keeping the first 2" in run.stderr
    assert router.counts["outline"] == 1


CITATION = re.compile(r"\s*\[[^\[\]\s:]+:\d+(?:-\d+)?\]")
ANCHORED = re.compile(r"\[[^\[\]\s:]+:\d+(?:-\d+)?\]†")


def uncited(always: bool):
    def rewrite(phase: str, number: int, request: dict[str, Any], turn: ModelTurn) -> ModelTurn:
        if phase != "sections" or not turn.content:
            return turn
        if always or not last_user_text(request).startswith(GROUNDING_FEEDBACK_HEADER):
            return ModelTurn(content=CITATION.sub("", turn.content))
        return turn
    return rewrite


@pytest.mark.parametrize("always", [False, True], ids=["corrected", "never-cited"])
def test_a_section_without_citations_is_asked_for_them_once(sample_repo, prompt_file, always):
    router = PhaseRouter(rewrite=uncited(always))
    run = Run(router, sample_repo, prompt_file)
    if always:  # a section with nothing the tool could anchor is left out, and named
        assert run.code == 0, run.stderr
        kept = len(re.findall(r"^## ", run.report, re.M))
        assert kept + len(run.document["grounding"]["sections_left_out"]) == 2
    else:
        run.completed()
    asked = [b for b in router.requests_of("sections")
             if last_user_text(b).startswith(GROUNDING_FEEDBACK_HEADER)]
    assert len({section_title_of(b) for b in asked}) == 2  # once per section
    sections = re.split(r"^## .+$", run.report, flags=re.M)[1:]
    if always:
        # Never cited by the model: what stays was anchored by the tool to the definitions it
        # names (marked †), the rest was removed (issue 24).
        cited = [c for s in sections for c in CITATION.findall(s)]
        assert cited and all(ANCHORED.search(s) for s in sections)
        assert len(cited) == len(ANCHORED.findall(run.report))
        assert run.document["grounding"]["cited_by_model"] == 0
        assert run.document["grounding"]["removed"] > 0
    else:
        assert all(CITATION.search(s) for s in sections)
        assert run.document["citations"]["invalid"] == 0


def test_an_unknown_tool_is_answered_with_the_list_of_tools(sample_repo, prompt_file):
    router = PhaseRouter(replace={("sections", 1): ModelTurn(tool_calls=[
        ToolCall("grep_everything", {"pattern": "x"})])})
    run = Run(router, sample_repo, prompt_file)
    run.completed()
    answer = tool_results(router.requests_of("sections")[1])[-1]
    offered = [t["function"]["name"] for t in router.requests_of("sections")[0]["tools"]]
    assert answer.startswith("Error: unknown tool 'grep_everything'. Available tools: ")
    assert all(name in answer for name in offered)
