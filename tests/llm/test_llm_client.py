"""LLMClient against the project's fake OpenRouter: exact cost, retries, failures, headers."""

from __future__ import annotations

import logging
import math
import re

import pytest

import tech_writer
import telemetry
from tech_writer.commands.common import setting_message
from tech_writer.demo import FakeOpenRouter, FakeOptions, Fault, ModelTurn, QueueModel
from tech_writer.errors import (
    AuthenticationError,
    InsufficientCreditsError,
    ProviderUnavailableError,
    RequestRejectedError,
    UsageError,
)
from tech_writer.llm.client import MAX_SESSION_ID_CHARS, LLMClient, UsageStats
from tech_writer.llm.cost_lookup import LookupPolicy
from tech_writer.llm.retry import RetryPolicy
from tech_writer.llm.wire import read_usage

KEY = "sk-or-test-0123456789abcdef"
FAST_RETRY = RetryPolicy(max_attempts=4, initial_backoff_s=0.01, max_backoff_s=0.5,
                         max_total_wait_s=5.0)
FAST_LOOKUP = LookupPolicy(max_wait_s=3.0, initial_delay_s=0.01, max_delay_s=0.05)
MESSAGES = [{"role": "user", "content": "Say hello."}]


def answers(n: int) -> QueueModel:
    return QueueModel([ModelTurn(content=f"hello {i}") for i in range(n)])


def client(server: FakeOpenRouter, **kwargs) -> LLMClient:
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("lookup", FAST_LOOKUP)
    return LLMClient("openai/gpt-5.1", "openrouter", KEY, server.base_url, **kwargs)


def billed(server: FakeOpenRouter) -> float:
    return math.fsum(call.cost_usd for call in server.ledger)


def test_inline_cost_is_summed_exactly_without_generation_lookups():
    with FakeOpenRouter(answers(3), api_key=KEY) as server, client(server) as llm:
        usages = [llm.chat(MESSAGES)[1] for _ in range(3)]
        summary = llm.get_cost_summary()
        paths = [r.path for r in server.requests]
    assert all(u.cost_source == "inline" and u.cost_usd is not None for u in usages)
    assert [u.cost_usd for u in usages] == [c.cost_usd for c in server.ledger]
    assert summary["total_cost_usd"] == pytest.approx(billed(server), abs=1e-9)
    assert summary["total_calls"] == 3 and summary["calls_without_cost"] == 0
    assert summary["complete"] is True
    assert summary["prompt_tokens"] == sum(c.prompt_tokens for c in server.ledger)
    assert summary["completion_tokens"] == sum(c.completion_tokens for c in server.ledger)
    assert summary["total_tokens"] == summary["prompt_tokens"] + summary["completion_tokens"]
    # One HTTP request per LLM call: no /generation round trip when the completion carries cost.
    assert len(paths) == 3 and all(p.endswith("/chat/completions") for p in paths)


def test_cost_comes_from_generation_after_404s():
    with FakeOpenRouter(answers(2), api_key=KEY,
                        options=FakeOptions(inline_cost=False, generation_404s=3)) as server:
        with client(server) as llm:
            usages = [llm.chat(MESSAGES)[1] for _ in range(2)]
            summary = llm.get_cost_summary()
        lookups = [r for r in server.requests if r.path.endswith("/generation")]
    assert summary["complete"] is True and summary["calls_without_cost"] == 0
    assert summary["total_cost_usd"] == pytest.approx(billed(server), abs=1e-9)
    assert all(u.cost_source == "generation" for u in usages)
    assert len(lookups) == 2 * 4  # three 404s then the answer, per generation
    # The fake demands the key (api_key=KEY) on /generation too, so these were authenticated.
    assert all("authorization" in r.headers for r in lookups)


def test_lookup_that_never_succeeds_is_counted_not_zeroed(caplog):
    policy = LookupPolicy(max_wait_s=0.2, initial_delay_s=0.01, max_delay_s=0.05)
    with FakeOpenRouter(answers(2), api_key=KEY,
                        options=FakeOptions(inline_cost=False, generation_available=False)) as server:
        with caplog.at_level(logging.WARNING), client(server, lookup=policy) as llm:
            llm.chat(MESSAGES)
            llm.chat(MESSAGES)
            summary = llm.get_cost_summary()
    assert summary["calls_without_cost"] == 2
    assert summary["complete"] is False
    assert summary["total_calls"] == 2
    assert summary["total_cost_usd"] == 0.0  # a lower bound, flagged incomplete
    assert any("unknown" in r.getMessage() and "incomplete" in r.getMessage()
               for r in caplog.records)


