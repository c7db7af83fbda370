"""Phase 1: explore the repository and hand over an understanding of it.

The exploration is planned, then shared out. One call (``plan_exploration``, forced) splits the
repository into up to :data:`MAX_AREAS` areas from its layout; one explorer per area then runs its
own tool loop, ``concurrency`` at a time, and ends with ``finish_exploration`` notes. The notes,
under their area titles, plus the list of files actually read, are the understanding.

Why share it out: a single explorer is the longest serial stretch of a run (every call waits for
the one before), and its history, resent with every call, grows with everything it has read.
Explorers are short conversations that run side by side. With ``concurrency=1`` they run one after
the other and the report is the same. A plan that is missing or invalid, or has one area, means
one explorer for the whole repository.

Every exploration call (plan and explorers) sends the same system prompt, the same tool schemas
and the same opening of the first user message (request and layout): the provider's prompt cache
serves that prefix after the first call.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tech_writer import prompts
from tech_writer.errors import LLMError, RequestRejectedError
from tech_writer.history import HistoryPolicy
from tech_writer.progress import Progress
from tech_writer.toolloop import ask_model, assistant_message, run_tool_loop
from tech_writer.workers import run_jobs
from telemetry import attributes as attrs

if TYPE_CHECKING:
    from tech_writer.cache import CacheStore
    from tech_writer.llm import LLMClient
    from tech_writer.tools import RepoTools
    from telemetry import Telemetry

__all__ = ["MAX_AREAS", "Area", "Exploration", "explore", "parse_plan"]

log = logging.getLogger("tech_writer.exploration")

MAX_AREAS = 4
PLAN_TOOL = "plan_exploration"
FINISH_TOOL = "finish_exploration"
_MIN_STEPS_PER_AREA = 3  # read, read, finish: fewer and an area is not worth its own explorer
_MAX_PATHS_PER_AREA = 12
_FILES_READ_PREFIX = "Files read:"
WHOLE_REPOSITORY = "The whole repository"


@dataclass(frozen=True)
class Area:
    title: str
    focus: str
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Exploration:
    understanding: str
    steps: int  # model calls, the plan included
    ended_by: str  # how the explorers ended: "finish_exploration", "no_more_tools", "step_limit"
    paths_read: frozenset[str] = frozenset()
    areas: tuple[Area, ...] = ()


@dataclass
class _AreaNotes:
    notes: str = ""
    steps: int = 0
    ended_by: str = ""
    paths_read: set[str] = field(default_factory=set)


def explore(llm: LLMClient, telemetry: Telemetry, tools: RepoTools, store: CacheStore,
            prompt: str, repo_name: str, *, max_steps: int, progress: Progress,
            history: HistoryPolicy | None = None, concurrency: int = 1) -> Exploration:
    """Plan, then explore each area; at most ``max_steps`` model calls in all, plus one wrap-up
    call per explorer that reaches its share."""
    layout = tools.execute("get_structure", {"path": "."}).text
    schemas = [*tools.schemas(), prompts.FINISH_EXPLORATION_SCHEMA,
               prompts.PLAN_EXPLORATION_SCHEMA]
    areas: list[Area] = []
    steps = 0
    if max_steps > _MIN_STEPS_PER_AREA:
        areas = _plan(llm, schemas, prompt, repo_name, layout, history)
        steps = 1
    areas = _fit(areas, max_steps - steps)
    share = (max_steps - steps) // len(areas)
    titles = [area.title for area in areas]
    progress.step("exploration", f"{len(areas)} area(s): {'; '.join(titles)}"
                  if len(areas) > 1 else "one explorer for the whole repository")
    results = [_AreaNotes() for _ in areas]

    def explore_area(index: int) -> None:
        area = areas[index]
        others = [title for title in titles if title != area.title]
        with telemetry.step_span(f"explore {index + 1}: {area.title}", {
                attrs.EXPLORATION_AREA_TITLE: area.title,
                attrs.EXPLORATION_AREA_INDEX: index + 1}):
            label = f"exploration {index + 1}/{len(areas)}" if len(areas) > 1 else "exploration"
            results[index] = _explore_area(llm, telemetry, tools, schemas, area, others,
                                           prompt, repo_name, layout, max_steps=share,
                                           progress=progress, history=history, label=label)

    run_jobs([functools.partial(explore_area, index) for index in range(len(areas))],
             concurrency, llm, name="explorer")
    if llm.stopping and any(not result.ended_by for result in results):
        raise LLMError("the run stopped before the exploration ended", error_type="cancelled")
    understanding = _with_files_read(_merge(areas, results), store)
    ended = sorted({result.ended_by for result in results})
    log.info("exploration: %d area(s), %d calls, ended by %s", len(areas),
             steps + sum(r.steps for r in results), ", ".join(ended))
    return Exploration(understanding=understanding,
                       steps=steps + sum(result.steps for result in results),
                       ended_by=", ".join(ended),
                       paths_read=frozenset().union(*(r.paths_read for r in results)),
                       areas=tuple(areas))


def _plan(llm: LLMClient, schemas: Sequence[Mapping[str, Any]], prompt: str, repo_name: str,
          layout: str, history: HistoryPolicy | None) -> list[Area]:
    messages = [
        {"role": "system", "content": prompts.EXPLORATION_SYSTEM},
        _opening_message(prompts.exploration_opening(prompt, repo_name, layout),
                         prompts.exploration_plan_instruction(MAX_AREAS)),
    ]
    forced = {"type": "function", "function": {"name": PLAN_TOOL}}
    try:
        reply, _ = ask_model(llm, messages, schemas, history=history, tool_choice=forced)
    except RequestRejectedError as exc:
        # Some models refuse a forced tool choice (reasoning modes, some providers: OpenRouter
        # then finds "no endpoints that support tool_choice"). The request also asks in words.
        log.info("the model refused a forced plan_exploration (%s); asking without forcing it",
                 exc.status_code)
        reply, _ = ask_model(llm, messages, schemas, history=history)
    for call in reply.get("tool_calls") or []:
        function = call.get("function") or {}
        if function.get("name") == PLAN_TOOL:
            areas = parse_plan(function.get("arguments"))
            if areas:
                return areas
    log.info("the exploration plan was missing or invalid: one explorer for the whole "
             "repository")
    return []


def parse_plan(raw: Any) -> list[Area]:
    """The areas of a ``plan_exploration`` call: invalid entries dropped, duplicates merged,
    at most :data:`MAX_AREAS` kept. Empty when nothing usable is left."""
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return []
    entries = arguments.get("areas") if isinstance(arguments, dict) else None
    if not isinstance(entries, list):
        return []
    areas: list[Area] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        title, focus = entry.get("title"), entry.get("focus")
        if not isinstance(title, str) or not title.strip():
            continue
        if any(area.title == title.strip() for area in areas):
            continue
        paths = entry.get("paths")
        if not isinstance(paths, list):
            paths = []
        clean = tuple(dict.fromkeys(p.strip() for p in paths if isinstance(p, str) and p.strip()))
        areas.append(Area(title.strip()[:120], focus.strip() if isinstance(focus, str) else "",
                          clean[:_MAX_PATHS_PER_AREA]))
    return areas[:MAX_AREAS]


def _fit(areas: list[Area], steps_left: int) -> list[Area]:
    """As many areas as the step budget gives each a useful share; one whole-repository area
    when there is no plan (or no room for more than one explorer)."""
    fitting = max(1, steps_left // _MIN_STEPS_PER_AREA)
    if len(areas) > fitting:
        log.info("exploration: %d areas planned, %d fit in --max-exploration", len(areas),
                 fitting)
    kept = areas[:fitting]
    if len(kept) > 1:
        return kept
    if kept:  # one area: it still names where to start
        return [Area(kept[0].title, kept[0].focus or "everything the report needs",
                     kept[0].paths)]
    return [Area(WHOLE_REPOSITORY, "everything the report needs")]


def _explore_area(llm: LLMClient, telemetry: Telemetry, tools: RepoTools,
                  schemas: Sequence[Mapping[str, Any]], area: Area, others: list[str],
                  prompt: str, repo_name: str, layout: str, *, max_steps: int,
                  progress: Progress, history: HistoryPolicy | None,
                  label: str = "exploration") -> _AreaNotes:
    """One explorer's tool loop; ``label`` marks its progress lines (areas run side by side)."""
    messages = [
        {"role": "system", "content": prompts.EXPLORATION_SYSTEM},
        _opening_message(prompts.exploration_opening(prompt, repo_name, layout),
                         prompts.exploration_area_instruction(
                             title=area.title, focus=area.focus, paths=area.paths,
                             other_titles=others)),
    ]
    outcome = run_tool_loop(llm, telemetry, tools, messages, schemas, max_steps=max_steps,
                            phase=label, progress=progress, finish_tool=FINISH_TOOL,
                            history=history)
    steps = outcome.steps
    if outcome.finish_arguments is not None:
        notes, ended_by = outcome.finish_arguments["understanding"], "finish_exploration"
    elif not outcome.hit_step_cap:
        notes, ended_by = outcome.content or "", "no_more_tools"
    else:
        # One more call, tools offered but not allowed: keeps the prefix (and its cache) intact.
        progress.step(label, f"{area.title}: step limit ({max_steps}) reached, asking for notes")
        messages.append({"role": "user", "content": prompts.WRAP_UP_EXPLORATION})
        reply, _ = ask_model(llm, messages, schemas, history=history, tool_choice="none")
        messages.append(assistant_message(reply))
        notes, ended_by, steps = reply.get("content") or "", "step_limit", steps + 1
    return _AreaNotes(notes.strip(), steps, ended_by, set(outcome.paths_read))


