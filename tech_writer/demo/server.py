"""A fake OpenRouter: a real HTTP server on loopback speaking the chat-completions wire format.

It is both the project's test double and the engine of ``--provider demo``. Routes (each served
under ``/api/v1`` like OpenRouter and under ``/v1`` like OpenAI):

* ``POST /chat/completions`` — answered by a :class:`ScriptedModel`, streamed (SSE over chunked
  transfer encoding, keep-alive comments, a final usage chunk with empty ``choices``) or not;
  every answer is billed deterministically (see :mod:`tech_writer.demo.pricing`).
* ``GET /generation?id=`` — the billing record of a completion, with scriptable 404s.
* ``GET /models`` — the pricing table, prices as decimal strings in USD per token.
* ``GET /key`` — the key's credit limit and usage.

Every answer validates against the models of OpenRouter's own SDK (see :mod:`._wire`).
What a test scripts beyond the demo's defaults is one :class:`~.options.FakeOptions`:
``reasoning=True`` makes it a reasoning model: each answer carries ``reasoning`` and signed
``reasoning_details``, and a request whose history drops or alters the blocks of a tool call
is refused with the upstream's 400 (see :mod:`._reasoning`). ``shape="maximal"`` adds every
optional field OpenRouter may send, ``shape="minimal"`` leaves out all it may omit (see
:mod:`._shapes`): the tokens and the cost stay the same.

Errors use OpenRouter's body ``{"error": {"code", "message", "metadata"?}}``. Failures are
scripted through :attr:`FakeOpenRouter.faults` (see :mod:`tech_writer.demo.faults`).

Usage::

    with FakeOpenRouter() as server:  # or FakeOpenRouter(options=FakeOptions(byok=True))
        client = openai.OpenAI(base_url=server.base_url, api_key="any-non-empty-key")
        client.chat.completions.create(model="demo/scripted", messages=[...])
        server.billed_total_usd()
"""

from __future__ import annotations

import hmac
import itertools
import json
import logging
import secrets
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import _wire
from ._http import LoopbackServer, RequestHandler
from ._reasoning import ReasoningSigner, reasoning_text
from ._records import REDACTED_AUTHORIZATION, BilledCall, RecordedRequest
from ._types import ModelTurn, ScriptedModel
from .capabilities import ModelProfile, reasoning_tokens_for, refusal, without_ignored
from .faults import Fault, FaultPlan, default_error_body
from .options import FakeOptions
from .pricing import (
    Charge,
    compute_charge,
    count_completion_tokens,
    count_prompt_tokens,
    price_for,
)

__all__ = ["BilledCall", "FakeOpenRouter", "FakeOptions", "RecordedRequest"]

logger = logging.getLogger(__name__)

_PREFIXES = ("/api/v1", "/v1")
_ROUTES = {"/chat/completions": "POST", "/generation": "GET", "/models": "GET", "/key": "GET"}
_STOP_JOIN_TIMEOUT_S = 5.0
_POLL_INTERVAL_S = 0.05  # how quickly serve_forever notices shutdown()


class _ScriptedModelError(Exception):
    """The scripted model raised; answered as a 500 the SDK is told not to retry."""


