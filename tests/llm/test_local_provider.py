"""``--provider local``: any OpenAI-compatible server (llama.cpp, Ollama, vLLM, LM Studio).

The fake OpenRouter stands in for the local server on its OpenAI-style ``/v1`` routes: no key,
no OpenRouter fields, a cost that is known to be zero, and spans naming the server."""

from __future__ import annotations

import json
import re

import pytest
from cli_helpers import assert_no_traceback, independent_citation_check, run_cli
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tech_writer.commands.common import setting_message
from tech_writer.demo import FakeOpenRouter, FakeOptions, ModelTurn, QueueModel
from tech_writer.errors import AuthenticationError, UsageError
from tech_writer.llm.client import LLMClient
from tech_writer.llm.retry import RetryPolicy
from telemetry import Telemetry
from telemetry import attributes as attrs

MESSAGES = [{"role": "user", "content": "Say hello."}]
NO_RETRY = RetryPolicy(max_attempts=1)
LOCAL_MODEL = "qwen2.5:7b"


def answers(n: int) -> QueueModel:
    return QueueModel([ModelTurn(content=f"hello {i}") for i in range(n)])


def test_local_calls_cost_a_known_zero_and_count_tokens_from_usage():
    exporter = InMemorySpanExporter()
    telemetry = Telemetry.for_testing(exporter)
    with FakeOpenRouter(answers(2)) as server:
        with LLMClient(LOCAL_MODEL, "local", None, server.openai_base_url, retry=NO_RETRY,
                       telemetry=telemetry, environ={}) as llm:
            usages = [llm.chat(MESSAGES)[1] for _ in range(2)]
            summary = llm.get_cost_summary()
        requests = server.requests
        ledger = server.ledger
    telemetry.shutdown()
    assert [u.cost_usd for u in usages] == [0.0, 0.0]
    assert summary["total_cost_usd"] == 0.0 and summary["complete"] is True
    assert summary["calls_without_cost"] == 0 and summary["calls_without_usage"] == 0
    assert summary["provider"] == "local" and summary["model"] == LOCAL_MODEL
    assert summary["prompt_tokens"] == sum(c.prompt_tokens for c in ledger)
    assert summary["completion_tokens"] == sum(c.completion_tokens for c in ledger)
    # Plain OpenAI API: no OpenRouter fields, no attribution headers, no /generation look-ups.
    assert all(r.path == "/v1/chat/completions" for r in requests)
    for request in requests:
        assert "session_id" not in request.json and "usage" not in request.json
        assert "x-title" not in request.headers
    chats = [s for s in exporter.get_finished_spans() if s.name == f"chat {LOCAL_MODEL}"]
    assert len(chats) == 2
    for span in chats:
        attributes = span.attributes or {}
        assert attributes[attrs.GEN_AI_PROVIDER_NAME] == "local"
        assert attributes[attrs.GEN_AI_REQUEST_MODEL] == LOCAL_MODEL
        assert attributes[attrs.SERVER_ADDRESS] == "127.0.0.1"
        assert attributes[attrs.SERVER_PORT] == server.port
        assert attributes[attrs.GEN_AI_USAGE_COST] == 0.0
        assert attributes[attrs.COST_SOURCE] == attrs.COST_SOURCE_FREE


def test_local_needs_a_base_url_and_a_model_but_no_key():
    # The library speaks of settings; the command line words them as its flags.
    with pytest.raises(UsageError, match="provider local needs the server's OpenAI API base URL"
                       ) as no_url:
        LLMClient(LOCAL_MODEL, "local", None, None, environ={})
    assert setting_message(no_url.value).startswith("--provider local needs --base-url")
    with pytest.raises(UsageError, match="provider local needs a model name") as no_model:
        LLMClient(None, "local", None, "http://127.0.0.1:9/v1", environ={})
    assert setting_message(no_model.value).startswith("--provider local needs --model")
    # Model names are the server's own: with a slash (vLLM), a tag (Ollama), or bare.
    for model in ("Qwen/Qwen2.5-7B-Instruct", "llama3.2:1b", "gemma"):
        with LLMClient(model, "local", None, "http://127.0.0.1:9/v1", environ={}) as llm:
            assert llm.model == model and llm.api_key_for_masking is None


