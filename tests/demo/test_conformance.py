"""The fake OpenRouter checked by OpenRouter's own SDK (``openrouter``, in the ``[test]`` extra).

The SDK's pydantic models are generated from OpenRouter's published API schema. Each test drives
the SDK against the fake for one route or scripted fault, and also reads the raw body with the
SDK's model *strictly*: the SDK's models quietly read a nested object they cannot parse as
"unset" (``OptionalNullable`` falls back to ``Unset``) and an unknown reasoning block as
``Unknown...``, so plain validation would let a malformed field through. A field the fake sends
beyond the schema must be one OpenRouter is known to send (``_KNOWN_EXTRAS``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

openrouter = pytest.importorskip(
    "openrouter", reason="OpenRouter's SDK is not installed (pip install -e '.[test]')")

from openrouter import OpenRouter, components, errors, operations  # noqa: E402
from openrouter.types.basemodel import UNSET, Unset  # noqa: E402
from openrouter.utils import RetryConfig  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from tech_writer.demo import FakeOpenRouter, FakeOptions, Fault, ModelTurn, ToolCall  # noqa: E402
from tech_writer.demo.faults import default_error_body  # noqa: E402
from tech_writer.demo.pricing import DEFAULT_PRICING  # noqa: E402

KEY = "sk-or-conformance-key"
MODEL = "anthropic/claude-sonnet-4"
MESSAGES = [{"role": "user", "content": "Describe the repository."}]
TOOLS = [{"type": "function", "function": {
    "name": "read_file", "description": "Read a file",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
                   "required": ["path"]}}}]
JSON_SCHEMA = {"type": "json_schema", "json_schema": {
    "name": "outline", "strict": True,
    "schema": {"type": "object", "properties": {"title": {"type": "string"}},
               "required": ["title"], "additionalProperties": False}}}
NO_RETRIES = RetryConfig("none", None, False)  # type: ignore[arg-type]

# Fields OpenRouter sends that its published schema leaves out (seen in its real answers).
_KNOWN_EXTRAS = {
    "ChatResult": {"provider", "error"},  # error: a failure reported inside a 200
    "ChatStreamChunk": {"provider"},
    "ChatChoice": {"native_finish_reason"},
    "ChatAssistantMessage": {"annotations"},  # web search citations
    "ChatStreamChoice": {"native_finish_reason"},
    "ModelArchitecture": {"tokenizer", "instruct_type"},
    "GetCurrentKeyData": set(),
}
# Each status the fake can script, and the SDK's error for it on chat.send.
_CHAT_ERRORS: dict[int, type[Exception]] = {
    400: errors.BadRequestResponseError,
    401: errors.UnauthorizedResponseError,
    402: errors.PaymentRequiredResponseError,
    403: errors.ForbiddenResponseError,
    404: errors.NotFoundResponseError,
    408: errors.RequestTimeoutResponseError,
    413: errors.PayloadTooLargeResponseError,
    422: errors.UnprocessableEntityResponseError,
    429: errors.TooManyRequestsResponseError,
    500: errors.InternalServerResponseError,
    502: errors.BadGatewayResponseError,
    503: errors.ServiceUnavailableResponseError,
    524: errors.EdgeNetworkTimeoutResponseError,
    529: errors.ProviderOverloadedResponseError,
}


class ToolsThenText:
    """Answers a request offering tools with a tool call, JSON when a schema is asked, else text."""

    def respond(self, request: dict[str, Any]) -> ModelTurn:
        if request.get("tools") and not any(m.get("role") == "tool" for m in request["messages"]):
            return ModelTurn(tool_calls=[ToolCall("read_file", {"path": "README.md"})])
        if request.get("response_format"):
            return ModelTurn(content=json.dumps({"title": "Overview"}))
        return ModelTurn(content="The repository is a small inventory service.")


# --- strict reading -------------------------------------------------------------------------
def strictly(model: type[BaseModel], payload: Any) -> Any:
    """``payload`` read by the SDK's ``model``, failing on any field it could not understand."""
    parsed = model.model_validate(payload)
    problems = list(_misread(parsed, payload, model.__name__))
    assert not problems, "\n".join(problems)
    return parsed


