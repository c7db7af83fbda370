"""Issue 14: the capability table drives what is sent. Fake models lacking structured output,
tools or tool_choice, and reasoning models, served by the fake OpenRouter with per-model
``supported_parameters`` that it enforces as OpenRouter does."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from cli_helpers import KEY, assert_no_traceback, independent_citation_check, run_cli
from safety_helpers import PhaseRouter, chat_bodies, phase_of

from tech_writer.demo import DemoModel, FakeOpenRouter, FakeOptions, Fault, ModelProfile
from tech_writer.demo.capabilities import NO_ENDPOINT_FOR_PARAMETERS, NO_ENDPOINT_FOR_TOOLS
from tech_writer.errors import RequestRejectedError
from tech_writer.llm.capabilities import Capabilities, parse_capabilities, reasoning_parameter
from tech_writer.llm.client import LLMClient
from tech_writer.llm.retry import RetryPolicy
from tech_writer.pipeline.context import RunContext
from tech_writer.pipeline.history import HistoryPolicy
from tech_writer.pipeline.outline import make_outline
from tech_writer.repository.repo import Repository

ENV = {"OPENROUTER_API_KEY": KEY}
NO_SCHEMA = ("tools", "tool_choice", "response_format")  # json_object at most
NO_TOOL_CHOICE = ("tools", "response_format", "structured_outputs")
NOTHING_BUT_TEXT = ("response_format",)
REASONER = ("tools", "tool_choice", "response_format", "structured_outputs", "reasoning")
PROFILES = {
    "fake/no-schema": ModelProfile(NO_SCHEMA),
    "fake/no-tool-choice": ModelProfile(NO_TOOL_CHOICE),
    "fake/no-tools": ModelProfile(NOTHING_BUT_TEXT),
    "fake/reasoner": ModelProfile(REASONER, reasoning_tokens=50, max_completion_tokens=8000),
}


class Run:
    """The real command against a fake whose models have the profiles above."""

    def __init__(self, model: str, repo: Any, prompt: Any, *extra: str,
                 router: PhaseRouter | None = None) -> None:
        self.router = router or PhaseRouter()
        with FakeOpenRouter(self.router, api_key=KEY,
                            options=FakeOptions(profiles=PROFILES)) as server:
            self.result = run_cli("--prompt", prompt, "--repo", repo, "--provider", "openrouter",
                                  "--base-url", server.base_url, "--model", model,
                                  "--eval-json", "--concurrency", "1", "--max-sections", "2",
                                  *extra, env=ENV)
            self.bodies = chat_bodies(server)
            self.models_requests = [r for r in server.requests if r.path.endswith("/models")]
            self.ledger = server.ledger
            self.internal_errors = server.internal_errors
        assert_no_traceback(self.result)
        assert not self.internal_errors, self.internal_errors
        self.code = self.result.returncode
        self.stderr = self.result.stderr

    def document(self) -> dict[str, Any]:
        return json.loads(self.result.stdout)

    def completed(self, repo: Any) -> dict[str, Any]:
        assert self.code == 0, self.stderr
        document = self.document()
        assert len(re.findall(r"^## ", document["report"], re.M)) == 2
        total, valid = independent_citation_check(document["report"], repo)
        assert total > 0 and document["citations"]["invalid"] == 0 and valid == total
        cost = document["cost"]
        assert cost["complete"] is True
        assert cost["total_cost_usd"] == pytest.approx(sum(c.cost_usd for c in self.ledger),
                                                       abs=1e-12)
        assert len(self.models_requests) == 1  # prices and capabilities: one request per run
        return document


def test_without_json_schema_the_outline_is_a_forced_tool_call(sample_repo, prompt_file):
    run = Run("fake/no-schema", sample_repo, prompt_file)
    run.completed(sample_repo)
    outlines = [b for b in run.bodies if phase_of(b) == "outline"]
    assert len(outlines) == 1
    (outline,) = outlines
    assert [t["function"]["name"] for t in outline["tools"]] == ["report_outline"]
    assert outline["tool_choice"] == {"type": "function", "function": {"name": "report_outline"}}
    assert not any("response_format" in body for body in run.bodies)
    # The pipeline depends on tools and the forced call: only providers honouring them.
    assert all(body.get("provider") == {"require_parameters": True}
               for body in run.bodies if "tools" in body)


def test_without_tools_the_run_is_refused_before_any_call(sample_repo, prompt_file):
    run = Run("fake/no-tools", sample_repo, prompt_file)
    assert run.code == 2
    assert run.bodies == [] and run.ledger == []
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("tech-writer: error: model fake/no-tools does not support tool "
                           "calling ('tools'")


def test_without_tool_choice_nothing_is_forced_and_the_run_completes(sample_repo, prompt_file):
    run = Run("fake/no-tool-choice", sample_repo, prompt_file, "--max-exploration", "4")
    run.completed(sample_repo)
    assert not any("tool_choice" in body for body in run.bodies)
    assert any("response_format" in body for body in run.bodies)  # json_schema still used


@pytest.mark.parametrize("effort, sent, spent", [
    ("low", {"effort": "low"}, 50), ("high", {"effort": "high"}, 50),
    ("none", {"enabled": False}, 0)])
def test_reasoning_effort_goes_to_a_reasoning_model_and_its_tokens_are_counted(
        sample_repo, prompt_file, effort, sent, spent):
    run = Run("fake/reasoner", sample_repo, prompt_file, "--reasoning", effort)
    document = run.completed(sample_repo)
    assert run.bodies and all(body["reasoning"] == sent for body in run.bodies)
    assert all(call.reasoning_tokens == spent for call in run.ledger)
    assert document["cost"]["reasoning_tokens"] == spent * len(run.ledger)


def test_reasoning_is_not_sent_to_a_model_that_does_not_list_it(sample_repo, prompt_file):
    run = Run("fake/no-tool-choice", sample_repo, prompt_file, "--reasoning", "high",
              "--max-exploration", "4")
    run.completed(sample_repo)
    assert not any("reasoning" in body for body in run.bodies)
    assert "--reasoning high ignored: fake/no-tool-choice does not list 'reasoning'" in run.stderr


# --- the fake enforces the profiles as OpenRouter does --------------------------------------
def test_the_fake_refuses_what_a_model_cannot_do_and_lists_what_it_can():
    retry = RetryPolicy(max_attempts=1)
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    messages = [{"role": "user", "content": "hi"}]
    with FakeOpenRouter(DemoModel(), api_key=KEY, options=FakeOptions(profiles=PROFILES)) as server:
        with LLMClient("fake/no-tools", "openrouter", KEY, server.base_url, retry=retry) as llm:
            with pytest.raises(RequestRejectedError, match=re.escape(NO_ENDPOINT_FOR_TOOLS)):
                llm.chat(messages, tools=tools)
            capabilities = llm.capabilities()
        import openai

        raw = openai.OpenAI(api_key=KEY, base_url=server.base_url, max_retries=0)
        with pytest.raises(openai.NotFoundError, match=re.escape(NO_ENDPOINT_FOR_PARAMETERS)):
            raw.chat.completions.create(model="fake/no-tool-choice", messages=messages,
                                        tools=tools, tool_choice="required",
                                        extra_body={"provider": {"require_parameters": True}})
        # Without require_parameters the unsupported parameter is ignored, not refused.
        raw.chat.completions.create(model="fake/no-tool-choice", messages=messages,
                                    tools=tools, tool_choice="required")
        raw.close()
    assert capabilities.parameters == frozenset(NOTHING_BUT_TEXT)
    assert capabilities.outline_mode() == "text"
    assert capabilities.missing_for_exploration() is not None


# --- the outline in each form ---------------------------------------------------------------
def outline_with(model: str, repo_root: Any, *, faults: tuple[Fault, ...] = (),
                 outline_mode: str = "ok") -> tuple[Any, list[dict[str, Any]]]:
    with FakeOpenRouter(DemoModel(outline_mode=outline_mode), api_key=KEY,
                        options=FakeOptions(profiles=PROFILES)) as server:
        for fault in faults:
            server.faults.add(fault)
        with LLMClient(model, "openrouter", KEY, server.base_url,
                       retry=RetryPolicy(max_attempts=1)) as llm:
            ctx = RunContext.of(llm, Repository(repo_root), "Write an architecture overview.")
            outline = make_outline(ctx, "Files read: README.md (7 lines)", 3)
        return outline, chat_bodies(server)


@pytest.mark.parametrize("outline_mode, calls", [("ok", 1), ("invalid_once", 2)])
def test_without_tools_or_schema_the_outline_is_json_in_text(sample_repo, outline_mode, calls):
    outline, bodies = outline_with("fake/no-tools", sample_repo, outline_mode=outline_mode)
    assert outline.title and outline.sections
    assert len(bodies) == calls
    for body in bodies:
        assert "tools" not in body and "response_format" not in body
        assert "report_outline" in body["messages"][1]["content"]  # the schema, in words
    if calls == 2:
        assert "That outline is not usable" in bodies[1]["messages"][-1]["content"]


def test_a_tool_form_outline_that_is_invalid_is_answered_and_asked_again(sample_repo):
    outline, bodies = outline_with("fake/no-schema", sample_repo, outline_mode="invalid_once")
    assert outline.sections and len(bodies) == 2
    roles = [m["role"] for m in bodies[1]["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "user"]
    assert bodies[1]["messages"][3]["content"].startswith("Error: the answer is not valid JSON")


def test_a_refused_json_schema_falls_back_to_the_tool_form(sample_repo):
    refused = Fault(status=400, body={"error": {"code": 400, "message":
                                                "response_format is not supported"}})
    outline, bodies = outline_with("fake/reasoner", sample_repo, faults=(refused,))
    assert outline.sections
    assert "response_format" in bodies[0] and "tools" not in bodies[0]
    assert bodies[1]["tools"][0]["function"]["name"] == "report_outline"


# --- the capability table -------------------------------------------------------------------
def test_capabilities_parsed_from_a_models_entry():
    entry = {"id": "m/x", "context_length": 32768, "supported_parameters": ["tools", "reasoning"],
             "top_provider": {"context_length": 32768, "max_completion_tokens": 4096}}
    capabilities = parse_capabilities("m/x", entry)
    assert capabilities == Capabilities("m/x", frozenset({"tools", "reasoning"}), 32768, 4096)
    assert capabilities.outline_mode() == "tool"
    assert capabilities.unsupported({"tool_choice": "none", "reasoning": {}}) == ["tool_choice"]
    unknown = parse_capabilities("m/y", {"id": "m/y", "supported_parameters": "?"})
    assert unknown.parameters is None and unknown.outline_mode() == "json_schema"
    local = Capabilities.local("q", structured_output=False, parallel_tools=False)
    assert local.outline_mode() == "tool" and not local.supports("reasoning")
    assert not local.parallel_tools
    assert reasoning_parameter("none") == {"enabled": False}
    assert reasoning_parameter("medium") == {"effort": "medium"}


def test_history_watermarks_fit_the_context_window():
    assert HistoryPolicy.for_context(None) == HistoryPolicy()
    assert HistoryPolicy.for_context(400_000, 128_000) == HistoryPolicy()
    small = HistoryPolicy.for_context(8192)
    assert small.high_watermark_chars < HistoryPolicy().high_watermark_chars
    # What is kept stays inside the window, at a safe 3 characters per token.
    assert small.high_watermark_chars / 3 < 8192 - 2048
    assert small.low_watermark_chars == small.high_watermark_chars // 2


def test_the_run_fits_its_history_to_the_models_real_context_window():
    from tech_writer.demo import DEFAULT_PRICING, ModelPrice
    from tech_writer.pipeline.run import _check_model

    pricing = {**DEFAULT_PRICING, "fake/small": ModelPrice(1e-6, 2e-6, 1e-7, 0.0, 8192)}
    with FakeOpenRouter(DemoModel(), api_key=KEY, options=FakeOptions(pricing=pricing)) as server:
        with LLMClient("fake/small", "openrouter", KEY, server.base_url) as llm:
            policy = _check_model(llm)
        with LLMClient("openai/gpt-5.1", "openrouter", KEY, server.base_url) as llm:
            roomy = _check_model(llm)
    assert policy == HistoryPolicy.for_context(8192) != HistoryPolicy()
    assert roomy == HistoryPolicy()


def test_no_endpoint_for_the_parameters_is_one_line_with_the_way_out(sample_repo, prompt_file):
    # The model lists what the run sends, yet OpenRouter finds no endpoint for it (its providers
    # changed since /models was read): the run stops with one line saying what to do.
    no_endpoint = Fault(status=404, body={"error": {"code": 404,
                                                    "message": NO_ENDPOINT_FOR_PARAMETERS}})
    box: list[FakeOpenRouter] = []

    def refuse_from_the_second_call(phase: str, number: int, request: dict[str, Any]) -> None:
        if phase == "exploration" and number == 1:
            box[0].faults.add(no_endpoint, count=20)

    router = PhaseRouter(before=refuse_from_the_second_call)
    with FakeOpenRouter(router, api_key=KEY) as server:
        box.append(server)
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider",
                         "openrouter", "--base-url", server.base_url, "--concurrency", "1",
                         "--max-exploration", "2", env=ENV)
    assert_no_traceback(result)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("tech-writer: error: OpenRouter rejected the request (404): No "
                           "endpoints found that can handle the requested parameters.")
    assert "try another --model" in last
