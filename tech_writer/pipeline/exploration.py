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
and the same opening part of the first user message (request and layout), so a provider's prompt
cache can serve that prefix once it holds it. Caveats: requests sent at the same moment cannot
read each other's entry, and on Anthropic a different ``tool_choice`` (the plan's is forced)
starts a new message-level entry: there, the tools and system prompt are what the plan and the
explorers share for sure, the opening when one explorer follows another.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tech_writer.errors import LLMError, RequestRejectedError
from tech_writer.pipeline import prompts
from tech_writer.pipeline.context import RunContext
from tech_writer.pipeline.toolloop import ask_model, assistant_message, run_tool_loop
from tech_writer.pipeline.workers import run_jobs
from telemetry import attributes as attrs

if TYPE_CHECKING:
    from tech_writer.repository.cache import CacheStore

__all__ = ["MAX_AREAS", "Area", "Exploration", "explore", "parse_plan"]

log = logging.getLogger("tech_writer.exploration")

MAX_AREAS = 4
PLAN_TOOL = "plan_exploration"
FINISH_TOOL = "finish_exploration"
_MIN_STEPS_PER_AREA = 3  # read, read, finish: fewer and an area is not worth its own explorer
_MAX_PATHS_PER_AREA = 12
_MAX_TITLE = 120
WHOLE_REPOSITORY = "The whole repository"
# The plan tool stays in every explorer's tool list (one cacheable prefix for the phase); an
# explorer that calls it gets this answer instead of an "unknown tool" error.
_ALREADY_PLANNED = ("The exploration is already planned and this is your area: explore it with "
                    "the other tools, then call finish_exploration.")


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


@dataclass
class _AreaNotes:
    notes: str = ""
    steps: int = 0
    ended_by: str = ""
    paths_read: set[str] = field(default_factory=set)