def _misread(value: Any, raw: Any, path: str) -> Iterator[str]:
    if isinstance(value, Unset):
        yield f"{path}: {raw!r} was read as unset"
        return
    if getattr(value, "is_unknown", False):
        yield f"{path}: {raw!r} matches no variant of the schema"
        return
    if isinstance(value, list) and isinstance(raw, list):
        for index, (item, raw_item) in enumerate(zip(value, raw, strict=True)):
            yield from _misread(item, raw_item, f"{path}[{index}]")
        return
    if not (isinstance(value, BaseModel) and isinstance(raw, dict)):
        return
    fields = type(value).model_fields
    names = {field.alias or name: name for name, field in fields.items()}
    extras = set(raw) - set(names)
    unexpected = extras - _KNOWN_EXTRAS.get(type(value).__name__, set())
    if unexpected:
        yield f"{path} ({type(value).__name__}): fields beyond the schema {sorted(unexpected)}"
    for key, name in names.items():
        if key in raw:
            yield from _misread(getattr(value, name), raw[key], f"{path}.{key}")


def test_the_strict_reading_catches_what_the_sdk_lets_through() -> None:
    """The checker itself: a nested object the SDK reads as unset, an unknown block, a stray
    field are each caught (the SDK's own validation accepts all three)."""
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2,
             "cost_details": {"upstream_inference_cost": None}}
    components.ChatUsage.model_validate(usage)  # accepted...
    with pytest.raises(AssertionError, match="read as unset"):
        strictly(components.ChatUsage, usage)  # ...though cost_details was not understood
    message = {"role": "assistant", "reasoning_details": [{"type": "reasoning.thought"}]}
    with pytest.raises(AssertionError, match="no variant"):
        strictly(components.ChatAssistantMessage, message)
    with pytest.raises(AssertionError, match="beyond the schema"):
        strictly(components.ChatToolCall, {"id": "c", "type": "function", "surprise": 1,
                                           "function": {"name": "f", "arguments": "{}"}})


# --- fixtures -------------------------------------------------------------------------------
@pytest.fixture
def server() -> Iterator[FakeOpenRouter]:
    with FakeOpenRouter(ToolsThenText(), api_key=KEY) as fake:
        yield fake


@pytest.fixture
def reasoning_server() -> Iterator[FakeOpenRouter]:
    with FakeOpenRouter(ToolsThenText(), api_key=KEY, options=FakeOptions(reasoning=True)) as fake:
        yield fake


def sdk(server: FakeOpenRouter, key: str = KEY) -> OpenRouter:
    return OpenRouter(api_key=key, server_url=server.base_url, retry_config=NO_RETRIES)


def post(server: FakeOpenRouter, **body: Any) -> httpx.Response:
    return httpx.post(f"{server.base_url}/chat/completions", json={"model": MODEL, **body},
                      headers={"Authorization": f"Bearer {KEY}"}, timeout=30)


