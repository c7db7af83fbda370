"""What comes back over the wire: completions (streamed or not) and failures, as our own types.

:class:`ResponseReader` turns the ``openai`` SDK's responses and exceptions into a
:class:`Completion`, or an :class:`AttemptFailed` carrying the user-facing :class:`LLMError`,
whether it may be retried, and any ``Retry-After``. It knows OpenRouter's quirks: usage in a
final stream chunk whose ``choices`` is empty, errors delivered inside a 200 (as a body field or
a mid-stream chunk), and error bodies with ``metadata.error_type``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tech_writer.errors import (
    AuthenticationError,
    InsufficientCreditsError,
    LLMError,
    ProviderUnavailableError,
    RequestRejectedError,
    ResponseError,
)
from tech_writer.llm.availability import Availability, read_availability
from tech_writer.llm.retry import RetryPolicy, parse_retry_after
from tech_writer.llm.server_figures import valid_cost, valid_tokens
from tech_writer.secrets import SecretMask
from telemetry.usage import UsageStats

log = logging.getLogger("tech_writer.llm")

__all__ = ["AttemptFailed", "Completion", "ResponseReader", "merge_reasoning_detail", "read_usage"]

PROVIDER_TITLES = {"openrouter": "OpenRouter", "openai": "OpenAI", "demo": "the demo model",
                   "local": "the local server"}
KEY_HINTS = {"openrouter": "check OPENROUTER_API_KEY or --openrouter-key",
             "local": "set LOCAL_API_KEY to the key the server was started with"}


@dataclass
class Completion:
    """One successful response, streamed or not, reduced to what the pipeline needs."""

    generation_id: str | None
    response_model: str | None
    content: str | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str | None
    usage: dict[str, Any] | None
    # A reasoning model's thinking: the text, and the blocks (some signed or encrypted) that must
    # go back unchanged with the assistant message that carried tool calls (OpenRouter's
    # "preserving reasoning blocks"; Gemini 3 and Anthropic answer 400 without them).
    reasoning: str | None = None
    reasoning_details: list[dict[str, Any]] | None = None


@dataclass
class AttemptFailed(Exception):
    error: LLMError
    status_code: int | None
    retry_after_s: float | None = None
    retryable: bool = False
    # The request reached the provider and may have been billed though no usable answer came
    # back (timeout, connection cut mid-answer, malformed 200, stream cut short).
    maybe_billed: bool = False


class ResponseReader:
    """Reads one provider's responses; ``api_key`` is only used to mask it out of messages."""

    def __init__(self, provider: str, retry: RetryPolicy, api_key: str | None,
                 server_address: str | None) -> None:
        self.provider = provider
        self.who = PROVIDER_TITLES[provider]
        self.retry = retry
        self._mask = SecretMask([api_key])
        self._server_address = server_address

    def send_once(self, client: Any, request: dict[str, Any], stream: bool) -> Completion:
        import openai

        try:
            if stream:
                return self.read_stream(client.chat.completions.create(**request, stream=True))
            response = client.chat.completions.create(**request)
            return self.read_response(response)
        except openai.APIStatusError as exc:
            raise self.status_failure(exc.status_code, exc.body, exc.response.headers) from None
        except openai.APITimeoutError:
            raise AttemptFailed(ProviderUnavailableError(
                f"{self.who} did not answer in time", error_type="timeout"), None,
                retryable=True, maybe_billed=True) from None
        except openai.APIConnectionError as exc:
            import httpx

            # Refused before anything was sent: certainly not billed. Cut later: perhaps.
            never_sent = isinstance(exc.__cause__, httpx.ConnectError)
            raise AttemptFailed(ProviderUnavailableError(
                f"could not connect to {self.who} at {self._server_address}",
                error_type="connection_error"), None, retryable=True,
                maybe_billed=not never_sent) from None
        except openai.APIError as exc:
            # Raised by the SDK for an `error` object inside a 200 stream.
            raise self.body_failure(exc.body) from None
        except (ValueError, TypeError) as exc:  # malformed JSON body / unexpected shapes
            raise AttemptFailed(ResponseError(
                f"{self.who} sent a malformed response ({type(exc).__name__})",
                error_type="malformed_response"), None, retryable=True,
                maybe_billed=True) from None
        except Exception as exc:
            # Older openai SDKs (1.x) let an httpx error raised while a stream is read pass
            # unwrapped, e.g. the total deadline's ReadTimeout: the same failures as above.
            kind = _transport_failure(exc)
            if kind is None:
                raise
            if kind == "timeout":
                raise AttemptFailed(ProviderUnavailableError(
                    f"{self.who} did not answer in time", error_type="timeout"), None,
                    retryable=True, maybe_billed=True) from None
            raise AttemptFailed(ProviderUnavailableError(
                f"the connection to {self.who} at {self._server_address} broke",
                error_type="connection_error"), None, retryable=True,
                maybe_billed=True) from None

    def read_response(self, response: Any) -> Completion:
        if isinstance(response, (str, bytes)) or not hasattr(response, "choices"):
            raise ValueError("not a chat completion")
        extra = getattr(response, "model_extra", None) or {}
        if extra.get("error"):
            raise self.body_failure(extra["error"])
        if not response.choices:
            # A 200 is billed even when it carries nothing usable: counted, cost unknown.
            raise AttemptFailed(ResponseError(f"{self.who} returned no choices",
                                               error_type="empty_response"), None, retryable=True,
                                maybe_billed=True)
        choice = response.choices[0]
        message = choice.message
        tool_calls = [
            {"id": call.id, "type": "function",
             "function": {"name": call.function.name, "arguments": call.function.arguments or ""}}
            for call in (message.tool_calls or []) if getattr(call, "function", None) is not None
        ]
        details = [dict(item) for item in _field(message, "reasoning_details") or []
                   if isinstance(item, Mapping)]
        reasoning = _field(message, "reasoning")
        return Completion(
            generation_id=response.id or None,
            response_model=response.model or None,
            content=message.content,
            tool_calls=tool_calls,
            finish_reason=choice.finish_reason,
            usage=(response.usage.model_dump(warnings=False) if response.usage is not None
                   else None),
            reasoning=reasoning if isinstance(reasoning, str) and reasoning else None,
            reasoning_details=details or None,
        )

    def read_stream(self, stream: Any) -> Completion:
        content: list[str] = []
        reasoning: list[str] = []
        details: list[dict[str, Any]] = []
        calls: dict[int, dict[str, Any]] = {}
        generation_id = response_model = finish_reason = None
        usage: dict[str, Any] | None = None
        with stream:
            for chunk in stream:
                extra = getattr(chunk, "model_extra", None) or {}
                if extra.get("error"):
                    raise self.body_failure(extra["error"])
                generation_id = generation_id or chunk.id
                response_model = response_model or chunk.model
                if chunk.usage is not None:
                    usage = chunk.usage.model_dump()
                # The usage chunk has `choices: []`: never index it blindly.
                for choice in chunk.choices or []:
                    if choice.finish_reason == "error":
                        raise AttemptFailed(ResponseError(
                            f"{self.who} reported an error mid-stream",
                            error_type="stream_error"), None, retryable=True)
                    finish_reason = choice.finish_reason or finish_reason
                    delta = choice.delta
                    if delta is None:
                        continue
                    if delta.content:
                        content.append(delta.content)
                    text = _field(delta, "reasoning")
                    if isinstance(text, str) and text:
                        reasoning.append(text)
                    for item in _field(delta, "reasoning_details") or []:
                        if isinstance(item, Mapping):
                            merge_reasoning_detail(details, item)
                    for part in delta.tool_calls or []:
                        slot = calls.setdefault(part.index, {
                            "id": None, "type": "function",
                            "function": {"name": "", "arguments": ""}})
                        if part.id:
                            slot["id"] = part.id
                        if part.function is not None:
                            slot["function"]["name"] += part.function.name or ""
                            slot["function"]["arguments"] += part.function.arguments or ""
        if finish_reason is None:  # every complete stream ends with one: this was cut short
            raise AttemptFailed(ResponseError(f"the stream from {self.who} ended early",
                                              error_type="stream_truncated"), None,
                                retryable=True, maybe_billed=True)
        return Completion(generation_id, response_model, "".join(content) if content else None,
                          [calls[i] for i in sorted(calls)], finish_reason, usage,
                          reasoning="".join(reasoning) or None, reasoning_details=details or None)

    def body_failure(self, body: Any) -> AttemptFailed:
        error = body.get("error", body) if isinstance(body, dict) else {}
        error = error if isinstance(error, dict) else {}
        code = error.get("code")
        status = code if isinstance(code, int) else None
        failure = self.status_failure(status or 502, {"error": error}, {})
        failure.status_code = status
        return failure

    def status_failure(self, status: int, body: Any, headers: Mapping[str, str]) -> AttemptFailed:
        message, error_type = _error_details(body)
        message = self.redact(message)
        if status == 500 and _VALIDATION_ERROR.match(message):
            # llama-cpp-python's server answers a request it cannot read (a field it does not
            # know, a null it wants as a string) with a 500 carrying pydantic's validation
            # errors: a refusal, as FastAPI's own 422 would be. Retrying cannot help.
            refused = RequestRejectedError(
                f"{self.who} rejected the request (500, a validation error): {message}",
                status_code=422, error_type="validation_error")
            return AttemptFailed(refused, status, None, retryable=False)
        retry_after = parse_retry_after(headers.get("retry-after") if headers else None)
        availability = read_availability(body)
        if availability is not None and status not in (401, 402):
            return self._availability_failure(status, message, availability, retry_after)
        who = self.who
        error: LLMError
        if status == 401:
            hint = KEY_HINTS.get(self.provider, "check OPENAI_API_KEY")
            error = AuthenticationError(f"{who} rejected the API key (401): {hint}",
                                        status_code=401, error_type="401")
        elif status == 402:
            error = InsufficientCreditsError(
                f"{who} refused the request for lack of credits (402): add credits at "
                "https://openrouter.ai/settings/credits or raise the key's spend limit",
                status_code=402, error_type="402")
        elif self.retry.is_retryable(status):
            error = ProviderUnavailableError(
                f"{who} answered {status}: {message}", status_code=status,
                error_type=error_type or str(status))
        else:
            if status == 404 and "no endpoints found" in message.lower():
                # An answer without error.availability (older OpenRouter, other gateways):
                # provider.require_parameters left no provider that honours all it was sent.
                message += (" (no provider of this model supports every parameter the run "
                            "needs: try another --model, or leave out --reasoning)")
            error = RequestRejectedError(f"{who} rejected the request ({status}): {message}",
                                         status_code=status, error_type=error_type or str(status))
        return AttemptFailed(error, status, retry_after, retryable=self.retry.is_retryable(status))

    def _availability_failure(self, status: int, message: str, availability: Availability,
                              retry_after: float | None) -> AttemptFailed:
        """A routing failure OpenRouter described with ``error.availability``: its code says
        what happened and ``retryable`` whether asking again can help (not the status, not the
        message's wording)."""
        text = f"{self.who} could not serve the model ({status}): {message} — {availability.advice()}"
        error: LLMError
        if availability.retryable:
            error = ProviderUnavailableError(text, status_code=status,
                                             error_type=availability.code)
        else:
            error = RequestRejectedError(text, status_code=status, error_type=availability.code)
        wait = retry_after if retry_after is not None else availability.retry_after_s
        return AttemptFailed(error, status, wait, retryable=availability.retryable)

    def redact(self, text: str) -> str:
        return self._mask(text)