def test_streaming_usage_comes_from_the_final_chunk():
    with FakeOpenRouter(answers(2), api_key=KEY) as server, client(server, stream=True) as llm:
        reply, usage = llm.chat(MESSAGES)
        llm.chat(MESSAGES)
        summary = llm.get_cost_summary()
    assert reply["content"] == "hello 0"
    assert all(call.streamed for call in server.ledger)
    assert usage.cost_usd == server.ledger[0].cost_usd
    assert summary["total_cost_usd"] == pytest.approx(billed(server), abs=1e-9)


def test_byok_reports_both_openrouter_fee_and_upstream_cost():
    with FakeOpenRouter(answers(1), api_key=KEY,
                        options=FakeOptions(byok=True)) as server, client(server) as llm:
        _, usage = llm.chat(MESSAGES)
        summary = llm.get_cost_summary()
    call = server.ledger[0]
    assert usage.is_byok and usage.upstream_cost_usd == call.upstream_cost_usd
    assert summary["total_cost_usd"] == pytest.approx(call.cost_usd, abs=1e-12)
    assert summary["upstream_cost_usd"] == pytest.approx(call.upstream_cost_usd, abs=1e-12)
    assert summary["total_spend_usd"] == pytest.approx(call.cost_usd + call.upstream_cost_usd,
                                                       abs=1e-12)


def test_cached_and_reasoning_tokens_are_read():
    with FakeOpenRouter(answers(1), api_key=KEY,
                        options=FakeOptions(cached_tokens=3, reasoning_tokens=7)) as server:
        with client(server) as llm:
            _, usage = llm.chat(MESSAGES)
            summary = llm.get_cost_summary()
    assert usage.cached_tokens == 3 and usage.reasoning_tokens == 7
    assert summary["cached_tokens"] == 3 and summary["reasoning_tokens"] == 7
    assert usage.completion_tokens == server.ledger[0].completion_tokens


def test_429_with_retry_after_then_success():
    with FakeOpenRouter(answers(1), api_key=KEY) as server, client(server) as llm:
        server.faults.add(Fault(status=429, retry_after=0.05))
        reply, usage = llm.chat(MESSAGES)
        summary = llm.get_cost_summary()
        chat_requests = [r for r in server.requests if r.path.endswith("/chat/completions")]
    assert reply["content"] == "hello 0"
    assert len(chat_requests) == 2
    assert summary["total_calls"] == 1  # the failed attempt was not billed and is not a call
    assert summary["total_cost_usd"] == pytest.approx(billed(server), abs=1e-9)


def test_retry_after_is_honoured():
    policy = RetryPolicy(max_attempts=3, initial_backoff_s=0.0, jitter=0.0)
    assert policy.delay(1, retry_after_s=0.3) == 0.3
    assert policy.delay(1, retry_after_s=10_000) == policy.max_backoff_s
    assert RetryPolicy(initial_backoff_s=1.0, jitter=0.0).delay(3) == 4.0


def test_502_then_success_and_connection_drop_then_success():
    with FakeOpenRouter(answers(2), api_key=KEY) as server, client(server) as llm:
        server.faults.add(Fault(status=502))
        assert llm.chat(MESSAGES)[0]["content"] == "hello 0"
        server.faults.add(Fault(drop_connection=True))
        assert llm.chat(MESSAGES)[0]["content"] == "hello 1"
        summary = llm.get_cost_summary()
    assert summary["total_calls"] == 2
    assert summary["total_cost_usd"] == pytest.approx(billed(server), abs=1e-9)


def test_retries_are_bounded():
    with FakeOpenRouter(answers(1), api_key=KEY) as server, client(server) as llm:
        server.faults.add(Fault(status=503), count=10)
        with pytest.raises(ProviderUnavailableError, match="gave up after 4 attempts"):
            llm.chat(MESSAGES)
        assert len(server.requests) == 4


def test_401_is_not_retried_and_names_the_fix():
    with FakeOpenRouter(answers(1), api_key="the-right-key-123") as server, client(server) as llm:
        with pytest.raises(AuthenticationError) as caught:
            llm.chat(MESSAGES)
        assert len(server.requests) == 1
    assert caught.value.message == ("OpenRouter rejected the API key (401): check "
                                    "OPENROUTER_API_KEY or --openrouter-key")
    assert KEY not in caught.value.message


def test_402_says_out_of_credits():
    with FakeOpenRouter(answers(1), api_key=KEY) as server, client(server) as llm:
        server.faults.add(Fault(status=402))
        with pytest.raises(InsufficientCreditsError, match="credits.*402"):
            llm.chat(MESSAGES)
        assert len(server.requests) == 1


@pytest.mark.parametrize("status", [400, 403, 404])
def test_client_errors_are_not_retried(status):
    with FakeOpenRouter(answers(1), api_key=KEY) as server, client(server) as llm:
        server.faults.add(Fault(status=status))
        with pytest.raises(RequestRejectedError, match=f"\\({status}\\)"):
            llm.chat(MESSAGES)
        assert len(server.requests) == 1