class FakeOpenRouter:
    """A fake OpenRouter server on 127.0.0.1; a context manager that starts and stops it."""

    def __init__(self, model: ScriptedModel | None = None, *, api_key: str | None = None,
                 options: FakeOptions | None = None) -> None:
        """``model`` answers every chat request (default: the demo catalog); ``api_key`` is the
        only key accepted (None: any non-empty key); ``options`` script the rest (tests)."""
        if model is None:
            # imported late: the model package is the heavier half. The catalog is the DemoModel
            # plus demo/sloppy and the scripted judge, chosen per request.
            from .catalog import DemoCatalog

            model = DemoCatalog()
        if api_key == "":
            raise ValueError("api_key must be None (accept any key) or a non-empty string")
        self._model = model
        self._api_key = api_key
        self.options = FakeOptions() if options is None else options
        self._profiles = dict(self.options.profiles)
        self._reasoning = ReasoningSigner() if self.options.reasoning else None
        self.faults = FaultPlan()

        self._lock = threading.Lock()
        self._ledger: list[BilledCall] = []
        # The ledger's total, exact: float() of it is what math.fsum of the ledger gives, without
        # summing a ledger that grows with every call (the benchmarks make thousands).
        self._billed = Fraction(0)
        self._upstream_billed = Fraction(0)  # BYOK: what the providers billed the user directly
        self._by_generation_id: dict[str, BilledCall] = {}
        self._generation_404s_served: defaultdict[str, int] = defaultdict(int)
        self._requests: list[RecordedRequest] = []
        self._internal_errors: list[str] = []
        # A random tag keeps generation ids unique across servers in one process (clients may
        # cache costs by id); the counter keeps them readable.
        self._id_tag = secrets.token_hex(4)
        self._generation_counter = itertools.count(1)
        self._call_counter = itertools.count(1)

        self._stopping = threading.Event()
        self._httpd: LoopbackServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeOpenRouter:
        """Bind a free loopback port and serve in a daemon thread (no-op if already running)."""
        if self._stopped:
            raise RuntimeError("a stopped FakeOpenRouter cannot be restarted; create a new one")
        if self._httpd is not None:
            return self
        self._httpd = LoopbackServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL_S},
            name=f"fake-openrouter-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close open connections; prompt and idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()  # wakes handlers sleeping on latency or fault delays
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(_STOP_JOIN_TIMEOUT_S)

    def __enter__(self) -> FakeOpenRouter:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeOpenRouter is not started")
        return int(self._httpd.server_address[1])

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """OpenRouter-style base URL; the same routes are also served under ``/v1``."""
        return f"{self.root_url}/api/v1"

    @property
    def openai_base_url(self) -> str:
        """OpenAI-style base URL (``/v1``), for ``--provider openai`` tests."""
        return f"{self.root_url}/v1"

    # --- inspection --------------------------------------------------------------------------
    @property
    def ledger(self) -> list[BilledCall]:
        """A snapshot of every billed completion, in billing order."""
        with self._lock:
            return list(self._ledger)

    def billed_total_usd(self) -> float:
        with self._lock:
            return float(self._billed)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every HTTP request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def internal_errors(self) -> list[str]:
        """Bugs in the server or the scripted model (each also answered as HTTP 500)."""
        with self._lock:
            return list(self._internal_errors)

    # --- routing -----------------------------------------------------------------------------
    def handle(self, handler: RequestHandler, method: str) -> None:
        """Entry point for every request (called on the handler's thread)."""
        try:
            body = handler.read_body()
        except ValueError as exc:
            handler.close_connection = True
            handler.send_json(400, {"error": {"code": 400, "message": f"Bad request body: {exc}"}})
            return
        url = urlsplit(handler.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        self._record(handler, method, url.path, query, body)
        try:
            self._route(handler, method, url.path, query, body)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client went away mid-answer
        except _ScriptedModelError as exc:
            self._internal_error(handler, f"scripted model failed: {exc}")
        except Exception as exc:  # a bug here must surface in the test, not hang the client
            logger.exception("fake OpenRouter failed on %s %s", method, url.path)
            self._internal_error(handler, f"fake server error: {type(exc).__name__}: {exc}")

    def _record(
        self, handler: RequestHandler, method: str, path: str, query: dict[str, str], body: bytes
    ) -> None:
        headers = {name.lower(): value for name, value in handler.headers.items()}
        if "authorization" in headers:
            headers["authorization"] = REDACTED_AUTHORIZATION
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        with self._lock:
            self._requests.append(RecordedRequest(method, path, query, headers, parsed))

    def _internal_error(self, handler: RequestHandler, message: str) -> None:
        with self._lock:
            self._internal_errors.append(message)
        handler.close_connection = True  # a stream may have been cut mid-way: start afresh
        # x-should-retry: the openai SDK would otherwise repeat a request that cannot succeed.
        handler.send_json(
            500, {"error": {"code": 500, "message": message}}, {"x-should-retry": "false"}
        )

    def _route(
        self, handler: RequestHandler, method: str, path: str, query: dict[str, str], body: bytes
    ) -> None:
        route = next((path[len(p) :] for p in _PREFIXES if path.startswith(p + "/")), None)
        if route not in _ROUTES:
            handler.send_json(404, {"error": {"code": 404, "message": f"No route for {path}"}})
            return
        if method != _ROUTES[route]:
            handler.send_json(
                405, {"error": {"code": 405, "message": f"{method} not allowed on {path}"}}
            )
            return
        if route == "/models":  # public on OpenRouter: no key needed to read prices
            handler.send_json(200, _wire.models_body(self.options.pricing, self._profiles))
            return
        if not self._authorized(handler):
            handler.send_json(401, {"error": {"code": 401, "message": "No auth credentials found"}})
            return
        if route == "/chat/completions":
            self._chat(handler, body)
        elif route == "/generation":
            self._generation(handler, query)
        else:
            handler.send_json(200, self._key_body())

    def _key_body(self) -> dict[str, Any]:
        with self._lock:
            billed, upstream = float(self._billed), float(self._upstream_billed)
        return _wire.key_body(self.options.credit_usd, billed, upstream)

    def _authorized(self, handler: RequestHandler) -> bool:
        scheme, _, token = handler.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        if self._api_key is None:
            return True
        return hmac.compare_digest(token.encode(), self._api_key.encode())

    def _sleep(self, seconds: float) -> bool:
        """Wait like a slow upstream would; False when stop() cut the wait short."""
        if seconds > 0:
            return not self._stopping.wait(seconds)
        return not self._stopping.is_set()

    # --- chat completions --------------------------------------------------------------------
    def _chat(self, handler: RequestHandler, raw_body: bytes) -> None:
        try:
            body = json.loads(raw_body)
        except ValueError:
            body = None
        problem = _invalid_chat_request(body)
        if problem is not None:
            handler.send_json(400, {"error": {"code": 400, "message": problem}})
            return
        model = body["model"]
        price = price_for(self.options.pricing, model)
        if price is None:
            handler.send_json(
                400, {"error": {"code": 400, "message": f"{model} is not a valid model ID"}}
            )
            return
        profile = self._profiles.get(model, ModelProfile())
        refused = refusal(body, profile)
        if refused is not None:  # OpenRouter finds no provider before anything is routed
            handler.send_json(404, {"error": {"code": 404, "message": refused}})
            return
        if self._reasoning is not None:
            broken = self._reasoning.problem(body["messages"])
            if broken is not None:  # the upstream refuses before anything is billed
                handler.send_json(400, broken)
                return
        streamed = bool(body.get("stream"))
        started = time.monotonic()
        fault = self.faults.take("chat")
        if fault is not None:
            if not self._sleep(fault.delay_s):
                handler.drop_connection()  # shutting down: no answer, as from a server going away
                return
            if not fault.empty_response:
                self._send_chat_fault(handler, fault, model, streamed)
                return
            turn = ModelTurn(content="")
        else:
            if not self._sleep(self.options.latency_s):
                handler.drop_connection()
                return
            turn = self._ask_model(without_ignored(body, profile))
        latency_ms = round((time.monotonic() - started) * 1000)
        self._bill_and_send(handler, body, turn, streamed, latency_ms)

    def _ask_model(self, body: dict[str, Any]) -> ModelTurn:
        try:
            turn = self._model.respond(body)
        except Exception as exc:
            raise _ScriptedModelError(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(turn, ModelTurn):
            raise _ScriptedModelError(f"respond() returned {type(turn).__name__}, not ModelTurn")
        return turn

    def _charge(self, body: dict[str, Any], turn: ModelTurn, thinking: str | None) -> Charge:
        price = price_for(self.options.pricing, body["model"])
        assert price is not None  # checked before the model was asked
        profile = self._profiles.get(body["model"], ModelProfile())
        reasoning_tokens = self.options.reasoning_tokens
        if thinking and not reasoning_tokens:  # a reasoning model bills its thinking as output
            reasoning_tokens = count_completion_tokens(thinking)
        reasoning_tokens += reasoning_tokens_for(body, profile)
        return compute_charge(
            price,
            prompt_tokens=count_prompt_tokens(body),
            completion_tokens=count_completion_tokens(turn.billed_text(), reasoning_tokens),
            cached_tokens=self.options.cached_tokens,
            cache_write_tokens=self.options.cache_write_tokens,
            reasoning_tokens=reasoning_tokens,
            byok=self.options.byok,
        )

    def _bill_and_send(self, handler: RequestHandler, body: dict[str, Any], turn: ModelTurn,
                       streamed: bool, latency_ms: int) -> None:
        # An empty answer (a scripted fault) comes without thinking, as from a provider that failed.
        thinking = reasoning_text(turn) if self._reasoning is not None and (
            turn.content or turn.tool_calls) else None
        charge = self._charge(body, turn, thinking)
        request = _RequestFacts(body, turn, streamed, latency_ms, handler.headers.get("HTTP-Referer"),
                                handler.headers.get("User-Agent"))
        billed = self._bill(charge, request)
        if billed is None:
            handler.send_json(402, default_error_body(402, body["model"]))
            return
        record, call_ids = billed
        self._send_answer(handler, record, turn, call_ids, thinking)

    def _bill(self, charge: Charge, request: _RequestFacts
              ) -> tuple[BilledCall, list[str]] | None:
        """Record the charge in the ledger; None (nothing billed) when it exceeds the credit."""
        with self._lock:  # the credit check and the billing must be one step under concurrency
            credit = self.options.credit_usd
            if credit is not None and float(self._billed) + charge.cost_usd > credit:
                return None
            generation_id = self._new_generation_id()
            # Fixed width, as real ids are: the prompt sizes that quote them (and so the bill)
            # then do not depend on which of several concurrent conversations asked first.
            call_ids = [f"call_{next(self._call_counter):06d}" for _ in request.turn.tool_calls]
            record = request.billed_call(charge, generation_id, byok=self.options.byok)
            # Billed once the answer is committed: an aborted stream is still charged in full.
            self._ledger.append(record)
            self._billed += Fraction(record.cost_usd)
            self._upstream_billed += Fraction(record.upstream_cost_usd or 0)
            self._by_generation_id[generation_id] = record
        return record, call_ids

    def _send_answer(self, handler: RequestHandler, record: BilledCall, turn: ModelTurn,
                     call_ids: list[str], thinking: str | None) -> None:
        generation_id = record.generation_id
        reasoning = None
        if thinking is not None:
            assert self._reasoning is not None
            reasoning = _wire.Reasoning(
                thinking, self._reasoning.details(generation_id, thinking, call_ids))
        envelope = self._envelope(generation_id, record.model)
        options = self.options
        usage = (_wire.usage_body(record, inline_cost=options.inline_cost, byok=options.byok)
                 if options.send_usage else None)
        headers = {"X-Generation-Id": generation_id}
        if record.streamed:
            frames = _wire.stream_frames(envelope, turn, call_ids, usage, reasoning, options.shape)
            handler.send_chunked(200, frames, headers)
        else:
            answer = _wire.completion_body(envelope, turn, call_ids, usage, reasoning,
                                           options.shape)
            handler.send_json(200, answer, headers)

    def _new_generation_id(self) -> str:
        return f"gen-{self._id_tag}-{next(self._generation_counter)}"

    def _envelope(self, generation_id: str, model: str) -> _wire.Envelope:
        return {
            "id": generation_id,
            "created": int(time.time()),
            "model": model,
            "provider": _wire.PROVIDER_NAME,
        }

    def _send_chat_fault(
        self, handler: RequestHandler, fault: Fault, model: str, streamed: bool
    ) -> None:
        if fault.drop_connection:
            handler.drop_connection()
            return
        with self._lock:
            generation_id = self._new_generation_id()  # unbilled: /generation will not know it
        envelope = self._envelope(generation_id, model)
        headers = {"X-Generation-Id": generation_id}
        if fault.malformed_body:
            if streamed:
                handler.send_chunked(200, _wire.malformed_stream_frames(envelope), headers)
            else:
                handler.send_bytes(200, _wire.malformed_json(envelope), headers=headers)
        elif fault.error_in_200:
            error_body = fault.error_body(model)
            if streamed:
                handler.send_chunked(
                    200, _wire.error_stream_frames(envelope, fault.status, error_body), headers
                )
            else:
                handler.send_json(
                    200, _wire.error_in_200_body(envelope, fault.status, error_body), headers
                )
        else:
            handler.send_json(fault.status, fault.error_body(model), _retry_after_header(fault))

    # --- generation lookup -------------------------------------------------------------------
    def _generation(self, handler: RequestHandler, query: dict[str, str]) -> None:
        fault = self.faults.take("generation")
        if fault is not None:
            if not self._sleep(fault.delay_s) or fault.drop_connection:
                handler.drop_connection()
            elif fault.malformed_body:
                handler.send_bytes(200, b'{"data": {"id": ')
            else:
                handler.send_json(fault.status, fault.error_body(), _retry_after_header(fault))
            return
        generation_id = query.get("id", "")
        if not generation_id:
            handler.send_json(
                400, {"error": {"code": 400, "message": "Missing required parameter: id"}}
            )
            return
        with self._lock:
            call = self._by_generation_id.get(generation_id)
            not_ready = call is not None and (
                not self.options.generation_available
                or self._generation_404s_served[generation_id] < self.options.generation_404s
            )
            if not_ready:
                self._generation_404s_served[generation_id] += 1
        if call is None or not_ready:
            handler.send_json(404, {"error": {"code": 404, "message": "Generation not found"}})
            return
        handler.send_json(200, _wire.generation_body(call))


@dataclass(frozen=True)
class _RequestFacts:
    """What the ledger keeps of an answered request besides its charge."""

    body: dict[str, Any]
    turn: ModelTurn
    streamed: bool
    latency_ms: int
    http_referer: str | None
    user_agent: str | None

    def billed_call(self, charge: Charge, generation_id: str, *, byok: bool) -> BilledCall:
        session_id = self.body.get("session_id")
        return BilledCall(
            **asdict(charge),
            generation_id=generation_id,
            model=self.body["model"],
            streamed=self.streamed,
            finish_reason=self.turn.effective_finish_reason(),
            is_byok=byok,
            latency_ms=self.latency_ms,
            created=time.time(),
            http_referer=self.http_referer,
            user_agent=self.user_agent,
            session_id=session_id if isinstance(session_id, str) else None,
        )


def _retry_after_header(fault: Fault) -> dict[str, str]:
    if fault.retry_after is None:
        return {}
    return {"Retry-After": format(fault.retry_after, "g")}


def _invalid_chat_request(body: Any) -> str | None:
    """Why a chat-completions body is unacceptable, or None when it is fine."""
    if not isinstance(body, dict):
        return "Request body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "'model' is required and must be a string"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        return "every message must be an object with a 'role'"
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        return "'tools' must be an array"
    return None
