"""The agentic loop shared by exploration and section writing: ask, run the tools asked for, repeat.

A malformed tool call (bad JSON, unknown tool, missing argument) becomes an error *result* that the
model can correct; it never ends the run. Arguments are read with ``json.loads(strict=False)``: a
raw newline inside a string (llama.cpp's grammar-constrained output has them) is not an error. The
loop is bounded by ``max_steps`` model calls.

A model that loops on one call: the same tool with the same arguments runs at most
:data:`MAX_IDENTICAL_CALLS` times in a loop (twice: a result the history policy elided may be
asked for again); later copies are answered with an error pointing at the earlier result. After
:data:`MAX_REPEAT_TURNS` turns that asked for nothing new, the loop stops as if it had reached its
step cap, and the caller's wrap-up (notes, or the section written now) follows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tech_writer.errors import RequestRejectedError
from tech_writer.pipeline.context import RunContext
from tech_writer.pipeline.history import HistoryPolicy, compact_history, trim_for_context

if TYPE_CHECKING:
    from tech_writer.llm.client import LLMClient, UsageStats
    from tech_writer.repository.tools import ToolResult

__all__ = [
    "MAX_IDENTICAL_CALLS",
    "MAX_REPEAT_TURNS",
    "READING_TOOLS",
    "LoopOutcome",
    "ask_model",
    "assistant_message",
    "is_context_length_error",
    "run_tool_loop",
    "traced_tool_call",
]

# Tools whose ``path`` argument names a file the answer then depends on.
READING_TOOLS = frozenset({"read_file", "get_symbols", "get_imports"})
MAX_IDENTICAL_CALLS = 2
MAX_REPEAT_TURNS = 2

log = logging.getLogger("tech_writer.toolloop")


@dataclass
class LoopOutcome:
    content: str | None  # the model's last text answer, if it ended with one
    finish_arguments: dict[str, Any] | None = None  # arguments of the finish tool, if it was called
    steps: int = 0
    hit_step_cap: bool = False
    finish_reason: str | None = None
    tool_calls: list[str] = field(default_factory=list)
    paths_read: set[str] = field(default_factory=set)  # files the answer may depend on
    usages: list[UsageStats] = field(default_factory=list)
    repeated_calls: int = 0  # identical calls refused (see MAX_IDENTICAL_CALLS)
    stopped_repeating: bool = False  # the loop ended because the model asked nothing new


def assistant_message(reply: Mapping[str, Any]) -> dict[str, Any]:
    """The reply as a history message (the wire format has no ``finish_reason`` there).

    A reasoning model's ``reasoning_details`` go back unchanged, with ``reasoning``, on the message
    that carried its tool calls: Gemini 3 and Anthropic's extended thinking refuse (400) a tool
    result whose call lost its signed thinking block. The history policy never elides an
    assistant message, so the block stays as long as its tool call does."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
    if reply.get("tool_calls"):
        message["tool_calls"] = reply["tool_calls"]
    for key in ("reasoning", "reasoning_details"):
        if reply.get(key):
            message[key] = reply[key]
    return message


def is_context_length_error(exc: BaseException) -> bool:
    if not isinstance(exc, RequestRejectedError) or exc.status_code not in (400, 413):
        return False
    text = f"{exc.error_type} {exc.message}".lower()
    return "context_length" in text or "context length" in text or "context window" in text \
        or "maximum context" in text or "too many tokens" in text


def ask_model(llm: LLMClient, messages: list[dict[str, Any]],
              schemas: Sequence[Mapping[str, Any]] | None = None, *,
              history: HistoryPolicy | None = None, **kwargs: Any
              ) -> tuple[dict[str, Any], UsageStats]:
    """One model call over a compacted history; on "context length exceeded", trim the oldest
    tool results and try once more."""
    elided = compact_history(messages, history or HistoryPolicy())
    if elided:
        log.info("history compacted: %d old tool result(s) elided", elided)
    try:
        return llm.chat(messages, tools=schemas, **kwargs)
    except RequestRejectedError as exc:
        if not is_context_length_error(exc):
            raise
        trimmed = trim_for_context(messages)
        if not trimmed:
            raise
        log.warning("the model's context window was exceeded: elided %d old tool result(s), "
                    "trying once more", trimmed)
        return llm.chat(messages, tools=schemas, **kwargs)


def run_tool_loop(ctx: RunContext, messages: list[dict[str, Any]],
                  schemas: Sequence[Mapping[str, Any]], *, max_steps: int, phase: str,
                  finish_tool: str | None = None,
                  fixed_answers: Mapping[str, str] | None = None) -> LoopOutcome:
    """Run until the model answers without tools, calls ``finish_tool``, or ``max_steps`` calls.

    ``fixed_answers`` maps tools that are offered but not run here (to keep the tool list, and
    so the cached prompt prefix, the same across a phase) to the answer their calls get."""
    answers = _CallAnswers(ctx, phase, max_steps, finish_tool, fixed_answers or {})
    outcome = LoopOutcome(content=None)
    repeat_turns = 0
    for step in range(1, max_steps + 1):
        reply, usage = ask_model(ctx.llm, messages, schemas, history=ctx.history)
        outcome.usages.append(usage)
        outcome.steps = step
        outcome.finish_reason = reply.get("finish_reason")
        messages.append(assistant_message(reply))
        calls = reply.get("tool_calls") or []
        if not calls:
            outcome.content = reply.get("content")
            return outcome
        refused_before = outcome.repeated_calls
        for index, call in enumerate(calls):
            messages.append(answers.answer(call, step, index, outcome))
        if outcome.finish_arguments is not None:
            return outcome
        if outcome.repeated_calls - refused_before == len(calls):  # nothing new asked for
            repeat_turns += 1
            if repeat_turns >= MAX_REPEAT_TURNS:
                log.warning("the model keeps repeating the same tool calls: %s stops after "
                            "%d steps", phase, step)
                ctx.progress.step(phase, f"step {step}/{max_steps}: the model repeats "
                                         "itself, stopping")
                outcome.stopped_repeating = True
                break
    outcome.hit_step_cap = True
    return outcome