def explore(ctx: RunContext, *, max_steps: int) -> Exploration:
    """Plan, then explore each area (``ctx.concurrency`` at a time); at most ``max_steps`` model
    calls in all, plus one wrap-up call per explorer that reaches its share."""
    layout = ctx.tools.execute("get_structure", {"path": "."}).text
    schemas = [*ctx.tools.schemas(), prompts.FINISH_EXPLORATION_SCHEMA,
               prompts.PLAN_EXPLORATION_SCHEMA]
    # A plan is worth its call only when the steps after it give two areas a useful share each.
    room = min(MAX_AREAS, (max_steps - 1) // _MIN_STEPS_PER_AREA)
    areas: list[Area] = []
    steps = 0
    if room >= 2:
        areas, steps = _plan(ctx, schemas, layout, room)
    areas = _fit(areas, room)
    explorers = _Explorers(ctx, schemas, layout, areas, _shares(max_steps - steps, len(areas)))
    ctx.progress.step("exploration", f"{len(areas)} area(s): {'; '.join(explorers.titles)}"
                      if len(areas) > 1 else "one explorer for the whole repository")
    run_jobs([functools.partial(explorers.explore_area, index) for index in range(len(areas))],
             ctx.concurrency, ctx.llm, name="explorer")
    results = explorers.results
    if ctx.llm.stopping and any(not result.ended_by for result in results):
        raise LLMError("the run stopped before the exploration ended", error_type="cancelled")
    understanding = _with_files_read(_merge(areas, results), ctx.store)
    steps += sum(result.steps for result in results)
    ended_by = ", ".join(sorted({result.ended_by for result in results}))
    log.info("exploration: %d area(s), %d calls, ended by %s", len(areas), steps, ended_by)
    return Exploration(understanding=understanding, steps=steps, ended_by=ended_by,
                       paths_read=frozenset().union(*(r.paths_read for r in results)))


def _plan(ctx: RunContext, schemas: Sequence[Mapping[str, Any]], layout: str,
          max_areas: int) -> tuple[list[Area], int]:
    """The planned areas (empty: no usable plan) and the model calls it took."""
    messages = [
        {"role": "system", "content": prompts.EXPLORATION_SYSTEM},
        _opening_message(prompts.exploration_opening(ctx.prompt, ctx.repo.root.name, layout),
                         prompts.exploration_plan_instruction(max_areas)),
    ]
    forced = {"type": "function", "function": {"name": PLAN_TOOL}}
    calls = 1
    try:
        reply, _ = ask_model(ctx.llm, messages, schemas, history=ctx.history,
                             tool_choice=forced)
    except RequestRejectedError as exc:
        # Some models refuse a forced tool choice (reasoning modes, some providers: OpenRouter
        # then finds "no endpoints that support tool_choice"). The request also asks in words.
        log.info("the model refused a forced plan_exploration (%s); asking without forcing it",
                 exc.status_code)
        reply, _ = ask_model(ctx.llm, messages, schemas, history=ctx.history)
        calls = 2
    for call in reply.get("tool_calls") or []:
        function = call.get("function") or {}
        if function.get("name") == PLAN_TOOL:
            areas = parse_plan(function.get("arguments"))
            if areas:
                return areas, calls
    log.info("the exploration plan was missing or invalid: one explorer for the whole "
             "repository")
    return [], calls


def parse_plan(raw: Any) -> list[Area]:
    """The areas of a ``plan_exploration`` call: invalid entries dropped, duplicates merged,
    at most :data:`MAX_AREAS` kept. Empty when nothing usable is left."""
    try:
        arguments = json.loads(raw, strict=False) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return []
    entries = arguments.get("areas") if isinstance(arguments, dict) else None
    if not isinstance(entries, list):
        return []
    areas: list[Area] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        title, focus = _one_line(entry.get("title"))[:_MAX_TITLE], _one_line(entry.get("focus"))
        if not title or any(area.title == title for area in areas):
            continue
        paths = entry.get("paths")
        if not isinstance(paths, list):
            paths = []
        clean = tuple(dict.fromkeys(path for path in map(_one_line, paths) if path))
        areas.append(Area(title, focus, clean[:_MAX_PATHS_PER_AREA]))
    return areas[:MAX_AREAS]


def _one_line(value: Any) -> str:
    """Model-written text that goes into line-based instructions: whitespace collapsed, so a
    title cannot add lines of its own ("Start from: ...")."""
    return " ".join(value.split()) if isinstance(value, str) else ""


def _fit(areas: list[Area], room: int) -> list[Area]:
    """At most ``room`` areas: a plan with more has its last ones merged into one area, so no
    planned ground goes unexplored. No plan (or no room for two): one area for everything."""
    if len(areas) > room >= 2:
        log.info("exploration: %d areas planned, %d fit in --max-exploration; merging the rest",
                 len(areas), room)
        rest = areas[room - 1:]
        merged = Area(" + ".join(area.title for area in rest)[:_MAX_TITLE],
                      "; ".join(area.focus for area in rest if area.focus),
                      tuple(dict.fromkeys(p for area in rest for p in area.paths))
                      [:_MAX_PATHS_PER_AREA])
        areas = [*areas[:room - 1], merged]
    if len(areas) > 1 and room >= 2:
        return areas
    if areas:  # one area: it still names where to start
        first = areas[0]
        return [Area(first.title, first.focus or "everything the report needs", first.paths)]
    return [Area(WHOLE_REPOSITORY, "everything the report needs")]


def _shares(steps: int, areas: int) -> list[int]:
    """Steps split between the areas as evenly as they go, the first ones taking the remainder;
    at least one each."""
    base, extra = divmod(max(steps, areas), areas)
    return [base + (1 if index < extra else 0) for index in range(areas)]


@dataclass
class _Explorers:
    """The explorers of one exploration, one per area, each with its share of the steps."""

    ctx: RunContext
    schemas: Sequence[Mapping[str, Any]]
    layout: str
    areas: list[Area]
    shares: list[int]
    results: list[_AreaNotes] = field(init=False)

    def __post_init__(self) -> None:
        self.results = [_AreaNotes() for _ in self.areas]

    @property
    def titles(self) -> list[str]:
        return [area.title for area in self.areas]

    def explore_area(self, index: int) -> None:
        area = self.areas[index]
        with self.ctx.telemetry.step_span(f"explore {index + 1}: {area.title}", {
                attrs.EXPLORATION_AREA_TITLE: area.title,
                attrs.EXPLORATION_AREA_INDEX: index + 1}):
            label = (f"exploration {index + 1}/{len(self.areas)}" if len(self.areas) > 1
                     else "exploration")
            self.results[index] = self._explore(area, self.shares[index], label)

    def _explore(self, area: Area, max_steps: int, label: str) -> _AreaNotes:
        """One explorer's tool loop; ``label`` marks its progress lines (areas run side by
        side)."""
        ctx = self.ctx
        others = [title for title in self.titles if title != area.title]
        messages = [
            {"role": "system", "content": prompts.EXPLORATION_SYSTEM},
            _opening_message(prompts.exploration_opening(ctx.prompt, ctx.repo.root.name,
                                                         self.layout),
                             prompts.exploration_area_instruction(
                                 title=area.title, focus=area.focus, paths=area.paths,
                                 other_titles=others)),
        ]
        outcome = run_tool_loop(ctx, messages, self.schemas, max_steps=max_steps, phase=label,
                                finish_tool=FINISH_TOOL,
                                fixed_answers={PLAN_TOOL: _ALREADY_PLANNED})
        steps = outcome.steps
        if outcome.finish_arguments is not None:
            notes, ended_by = outcome.finish_arguments["understanding"], "finish_exploration"
        elif not outcome.hit_step_cap:
            notes, ended_by = outcome.content or "", "no_more_tools"
        else:
            # One more call, tools offered but not allowed: the tool list (and its cache) stays.
            why = ("the model repeats itself" if outcome.stopped_repeating
                   else f"step limit ({max_steps}) reached")
            ctx.progress.step(label, f"{area.title}: {why}, asking for notes")
            messages.append({"role": "user", "content": prompts.WRAP_UP_EXPLORATION})
            reply, _ = ask_model(ctx.llm, messages, self.schemas, history=ctx.history,
                                 tool_choice="none")
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
    for index, (area, result) in enumerate(zip(areas, results, strict=True), start=1):
        notes = _without_files_read(result.notes) or "(no notes)"
        parts.append(f"### Area {index}: {area.title}\n{notes}")
    return "\n\n".join(parts)


def _without_files_read(notes: str) -> str:
    return "\n".join(line for line in notes.splitlines()
                     if not line.lstrip().startswith(prompts.FILES_READ_PREFIX)).strip()


def _with_files_read(understanding: str, store: CacheStore) -> str:
    """Append the files actually read, as facts."""
    files = [(info.path, info.line_count) for info in store.files()]
    if not files:
        return understanding or "The exploration read no files."
    return f"{understanding}\n\n{prompts.files_read_line(files)}".strip()