def _opening_message(shared: str, own: str) -> dict[str, Any]:
    """The first user message as two text parts: the part every exploration call shares, then
    this call's own. The LLM client puts a cache breakpoint after each where a model needs them."""
    return {"role": "user", "content": [{"type": "text", "text": shared},
                                        {"type": "text", "text": own}]}


def _merge(areas: Sequence[Area], results: Sequence[_AreaNotes]) -> str:
    """One text: each area's notes under its title. Per-area "Files read" lines are dropped: the
    list of every file read, taken from the cache, is appended once."""
    if len(areas) == 1:
        return _without_files_read(results[0].notes)
    parts = []
    for index, (area, result) in enumerate(zip(areas, results), start=1):
        notes = _without_files_read(result.notes) or "(no notes)"
        parts.append(f"### Area {index}: {area.title}\n{notes}")
    return "\n\n".join(parts)


def _without_files_read(notes: str) -> str:
    return "\n".join(line for line in notes.splitlines()
                     if not line.lstrip().startswith(_FILES_READ_PREFIX)).strip()


def _with_files_read(understanding: str, store: CacheStore) -> str:
    """Append the files actually read, as facts."""
    files = [(info.path, info.line_count) for info in store.files()]
    if not files:
        return understanding or "The exploration read no files."
    return f"{understanding}\n\n{prompts.files_read_line(files)}".strip()
