"""``LLMClient``: the one door every LLM call of a run goes through.

It speaks to OpenAI or OpenRouter through the ``openai`` SDK, retries what is worth retrying, reads
OpenRouter's usage accounting (``usage.cost``) from each completion, falls back to a background
``/generation`` look-up when a completion carries no cost, and wraps every call in a GenAI ``chat``
span. The run's cost summary is not kept here: the telemetry layer's cost span processor sums the
spans, so the JSON, the spans and the metrics can never disagree.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tech_writer.errors import LLMError
from tech_writer.llm.broadcast import trace_object
from tech_writer.llm.budget import Budget
from tech_writer.llm.capabilities import (
    Capabilities,
    fit_request,
    needs_capabilities,
    parse_capabilities,
)
from tech_writer.llm.compat import for_local_server
from tech_writer.llm.cost_lookup import CostLookups, GenerationCost
from tech_writer.llm.deadline import for_http_module
from tech_writer.llm.key_limits import KeyLimits, fetch_key_limits, key_limit_problem
from tech_writer.llm.limiter import AdaptiveLimiter
from tech_writer.llm.openrouter_request import (
    attribution_headers,
    current_phase,
    larger_cap_for,
    output_caps,
    reasoning_field,
)
from tech_writer.llm.output_cap import OutputCaps
from tech_writer.llm.pricing import ModelPricing, fetch_model_entry, parse_pricing
from tech_writer.llm.providers import NO_KEY, ProviderConfig, resolve_api_key
from tech_writer.llm.settings import APP_NAME, APP_URL, MAX_SESSION_ID_CHARS, ClientSettings
from tech_writer.llm.wire import AttemptFailed, Completion, ResponseReader, read_usage
from telemetry import attributes as attrs
from telemetry.usage import UsageStats

if TYPE_CHECKING:
    from openai import OpenAI

    from tech_writer.demo import FakeOpenRouter
    from telemetry import ChatInvocation, CostSummary, Telemetry, TokenPrices

__all__ = [
    "APP_NAME", "APP_URL", "MAX_SESSION_ID_CHARS", "PHASES", "ClientSettings", "LLMClient",
    "UsageStats", "cost_summary_document",
]

log = logging.getLogger("tech_writer.llm")

PHASES = ("exploration", "outline", "sections")
OPENAI_BASE_URL = "https://api.openai.com/v1"
# Models whose prompt caching needs explicit cache_control breakpoints (see OpenRouter's docs).
CACHE_CONTROL_MODELS = ("anthropic/", "google/gemini")


_BREAKPOINT = {"type": "ephemeral"}


def _as_plain_text(message: Any) -> Any:
    """The message with text-only content parts joined into one string; anything else as is."""
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list) or not content or not all(
            isinstance(part, dict) and part.get("type") == "text" for part in content):
        return message
    return {**message, "content": "\n\n".join(str(part.get("text", "")) for part in content)}


def _with_breakpoints(content: Any) -> Any:
    """Text content with a cache breakpoint at its end, and after its first part when it has
    several; anything else unchanged."""
    if isinstance(content, str):
        return [{"type": "text", "text": content, "cache_control": _BREAKPOINT}]
    if not isinstance(content, list) or not content or not all(
            isinstance(part, dict) and part.get("type") == "text" for part in content):
        return content
    marked = [dict(part) for part in content]
    for index in {0, len(marked) - 1}:
        marked[index]["cache_control"] = _BREAKPOINT
    return marked


class LLMClient:
    """Sends chat requests; returns ``(message_dict, UsageStats)``.

    ``provider`` is ``"openai"``, ``"openrouter"``, ``"demo"`` (the built-in scripted model on
    a loopback server; costs are simulated) or ``"local"`` (any OpenAI-compatible server at
    ``base_url``; it bills nothing, so each call's cost is a known $0). ``track_cost`` defaults
    to on for OpenRouter, demo and local.
    ``session_id`` is sent to OpenRouter (and demo) only: OpenAI rejects fields it does not know.
    """

    def __init__(
        self,
        model: str | None = None,
        provider: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        track_cost: bool | None = None,
        app_name: str | None = None,
        app_url: str | None = None,
        *,
        telemetry: Telemetry | None = None,
        environ: Mapping[str, str] | None = None,
        settings: ClientSettings | None = None,
        **options: Any,
    ) -> None:
        """``settings`` whole, or the seed's arguments and :class:`ClientSettings` fields as
        keywords (``timeout_s=``, ``retry=``, ...); arguments given are laid over ``settings``.
        ``provider`` left out is ``settings``' provider (``"openai"`` by default)."""
        given = {"model": model, "provider": provider, "api_key": api_key, "base_url": base_url,
                 "track_cost": track_cost, "app_name": app_name, "app_url": app_url}
        self.settings = settings = ClientSettings.of(settings, {
            **{name: value for name, value in given.items() if value is not None}, **options})
        self.config: ProviderConfig = settings.config
        self.provider, self.model = settings.provider, settings.model_name
        self.track_cost, self.stream, self.retry = settings.tracks_cost, settings.stream, settings.retry
        self.simulated = settings.provider == "demo"
        # OpenRouter's sticky-routing key (prompt-cache hits; the dashboards group by it): one
        # per client, so one per run, unless the settings name one.
        self.session_id = settings.session_id or uuid.uuid4().hex
        self._api_key = resolve_api_key(self.config, settings.api_key, environ)
        self._connect(settings)
        self._owns_telemetry = telemetry is None
        self.telemetry = telemetry if telemetry is not None else _private_telemetry()
        self._lookups = (CostLookups(self.base_url, self._api_key, policy=settings.lookup)
                         if self.track_cost and self.config.openrouter_dialect else None)
        self.limiter = AdaptiveLimiter(settings.max_in_flight)
        self.budget = (Budget(settings.max_cost_usd, self.model_pricing)
                       if settings.max_cost_usd is not None else None)
        self._stop, self._call_keys = threading.Event(), itertools.count()
        self._sending: dict[int, ChatInvocation] = {}  # calls whose request is on the wire
        self._sending_lock, self._models_lock = threading.Lock(), threading.Lock()
        self._models_entry: Mapping[str, Any] | None = None
        self._models_fetched = False
        self._reasoning_warned: list[str] = []  # the effort ignored once, with a warning
        self._capabilities: Capabilities | None = None

    def _connect(self, settings: ClientSettings) -> None:
        """The address (the demo's own loopback server when it has none), the SDK client and
        the response reader."""
        self._demo_server = (self._start_demo_server()
                             if self.simulated and settings.base_url is None else None)
        self.base_url = (self._demo_server.base_url if self._demo_server is not None else
                         settings.base_url or self.config.default_base_url or OPENAI_BASE_URL
                         ).rstrip("/")
        self._client = self._open_sdk_client(settings.app_name, settings.app_url,
                                             settings.timeout_s)
        self._server_address, self._server_port = _server_of(self.base_url)
        self._reader = ResponseReader(self.provider, self.retry, self._api_key,
                                      self._server_address)

    @staticmethod
    def _start_demo_server() -> FakeOpenRouter:
        from tech_writer.demo import FakeOpenRouter

        server = FakeOpenRouter()
        server.start()
        return server

    def _open_sdk_client(self, app_name: str, app_url: str, timeout_s: float) -> OpenAI:
        headers: dict[str, str] = {}
        if self.config.openrouter_dialect:  # attribution on OpenRouter's dashboards
            headers = attribution_headers(app_name, app_url)
        from openai import DefaultHttpxClient, OpenAI

        # Every exchange ends within timeout_s in all (connect, send, the whole body or
        # stream), not only each read: a trickling server cannot hold a call. Built on the
        # httpx the SDK uses (openai 3 ships its own copy).
        http = importlib.import_module(DefaultHttpxClient.__mro__[1].__module__.split(".")[0])
        self._transport = for_http_module(http).transport(timeout_s)
        return OpenAI(
            api_key=self._api_key,
            base_url=self.base_url,
            default_headers=headers,
            max_retries=0,  # our RetryPolicy retries, so every attempt shows on the span
            timeout=timeout_s,
            http_client=DefaultHttpxClient(transport=self._transport, timeout=timeout_s),
        )

    # --- public API ----------------------------------------------------------------------------
    def chat(self, messages: Sequence[Mapping[str, Any]],
             tools: Sequence[Mapping[str, Any]] | None = None,
             **kwargs: Any) -> tuple[dict[str, Any], UsageStats]:
        """Send one chat request (retrying as the policy allows); return the reply and its usage.

        The reply is ``{"role": "assistant", "content": str | None, "tool_calls": [...],
        "finish_reason": str | None}``; ``tool_calls`` use the OpenAI wire shape.
        Extra keyword arguments (``response_format``, ``tool_choice``, ``temperature``, ``stream``)
        are passed through.
        """
        reply, usage = self._budgeted_chat(messages, tools, dict(kwargs))
        caps = self.output_caps()
        cap = self._cap_for(kwargs)
        larger = larger_cap_for(reply, kwargs, cap, caps.model_max if caps else None)
        if larger is None:
            return reply, usage
        # Cut at the cap: tool calls cut mid-arguments or a structured answer are useless in
        # part. Asked once more with a larger cap; a text answer is left to its caller.
        log.warning("the answer was cut off at %d tokens (finish_reason \"length\"): asking "
                    "again with max_completion_tokens %d", cap, larger)
        again, more = self._budgeted_chat(messages, tools, {**kwargs,
                                                            "max_completion_tokens": larger})
        return again, usage.plus(more)

    def _budgeted_chat(self, messages: Sequence[Mapping[str, Any]],
                       tools: Sequence[Mapping[str, Any]] | None, kwargs: dict[str, Any]
                       ) -> tuple[dict[str, Any], UsageStats]:
        if self._stop.is_set():
            raise LLMError("the run is stopping: no new LLM calls", error_type="cancelled")
        key = next(self._call_keys)
        if self.budget is not None:
            self.budget.reserve(key, messages, tools, self.telemetry.cost.summary().total.cost_usd,
                                completion_tokens=self._cap_for(kwargs))
        try:
            return self._chat(key, messages, tools, **kwargs)
        except BaseException:
            if self.budget is not None:
                self.budget.release(key)
            raise

    def _cap_for(self, kwargs: Mapping[str, Any]) -> int | None:
        """The ``max_completion_tokens`` a call will be sent with (None: no cap is sent)."""
        explicit = kwargs.get("max_completion_tokens")
        if isinstance(explicit, int):
            return explicit
        caps = self.output_caps()
        return caps.for_phase(current_phase()) if caps is not None else None

    def _chat(self, key: int, messages: Sequence[Mapping[str, Any]],
              tools: Sequence[Mapping[str, Any]] | None, **kwargs: Any
              ) -> tuple[dict[str, Any], UsageStats]:
        stream = bool(kwargs.pop("stream", self.stream))
        prices = self._split_prices()  # before the span: no call's duration includes /models
        if tools or needs_capabilities(kwargs) or self.settings.reasoning is not None:
            self.capabilities()  # likewise: the /models entry is read before the span starts
        chat = self.telemetry.start_chat(
            self.model, self._telemetry_provider, server_address=self._server_address,
            server_port=self._server_port, input_messages=list(messages),
            request_attributes=None, simulated=self.simulated)
        started = time.monotonic()
        try:
            request = self._request(messages, tools, kwargs, stream, chat)
            completion = self._send_with_retries(key, request, stream, chat)
        except BaseException as exc:
            # Cut off while its request was on the wire (Ctrl-C, abort): the provider may have
            # billed it, so it counts as a call of unknown cost and the summary is incomplete.
            maybe_billed = self._sending_done(key)
            extra = {attrs.COST_MAYBE_BILLED: True} if maybe_billed else None
            chat.fail(exc, error_type=getattr(exc, "error_type", None), attributes=extra)
            raise
        return self._answered(key, chat, completion, started, prices)

    def _request(self, messages: Sequence[Mapping[str, Any]],
                 tools: Sequence[Mapping[str, Any]] | None, kwargs: dict[str, Any],
                 stream: bool = False, chat: ChatInvocation | None = None) -> dict[str, Any]:
        """The chat completion request: the SDK's keywords, OpenRouter's fields in ``extra_body``
        (see :mod:`tech_writer.llm.openrouter_request`)."""
        request: dict[str, Any] = {"model": self.model, "messages": self._cacheable(messages),
                                   **kwargs}
        if tools:
            request["tools"] = list(tools)
        self._fit_to_model(request)
        if self.provider == "local":
            for_local_server(request)
        if stream and not self.config.openrouter_dialect:
            # OpenAI and most OpenAI-compatible servers put usage in the final chunk only when
            # asked (OpenRouter always does).
            request["stream_options"] = {"include_usage": True}
        if self.config.openrouter_dialect:
            self._add_openrouter_fields(request, chat)
        return request

    def _add_openrouter_fields(self, request: dict[str, Any], chat: ChatInvocation | None) -> None:
        caps = self.output_caps()
        phase = chat.phase if chat is not None else current_phase()
        if caps is not None and "max_completion_tokens" not in request:
            request["max_completion_tokens"] = caps.for_phase(phase)
        fields: dict[str, Any] = {"session_id": self.session_id}
        if "tools" in request or "response_format" in request:
            # The pipeline depends on these: route only to providers that honour every
            # parameter sent, rather than to one that silently ignores them.
            fields["provider"] = {"require_parameters": True}
        if self.settings.reasoning is not None:
            reasoning = reasoning_field(self.capabilities(), self.settings.reasoning,
                                        self._reasoning_warned)
            if reasoning is not None:
                fields["reasoning"] = reasoning
        if chat is not None and self.telemetry.exporting:
            broadcast = trace_object(chat.span_context, model=self.model, phase=phase)
            if broadcast is not None:
                fields["trace"] = broadcast
        request["extra_body"] = {**request.get("extra_body", {}), **fields}

    def output_caps(self) -> OutputCaps | None:
        """The answer caps of this client's calls (``max_completion_tokens`` per phase, within
        the model's maximum): OpenRouter and the demo only (None elsewhere). The model's maximum
        and default effort come from ``/models`` once the capabilities are known (a run reads
        them before its first call); a plain chat does not read ``/models`` for them."""
        if not self.config.openrouter_dialect:
            return None
        known = self._capabilities if self._capabilities is not None else Capabilities(self.model)
        return output_caps(known, self.settings.reasoning)

    def key_limits(self) -> KeyLimits | None:
        """What the API key may still spend (``GET /key``); None when unknown or not
        OpenRouter."""
        if not self.config.openrouter_dialect or self._api_key == NO_KEY:
            return None
        return fetch_key_limits(self.base_url, self._api_key)

    def key_limit_problem(self) -> str | None:
        """Why this key cannot pay for a single call of the run (one line), or None: what its
        ``/key`` limit has left against the price of the smallest answer cap (an answer alone:
        the check never refuses a run that could make a call)."""
        self.capabilities()
        caps, pricing = self.output_caps(), self.model_pricing()
        if caps is None or pricing is None or not self.track_cost:
            return None
        smallest_cap = min(caps.for_phase(phase) for phase in PHASES)
        return key_limit_problem(self.key_limits(),
                                 smallest_cap * pricing.completion_usd_per_token,
                                 self.settings.max_cost_usd)

    def _fit_to_model(self, request: dict[str, Any]) -> None:
        if needs_capabilities(request):
            for name in fit_request(request, self.capabilities()):
                log.debug("%s does not support %s: left out of the request", self.model, name)

    def _answered(self, key: int, chat: ChatInvocation, completion: Completion, started: float,
                  prices: TokenPrices | None) -> tuple[dict[str, Any], UsageStats]:
        """Account for an answered call: its usage, its span, and its cost now or once looked up."""
        usage = read_usage(completion.usage, completion.generation_id, read_cost=self.track_cost)
        if self.track_cost and self.config.cost_known_zero:
            usage.cost_usd, usage.cost_source = 0.0, "free"  # nothing billed: known, not unknown
        if usage.usage_missing:
            log.warning("LLM call %s came back without token usage: its tokens are not counted",
                        completion.generation_id or "(no id)")
        pending = (self.track_cost and usage.cost_usd is None and self._lookups is not None
                   and completion.generation_id is not None)
        reply: dict[str, Any] = {"role": "assistant", "content": completion.content,
                                 "tool_calls": completion.tool_calls,
                                 "finish_reason": completion.finish_reason}
        if completion.reasoning is not None:
            reply["reasoning"] = completion.reasoning
        if completion.reasoning_details is not None:
            reply["reasoning_details"] = completion.reasoning_details
        self._stop_span(chat, completion, usage, pending, reply, prices)
        log.debug("LLM call %s: %d prompt + %d completion tokens, cost %s (%s) in %.2fs",
                  completion.generation_id, usage.prompt_tokens, usage.completion_tokens,
                  "pending" if pending else _money(usage.cost_usd), usage.cost_source or "-",
                  time.monotonic() - started)
        if self.budget is not None:
            self._budget_answered(key, usage, completion.generation_id)
        if pending:
            assert self._lookups is not None and completion.generation_id is not None
            self._lookups.submit(completion.generation_id, self._settler(chat, usage, key))
            return reply, usage
        if self.track_cost and usage.cost_usd is None:
            log.warning("LLM call %s came back without a cost: the run's cost summary will be "
                        "marked incomplete", completion.generation_id or "(no id)")
        return reply, usage

    def settle(self, timeout_s: float | None = None) -> bool:
        """Wait for background cost look-ups; ``True`` when none is left pending."""
        return self._lookups.wait(timeout_s) if self._lookups else True

    def cost_summary(self, *, settle: bool = True) -> CostSummary:
        """The run's cost so far, from the cost span processor (settling look-ups first)."""
        if settle:
            self.settle()
        return self.telemetry.cost.summary()

    def get_cost_summary(self, *, settle: bool = True) -> dict[str, Any]:
        """The run's cost so far, as printed in ``--eval-json`` (settling look-ups first)."""
        return cost_summary_document(self.cost_summary(settle=settle), simulated=self.simulated,
                                     provider=self.provider, model=self.model)

    def request_stop(self) -> None:
        """Refuse new calls from now on and cut retry waits short (budget, fatal errors)."""
        self._stop.set()

    def abort(self, grace_s: float = 2.0) -> None:
        """Ctrl-C / SIGTERM: no new calls, in-flight requests cut, look-ups given ``grace_s``."""
        self._stop.set()
        with self._sending_lock:
            cut_off = list(self._sending.items())
            self._sending.clear()
        for _key, chat in cut_off:
            # Their threads may never come back (they are abandoned at exit): end their spans
            # now, as possibly billed, so the cost summary knows it is incomplete.
            chat.fail(LLMError("interrupted"), error_type="cancelled",
                      attributes={attrs.COST_MAYBE_BILLED: True})
        self._transport.abort()  # every request in flight ends now: no thread stays blocked
        self._client.close()
        if self._lookups is not None and not self._lookups.wait(grace_s):
            self._lookups.cancel()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def model_pricing(self) -> ModelPricing | None:
        """The model's list prices from ``/models`` (fetched once, with the capabilities): for
        estimates, and for the input/output split of billed costs on exported spans; never for
        a cost itself."""
        entry = self._model_entry()
        return None if entry is None else parse_pricing(self.model, entry)

    def capabilities(self) -> Capabilities:
        """What the model supports: from ``/models`` on OpenRouter (the same one request as the
        prices), from the flags for a local server; plain OpenAI models support everything the
        pipeline uses, as does a model whose entry could not be read (nothing is left out)."""
        if self._capabilities is None:  # a race only computes the same value twice
            self._capabilities = self._find_capabilities()
        return self._capabilities

    def _find_capabilities(self) -> Capabilities:
        settings = self.settings
        if self.provider == "local":
            return Capabilities.local(self.model, structured_output=settings.structured_output,
                                      parallel_tools=settings.parallel_tools)
        entry = self._model_entry() if self.config.openrouter_dialect else None
        found = (parse_capabilities(self.model, entry) if entry is not None
                 else Capabilities(self.model))
        return found.restricted(structured_output=settings.structured_output,
                                parallel_tools=settings.parallel_tools)

    def _model_entry(self) -> Mapping[str, Any] | None:
        """The model's ``/models`` entry, fetched at most once per client (thread-safe)."""
        with self._models_lock:
            if not self._models_fetched:
                self._models_entry = fetch_model_entry(self.base_url, self.model,
                                                       api_key=self._api_key)
                self._models_fetched = True
            return self._models_entry

    def close(self) -> None:
        if self._lookups is not None:
            if not self._stop.is_set():  # after an abort, look-ups already had their grace
                self.settle()
            self._lookups.close()
        self._client.close()
        if self._demo_server is not None:
            self._demo_server.stop()
        if self._owns_telemetry:
            self.telemetry.shutdown()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def api_key_for_masking(self) -> str | None:
        """The key in use, so that other components can mask it (never log or send it)."""
        return None if self.simulated or self._api_key == NO_KEY else self._api_key

    # --- internals -----------------------------------------------------------------------------
    @property
    def _telemetry_provider(self) -> str:
        # gen_ai.provider.name: the demo speaks OpenRouter's protocol; spans say so and carry
        # tech_writer.cost.simulated=true. A local server is named as such (its address is on
        # the span as server.address / server.port).
        return self.provider if self.provider in ("openai", "local") else "openrouter"

    def _cacheable(self, messages: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Add prompt-cache breakpoints for models that need them explicitly.

        OpenAI, DeepSeek, Gemini 2.5 (implicit) and others cache a stable prefix by themselves.
        Anthropic and Gemini on OpenRouter cache only up to a ``cache_control`` breakpoint: one
        goes on the system prompt (tools + system, identical on every call of a phase) and one on
        the first user message (the task, identical on every call of a loop). A first user message
        sent as text parts gets one more, after its first part: that part is shared by several
        conversations (the exploration's plan and explorers), which then share its cache. Four
        breakpoints at most, as Anthropic allows. The history itself is not changed: breakpoints
        are added to copies.
        """
        if not self.config.openrouter_dialect:
            # Local servers' chat templates often render content as a string only (SmolLM2's
            # GGUF template fails with "can only concatenate str (not list)"); the parts were
            # only there to place OpenRouter's cache breakpoints.
            return [_as_plain_text(message) for message in messages]
        if not self.model.startswith(CACHE_CONTROL_MODELS):
            return list(messages)
        prepared: list[Any] = []
        marked = set()
        for message in messages:
            role = message.get("role")
            content = message.get("content")
            if role in ("system", "user") and role not in marked:
                marked.add(role)
                message = {**message, "content": _with_breakpoints(content)}
            prepared.append(message)
        return prepared

    def _stop_span(self, chat: ChatInvocation, completion: Completion, usage: UsageStats,
                   pending: bool, reply: dict[str, Any], prices: TokenPrices | None) -> None:
        from telemetry import ChatAnswer

        chat.stop(ChatAnswer(
            usage, completion.response_model,
            finish_reasons=[completion.finish_reason] if completion.finish_reason else [],
            cost_pending=pending,
            simulated=self.simulated,
            output_messages=[reply],
            prices=prices,
        ))

    def _split_prices(self) -> TokenPrices | None:
        """List prices for the spans' input/output split of a billed cost (MLflow and Phoenix
        show the two shares): only when costs are tracked and spans leave the process; fetched
        once per client."""
        if not (self.track_cost and self.config.openrouter_dialect and self.telemetry.exporting):
            return None
        pricing = self.model_pricing()
        if pricing is None:
            return None
        from telemetry import TokenPrices

        return TokenPrices(pricing.prompt_usd_per_token, pricing.completion_usd_per_token,
                           cache_read_usd_per_token=pricing.cache_read_usd_per_token,
                           cache_write_usd_per_token=pricing.cache_write_usd_per_token,
                           request_usd=pricing.request_usd)

    def _settler(self, chat: ChatInvocation, usage: UsageStats,
                 key: int) -> Callable[[GenerationCost], None]:
        def on_settled(result: GenerationCost) -> None:
            if result.cost_usd is not None:
                usage.cost_usd = result.cost_usd
                usage.cost_source = "generation"
                usage.cache_discount = result.cache_discount or 0.0
                if result.upstream_cost_usd is not None and usage.is_byok:  # see wire.read_usage
                    usage.upstream_cost_usd = result.upstream_cost_usd
            upstream = result.upstream_cost_usd if usage.is_byok else None
            self.telemetry.settle_cost(chat, cost_usd=result.cost_usd,
                                       upstream_cost_usd=upstream,
                                       lookup_attempts=result.attempts, error=result.error)
            if self.budget is not None and result.cost_usd is not None:
                self.budget.settle(key)  # the real figure is in the spend now
            elif self.budget is not None and self.budget.held_usd:
                log.warning("--max-cost: the cost of LLM call %s stays unknown; its estimate "
                            "stays counted against the budget", result.generation_id)
        return on_settled

    def _budget_answered(self, key: int, usage: UsageStats, generation_id: str | None) -> None:
        """A known cost is in the spend: the reservation goes. An unknown one (pending or for
        good) stays counted at an estimate from its own tokens until its figure arrives, so
        --max-cost stays a ceiling."""
        assert self.budget is not None
        if usage.cost_usd is not None:
            self.budget.release(key)
            return
        estimate = (None if usage.usage_missing else
                    self.budget.usage_estimate(usage.prompt_tokens, usage.completion_tokens))
        held = self.budget.hold(key, estimate, what=f"LLM call {generation_id or '(no id)'}")
        if held is not None:
            log.info("LLM call %s: cost not known yet; $%.6f (estimated) counted against "
                     "--max-cost until it is", generation_id or "(no id)", held)
        else:
            log.warning("--max-cost: the cost of LLM call %s is unknown and cannot be "
                        "estimated (no /models price): no further call is started",
                        generation_id or "(no id)")

    def _sending_done(self, key: int) -> bool:
        with self._sending_lock:
            return self._sending.pop(key, None) is not None

    def _send_with_retries(self, key: int, request: dict[str, Any], stream: bool,
                           chat: ChatInvocation) -> Completion:
        attempts = _Attempts()
        while True:
            attempts.number += 1
            if self._stop.is_set():
                raise LLMError("run stopped before this LLM call", error_type="cancelled")
            self.limiter.acquire()
            with self._sending_lock:
                self._sending[key] = chat
            try:
                completion = self._reader.send_once(self._client, request, stream)
            except AttemptFailed as failed:
                self.limiter.release(rate_limited=failed.status_code == 429)
                self._wait_to_retry(key, failed, attempts, chat)  # raises when it gives up
                continue
            except BaseException:
                self.limiter.release()
                raise
            self._sending_done(key)
            self.limiter.release()
            chat.record_attempt(attempts.number, status_code=200, error_type=None, wait_s=None)
            return completion

    def _wait_to_retry(self, key: int, failed: AttemptFailed, attempts: _Attempts,
                       chat: ChatInvocation) -> None:
        """After a failed attempt: wait as the policy says, or raise the error that ends the call."""
        if self._stop.is_set():  # aborted mid-request: no retry, no "retrying" line
            if failed.status_code is not None:
                self._sending_done(key)  # it was answered (with an error): not billed
            raise LLMError("the run was stopped during this LLM call",
                           error_type="cancelled") from None
        self._sending_done(key)
        if failed.maybe_billed:
            attempts.maybe_billed += 1
            chat.span.set_attribute(attrs.COST_MAYBE_BILLED_ATTEMPTS, attempts.maybe_billed)
        policy = self.retry
        wait = None
        if failed.retryable and attempts.number < policy.max_attempts:
            wait = policy.delay(attempts.number, failed.retry_after_s)
            if attempts.waited_s + wait > policy.max_total_wait_s:
                wait = None
        chat.record_attempt(attempts.number, status_code=failed.status_code,
                            error_type=failed.error.error_type, wait_s=wait)
        if wait is None:
            if failed.retryable and attempts.number > 1:
                raise type(failed.error)(
                    f"{failed.error.message} (gave up after {attempts.number} attempts)",
                    status_code=failed.status_code,
                    error_type=failed.error.error_type) from failed.error
            raise failed.error from None
        log.warning("%s; retrying in %.1fs (attempt %d of %d)", failed.error.message,
                    wait, attempts.number + 1, policy.max_attempts)
        if self._stop.wait(wait):
            raise LLMError("run stopped while waiting to retry",
                           error_type="cancelled") from None
        attempts.waited_s += wait


@dataclass
class _Attempts:
    """One call's attempts so far."""

    number: int = 0
    waited_s: float = 0.0
    maybe_billed: int = 0


def _server_of(base_url: str) -> tuple[str | None, int]:
    """server.address / server.port of the spans."""
    import httpx

    url = httpx.URL(base_url)
    return url.host or None, url.port or (443 if url.scheme == "https" else 80)


def _private_telemetry() -> Telemetry:
    from telemetry import Telemetry

    return Telemetry.from_env(environ={})  # in-process only: spans feed the cost sum


def cost_summary_document(cost_summary: CostSummary, *, simulated: bool, provider: str,
                          model: str) -> dict[str, Any]:
    """A cost summary as JSON, in the shape the seed documents for ``get_cost_summary()``."""
    total = cost_summary.total
    phases = {name: _phase_dict(cost_summary.phases.get(name)) for name in PHASES}
    for name, totals in cost_summary.phases.items():
        if name not in phases:
            phases[name] = _phase_dict(totals)
    return {
        "total_cost_usd": total.cost_usd,
        "total_tokens": total.total_tokens,
        "prompt_tokens": total.prompt_tokens,
        "completion_tokens": total.completion_tokens,
        "cached_tokens": total.cached_tokens,
        "reasoning_tokens": total.reasoning_tokens,
        "total_calls": total.calls,
        "calls_without_cost": total.calls_unknown_cost,
        "calls_without_usage": total.calls_without_usage,
        "complete": total.complete,
        "upstream_cost_usd": total.upstream_cost_usd,
        "total_spend_usd": total.total_spend_usd,
        "simulated": simulated,
        "provider": provider,
        "model": model,
        "phases": phases,
    }


def _phase_dict(totals: Any) -> dict[str, Any]:
    if totals is None:
        return {"cost_usd": 0.0, "prompt_tokens": 0, "completion_tokens": 0, "calls": 0}
    return {"cost_usd": totals.cost_usd, "prompt_tokens": totals.prompt_tokens,
            "completion_tokens": totals.completion_tokens, "calls": totals.calls}


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.6f}"
