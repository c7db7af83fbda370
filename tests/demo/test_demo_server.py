"""The fake OpenRouter server, exercised through the real openai SDK and raw httpx on loopback."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tech_writer.demo import (
    DEFAULT_PRICING,
    FakeOpenRouter,
    FakeOptions,
    Fault,
    ModelPrice,
    ModelTurn,
    QueueModel,
    ToolCall,
)

KEY = "sk-or-test-0123456789"
MODEL = "openai/gpt-5.1"
MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hi."}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a file.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}},
                "required": ["path"],
                "additionalProperties": False,
            },
        },
    }
]


def answers(count: int = 20, text: str = "Hello from the fake model.") -> QueueModel:
    return QueueModel([ModelTurn(content=text)] * count)


@pytest.fixture
def server() -> Iterator[FakeOpenRouter]:
    with FakeOpenRouter(answers(), api_key=KEY) as running:
        yield running


def sdk(server: FakeOpenRouter, *, retries: int = 0, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=retries, timeout=10)


def chat(client: openai.OpenAI, **overrides: Any) -> Any:
    return client.chat.completions.create(model=MODEL, messages=MESSAGES, **overrides)


def expected_prompt_tokens(body: dict[str, Any]) -> int:
    """The documented rule, restated independently of the implementation."""
    parts = [body.get("messages"), body.get("tools"), body.get("response_format")]
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return max(1, len(canonical) // 4)


def collect_stream(stream: Any) -> tuple[str, dict[int, dict[str, str]], list[Any], list[Any]]:
    """(content, tool calls by index, chunks with choices, chunks without choices)."""
    content = ""
    calls: dict[int, dict[str, str]] = {}
    with_choices, without_choices = [], []
    for chunk in stream:
        if not chunk.choices:
            without_choices.append(chunk)
            continue
        with_choices.append(chunk)
        delta = chunk.choices[0].delta
        content += delta.content or ""
        for call in delta.tool_calls or []:
            entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] = call.id or entry["id"]
            if call.function is not None:
                entry["name"] = call.function.name or entry["name"]
                entry["arguments"] += call.function.arguments or ""
    return content, calls, with_choices, without_choices


# --- chat completions -------------------------------------------------------------------------
def test_tool_calls_round_trip_without_streaming() -> None:
    script = QueueModel(
        [
            ModelTurn(
                tool_calls=[
                    ToolCall("read_file", {"path": "a.py"}),
                    ToolCall("read_file", "{not json"),
                ]
            )
        ]
    )
    with FakeOpenRouter(script) as server:
        raw = sdk(server).chat.completions.with_raw_response.create(
            model=MODEL, messages=MESSAGES, tools=TOOLS
        )
        completion = raw.parse()
    (choice,) = completion.choices
    assert choice.finish_reason == "tool_calls"
    first, second = choice.message.tool_calls
    assert (first.function.name, json.loads(first.function.arguments)) == (
        "read_file",
        {"path": "a.py"},
    )
    assert second.function.arguments == "{not json"  # raw strings go out verbatim
    assert first.id.startswith("call_") and first.id != second.id
    assert completion.id.startswith("gen-")
    assert raw.headers["x-generation-id"] == completion.id
    assert completion.model == MODEL
    assert completion.model_extra["provider"] == "FakeProvider"
    assert script.requests[0]["tools"] == TOOLS


def test_tool_calls_round_trip_when_streaming() -> None:
    turn = ModelTurn(
        content="Reading two files.",
        tool_calls=[
            ToolCall("read_file", {"path": "src/a.py"}),
            ToolCall("list_files", {"pattern": "*.md"}),
        ],
    )
    with FakeOpenRouter(QueueModel([turn])) as server:
        stream = chat(sdk(server), tools=TOOLS, stream=True)
        content, calls, with_choices, without_choices = collect_stream(stream)
    assert content == "Reading two files."
    assert [calls[i]["name"] for i in sorted(calls)] == ["read_file", "list_files"]
    assert json.loads(calls[0]["arguments"]) == {"path": "src/a.py"}
    assert json.loads(calls[1]["arguments"]) == {"pattern": "*.md"}
    assert all(call["id"].startswith("call_") for call in calls.values())
    assert with_choices[-1].choices[0].finish_reason == "tool_calls"
    assert len(without_choices) == 1  # usage arrives once, after the finish_reason chunk


def test_usage_and_cost_fields_match_the_documented_billing(server: FakeOpenRouter) -> None:
    completion = chat(sdk(server), extra_body={"usage": {"include": True}})
    (billed,) = server.ledger
    body = server.requests[-1].json
    usage = completion.usage
    price = DEFAULT_PRICING[MODEL]
    assert usage.prompt_tokens == expected_prompt_tokens(body)
    assert usage.completion_tokens == max(1, len("Hello from the fake model.") // 4)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    expected_cost = round(
        usage.prompt_tokens * price.prompt + usage.completion_tokens * price.completion, 12
    )
    assert usage.model_extra["cost"] == expected_cost == billed.cost_usd
    assert usage.model_extra["is_byok"] is False
    assert usage.model_extra["cost_details"] == {
        "upstream_inference_cost": None,  # not BYOK
        "upstream_inference_prompt_cost": round(usage.prompt_tokens * price.prompt, 12),
        "upstream_inference_completions_cost": round(
            usage.completion_tokens * price.completion, 12),
    }
    wire = usage.model_dump()  # the wire's fields, however old the SDK that parsed them
    assert wire["prompt_tokens_details"]["cached_tokens"] == 0
    assert wire["completion_tokens_details"]["reasoning_tokens"] == 0
    assert billed.generation_id == completion.id and billed.streamed is False
    assert billed.finish_reason == "stop" and billed.model == MODEL


def test_streamed_usage_arrives_in_a_final_chunk_with_empty_choices(server: FakeOpenRouter) -> None:
    content, _, with_choices, without_choices = collect_stream(chat(sdk(server), stream=True))
    (usage_chunk,) = without_choices
    assert usage_chunk.choices == []
    assert content == "Hello from the fake model."
    assert len(with_choices) >= 3  # a role chunk, several content pieces, a finish chunk
    assert with_choices[-1].choices[0].finish_reason == "stop"
    (billed,) = server.ledger
    assert usage_chunk.usage.model_extra["cost"] == billed.cost_usd
    assert billed.streamed is True and usage_chunk.id == billed.generation_id


def test_stream_wire_format_has_comments_chunked_encoding_and_done(server: FakeOpenRouter) -> None:
    body = {"model": MODEL, "messages": MESSAGES, "stream": True}
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(timeout=10) as client, client.stream(
        "POST", f"{server.base_url}/chat/completions", json=body, headers=headers
    ) as response:
        raw = b"".join(response.iter_raw())
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["transfer-encoding"] == "chunked"
        assert response.headers["x-generation-id"].startswith("gen-")
    events = raw.split(b"\n\n")
    assert events[0] == b": OPENROUTER PROCESSING"
    data_positions = [i for i, event in enumerate(events) if event.startswith(b"data: ")]
    comment_positions = [i for i, event in enumerate(events) if event.startswith(b":")]
    assert any(data_positions[0] < i < data_positions[-1] for i in comment_positions)
    assert raw.endswith(b"data: [DONE]\n\n")
    payloads = [json.loads(events[i][len(b"data: ") :]) for i in data_positions[:-1]]
    assert payloads[-1]["choices"] == [] and "usage" in payloads[-1]
    assert all(payload["object"] == "chat.completion.chunk" for payload in payloads)


def test_openai_style_v1_prefix_serves_the_same_routes(server: FakeOpenRouter) -> None:
    client = openai.OpenAI(base_url=server.openai_base_url, api_key=KEY, max_retries=0)
    assert chat(client).choices[0].message.content == "Hello from the fake model."
    assert server.requests[-1].path == "/v1/chat/completions"


def test_cached_cache_write_and_reasoning_tokens_are_reported_and_priced() -> None:
    model = "anthropic/claude-sonnet-4"
    with FakeOpenRouter(answers(),
                        options=FakeOptions(cached_tokens=5, cache_write_tokens=3, reasoning_tokens=7)) as server:
        usage = sdk(server).chat.completions.create(model=model, messages=MESSAGES).usage
        body = server.requests[-1].json
    price = DEFAULT_PRICING[model]
    prompt = expected_prompt_tokens(body)
    completion = max(1, len("Hello from the fake model.") // 4) + 7
    assert usage.prompt_tokens == prompt and usage.completion_tokens == completion
    wire = usage.model_dump()  # the wire's fields, however old the SDK that parsed them
    assert wire["prompt_tokens_details"]["cached_tokens"] == 5
    assert wire["prompt_tokens_details"]["cache_write_tokens"] == 3
    assert wire["completion_tokens_details"]["reasoning_tokens"] == 7
    parts = [
        (prompt - 8) * price.prompt,
        5 * price.input_cache_read,
        3 * price.input_cache_write,
        completion * price.completion,
    ]
    assert usage.model_extra["cost"] == round(math.fsum(parts), 12)


def test_cached_tokens_never_exceed_prompt_tokens() -> None:
    with FakeOpenRouter(answers(), options=FakeOptions(cached_tokens=10_000_000)) as server:
        usage = chat(sdk(server, key="any")).usage
    assert usage.model_dump()["prompt_tokens_details"]["cached_tokens"] == usage.prompt_tokens


def test_byok_reports_upstream_cost_and_bills_only_the_fee() -> None:
    with FakeOpenRouter(answers(), options=FakeOptions(byok=True)) as server:
        client = sdk(server, key="any")
        usage = chat(client).usage
        generation = httpx.get(
            f"{server.base_url}/generation",
            params={"id": server.ledger[0].generation_id},
            headers={"Authorization": "Bearer any"},
        ).json()["data"]
    price = DEFAULT_PRICING[MODEL]
    upstream = round(
        usage.prompt_tokens * price.prompt + usage.completion_tokens * price.completion, 12
    )
    assert usage.model_extra["is_byok"] is True
    assert usage.model_extra["cost_details"]["upstream_inference_cost"] == upstream
    assert usage.model_extra["cost"] == round(upstream * 0.05, 12)
    assert (generation["is_byok"], generation["upstream_inference_cost"]) == (True, upstream)
    assert generation["total_cost"] == usage.model_extra["cost"]


def test_latency_delays_each_completion() -> None:
    with FakeOpenRouter(answers(), options=FakeOptions(latency_s=0.2)) as server:
        started = time.monotonic()
        chat(sdk(server, key="any"))
        assert time.monotonic() - started >= 0.2
        assert server.ledger[0].latency_ms >= 200


# --- generation lookup ------------------------------------------------------------------------
def lookup(server: FakeOpenRouter, generation_id: str, key: str = KEY) -> httpx.Response:
    return httpx.get(
        f"{server.base_url}/generation",
        params={"id": generation_id},
        headers={"Authorization": f"Bearer {key}"},
    )


def test_generation_answers_404_then_the_billing_record() -> None:
    with FakeOpenRouter(answers(), api_key=KEY,
                        options=FakeOptions(inline_cost=False, generation_404s=2)) as server:
        raw = sdk(server).chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
        usage = raw.http_response.json()["usage"]
        generation_id = raw.parse().id
        statuses = [lookup(server, generation_id).status_code for _ in range(3)]
        record = lookup(server, generation_id).json()["data"]
        (billed,) = server.ledger
    assert "cost" not in usage  # inline_cost=False: the client must ask /generation
    assert statuses == [404, 404, 200]
    assert record["total_cost"] == billed.cost_usd
    assert record["id"] == generation_id
    assert (record["native_tokens_prompt"], record["native_tokens_completion"]) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )
    assert record["cache_discount"] is None and record["cancelled"] is False
    assert record["streamed"] is False and record["finish_reason"] == "stop"


def test_generation_404_body_and_unknown_ids(server: FakeOpenRouter) -> None:
    response = lookup(server, "gen-unknown")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": 404, "message": "Generation not found"}}
    assert lookup(server, "", KEY).status_code == 400
    assert lookup(server, "gen-unknown", "wrong-key").status_code == 401


def test_generation_unavailable_never_answers() -> None:
    with FakeOpenRouter(answers(), options=FakeOptions(generation_available=False)) as server:
        generation_id = chat(sdk(server, key="k")).id
        assert {lookup(server, generation_id, "k").status_code for _ in range(4)} == {404}


def test_generation_faults_are_consumed_before_lookups(server: FakeOpenRouter) -> None:
    generation_id = chat(sdk(server)).id
    server.faults.add(Fault(status=503, retry_after=1, path="generation"))
    failed = lookup(server, generation_id)
    assert failed.status_code == 503 and failed.headers["retry-after"] == "1"
    assert lookup(server, generation_id).status_code == 200


# --- auth, models, key ------------------------------------------------------------------------
def test_wrong_or_missing_key_is_401_and_not_billed(server: FakeOpenRouter) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        chat(sdk(server, key="sk-or-wrong"))
    assert caught.value.body == {"code": 401, "message": "No auth credentials found"}
    missing = httpx.post(
        f"{server.base_url}/chat/completions", json={"model": MODEL, "messages": MESSAGES}
    )
    assert missing.status_code == 401
    assert server.ledger == []


def test_any_non_empty_key_is_accepted_when_none_is_configured() -> None:
    with FakeOpenRouter(answers()) as server:
        assert chat(sdk(server, key="whatever")).choices[0].message.content


def test_models_lists_priced_models_as_decimal_strings(server: FakeOpenRouter) -> None:
    models = {m["id"]: m for m in httpx.get(f"{server.base_url}/models").json()["data"]}
    assert "*" not in models
    assert set(models) == set(DEFAULT_PRICING) - {"*"}
    gpt = models["openai/gpt-5.1"]
    assert gpt["pricing"]["prompt"] == "0.00000125" and gpt["pricing"]["completion"] == "0.00001"
    for model_id, entry in models.items():
        price = DEFAULT_PRICING[model_id]
        assert float(entry["pricing"]["prompt"]) == price.prompt
        assert float(entry["pricing"]["input_cache_read"]) == price.input_cache_read
        assert "e" not in entry["pricing"]["completion"].lower()
        assert entry["context_length"] == price.context_length
        assert "response_format" in entry["supported_parameters"]


def test_key_reports_limit_and_usage() -> None:
    with FakeOpenRouter(answers(), options=FakeOptions(credit_usd=1.0)) as server:
        client = sdk(server, key="k")
        costs = [chat(client).usage.model_extra["cost"] for _ in range(2)]
        data = httpx.get(f"{server.base_url}/key", headers={"Authorization": "Bearer k"}).json()[
            "data"
        ]
        unauthorised = httpx.get(f"{server.base_url}/key")
    assert data["limit"] == 1.0 and data["usage"] == math.fsum(costs)
    assert data["limit_remaining"] == round(1.0 - math.fsum(costs), 12)
    assert unauthorised.status_code == 401


def test_credit_limit_answers_402_once_exceeded() -> None:
    probe_cost = None
    with FakeOpenRouter(answers()) as probe:
        probe_cost = chat(sdk(probe, key="k")).usage.model_extra["cost"]
    with FakeOpenRouter(answers(), options=FakeOptions(credit_usd=probe_cost * 1.5)) as server:
        client = sdk(server, key="k")
        chat(client)
        with pytest.raises(openai.APIStatusError) as caught:
            chat(client)
    assert caught.value.status_code == 402
    assert len(server.ledger) == 1


def test_unknown_model_is_400_unless_a_fallback_price_exists() -> None:
    pricing = {"only/model": ModelPrice(1e-6, 2e-6, 1e-7, 0.0)}
    with FakeOpenRouter(answers(), options=FakeOptions(pricing=pricing)) as server:
        client = sdk(server, key="k")
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(model="nope/model", messages=MESSAGES)
        assert caught.value.body["message"] == "nope/model is not a valid model ID"
        assert (
            client.chat.completions.create(model="only/model", messages=MESSAGES).usage.model_extra[
                "cost"
            ]
            > 0
        )
    with FakeOpenRouter(answers()) as server:  # DEFAULT_PRICING has a "*" fallback
        assert sdk(server, key="k").chat.completions.create(model="made/up", messages=MESSAGES).id


def test_malformed_requests_are_400(server: FakeOpenRouter) -> None:
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    url = f"{server.base_url}/chat/completions"
    assert httpx.post(url, content=b"{not json", headers=headers).status_code == 400
    assert (
        httpx.post(url, json={"model": MODEL, "messages": []}, headers=headers).status_code == 400
    )
    assert httpx.post(url, json={"messages": MESSAGES}, headers=headers).status_code == 400
    assert httpx.get(url, headers=headers).status_code == 405
    assert httpx.get(f"{server.base_url}/nothing", headers=headers).status_code == 404


# --- recorded requests and the ledger ---------------------------------------------------------
def test_requests_are_recorded_with_the_key_redacted(server: FakeOpenRouter) -> None:
    client = openai.OpenAI(
        base_url=server.base_url,
        api_key=KEY,
        max_retries=0,
        default_headers={
            "HTTP-Referer": "https://example.test/app",
            "X-OpenRouter-Title": "tech_writer",
        },
    )
    chat(client, extra_body={"usage": {"include": True}})
    (request,) = server.requests
    assert (request.method, request.path, request.query) == ("POST", "/api/v1/chat/completions", {})
    assert request.headers["http-referer"] == "https://example.test/app"
    assert request.headers["x-openrouter-title"] == "tech_writer"
    assert request.headers["authorization"] == "Bearer [REDACTED]"
    assert request.json["usage"] == {"include": True} and request.json["messages"] == MESSAGES
    assert KEY not in repr(server.requests)


def test_ledger_total_equals_the_sum_of_costs_clients_received() -> None:
    with FakeOpenRouter(answers(40)) as server:
        client = sdk(server, key="k")
        received: list[float] = []
        lock = threading.Lock()

        def worker(streamed: bool) -> None:
            for _ in range(4):
                if streamed:
                    *_, without_choices = collect_stream(chat(client, stream=True))
                    cost = without_choices[0].usage.model_extra["cost"]
                else:
                    cost = chat(client).usage.model_extra["cost"]
                with lock:
                    received.append(cost)

        threads = [threading.Thread(target=worker, args=(i % 2 == 0,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        ledger = server.ledger
    assert len(received) == len(ledger) == 16
    assert math.fsum(received) == server.billed_total_usd() == math.fsum(c.cost_usd for c in ledger)
    assert len({c.generation_id for c in ledger}) == 16
    assert sorted(received) == sorted(c.cost_usd for c in ledger)


# --- faults -----------------------------------------------------------------------------------
def test_rate_limit_fault_with_retry_after_is_retried_by_the_sdk(server: FakeOpenRouter) -> None:
    server.faults.add(Fault(status=429, retry_after=0.05))
    completion = chat(sdk(server, retries=1))
    assert completion.choices[0].message.content == "Hello from the fake model."
    assert len(server.requests) == 2 and len(server.ledger) == 1
    assert server.faults.pending("chat") == 0


def test_error_fault_bodies_follow_openrouter_shape(server: FakeOpenRouter) -> None:
    server.faults.add(Fault(status=429, retry_after=2))
    server.faults.add(Fault(status=500))
    server.faults.add(Fault(status=400, body={"error": {"code": 400, "message": "custom"}}))
    url, headers = f"{server.base_url}/chat/completions", {"Authorization": f"Bearer {KEY}"}
    responses = [
        httpx.post(url, json={"model": MODEL, "messages": MESSAGES}, headers=headers)
        for _ in range(3)
    ]
    assert [r.status_code for r in responses] == [429, 500, 400]
    assert responses[0].headers["retry-after"] == "2"
    assert responses[0].json()["error"]["metadata"]["error_type"] == "rate_limit_exceeded"
    assert responses[1].json()["error"]["code"] == 500
    assert responses[1].json()["error"]["metadata"]["error_type"] == "server"
    assert responses[2].json() == {"error": {"code": 400, "message": "custom"}}
    assert server.ledger == []


def test_faults_are_fifo_and_do_not_consume_scripted_turns() -> None:
    script = QueueModel([ModelTurn(content="first"), ModelTurn(content="second")])
    with FakeOpenRouter(script) as server:
        server.faults.add(Fault(status=503), count=2)
        client = sdk(server, key="k")
        for _ in range(2):
            with pytest.raises(openai.InternalServerError):
                chat(client)
        assert chat(client).choices[0].message.content == "first"
        assert script.remaining == 1 and len(server.ledger) == 1


def test_payment_required_fault_is_not_retried_by_the_sdk(server: FakeOpenRouter) -> None:
    server.faults.add(Fault(status=402))
    with pytest.raises(openai.APIStatusError) as caught:
        chat(sdk(server, retries=2))
    assert caught.value.status_code == 402
    assert len(server.requests) == 1


def test_dropped_connection_is_a_connection_error(server: FakeOpenRouter) -> None:
    server.faults.add(Fault(drop_connection=True))
    with pytest.raises(openai.APIConnectionError):
        chat(sdk(server))
    assert chat(sdk(server)).choices  # the server keeps serving new connections
    assert len(server.ledger) == 1


def test_malformed_bodies_fail_to_parse(server: FakeOpenRouter) -> None:
    server.faults.add(Fault(malformed_body=True), count=2)
    with pytest.raises(ValueError):
        chat(sdk(server))
    with pytest.raises(ValueError):
        collect_stream(chat(sdk(server), stream=True))
    assert server.ledger == []


def test_error_in_200_without_streaming_has_empty_choices(server: FakeOpenRouter) -> None:
    server.faults.add(Fault(status=502, error_in_200=True))
    completion = chat(sdk(server))
    assert completion.choices == []
    error = completion.model_extra["error"]
    assert error["code"] == 502 and error["metadata"]["provider_code"] == "502"  # a string
    assert error["metadata"]["error_type"] == "server"
    assert server.ledger == []


def test_error_in_200_mid_stream_raises_after_good_chunks(server: FakeOpenRouter) -> None:
    server.faults.add(Fault(status=529, error_in_200=True))
    received: list[Any] = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in chat(sdk(server), stream=True):
            received.append(chunk)
    assert len(received) >= 2 and received[0].choices[0].delta.role == "assistant"
    assert caught.value.body["metadata"]["error_type"] == "provider_overloaded"
    assert server.ledger == []


def test_error_in_200_stream_ends_with_finish_reason_error_and_no_done(
    server: FakeOpenRouter,
) -> None:
    server.faults.add(Fault(status=502, error_in_200=True))
    body = {"model": MODEL, "messages": MESSAGES, "stream": True}
    raw = httpx.post(
        f"{server.base_url}/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}
    )
    last = json.loads(raw.content.strip().split(b"\n\n")[-1][len(b"data: ") :])
    assert raw.status_code == 200 and b"[DONE]" not in raw.content
    assert last["choices"][0]["finish_reason"] == "error" and last["error"]["code"] == 502


def test_empty_response_is_billed_and_has_no_content(server: FakeOpenRouter) -> None:
    server.faults.add(Fault(empty_response=True), count=2)
    completion = chat(sdk(server))
    assert (
        completion.choices[0].message.content == "" and not completion.choices[0].message.tool_calls
    )
    content, calls, _, without_choices = collect_stream(chat(sdk(server), stream=True))
    assert (content, calls) == ("", {})
    billed = server.ledger
    assert len(billed) == 2 and billed[0].cost_usd == completion.usage.model_extra["cost"]
    assert billed[1].cost_usd == without_choices[0].usage.model_extra["cost"]


def test_fault_delay_holds_the_answer(server: FakeOpenRouter) -> None:
    server.faults.add(Fault(status=500, delay_s=0.2))
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError):
        chat(sdk(server))
    assert time.monotonic() - started >= 0.2


def test_fault_validation() -> None:
    with pytest.raises(ValueError):
        Fault(path="models")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Fault(error_in_200=True, path="generation")


def test_scripted_model_failure_is_a_500_the_sdk_does_not_retry() -> None:
    with FakeOpenRouter(QueueModel([])) as server:
        with pytest.raises(openai.InternalServerError) as caught:
            chat(sdk(server, retries=2, key="k"))
        assert "QueueModel has no turn left" in str(caught.value)
        assert len(server.requests) == 1
        assert len(server.internal_errors) == 1


# --- lifecycle --------------------------------------------------------------------------------
def test_stop_is_prompt_and_idempotent_with_open_connections() -> None:
    server = FakeOpenRouter(answers(), options=FakeOptions(latency_s=30)).start()
    keep_alive = httpx.Client(timeout=5)
    keep_alive.get(f"{server.base_url}/models")  # leaves a pooled keep-alive connection open
    outcome: list[BaseException | None] = []

    def slow_request() -> None:
        try:
            chat(sdk(server, key="k"))
            outcome.append(None)
        except BaseException as exc:  # recorded for the assertion below
            outcome.append(exc)

    thread = threading.Thread(target=slow_request)
    thread.start()
    deadline = time.monotonic() + 5
    while len(server.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    server.stop()
    server.stop()
    thread.join(5)
    keep_alive.close()
    assert time.monotonic() - started < 2
    assert not thread.is_alive()
    assert outcome and isinstance(outcome[0], openai.APIConnectionError)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.root_url}/api/v1/models", timeout=1)
    with pytest.raises(RuntimeError):
        server.start()


def test_base_url_needs_a_started_server() -> None:
    with pytest.raises(RuntimeError):
        _ = FakeOpenRouter(answers()).base_url


def test_options_refuse_what_no_server_could_do() -> None:
    for wrong in ({"shape": "pretty"}, {"cached_tokens": -1}, {"generation_404s": -1},
                  {"latency_s": -0.1}, {"reasoning_tokens": -2}, {"cache_write_tokens": -3}):
        with pytest.raises(ValueError):
            FakeOptions(**wrong)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="api_key"):
        FakeOpenRouter(api_key="")
    assert FakeOpenRouter().options == FakeOptions()  # the demo's server: the defaults