def get(server: FakeOpenRouter, route: str, key: str | None = KEY, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.get(f"{server.base_url}/{route}", params=params, headers=headers, timeout=30)


def sse_payloads(response: httpx.Response) -> list[Any]:
    """The JSON of every ``data:`` event of a stream (comments and ``[DONE]`` left out)."""
    events = [event for event in response.text.split("\n\n") if event.startswith("data: ")]
    return [json.loads(event[len("data: "):]) for event in events if event != "data: [DONE]"]


# --- chat completions -----------------------------------------------------------------------
@pytest.mark.parametrize("extra", [
    pytest.param({}, id="plain"),
    pytest.param({"tools": TOOLS}, id="tools"),
    pytest.param({"response_format": JSON_SCHEMA}, id="json_schema"),
])
def test_chat_completion_conforms(server: FakeOpenRouter, extra: dict[str, Any]) -> None:
    raw = post(server, messages=MESSAGES, **extra)
    assert raw.status_code == 200
    strictly(components.ChatResult, raw.json())
    result = sdk(server).chat.send(model=MODEL, messages=MESSAGES, **extra)
    assert isinstance(result, components.ChatResult)
    assert result.usage is not None and result.usage.cost == server.ledger[-1].cost_usd
    message = result.choices[0].message
    if "tools" in extra:
        assert message.tool_calls and message.tool_calls[0].function.name == "read_file"
    elif "response_format" in extra:
        assert json.loads(str(message.content)) == {"title": "Overview"}
    else:
        assert message.content


@pytest.mark.parametrize("extra", [
    pytest.param({}, id="plain"),
    pytest.param({"tools": TOOLS}, id="tools"),
])
def test_every_stream_chunk_conforms(server: FakeOpenRouter, extra: dict[str, Any]) -> None:
    raw = post(server, messages=MESSAGES, stream=True, **extra)
    payloads = sse_payloads(raw)
    assert len(payloads) >= 3
    for payload in payloads:
        strictly(components.ChatStreamChunk, payload)
    chunks = list(sdk(server).chat.send(model=MODEL, messages=MESSAGES, stream=True, **extra))
    assert chunks[-1].usage is not None and chunks[-1].usage.cost == server.ledger[-1].cost_usd
    assert any(c.choices and c.choices[0].finish_reason for c in chunks)


@pytest.mark.parametrize("shape", ["maximal", "minimal"])
@pytest.mark.parametrize("reasoning", [False, True], ids=["", "reasoning"])
def test_maximal_and_minimal_answers_conform(shape: str, reasoning: bool) -> None:
    with FakeOpenRouter(ToolsThenText(), api_key=KEY,
                        options=FakeOptions(shape=shape, reasoning=reasoning)) as fake:
        for extra in ({}, {"tools": TOOLS}):
            result = strictly(components.ChatResult, post(fake, messages=MESSAGES, **extra).json())
            for payload in sse_payloads(post(fake, messages=MESSAGES, stream=True, **extra)):
                strictly(components.ChatStreamChunk, payload)
            assert result.usage.cost == fake.ledger[-2].cost_usd
    message = result.choices[0].message
    assert (result.choices[0].logprobs not in (None, UNSET)) is (shape == "maximal")
    assert bool(message.reasoning_details) is (shape == "maximal" or reasoning)


def test_byok_and_cache_usage_conform() -> None:
    with FakeOpenRouter(ToolsThenText(), api_key=KEY,
                        options=FakeOptions(byok=True, cached_tokens=5, cache_write_tokens=3,
                                            reasoning_tokens=4)) as fake:
        body = post(fake, messages=MESSAGES).json()
        usage = strictly(components.ChatUsage, body["usage"])
        record = strictly(components.GenerationResponse,
                          get(fake, "generation", id=body["id"]).json())
        with pytest.warns(DeprecationWarning):  # /key's rate_limit: deprecated, still required
            key = strictly(operations.GetCurrentKeyResponse, get(fake, "key").json()).data
    assert usage.is_byok is True and usage.cost_details.upstream_inference_cost > usage.cost
    assert usage.prompt_tokens_details.cached_tokens == 5
    assert usage.completion_tokens_details.reasoning_tokens == 4
    assert record.data.is_byok is True
    assert record.data.upstream_inference_cost == usage.cost_details.upstream_inference_cost
    assert key.usage == usage.cost and key.byok_usage == usage.cost_details.upstream_inference_cost


# --- reasoning model ------------------------------------------------------------------------
def test_reasoning_answers_conform_plain_and_streamed(reasoning_server: FakeOpenRouter) -> None:
    message = strictly(components.ChatResult,
                       post(reasoning_server, messages=MESSAGES, tools=TOOLS).json()
                       ).choices[0].message
    kinds = [type(block).__name__ for block in message.reasoning_details]
    assert kinds == ["ReasoningDetailText", "ReasoningDetailSummary", "ReasoningDetailEncrypted"]
    assert message.reasoning_details[0].signature and message.reasoning
    assert message.reasoning_details[2].id == message.tool_calls[0].id  # Gemini's link
    for payload in sse_payloads(post(reasoning_server, messages=MESSAGES, tools=TOOLS,
                                     stream=True)):
        strictly(components.ChatStreamChunk, payload)
    chunks = list(sdk(reasoning_server).chat.send(model=MODEL, messages=MESSAGES, tools=TOOLS,
                                                  stream=True))
    streamed = [block for c in chunks for choice in c.choices
                for block in choice.delta.reasoning_details or []]
    assert {type(block).__name__ for block in streamed} == set(kinds)


def test_reasoning_refusal_is_openrouters_provider_error(reasoning_server: FakeOpenRouter) -> None:
    first = post(reasoning_server, messages=MESSAGES, tools=TOOLS).json()["choices"][0]["message"]
    dropped = {key: value for key, value in first.items() if key != "reasoning_details"}
    history = [*MESSAGES, dropped,
               {"role": "tool", "tool_call_id": first["tool_calls"][0]["id"], "content": "# x"}]
    with pytest.raises(errors.BadRequestResponseError) as caught:
        sdk(reasoning_server).chat.send(model=MODEL, messages=history, tools=TOOLS)
    strictly(errors.BadRequestResponseErrorData, json.loads(caught.value.body or ""))
    raw = caught.value.data.error.metadata["raw"]
    assert "missing a thought_signature" in json.loads(raw)["error"]["message"]


# --- generation, models, key ----------------------------------------------------------------
def test_generation_record_conforms(server: FakeOpenRouter) -> None:
    answer = post(server, messages=MESSAGES, stream=True, session_id="session-7")
    generation_id = sse_payloads(answer)[0]["id"]
    strictly(components.GenerationResponse, get(server, "generation", id=generation_id).json())
    record = sdk(server).generations.get_generation(id=generation_id).data
    (billed,) = server.ledger
    assert record.total_cost == record.usage == billed.cost_usd
    assert record.tokens_prompt == billed.prompt_tokens and record.streamed is True
    assert record.session_id == "session-7" and record.api_type == "completions"
    assert record.created_at.endswith("+00:00") and record.provider_responses[0].status == 200


def test_models_list_conforms(server: FakeOpenRouter) -> None:
    strictly(components.ModelsListResponse, get(server, "models", key=None).json())
    listing = sdk(server).models.list().result
    models = {model.id: model for model in listing.data}
    assert listing.total_count == len(models) and MODEL in models
    assert models[MODEL].pricing.prompt == "0.000003"
    assert "tools" in models[MODEL].supported_parameters


# OpenRouter's schema marks /key's rate_limit deprecated, yet still required: reading it warns.
@pytest.mark.filterwarnings("ignore:.*DEPRECATED:DeprecationWarning")
def test_key_record_conforms() -> None:
    with FakeOpenRouter(ToolsThenText(), api_key=KEY, options=FakeOptions(credit_usd=2.0)) as fake:
        post(fake, messages=MESSAGES)
        strictly(operations.GetCurrentKeyResponse, get(fake, "key").json())
        data = sdk(fake).api_keys.get_current_key_metadata().data
        billed = fake.billed_total_usd()
    assert data.limit == 2.0 and data.usage == billed
    assert data.limit_remaining == pytest.approx(2.0 - billed, abs=1e-12)


# --- error bodies ---------------------------------------------------------------------------
@pytest.mark.parametrize("status", sorted(_CHAT_ERRORS))
def test_every_scripted_chat_error_conforms(server: FakeOpenRouter, status: int) -> None:
    error_type = _CHAT_ERRORS[status]
    server.faults.add(Fault(status=status, retry_after=3 if status == 429 else None))
    with pytest.raises(error_type) as caught:
        sdk(server).chat.send(model=MODEL, messages=MESSAGES)
    data_model = getattr(errors, f"{error_type.__name__}Data")
    strictly(data_model, json.loads(caught.value.body or ""))
    assert caught.value.data.error.code == status
    if status == 429:
        assert caught.value.headers.get("retry-after") == "3"


def test_wrong_key_is_the_sdks_unauthorized_error_on_every_route(server: FakeOpenRouter) -> None:
    wrong = sdk(server, key="sk-or-wrong")
    calls = [lambda: wrong.chat.send(model=MODEL, messages=MESSAGES),
             lambda: wrong.generations.get_generation(id="gen-x"),
             lambda: wrong.api_keys.get_current_key_metadata()]
    for call in calls:
        with pytest.raises(errors.UnauthorizedResponseError) as caught:
            call()
        strictly(errors.UnauthorizedResponseErrorData, json.loads(caught.value.body or ""))


def test_generation_404_and_faults_conform(server: FakeOpenRouter) -> None:
    with pytest.raises(errors.NotFoundResponseError) as caught:
        sdk(server).generations.get_generation(id="gen-unknown")
    strictly(errors.NotFoundResponseErrorData, json.loads(caught.value.body or ""))
    for status in (429, 500, 502):
        server.faults.add(Fault(status=status, path="generation"))
        response = get(server, "generation", id="gen-unknown")
        assert response.status_code == status
        strictly(getattr(errors, f"{_CHAT_ERRORS[status].__name__}Data"), response.json())


class Broken:
    def respond(self, request: dict[str, Any]) -> ModelTurn:
        raise RuntimeError("the scripted model failed")


def test_the_fakes_own_refusals_conform(server: FakeOpenRouter) -> None:
    """Bad requests, unknown routes and a failing scripted model: OpenRouter's error body too."""
    only_one = {MODEL: DEFAULT_PRICING[MODEL]}  # no "*" fallback price: other ids are unknown
    with FakeOpenRouter(ToolsThenText(), api_key=KEY,
                        options=FakeOptions(pricing=only_one)) as strict_fake:
        with pytest.raises(errors.BadRequestResponseError) as caught:
            sdk(strict_fake).chat.send(model="no/such-model", messages=MESSAGES)
    strictly(errors.BadRequestResponseErrorData, json.loads(caught.value.body or ""))
    refusals = [post(server, messages=[]), get(server, "no-such-route"),
                get(server, "generation")]  # no id
    assert [r.status_code for r in refusals] == [400, 404, 400]
    for response in refusals:
        strictly(errors.BadRequestResponseErrorData, response.json())
    with FakeOpenRouter(Broken(), api_key=KEY) as broken:
        with pytest.raises(errors.InternalServerResponseError) as failed:
            sdk(broken).chat.send(model=MODEL, messages=MESSAGES)
    strictly(errors.InternalServerResponseErrorData, json.loads(failed.value.body or ""))


def test_credit_limit_402_conforms() -> None:
    with FakeOpenRouter(ToolsThenText(), api_key=KEY, options=FakeOptions(credit_usd=1e-9)) as fake:
        with pytest.raises(errors.PaymentRequiredResponseError) as caught:
            sdk(fake).chat.send(model=MODEL, messages=MESSAGES)
    strictly(errors.PaymentRequiredResponseErrorData, json.loads(caught.value.body or ""))


@pytest.mark.parametrize("status", [429, 502, 503, 529])
def test_error_inside_a_200_conforms(server: FakeOpenRouter, status: int) -> None:
    server.faults.add(Fault(status=status, error_in_200=True))
    body = post(server, messages=MESSAGES).json()
    strictly(components.ChatResult, body)
    error = strictly(components.ChatStreamChunkError, body["error"])  # the schema's error object
    assert error.code == status and error.metadata is not None
    server.faults.add(Fault(status=status, error_in_200=True))
    chunks = list(sdk(server).chat.send(model=MODEL, messages=MESSAGES, stream=True))
    last = chunks[-1]
    assert last.error is not None and last.error.code == status
    assert last.choices[0].finish_reason == "error"
    assert last.error.metadata.error_type == default_error_body(status)["error"].get(
        "metadata", {}).get("error_type", "server")
    server.faults.add(Fault(status=status, error_in_200=True))
    for payload in sse_payloads(post(server, messages=MESSAGES, stream=True)):
        strictly(components.ChatStreamChunk, payload)


def test_empty_answer_conforms(server: FakeOpenRouter) -> None:
    server.faults.add(Fault(empty_response=True))
    result = strictly(components.ChatResult, post(server, messages=MESSAGES).json())
    assert result.choices[0].message.content == "" and result.usage.cost > 0


def test_malformed_bodies_are_what_the_sdk_rejects(server: FakeOpenRouter) -> None:
    """The one scripted answer that must not conform: a body cut off mid-way."""
    server.faults.add(Fault(malformed_body=True))
    with pytest.raises(errors.ResponseValidationError):
        sdk(server).chat.send(model=MODEL, messages=MESSAGES)