def test_local_key_comes_from_LOCAL_API_KEY_when_the_server_wants_one():
    key = "local-server-key-0123456789"
    with FakeOpenRouter(answers(1), api_key=key) as server:
        with LLMClient(LOCAL_MODEL, "local", None, server.openai_base_url, retry=NO_RETRY,
                       environ={}) as llm, pytest.raises(AuthenticationError, match="LOCAL_API_KEY"):
            llm.chat(MESSAGES)
        with LLMClient(LOCAL_MODEL, "local", None, server.openai_base_url, retry=NO_RETRY,
                       environ={"LOCAL_API_KEY": key}) as llm:
            llm.chat(MESSAGES)
            assert llm.api_key_for_masking == key


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_a_server_that_sends_no_usage_counts_its_calls_as_tokens_unknown(stream, caplog):
    exporter = InMemorySpanExporter()
    telemetry = Telemetry.for_testing(exporter)
    with FakeOpenRouter(answers(1), options=FakeOptions(send_usage=False)) as server:
        with LLMClient(LOCAL_MODEL, "local", None, server.openai_base_url, retry=NO_RETRY,
                       telemetry=telemetry, environ={}, stream=stream) as llm:
            reply, usage = llm.chat(MESSAGES)
            summary = llm.get_cost_summary()
        (request,) = server.requests
    telemetry.shutdown()
    assert reply["content"] == "hello 0"
    assert usage.usage_missing is True
    assert summary["calls_without_usage"] == 1 and summary["total_calls"] == 1
    assert summary["total_tokens"] == 0  # unknown, not guessed from the text
    assert summary["total_cost_usd"] == 0.0 and summary["complete"] is True  # still free
    (span,) = [s for s in exporter.get_finished_spans() if s.name.startswith("chat ")]
    attributes = span.attributes or {}
    assert attributes[attrs.USAGE_MISSING] is True
    assert attrs.GEN_AI_USAGE_INPUT_TOKENS not in attributes
    assert "without token usage" in caplog.text
    if stream:  # OpenAI-compatible servers send streamed usage only when asked
        assert request.json["stream_options"] == {"include_usage": True}


def test_cli_local_run_reports_zero_cost_complete(sample_repo, prompt_file):
    with FakeOpenRouter() as server:
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "local",
                         "--base-url", server.openai_base_url, "--model", LOCAL_MODEL,
                         "--eval-json", "--max-sections", "2")
        billed_calls = len(server.ledger)
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    cost = document["cost"]
    assert cost["provider"] == "local" and cost["model"] == LOCAL_MODEL
    assert cost["total_cost_usd"] == 0.0 and cost["complete"] is True
    assert cost["calls_without_cost"] == 0 and cost["total_calls"] == billed_calls
    assert cost["total_tokens"] > 0 and "simulated" not in document
    total, valid = independent_citation_check(document["report"], sample_repo)
    assert total > 0 and document["citations"] == {"total": total, "valid": valid, "invalid": 0}
    assert re.search(r"^cost: \$0\.0000 · [\d,]+ tokens", result.stderr, re.M)


def test_cli_local_without_base_url_is_one_clear_line(sample_repo, prompt_file):
    result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "local",
                     "--model", LOCAL_MODEL)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tech-writer: error: --provider local needs --base-url, the server's OpenAI API address,"
        " e.g. http://127.0.0.1:8080/v1 (llama.cpp) or http://127.0.0.1:11434/v1 (Ollama)"]


def test_cli_local_flags_say_what_the_server_cannot_do(sample_repo, prompt_file):
    with FakeOpenRouter() as server:
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "local",
                         "--base-url", server.openai_base_url, "--model", LOCAL_MODEL,
                         "--eval-json", "--max-sections", "2", "--no-structured-output",
                         "--no-parallel-tools", "--reasoning", "high")
        bodies = [r.json for r in server.requests if r.path.endswith("/chat/completions")]
    assert result.returncode == 0, result.stderr
    assert not any("response_format" in body or "reasoning" in body for body in bodies)
    outline = [b for b in bodies if [t["function"]["name"] for t in b.get("tools", [])]
               == ["report_outline"]]
    assert len(outline) == 1  # the outline came as a forced tool call
    assert all(body["parallel_tool_calls"] is False for body in bodies if "tools" in body)
    assert json.loads(result.stdout)["cost"]["complete"] is True
