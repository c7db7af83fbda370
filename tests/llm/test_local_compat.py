"""Local servers that read the OpenAI API narrowly: what a real one (llama-cpp-python 0.3.36,
``chatml-function-calling``, with SmolLM2-135M; see tests/real_llm/) did, reproduced on the fake
server, and how the client copes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cli_helpers import assert_no_traceback, run_cli

from tech_writer.demo import DemoModel, FakeOpenRouter, ModelTurn, ToolCall
from tech_writer.demo.faults import Fault
from tech_writer.errors import RequestRejectedError
from tech_writer.llm.client import LLMClient
from tech_writer.llm.compat import LOCAL_MAX_TOKENS, for_local_server
from tech_writer.llm.retry import RetryPolicy
from tech_writer.llm.wire import _error_details

LOCAL_MODEL = "smollm2-135m-instruct"


class LlamaCppLike:
    """The demo model behind the narrow reading llama-cpp-python's server has: ``tools`` without
    ``tool_choice`` are not shown to the model (it answers in text), and an assistant message
    whose content is null is refused (the real server answers 500)."""

    def __init__(self) -> None:
        self.demo = DemoModel()

    def respond(self, request: dict[str, Any]) -> ModelTurn:
        for message in request["messages"]:
            if message.get("role") == "assistant" and message.get("content") is None:
                raise ValueError("messages: assistant content: Input should be a valid string")
        if request.get("tools") and "tool_choice" not in request:
            return ModelTurn(content="I looked at the code and it is a small service.")
        return self.demo.respond(request)


def test_tools_are_offered_as_auto_and_null_content_goes_back_as_text():
    history = [
        {"role": "user", "content": "Read a file."},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "c1", "type": "function",
                         "function": {"name": "read_file", "arguments": "{\"path\": \"a.py\"}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "x = 1"},
    ]
    tools = [{"type": "function", "function": {"name": "read_file", "parameters": {}}}]
    request = {"model": LOCAL_MODEL, "messages": list(history), "tools": tools}
    for_local_server(request)
    assert request["tool_choice"] == "auto"
    assert request["max_tokens"] == LOCAL_MAX_TOKENS  # a looping small model stops there
    assert request["messages"][1]["content"] == ""
    assert request["messages"][1]["tool_calls"] == history[1]["tool_calls"]
    assert history[1]["content"] is None  # the pipeline's own history is not changed
    # A choice already made stays; no tools, no tool_choice.
    forced = {"model": LOCAL_MODEL, "messages": [], "tools": tools, "tool_choice": "none"}
    for_local_server(forced)
    assert forced["tool_choice"] == "none"
    plain = {"model": LOCAL_MODEL, "messages": [{"role": "user", "content": "hi"}]}
    for_local_server(plain)
    assert "tool_choice" not in plain


def test_a_multi_line_server_error_becomes_one_line():
    body = {"detail": None, "error": {"message": "7 validation errors:\n  {'type': 'literal_error'"
                                                 ",\n   'loc': ('body', 'messages', 2)}\n"}}
    message, _ = _error_details(body)
    assert "\n" not in message
    assert message == "7 validation errors: {'type': 'literal_error', 'loc': ('body', 'messages', 2)}"


def test_a_run_on_a_llama_cpp_like_server_explores_with_tools_and_ends_with_a_report(
        sample_repo, prompt_file):
    with FakeOpenRouter(LlamaCppLike()) as server:
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "local",
                         "--base-url", server.openai_base_url, "--model", LOCAL_MODEL,
                         "--eval-json", "--max-sections", "2", "--no-structured-output")
        bodies = [r.json for r in server.requests if r.path.endswith("/chat/completions")]
        errors = server.internal_errors
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert not errors
    assert all(body["tool_choice"] for body in bodies if body.get("tools"))
    # The explorer used the tools, and its calls went back with text content.
    assert any(message.get("tool_calls") and message["content"] == ""
               for body in bodies for message in body["messages"])
    document = json.loads(result.stdout)
    assert document["citations"]["total"] > 0 and document["citations"]["invalid"] == 0
    assert document["cost"]["total_cost_usd"] == 0.0 and document["cost"]["complete"] is True


def test_raw_newlines_inside_json_strings_are_read_not_refused(sample_repo, prompt_file):
    """llama.cpp's JSON grammar lets a model write a raw newline inside a string; SmolLM2 did, in
    its outline (a forced tool call) and its notes."""
    def outline_with_raw_newline(request: dict[str, Any]) -> ModelTurn:
        arguments = ('{"title": "Inventory\narchitecture", "sections": [{"title": "Store", '
                     '"focus": "the SQLite\ttable", "relevant_files": ["inventory/store.py"]}]}')
        return ModelTurn(tool_calls=[ToolCall("report_outline", arguments)])

    class RawNewlines(DemoModel):
        def respond(self, request: dict[str, Any]) -> ModelTurn:
            names = [t["function"]["name"] for t in request.get("tools") or []]
            if names == ["report_outline"]:
                return outline_with_raw_newline(request)
            return super().respond(request)

    with FakeOpenRouter(RawNewlines()) as server:
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "local",
                         "--base-url", server.openai_base_url, "--model", LOCAL_MODEL,
                         "--eval-json", "--max-sections", "2", "--no-structured-output")
    assert result.returncode == 0, result.stderr
    assert "unusable" not in result.stderr
    report = json.loads(result.stdout)["report"]
    assert "Inventory" in report.splitlines()[0] and "Store" in report


def test_a_validation_error_sent_as_500_is_a_refusal_not_retried():
    """llama-cpp-python answers ``response_format: json_schema`` (it knows only text and
    json_object) and a null assistant content with a 500 holding pydantic's errors."""
    message = ("1 validation error:\n  {'type': 'literal_error', 'loc': ('body', "
               "'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\"}")
    with FakeOpenRouter(DemoModel()) as server:
        server.faults.add(Fault(status=500, body={"error": {"message": message}}))
        with LLMClient(LOCAL_MODEL, "local", None, server.openai_base_url,
                       retry=RetryPolicy(max_attempts=5), environ={}) as llm:
            with pytest.raises(RequestRejectedError) as refused:
                llm.chat([{"role": "user", "content": "Outline."}])
        attempts = len(server.requests)
    assert attempts == 1
    assert refused.value.status_code == 422  # what FastAPI itself answers: the outline's
    # fallback to its next form treats it as the refusal it is
    assert "validation error" in str(refused.value) and "\n" not in str(refused.value)


def test_a_plain_500_is_still_retried():
    with FakeOpenRouter(DemoModel()) as server:
        server.faults.add(Fault(status=500, body={"error": {"message": "out of memory"}}))
        with LLMClient(LOCAL_MODEL, "local", None, server.openai_base_url,
                       retry=RetryPolicy(max_attempts=3, initial_backoff_s=0.01), environ={}) as llm:
            reply, _ = llm.chat([{"role": "user", "content": "Say hello."}])
        attempts = len(server.requests)
    assert attempts == 2 and reply["content"]