@dataclass
class _CallAnswers:
    """Answers the tool calls of one loop: runs the tool, or takes the finish call, or gives a
    fixed answer; records what was called and read on the outcome."""

    ctx: RunContext
    phase: str
    max_steps: int
    finish_tool: str | None
    fixed_answers: Mapping[str, str]
    seen: dict[tuple[str, str], int] = field(default_factory=dict)

    def answer(self, call: dict[str, Any], step: int, index: int,
               outcome: LoopOutcome) -> dict[str, Any]:
        """The tool message for ``call`` (whose id is filled in when the model left it out)."""
        call_id = call.get("id") or f"call_{step}_{index}"
        call["id"] = call_id  # the tool message must answer the id the history carries
        function = call.get("function") or {}
        name = str(function.get("name") or "")
        raw_arguments = function.get("arguments")
        outcome.tool_calls.append(name)
        if self.finish_tool is not None and name == self.finish_tool:
            arguments, problem = _finish_arguments(raw_arguments)
            if problem is None:
                outcome.finish_arguments = arguments
            text = problem or "Exploration finished."
        elif name in self.fixed_answers:
            text = self.fixed_answers[name]
        elif self._repeated(name, raw_arguments):
            outcome.repeated_calls += 1
            text = (f"Error: {name} was already called {MAX_IDENTICAL_CALLS} times with these "
                    "same arguments; its result is above. Use it, or do something else.")
        else:
            text, ok = self._run_tool(name, call_id, raw_arguments, step)
            if ok and name in READING_TOOLS:
                path = _path_argument(raw_arguments)
                if path:
                    outcome.paths_read.add(path)
        return {"role": "tool", "tool_call_id": call_id, "content": text}

    def _repeated(self, name: str, raw_arguments: Any) -> bool:
        """Count this call; True when it is past the identical-call limit."""
        key = (name, _canonical(raw_arguments))
        self.seen[key] = self.seen.get(key, 0) + 1
        return self.seen[key] > MAX_IDENTICAL_CALLS

    def _run_tool(self, name: str, call_id: str, raw_arguments: Any,
                  step: int) -> tuple[str, bool]:
        result = traced_tool_call(self.ctx, name, raw_arguments, call_id)
        self.ctx.progress.step(self.phase, f"step {step}/{self.max_steps}: "
                               f"{name}({_brief(raw_arguments)})"
                               + (" → error" if result.is_error else ""))
        if result.is_error:
            log.info("tool %s returned an error to the model: %s", name, result.text[:200])
        return result.text, not result.is_error


def traced_tool_call(ctx: RunContext, name: str, raw_arguments: Any,
                     call_id: str | None = None) -> ToolResult:
    """Run one repository tool inside its span: the model's calls and the ones the pipeline
    makes itself (exploration that reads) are traced alike."""
    arguments = raw_arguments if isinstance(raw_arguments, str) else None
    with ctx.telemetry.tool_span(name or "unknown", call_id, arguments=arguments) as span:
        result = ctx.tools.execute(name, raw_arguments)
        span.set_result(result.text, is_error=result.is_error, truncated=result.truncated)
    return result


def _canonical(raw: Any) -> str:
    """Arguments compared by meaning: the same JSON with other spacing or key order is equal."""
    try:
        value = json.loads(raw, strict=False) if isinstance(raw, str) else raw
        return json.dumps(value, sort_keys=True)
    except (json.JSONDecodeError, TypeError):
        return str(raw)


def _path_argument(raw: Any) -> str | None:
    try:
        arguments = json.loads(raw, strict=False) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return None
    path = arguments.get("path") if isinstance(arguments, dict) else None
    return path if isinstance(path, str) and path.strip() else None


def _finish_arguments(raw: Any) -> tuple[dict[str, Any], str | None]:
    try:
        arguments = json.loads(raw, strict=False) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        return {}, (f"Error: arguments are not valid JSON ({exc.msg}); "
                    "call finish_exploration again.")
    if not isinstance(arguments, dict) or not isinstance(arguments.get("understanding"), str) \
            or not arguments["understanding"].strip():
        return {}, ("Error: finish_exploration needs a non-empty string argument 'understanding'; "
                    "call it again.")
    return arguments, None


def _brief(raw: Any) -> str:
    try:
        arguments = json.loads(raw, strict=False) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return "invalid JSON"
    if not isinstance(arguments, dict):
        return "?"
    text = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
    return text if len(text) <= 80 else text[:77] + "..."