def read_usage(usage: Mapping[str, Any] | None, generation_id: str | None, *,
               read_cost: bool) -> UsageStats:
    """The usage record of one answer, from its OpenRouter/OpenAI ``usage`` object (a plain
    dict; None or empty when the answer carried none). ``read_cost``: take ``usage.cost``."""
    usage = usage or {}
    # A count that cannot be one (NaN, negative, fractional) makes the usage unknown, as none.
    missing = not usage or any(valid_tokens(usage.get(name)) is None
                               for name in ("prompt_tokens", "completion_tokens"))
    prompt_details = _mapping(usage.get("prompt_tokens_details"))
    completion_details = _mapping(usage.get("completion_tokens_details"))
    cost_details = _mapping(usage.get("cost_details"))
    prompt = _int(usage.get("prompt_tokens"))
    completion = _int(usage.get("completion_tokens"))
    is_byok = bool(usage.get("is_byok"))
    stats = UsageStats(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=_int(usage.get("total_tokens")) or prompt + completion,
        cached_tokens=_int(prompt_details.get("cached_tokens")),
        cache_write_tokens=_int(prompt_details.get("cache_write_tokens")),
        reasoning_tokens=_int(completion_details.get("reasoning_tokens")),
        is_byok=is_byok,
        # Only BYOK calls bill the user upstream: otherwise the field (when a number) is what
        # OpenRouter paid its provider, already inside `cost`, and must not be added to it.
        upstream_cost_usd=_float(cost_details.get("upstream_inference_cost")) if is_byok
        else None,
        generation_id=generation_id,
        usage_missing=missing,
    )
    if read_cost:
        stats.cost_usd = _float(usage.get("cost"))
        stats.cost_source = "inline" if stats.cost_usd is not None else None
        if stats.cost_usd is None and usage.get("cost") is not None:
            log.warning("the answer's usage.cost %s cannot be a call's cost: it is treated as "
                        "unknown", str(usage.get("cost"))[:40])
    return stats


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int:
    """A token count from the server; 0 when it cannot be one (see ``server_figures``)."""
    return valid_tokens(value) or 0


