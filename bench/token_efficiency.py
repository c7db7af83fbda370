"""Figure 6: prompt tokens per report, against a naive agent that resends everything.

The real pipeline writes a report with the scripted demo model while every exchange is recorded.
Then the *same* conversation is replayed through a naive loop written here (and only here): one
history for the whole report, every tool result kept, every call resending all of it — the
exploration transcript stays in the outline's and every section's prompt, and each section
sees the sections before it. The naive loop runs the same tools (same caps) and answers the model's
recorded turns in the same order; the phases' own instructions are appended as the pipeline sent
them. Both sides are billed by a fake OpenRouter; the figure is the sum of ``prompt_tokens`` in
each fake's ledger. Target: real <= 0.5x naive.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.figure import Figure, measured
from bench.models import Exchange, RecordingModel
from bench.pipeline import BENCH_API_KEY, run_report, supports_keyword
from bench.sample_repo import make_sample_repo

__all__ = ["TOKENS_TARGET", "conversation_threads", "naive_prompt_tokens", "run"]

TOKENS_TARGET = 0.5
FINISH_TOOL = "finish_exploration"
# What the naive loop answers to the finish tool (the pipeline's loop answers the same).
_FINISHED_TEXT = "Exploration finished."


def run(quick: bool) -> list[Figure]:
    from tech_writer.demo import DemoModel, FakeOpenRouter

    sections = 1 if quick else 4
    with tempfile.TemporaryDirectory(prefix="bench-tokens-") as tmp:
        repo = make_sample_repo(Path(tmp) / "parcel")
        recorder = RecordingModel(DemoModel())
        # One section at a time, when the option exists: tool-call ids then come in one order,
        # so the count is the same every run.
        extra: dict[str, Any] = {"concurrency": 1} if supports_keyword("concurrency") else {}
        with FakeOpenRouter(recorder) as server:
            run_report(server, repo, environ={}, max_sections=sections, **extra)
            real_ledger = server.ledger
        exchanges = recorder.exchanges
        naive_tokens, naive_calls = naive_prompt_tokens(exchanges, repo)
    real_tokens = sum(call.prompt_tokens for call in real_ledger)
    threads = conversation_threads(exchanges)
    notes = (f"{len(real_ledger)} calls in {len(threads)} conversations (exploration, outline, "
             f"{sections} section(s)); naive replay: {naive_calls} calls in one conversation; "
             f"real {real_tokens / max(1, len(real_ledger)):,.0f} vs naive "
             f"{naive_tokens / max(1, naive_calls):,.0f} prompt tokens per call")
    return [measured("tokens.prompt_tokens_per_report (vs naive)", real_tokens, naive_tokens,
                     unit="tokens", target=TOKENS_TARGET, notes=notes,
                     checks_ok=naive_calls == len(real_ledger))]


def conversation_threads(exchanges: Sequence[Exchange]) -> list[list[Exchange]]:
    """Group exchanges by conversation (the pipeline keeps one per phase and one per section), in
    order of first appearance. A conversation is known by its opening: the messages before the
    first assistant message, which later calls keep even when they compact what follows."""
    threads: dict[str, list[Exchange]] = {}
    for exchange in exchanges:
        threads.setdefault(_opening_key(exchange.request), []).append(exchange)
    return list(threads.values())


def naive_prompt_tokens(exchanges: Sequence[Exchange], repo: Path) -> tuple[int, int]:
    """Replay the recorded conversation through the naive loop; (prompt tokens billed, calls)."""
    from tech_writer.demo import FakeOpenRouter, QueueModel
    from tech_writer.llm.client import LLMClient
    from tech_writer.repository.repo import Repository
    from tech_writer.repository.tools import RepoTools

    threads = conversation_threads(exchanges)
    script = QueueModel(exchange.turn for thread in threads for exchange in thread)
    tools = RepoTools(Repository(repo))
    model = exchanges[0].request["model"] if exchanges else "demo/scripted"
    history: list[dict[str, Any]] = []
    with FakeOpenRouter(script) as server, LLMClient(
            model, "openrouter", BENCH_API_KEY, server.base_url, track_cost=True) as llm:
        for thread in threads:
            for position, exchange in enumerate(thread):
                request = exchange.request
                history += _new_instructions(request["messages"], opening=position == 0)
                options = {key: request[key] for key in ("response_format", "tool_choice")
                           if key in request}
                reply, _usage = llm.chat(history, tools=request.get("tools"), **options)
                history.append(_assistant_message(reply))
                for call in reply.get("tool_calls") or []:
                    function = call.get("function") or {}
                    name, arguments = function.get("name"), function.get("arguments")
                    text = (_FINISHED_TEXT if name == FINISH_TOOL
                            else tools.execute(str(name), arguments).text)
                    history.append({"role": "tool", "tool_call_id": call.get("id"),
                                    "content": text})
        ledger = server.ledger
    return sum(call.prompt_tokens for call in ledger), len(ledger)


def _new_instructions(messages: list[dict[str, Any]], *, opening: bool) -> list[dict[str, Any]]:
    """What the pipeline added before this call: the whole opening for a conversation's first
    call; else the non-tool messages after its last assistant message (a wrap-up request,
    citation feedback, an outline retry). Tool results are not taken: the naive loop has its own."""
    if opening:
        return copy.deepcopy(messages)
    last_assistant = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"),
                         default=-1)
    return [copy.deepcopy(m) for m in messages[last_assistant + 1:] if m.get("role") != "tool"]


def _opening_key(request: dict[str, Any]) -> str:
    opening = []
    for message in request.get("messages") or []:
        if message.get("role") == "assistant":
            break
        opening.append(message)
    return json.dumps(opening, sort_keys=True, ensure_ascii=False)


def _assistant_message(reply: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
    if reply.get("tool_calls"):
        message["tool_calls"] = reply["tool_calls"]
    return message