def test_error_inside_a_200_is_a_failed_call():
    with FakeOpenRouter(answers(1), api_key=KEY) as server, client(server) as llm:
        server.faults.add(Fault(status=502, error_in_200=True))
        assert llm.chat(MESSAGES)[0]["content"] == "hello 0"  # retried, then succeeded
        summary = llm.get_cost_summary()
    assert summary["total_calls"] == 1 and len(server.ledger) == 1


def test_error_mid_stream_is_a_failed_call():
    with FakeOpenRouter(answers(1), api_key=KEY) as server, client(server, stream=True) as llm:
        server.faults.add(Fault(status=502, error_in_200=True))
        assert llm.chat(MESSAGES)[0]["content"] == "hello 0"
        summary = llm.get_cost_summary()
    assert summary["total_calls"] == 1
    assert summary["total_cost_usd"] == pytest.approx(billed(server), abs=1e-9)


def test_no_key_is_a_usage_error_before_any_request(monkeypatch):
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    with pytest.raises(UsageError, match="OPENROUTER_API_KEY") as no_key:
        LLMClient("openai/gpt-5.1", "openrouter", None, "http://127.0.0.1:9/api/v1")
    assert re.search("OPENROUTER_API_KEY.*--openrouter-key", setting_message(no_key.value))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UsageError, match="OPENAI_API_KEY"):
        LLMClient("gpt-5.1", "openai")


def test_openrouter_headers_and_usage_flag_on_every_request():
    with FakeOpenRouter(answers(2), api_key=KEY) as server, client(server) as llm:
        llm.chat(MESSAGES)
        llm.chat(MESSAGES)
        requests = list(server.requests)
    for request in requests:
        assert request.headers["http-referer"].startswith("https://github.com/")
        assert request.headers["x-title"] == "tech_writer"
        assert request.headers["x-openrouter-title"] == "tech_writer"
        assert request.json["usage"] == {"include": True}


def test_one_session_id_per_client_on_every_request():
    with FakeOpenRouter(answers(4), api_key=KEY) as server:
        with client(server) as first, client(server, track_cost=False) as second:
            first.chat(MESSAGES)
            first.chat(MESSAGES)
            second.chat(MESSAGES)
            second.chat(MESSAGES)
        sessions = [request.json.get("session_id") for request in server.requests
                    if request.path.endswith("/chat/completions")]
    # Sent with or without cost tracking: it is OpenRouter's sticky-routing key.
    assert sessions == [first.session_id] * 2 + [second.session_id] * 2
    assert first.session_id != second.session_id and len(first.session_id) == 32


def test_a_session_id_can_be_chosen_within_openrouters_limit():
    with FakeOpenRouter(answers(1), api_key=KEY) as server:
        with client(server, session_id="nightly-docs-2026-11-25") as llm:
            llm.chat(MESSAGES)
        (request,) = server.requests
    assert request.json["session_id"] == "nightly-docs-2026-11-25"
    for bad in ("", "x" * (MAX_SESSION_ID_CHARS + 1)):
        with pytest.raises(UsageError, match="session id"):
            LLMClient("openai/gpt-5.1", "openrouter", KEY, "http://127.0.0.1:9/api/v1",
                      session_id=bad)


def test_no_track_cost_sends_no_usage_request_and_makes_no_lookups():
    with FakeOpenRouter(answers(2), api_key=KEY, options=FakeOptions(inline_cost=False)) as server:
        with client(server, track_cost=False) as llm:
            _, usage = llm.chat(MESSAGES)
            llm.get_cost_summary()
        requests = list(server.requests)
    assert usage.cost_usd is None
    assert len(requests) == 1 and "usage" not in requests[0].json


def test_openai_provider_sends_no_openrouter_headers():
    with FakeOpenRouter(answers(1), api_key=KEY) as server:
        llm = LLMClient("gpt-5.1", "openai", KEY, server.base_url.replace("/api/v1", "/v1"),
                        retry=FAST_RETRY)
        with llm:
            llm.chat(MESSAGES)
            summary = llm.get_cost_summary()
        (request,) = server.requests
    assert "x-title" not in request.headers and "http-referer" not in request.headers
    assert "usage" not in request.json and "session_id" not in request.json  # OpenAI rejects it
    assert llm.track_cost is False and summary["total_calls"] == 1


@pytest.mark.parametrize("provider, model", [("openrouter", "gpt-5.1"), ("openai", "openai/gpt-5.1")])
def test_model_name_must_fit_the_provider(provider, model):
    with pytest.raises(UsageError, match="model"):
        LLMClient(model, provider, KEY, "http://127.0.0.1:9/v1")