def _float(value: Any) -> float | None:
    """A cost from the server; None (unknown) when it cannot be one (see ``server_figures``)."""
    cost = valid_cost(value)
    return None if cost is None else float(cost)


_DETAIL_TEXT_FIELDS = ("text", "summary", "data")
_VALIDATION_ERROR = re.compile(r"\d+ validation errors?\b")


def merge_reasoning_detail(details: list[dict[str, Any]], item: Mapping[str, Any]) -> None:
    """Add one streamed ``reasoning_details`` item: pieces of one block share an ``index`` (their
    text, summary or encrypted data arrive in parts; the signature comes with a later part)."""
    index = item.get("index")
    block = next((d for d in details if isinstance(index, int) and d.get("index") == index), None)
    if block is None:
        details.append(dict(item))
        return
    for key, value in item.items():
        if key in _DETAIL_TEXT_FIELDS and isinstance(value, str) and isinstance(block.get(key), str):
            block[key] += value
        elif value is not None:
            block[key] = value


def _field(obj: Any, name: str) -> Any:
    """A field of an SDK object, declared (newer SDKs) or kept as an extra (older ones)."""
    value = getattr(obj, name, None)
    if value is None:
        value = (getattr(obj, "model_extra", None) or {}).get(name)
    return value


def _upstream_message(raw: Any) -> str | None:
    """The provider's own message from OpenRouter's ``metadata.raw`` (its error body as JSON text,
    or plain text), if any."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return " ".join(raw.split())
    inner = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
    message = inner.get("message") if isinstance(inner, dict) else inner
    return " ".join(str(message).split()) if isinstance(message, str) and message.strip() else None


def _error_details(body: Any) -> tuple[str, str | None]:
    """Message and ``metadata.error_type`` from an OpenRouter/OpenAI error body; the message on
    one line (llama-cpp-python's server sends a validation error over many), at most 300 chars."""
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        message = _one_line(str(error.get("message") or "no message"))
        metadata = error.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        upstream = _upstream_message(metadata.get("raw"))
        if upstream and upstream not in message:
            # "Provider returned error" alone says nothing; the provider's words say what to fix.
            message = f"{message}: {upstream}"
        error_type = metadata.get("error_type")
        return message[:300], (str(error_type) if error_type else None)
    if isinstance(error, str):
        return _one_line(error)[:300], None
    return "no message", None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _transport_failure(exc: BaseException) -> str | None:
    """``"timeout"`` or ``"transport"`` for an error of httpx (or the copy the openai SDK 3
    ships, ``httpx2``: the same class names), else None."""
    names = {(cls.__module__.split(".")[0], cls.__name__) for cls in type(exc).__mro__}
    if not any(module in ("httpx", "httpx2") for module, _ in names):
        return None
    if any(name == "TimeoutException" for _, name in names):
        return "timeout"
    return "transport" if any(name == "TransportError" for _, name in names) else None
