"""The agentic loop shared by exploration and section writing: ask, run the tools asked for, repeat.

A malformed tool call (bad JSON, unknown tool, missing argument) becomes an error *result* that the
model can correct; it never ends the run. The loop is bounded by ``max_steps`` model calls.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from tech_writer.progress import Progress

if TYPE_CHECKING:
    from telemetry import Telemetry
    from tech_writer.llm import LLMClient
    from tech_writer.tools import RepoTools

__all__ = ["LoopOutcome", "run_tool_loop", "assistant_message"]

log = logging.getLogger("tech_writer.toolloop")


@dataclass
class LoopOutcome:
    content: str | None  # the model's last text answer, if it ended with one
    finish_arguments: dict[str, Any] | None = None  # arguments of the finish tool, if it was called
    steps: int = 0
    hit_step_cap: bool = False
    finish_reason: str | None = None
    tool_calls: list[str] = field(default_factory=list)


def assistant_message(reply: Mapping[str, Any]) -> dict[str, Any]:
    """The reply as a history message (the wire format has no ``finish_reason`` there)."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
    if reply.get("tool_calls"):
        message["tool_calls"] = reply["tool_calls"]
    return message


def run_tool_loop(llm: "LLMClient", telemetry: "Telemetry", tools: "RepoTools",
                  messages: list[dict[str, Any]], schemas: Sequence[Mapping[str, Any]], *,
                  max_steps: int, phase: str, progress: Progress,
                  finish_tool: str | None = None) -> LoopOutcome:
    """Run until the model answers without tools, calls ``finish_tool``, or ``max_steps`` calls."""
    outcome = LoopOutcome(content=None)
    for step in range(1, max_steps + 1):
        reply, _usage = llm.chat(messages, tools=schemas)
        outcome.steps = step
        outcome.finish_reason = reply.get("finish_reason")
        messages.append(assistant_message(reply))
        calls = reply.get("tool_calls") or []
        if not calls:
            outcome.content = reply.get("content")
            return outcome
        for index, call in enumerate(calls):
            call_id = call.get("id") or f"call_{step}_{index}"
            call["id"] = call_id  # the tool message must answer the id the history carries
            function = call.get("function") or {}
            name = str(function.get("name") or "")
            raw_arguments = function.get("arguments")
            outcome.tool_calls.append(name)
            if finish_tool is not None and name == finish_tool:
                arguments, problem = _finish_arguments(raw_arguments)
                if problem is None:
                    outcome.finish_arguments = arguments
                text = problem or "Exploration finished."
                messages.append({"role": "tool", "tool_call_id": call_id, "content": text})
                continue
            text = _run_tool(telemetry, tools, name, call_id, raw_arguments, phase, progress, step,
                             max_steps)
            messages.append({"role": "tool", "tool_call_id": call_id, "content": text})
        if outcome.finish_arguments is not None:
            return outcome
    outcome.hit_step_cap = True
    return outcome


def _run_tool(telemetry: "Telemetry", tools: "RepoTools", name: str, call_id: str,
              raw_arguments: Any, phase: str, progress: Progress, step: int, max_steps: int) -> str:
    with telemetry.tool_span(name or "unknown", call_id,
                             arguments=raw_arguments if isinstance(raw_arguments, str) else None) as span:
        result = tools.execute(name, raw_arguments)
        span.set_result(result.text, is_error=result.is_error, truncated=result.truncated)
    progress.step(phase, f"step {step}/{max_steps}: {name}({_brief(raw_arguments)})"
                  + (" → error" if result.is_error else ""))
    if result.is_error:
        log.info("tool %s returned an error to the model: %s", name, result.text[:200])
    return result.text


def _finish_arguments(raw: Any) -> tuple[dict[str, Any], str | None]:
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        return {}, f"Error: arguments are not valid JSON ({exc.msg}); call finish_exploration again."
    if not isinstance(arguments, dict) or not isinstance(arguments.get("understanding"), str) \
            or not arguments["understanding"].strip():
        return {}, ("Error: finish_exploration needs a non-empty string argument 'understanding'; "
                    "call it again.")
    return arguments, None


def _brief(raw: Any) -> str:
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return "invalid JSON"
    if not isinstance(arguments, dict):
        return "?"
    text = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
    return text if len(text) <= 80 else text[:77] + "..."
