"""Phase 1: the model explores the repository through tools and hands over its understanding."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tech_writer import prompts
from tech_writer.history import HistoryPolicy
from tech_writer.progress import Progress
from tech_writer.toolloop import ask_model, assistant_message, run_tool_loop

if TYPE_CHECKING:
    from tech_writer.cache import CacheStore
    from tech_writer.llm import LLMClient
    from tech_writer.tools import RepoTools
    from telemetry import Telemetry

__all__ = ["Exploration", "explore"]

log = logging.getLogger("tech_writer.exploration")


@dataclass(frozen=True)
class Exploration:
    understanding: str
    steps: int
    ended_by: str  # "finish_exploration" | "no_more_tools" | "step_limit" | "reused"
    paths_read: frozenset[str] = frozenset()


def explore(llm: LLMClient, telemetry: Telemetry, tools: RepoTools, store: CacheStore,
            prompt: str, repo_name: str, *, max_steps: int, progress: Progress,
            history: HistoryPolicy | None = None) -> Exploration:
    messages = [
        {"role": "system", "content": prompts.EXPLORATION_SYSTEM},
        {"role": "user", "content": prompts.exploration_request(prompt, repo_name)},
    ]
    schemas = [*tools.schemas(), prompts.FINISH_EXPLORATION_SCHEMA]
    outcome = run_tool_loop(llm, telemetry, tools, messages, schemas, max_steps=max_steps,
                            phase="exploration", progress=progress,
                            finish_tool="finish_exploration", history=history)
    if outcome.finish_arguments is not None:
        understanding, ended_by = outcome.finish_arguments["understanding"], "finish_exploration"
    elif not outcome.hit_step_cap:
        understanding, ended_by = outcome.content or "", "no_more_tools"
    else:
        # One more call, tools offered but not allowed: keeps the prefix (and its cache) intact.
        progress.step("exploration", f"step limit ({max_steps}) reached: asking for a summary")
        messages.append({"role": "user", "content": prompts.WRAP_UP_EXPLORATION})
        reply, _ = ask_model(llm, messages, schemas, history=history, tool_choice="none")
        messages.append(assistant_message(reply))
        understanding, ended_by = reply.get("content") or "", "step_limit"
    understanding = _with_files_read(understanding.strip(), store)
    log.info("exploration ended by %s after %d steps", ended_by, outcome.steps)
    return Exploration(understanding=understanding, steps=outcome.steps, ended_by=ended_by,
                       paths_read=frozenset(outcome.paths_read))


def _with_files_read(understanding: str, store: CacheStore) -> str:
    """Append the files actually read, as facts, unless the model already listed them."""
    if "Files read:" in understanding:
        return understanding
    files = [(info.path, info.line_count) for info in store.files()]
    if not files:
        return understanding or "The exploration read no files."
    return f"{understanding}\n\n{prompts.files_read_line(files)}".strip()