def test_usage_stats_from_openrouter_usage_object():
    usage = read_usage({
        "prompt_tokens": 100, "completion_tokens": 40, "total_tokens": 140, "cost": 0.0012,
        "is_byok": True, "cost_details": {"upstream_inference_cost": 0.02},
        "prompt_tokens_details": {"cached_tokens": 60, "cache_write_tokens": 5},
        "completion_tokens_details": {"reasoning_tokens": 12},
    }, "gen-1", read_cost=True)
    assert usage == UsageStats(prompt_tokens=100, completion_tokens=40, total_tokens=140,
                               cost_usd=0.0012, cached_tokens=60, reasoning_tokens=12,
                               cache_write_tokens=5, upstream_cost_usd=0.02, is_byok=True,
                               generation_id="gen-1", cost_source="inline")
    assert type(usage) is telemetry.UsageStats is tech_writer.UsageStats  # one record, one type
    missing = read_usage({"prompt_tokens": 3, "completion_tokens": 2, "cost": None}, "gen-2",
                         read_cost=True)
    assert missing.cost_usd is None and missing.cost_source is None and missing.total_tokens == 5


@pytest.mark.parametrize("model, expect_breakpoints", [
    ("anthropic/claude-sonnet-4", True), ("google/gemini-2.5-pro", True),
    ("openai/gpt-5.1", False)])
def test_cache_control_breakpoints_only_for_models_that_need_them(model, expect_breakpoints):
    history = [{"role": "system", "content": "You write reports."},
               {"role": "user", "content": "Task."},
               {"role": "assistant", "content": "ok"},
               {"role": "user", "content": "More."}]
    with FakeOpenRouter(answers(1), api_key=KEY) as server:
        with LLMClient(model, "openrouter", KEY, server.base_url, retry=FAST_RETRY) as llm:
            llm.chat(history)
        (request,) = server.requests
    sent = request.json["messages"]
    if expect_breakpoints:
        assert sent[0]["content"] == [{"type": "text", "text": "You write reports.",
                                       "cache_control": {"type": "ephemeral"}}]
        assert sent[1]["content"][0]["cache_control"] == {"type": "ephemeral"}
        assert sent[3]["content"] == "More."  # only the first user message is a breakpoint
    else:
        assert sent == history
    assert history[0]["content"] == "You write reports."  # the caller's history is untouched


def test_a_first_user_message_in_parts_gets_a_breakpoint_after_its_shared_part():
    shared = {"type": "text", "text": "Report request and repository layout. "}
    own = {"type": "text", "text": "Your area: storage."}
    history = [{"role": "system", "content": "You explore repositories."},
               {"role": "user", "content": [shared, own]}]
    with FakeOpenRouter(answers(2), api_key=KEY) as server:
        for model in ("anthropic/claude-sonnet-4", "openai/gpt-5.1"):
            with LLMClient(model, "openrouter", KEY, server.base_url, retry=FAST_RETRY) as llm:
                llm.chat(history)
        anthropic, openai = (r.json["messages"] for r in server.requests)
    marked = {"type": "ephemeral"}
    assert anthropic[1]["content"] == [{**shared, "cache_control": marked},
                                       {**own, "cache_control": marked}]
    breakpoints = sum(1 for m in anthropic for part in m["content"] if "cache_control" in part)
    assert breakpoints == 3  # system, the shared part, the end of the message: Anthropic allows 4
    assert openai == history  # models that cache by themselves get the parts as they are
    assert history[1]["content"] == [shared, own]  # the caller's history is untouched


def test_an_attempt_cut_off_mid_answer_makes_the_summary_incomplete():
    """A dropped connection after the request was sent may have been billed: never counted
    as free. A 502 was answered, so it was not billed and stays out of the unknowns."""
    with FakeOpenRouter(answers(2), api_key=KEY) as server, client(server) as llm:
        server.faults.add(Fault(status=502))
        llm.chat(MESSAGES)
        assert llm.get_cost_summary()["complete"] is True
        server.faults.add(Fault(drop_connection=True))
        llm.chat(MESSAGES)
        summary = llm.get_cost_summary()
    assert summary["total_calls"] == 2
    assert summary["calls_without_cost"] == 1 and summary["complete"] is False
    assert summary["total_cost_usd"] == pytest.approx(billed(server), abs=1e-9)


def test_request_timeout_is_honoured_and_bounded():
    import time

    from tech_writer.errors import ProviderUnavailableError

    with FakeOpenRouter(answers(1), api_key=KEY, options=FakeOptions(latency_s=5.0)) as server:
        llm = client(server, timeout_s=0.3, retry=RetryPolicy(max_attempts=2,
                                                             initial_backoff_s=0.01))
        started = time.monotonic()
        with llm, pytest.raises(ProviderUnavailableError, match="did not answer in time"):
            llm.chat(MESSAGES)
        elapsed = time.monotonic() - started
    assert elapsed < 3.0  # two attempts of 0.3 s, not two of 5 s
