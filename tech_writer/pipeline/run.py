"""The run: exploration → outline → sections → assembly, each phase its own span.

:func:`run_report` is the API: a prompt, a repository and one :class:`RunSettings` in, one
:class:`RunResult` out. :func:`run_pipeline` is the seed's interface over it (keyword arguments
in, ``(report, cache_store, cost_stats)`` out, :class:`RunFailed` when the run stops).

The run is one trace: a root ``invoke_agent tech_writer`` span, a span per phase, a span per
section, and under them a ``chat`` span per LLM call and an ``execute_tool`` span per tool call.
The cost summary comes from the telemetry layer's cost span processor (via
:meth:`LLMClient.cost_summary`), so it is by construction what the spans say.

A failure late in a run never throws away what was paid for: the result carries the partial
report (from the outline on: its title, every section finished so far, the others named as not
written) and the cost so far.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tech_writer.errors import (
    LLMError,
    OutlineError,
    SettingError,
    TechWriterError,
    Terminated,
    UsageError,
)
from tech_writer.llm.budget import BudgetExhausted
from tech_writer.llm.client import LLMClient
from tech_writer.llm.cost_lookup import LookupPolicy
from tech_writer.llm.retry import RetryPolicy
from tech_writer.pipeline import prompts
from tech_writer.pipeline.aspects import dropped_aspects
from tech_writer.pipeline.context import RunContext
from tech_writer.pipeline.exploration import explore
from tech_writer.pipeline.fallback_outline import FALLBACK_NOTE, fallback_outline
from tech_writer.pipeline.grounded import Grounding, UngroundedReport, record_grounding
from tech_writer.pipeline.history import HistoryPolicy
from tech_writer.pipeline.outline import Outline, SectionSpec, make_outline
from tech_writer.pipeline.progress import Progress, Spend, format_cost_line
from tech_writer.pipeline.reading import read_what_matters, reading_needed
from tech_writer.pipeline.result import RunFailure, RunResult
from tech_writer.pipeline.resume import ResumeStore
from tech_writer.pipeline.sections import WrittenSection, write_section
from tech_writer.pipeline.settings import RunSettings
from tech_writer.pipeline.toolloop import traced_tool_call
from tech_writer.pipeline.workers import run_jobs
from tech_writer.report.citations import verify_citations
from tech_writer.report.gate import GroundingFigures
from tech_writer.report.provenance import Provenance, SectionInput, attach, build_provenance
from tech_writer.repository.cache import CacheStore
from tech_writer.repository.emptiness import nothing_to_document
from tech_writer.repository.gitinfo import head_commit
from tech_writer.repository.repo import Repository
from tech_writer.repository.tools import RepoTools
from tech_writer.secrets import known_secrets
from telemetry import attributes as attrs

if TYPE_CHECKING:
    from telemetry import CostSummary, Telemetry, UsageTotals

__all__ = ["DEMO_NOTICE", "RunFailed", "RunResources", "assemble_report", "best_effort", "end_phase",
           "format_cost_line", "outcome_of", "run_attributes", "run_context", "run_pipeline", "run_report",
           "set_rollup", "settled_totals", "stop_calls"]

log = logging.getLogger("tech_writer")
_T = TypeVar("_T")

DEMO_NOTICE = ("> **Demo run** (`--provider demo`): written by tech_writer's built-in scripted "
               "model; its costs are simulated. Use `--provider openrouter` or `openai` for a "
               "real report.")


class RunFailed(TechWriterError):
    """The run stopped early (:func:`run_pipeline` only). Carries its :class:`RunResult`: the
    partial report and what it cost."""

    def __init__(self, result: RunResult) -> None:
        failure = result.failure
        assert failure is not None
        super().__init__(failure.message)
        self.result = result
        self.cause = failure.cause
        self.partial_report = result.report
        self.phase = failure.phase
        self.missing_sections = list(failure.missing_sections)
        self.budget_exhausted = failure.budget_exhausted
        self.exit_code = failure.exit_code

    @property
    def cost_stats(self) -> dict[str, Any] | None:
        """The seed's name for the cost so far, as JSON (see :meth:`RunResult.cost_document`)."""
        return self.result.cost_document()


@dataclass
class _RunState:
    phase: str | None = None
    understanding: str | None = None
    outline: Outline | None = None
    sections: dict[int, WrittenSection] = field(default_factory=dict)

    def written_in_order(self) -> list[WrittenSection]:
        return [self.sections[i] for i in sorted(self.sections)]

    def missing_titles(self) -> list[str]:
        if self.outline is None:
            return []
        return [spec.title for i, spec in enumerate(self.outline.sections)
                if i not in self.sections]


def run_pipeline(
    prompt: str,
    repo_path: str | Path,
    *,
    model: str | None = None,
    provider: str = "openai",
    api_key: str | None = None,
    base_url: str | None = None,
    track_cost: bool | None = None,
    max_exploration: int = 30,
    max_sections: int = 8,
    persist_cache: bool = False,
    cache_path: str | Path | None = None,
    resume: bool = False,
    concurrency: int | None = None,
    max_cost_usd: float | None = None,
    stream: bool = False,
    telemetry: Telemetry | None = None,
    llm: LLMClient | None = None,
    progress: Progress | None = None,
    prompt_name: str | None = None,
    environ: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
    lookup: LookupPolicy | None = None,
    request_timeout_s: float = 180.0,
    history: HistoryPolicy | None = None,
    reasoning: str | None = None,
    structured_output: bool = True,
    parallel_tools: bool = True,
) -> tuple[str, CacheStore, dict[str, Any]]:
    """Write the report. Returns ``(report_markdown, cache_store, cost_stats)``.

    The seed's interface over :func:`run_report`: the keywords become one :class:`RunSettings`.
    Raises :class:`~tech_writer.errors.SettingError` (a :class:`UsageError`) for bad arguments
    before any LLM call, and :class:`RunFailed` (with the partial report and the cost so far)
    when the run stops after it started — an API failure, the budget reached (exit 3), Ctrl-C
    (130) or SIGTERM (143).
    """
    if llm is not None:  # the caller's client says who answers
        given = llm.settings
        provider, model, api_key = given.provider, given.model, given.api_key
        base_url, track_cost = given.base_url, given.track_cost
    settings = RunSettings(
        provider=provider, model=model, api_key=api_key, base_url=base_url,
        track_cost=track_cost, max_exploration=max_exploration, max_sections=max_sections,
        concurrency=concurrency, max_cost_usd=max_cost_usd, persist_cache=persist_cache,
        cache_path=Path(cache_path) if cache_path is not None else None, resume=resume,
        stream=stream, reasoning=reasoning, structured_output=structured_output,
        parallel_tools=parallel_tools, request_timeout_s=request_timeout_s,
        retry=retry or RetryPolicy(), lookup=lookup, prompt_name=prompt_name)
    result = run_report(prompt, repo_path, settings, telemetry=telemetry, llm=llm,
                        progress=progress, environ=environ, history=history)
    if result.failure is not None:
        raise RunFailed(result) from result.failure.cause
    assert result.report is not None
    cost_stats = result.cost_document()
    assert cost_stats is not None
    return result.report, result.store, cost_stats


def run_report(prompt: str, repo_path: str | Path, settings: RunSettings, *,
               telemetry: Telemetry | None = None, llm: LLMClient | None = None,
               progress: Progress | None = None, environ: Mapping[str, str] | None = None,
               history: HistoryPolicy | None = None) -> RunResult:
    """Write the report as ``settings`` say; the result carries a failure instead of raising
    once the run has started. ``llm`` (a client of the caller's, used as it is) or
    ``telemetry`` (for the run's own client) may be given; ``history`` overrides the policy
    fitted to the model's context window.

    Raises :class:`UsageError` before anything is paid for: an empty prompt, a repository that
    is not a directory or holds nothing to document, a cache that cannot be opened, a key that
    is missing, a model that cannot explore."""
    root = Path(repo_path)
    if not prompt.strip():
        raise SettingError("prompt", "the prompt is empty: write what report you want",
                           reason="prompt_empty")
    if not root.is_dir():
        raise SettingError("repo_path", f"{repo_path}: not a directory",
                           reason="not_a_directory", path=str(repo_path))
    store = _open_cache(settings.cache_path, root) if settings.persist_cache else CacheStore(None)
    repo = Repository(root, cache=store, path_filter=settings.path_filter)
    empty = nothing_to_document(repo)
    if empty is not None:  # an exploration would find nothing, and sections cite nothing
        store.close()
        raise SettingError("repo_path", empty, reason="nothing_to_document", text=empty)
    with RunResources(settings, telemetry, llm, environ) as llm:
        run = _Run(run_context(llm, settings, repo, prompt, progress, history, environ),
                   settings)
        return run.result(run_attributes(llm, run.ctx.repo, settings.prompt_name))


def run_context(llm: LLMClient, settings: RunSettings, repo: Repository, prompt: str,
             progress: Progress | None, history: HistoryPolicy | None,
             environ: Mapping[str, str] | None) -> RunContext:
    """The run's context; refuses a model that cannot explore before anything is paid for."""
    history = history or _check_model(llm)
    if llm.simulated:
        log.warning("demo provider: a built-in scripted model writes the report; "
                    "costs are simulated")
    progress = progress or Progress.silent()
    progress.attach(functools.partial(spend_so_far, llm), simulated=llm.simulated,
                    cost_tracked=llm.track_cost, budget_usd=settings.max_cost_usd)
    store = repo.cache
    assert store is not None
    tools = RepoTools(repo, secrets=known_secrets(llm.api_key_for_masking, settings.api_key,
                                                  environ=environ))
    # Under a budget, one job at a time: the budget then buys whole jobs (exploration areas,
    # sections) in order instead of several half-done ones that all stop at the limit.
    jobs = 1 if llm.budget is not None else settings.jobs
    grounding = Grounding(repo, keep_unverified=settings.keep_unverified, mask=tools.masked)
    return RunContext(llm, repo, tools, store, prompt, progress, history, jobs, grounding)


class RunResources:
    """The run's client (and its telemetry) when the caller gave none: opened on entry, closed
    and shut down on exit, also when opening the client is refused."""

    def __init__(self, settings: RunSettings, telemetry: Telemetry | None,
                 llm: LLMClient | None, environ: Mapping[str, str] | None) -> None:
        self._given = llm
        self._own_telemetry = telemetry is None and llm is None
        self._telemetry = telemetry
        self._settings, self._environ = settings, environ
        self._llm: LLMClient | None = None

    def __enter__(self) -> LLMClient:
        if self._given is not None:
            return self._given
        telemetry = self._telemetry
        if telemetry is None:
            from telemetry import Telemetry

            telemetry = Telemetry.from_env(self._environ)
        self._telemetry = telemetry
        try:
            self._llm = LLMClient(settings=self._settings.client, telemetry=telemetry,
                                  environ=self._environ)
        except BaseException:
            self._shutdown()
            raise
        return self._llm

    def __exit__(self, *exc: object) -> None:
        if self._llm is not None:
            self._llm.close()
        self._shutdown()

    def _shutdown(self) -> None:
        if self._own_telemetry and self._telemetry is not None:
            self._telemetry.shutdown()


def _check_model(llm: LLMClient) -> HistoryPolicy:
    """Refuse a model that cannot do what the run needs before anything is paid for; fit the
    history policy to its context window."""
    capabilities = llm.capabilities()
    missing = capabilities.missing_for_exploration() or capabilities.reasoning_refusal(
        llm.settings.reasoning) or llm.key_limit_problem()
    if missing is not None:
        raise UsageError(missing)
    return HistoryPolicy.for_context(capabilities.context_length,
                                     capabilities.max_completion_tokens)


def run_attributes(llm: LLMClient, repo: Repository, prompt_name: str | None) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        attrs.RUN_REPO: str(repo.root.name),
        attrs.RUN_PROMPT_FILE: prompt_name or "",
        attrs.GEN_AI_PROVIDER_NAME: llm.provider,
        attrs.GEN_AI_REQUEST_MODEL: llm.model,
    }
    if llm.config.openrouter_dialect:
        # The id OpenRouter groups this run's calls by, so a trace and OpenRouter's activity
        # view can be matched; under both names backends group sessions by.
        attributes[attrs.GEN_AI_CONVERSATION_ID] = llm.session_id
        attributes[attrs.SESSION_ID] = llm.session_id
    return attributes


class _Run:
    """One run's phases. Holds what has been produced so far, for a partial report."""

    def __init__(self, ctx: RunContext, settings: RunSettings) -> None:
        self.ctx, self.settings = ctx, settings
        self.llm = ctx.llm
        self.resume = ResumeStore(ctx.store, ctx.repo, prompt=ctx.prompt, model=ctx.llm.model,
                                  provider=ctx.llm.provider, enabled=settings.resume)
        self.state = _RunState()
        self.outline_fallback = False  # the outline was built without the model

    def result(self, attributes: dict[str, Any]) -> RunResult:
        """Run every phase under the root span; the outcome, as a result."""
        try:
            report = self._traced(attributes)
            return self._result(report, self.llm.cost_summary())
        except (Exception, KeyboardInterrupt) as exc:
            if isinstance(exc, UsageError) and self.state.phase is None:
                raise
            if not isinstance(exc, (TechWriterError, KeyboardInterrupt)):
                # A bug, not a user error: one line for the user, the traceback for DEBUG logs.
                log.debug("internal error", exc_info=True)
            failure = RunFailure.of(exc, self.state.phase, tuple(self.state.missing_titles()))
            if isinstance(exc, UngroundedReport):  # no report: the draft, kept apart
                return self._result(None, best_effort(self.llm.cost_summary), failure,
                                    draft=exc.draft)
            return self._result(best_effort(self.partial_report),
                                best_effort(self.llm.cost_summary), failure)

    def _result(self, report: str | None, cost_summary: CostSummary | None,
                failure: RunFailure | None = None, draft: str | None = None) -> RunResult:
        llm = self.llm
        return RunResult(report, cost_summary, llm.provider, llm.model, llm.simulated,
                         llm.track_cost, self.ctx.store, self.resume.reused, failure,
                         grounding=self._grounding_figures(), ungrounded_draft=draft)

    def _grounding_figures(self) -> GroundingFigures | None:
        written = [w.grounding for w in self.state.written_in_order() if w.grounding is not None]
        return GroundingFigures.total(written) if written else None

    def _traced(self, attributes: dict[str, Any]) -> str:
        """The phases under the run's root span, which ends with the outcome and the settled
        rollup."""
        llm = self.llm
        with self.ctx.telemetry.run_span(agent_name="tech_writer",
                                         attributes=attributes) as root_span:
            try:
                report = self.execute()
                figures = self._grounding_figures()
                if figures is not None:
                    record_grounding(root_span, figures, event=False)
            except BaseException as exc:
                stop_calls(llm, exc)
                root_span.set_attribute(attrs.RUN_OUTCOME, outcome_of(exc))
                set_rollup(root_span, settled_totals(llm, None))
                best_effort(self.save_settled_costs)  # what a resumed run will not pay again
                raise
            root_span.set_attribute(attrs.RUN_OUTCOME, "done")
            set_rollup(root_span, settled_totals(llm, None))
        return report

    def execute(self) -> str:
        dropped = dropped_aspects(self.ctx.prompt, self.settings.max_sections)
        if dropped:  # said once the run is under way (a refused run says only why)
            log.warning("%s", dropped)
        understanding = self._exploration()
        self.state.understanding = understanding
        outline = self._outline(understanding)
        self._sections(outline, understanding)
        self.state.phase = "assembly"
        figures = self._grounding_figures()
        if figures is not None and figures.nothing_grounded:
            raise UngroundedReport(figures, self._assemble(drafts=True))
        return self._assemble()

    def partial_report(self) -> str | None:
        """What exists so far: from the outline on, the title and every finished section, the
        sections not written named in a note (the outline was paid for, even if no section
        was finished); before it, nothing."""
        if self.state.outline is None:
            return None
        return self._assemble()

    # --- phases ------------------------------------------------------------------------
    def _exploration(self) -> str:
        self.state.phase = "exploration"
        ctx, limit = self.ctx, self.settings.max_exploration
        with ctx.telemetry.phase_span("exploration") as span:
            understanding = self.resume.load_exploration()
            paths_read: frozenset[str] = frozenset()
            if understanding is not None:
                ctx.progress.phase("exploration", "reused from an earlier run (--resume)")
            else:
                ctx.progress.phase("exploration", f"up to {limit} step{'s' * (limit != 1)}")
                exploration = explore(ctx, max_steps=limit)
                understanding, paths_read = exploration.understanding, exploration.paths_read
                if not paths_read and exploration.ended_by == "no_more_tools":
                    log.warning("the model read no file: it answered without calling a tool. "
                                "If it is served locally, the server may not show it the tools "
                                "(a chat template without tools: llama-cpp-python needs "
                                "--chat_format chatml-function-calling, llama-server --jinja)")
                understanding = self._read_if_needed(understanding, paths_read, span)
            totals = end_phase(self.llm, span, "exploration")
            if not self.resume.reused.exploration:
                self.resume.save_exploration(understanding, paths_read,
                                             totals.cost_usd if totals else 0.0)
        return understanding

    def _read_if_needed(self, understanding: str, paths_read: frozenset[str], span: Any) -> str:
        """When the model's exploration read too little, or handed over a tool call written as
        text, the tool reads what matters itself (see :mod:`tech_writer.pipeline.reading`)."""
        ctx = self.ctx
        why = reading_needed(paths_read, understanding, len(ctx.repo.list_files()))
        if why is None:
            if ctx.grounding is not None:
                ctx.grounding.important_files = [info.path for info in ctx.store.files()]
            return understanding
        ctx.progress.step("exploration", f"{why}: the tool reads what matters itself")
        log.info("exploration: %s; reading the most important files", why)
        span.set_attribute(attrs.EXPLORATION_SELF_READ, why)
        found = read_what_matters(self._run_tool)
        if ctx.grounding is not None:
            ctx.grounding.important_files = found.important_files()
        # The model's notes are dropped: written after reading (almost) nothing, or as a tool
        # call in disguise, they are guesses, and the sections would copy them (Qwen2.5-Coder's
        # notes, written without a read, had itsdangerous "protect against SQL injection").
        files = prompts.files_read_line((i.path, i.line_count) for i in ctx.store.files())
        return "\n\n".join(part for part in (found.notes(), files) if part)

    def _run_tool(self, name: str, arguments: Mapping[str, Any]) -> str:
        """A tool call the tool makes itself: traced like the model's."""
        return traced_tool_call(self.ctx, name, dict(arguments)).text

    def _outline(self, understanding: str) -> Outline:
        self.state.phase = "outline"
        ctx, limit = self.ctx, self.settings.max_sections
        with ctx.telemetry.phase_span("outline") as span:
            outline = self.resume.load_outline(understanding)
            if outline is not None:
                outline = Outline(outline.title, outline.sections[:limit])
                ctx.progress.phase("outline", "reused from an earlier run (--resume)")
            else:
                ctx.progress.phase("outline")
                try:
                    outline = make_outline(ctx, understanding, limit)
                except OutlineError as exc:
                    outline = self._fallback_outline(understanding, exc)
            totals = end_phase(self.llm, span, "outline")
            # A fallback is not saved for --resume: a resumed run asks the model again.
            if not self.resume.reused.outline and not self.outline_fallback:
                self.resume.save_outline(understanding, outline,
                                         totals.cost_usd if totals else 0.0)
        self.state.outline = outline
        ctx.progress.step("outline", f"{outline.title!r}: {len(outline.sections)} sections")
        return outline

    def _fallback_outline(self, understanding: str, exc: OutlineError) -> Outline:
        """The exploration is kept when no outline form worked: an outline from the prompt's
        own aspects and the files read (see :mod:`tech_writer.pipeline.fallback_outline`)."""
        read = [info.path for info in self.ctx.store.files()]
        outline = fallback_outline(self.ctx.prompt, understanding, read,
                                   self.settings.max_sections)
        log.warning("%s; writing the report on an outline built without the model: the "
                    "prompt's %d aspect(s), the %d file(s) the exploration read shared among "
                    "them", exc.message.removesuffix("; try another --model"),
                    len(outline.sections), len(read))
        self.outline_fallback = True
        return outline

    def _sections(self, outline: Outline, understanding: str) -> None:
        self.state.phase = "sections"
        specs = list(enumerate(outline.sections))
        progress = self.ctx.progress
        progress.phase("sections", f"{len(specs)} in the outline")
        with self.ctx.telemetry.phase_span("sections") as span:
            todo = []
            for index, spec in specs:
                record = self.resume.load_section(understanding, spec)
                if record is None:
                    todo.append((index, spec))
                    continue
                progress.step("sections", f"reused {index + 1}/{len(specs)}: {spec.title}")
                self.state.sections[index] = WrittenSection(
                    spec, record["markdown"], verify_citations(record["markdown"], self.ctx.repo),
                    int(record.get("fix_rounds", 0)), tuple(record.get("deps", {})),
                    float(record.get("cost_usd", 0.0)), reused=True,
                    grounding=self._regrade(spec.title, record["markdown"]))
            titles = [s.title for s in outline.sections]
            progress.sections_planned(len(specs), done=len(self.state.sections))
            self._write_all(todo, understanding, titles, len(specs))
            figures = self._grounding_figures()
            if figures is not None:
                record_grounding(span, figures)
            end_phase(self.llm, span, "sections")  # waits for the phase's cost look-ups
            self.save_settled_costs()

    def _write_all(self, todo: list[tuple[int, SectionSpec]], understanding: str,
                   titles: list[str], total: int) -> None:
        """Write sections ``ctx.concurrency`` at a time (see :mod:`tech_writer.pipeline.workers`);
        the report keeps the outline's order."""
        if not todo:
            return
        workers = min(self.ctx.concurrency, len(todo))
        self.ctx.progress.step("sections", f"writing {len(todo)}, {workers} at a time")
        run_jobs([functools.partial(self._write_one, index, spec, understanding, titles, total)
                  for index, spec in todo], workers, self.llm, name="section-writer")
        if self.llm.stopping and len(self.state.sections) < total:
            raise LLMError("the run stopped before every section was written",
                           error_type="cancelled")

    def save_settled_costs(self) -> None:
        """Sections are saved for --resume as soon as they are written, with the costs known
        then; a cost that a /generation look-up settled later is saved once it has (after the
        sections phase, or after a failed run's final settling)."""
        understanding = self.state.understanding
        if understanding is None:
            return
        for written in list(self.state.sections.values()):
            if written.reused:
                continue
            settled = written.settled_cost_usd()
            if settled != written.cost_usd:
                self.resume.update_section_cost(understanding, written.spec, settled)

    def _write_one(self, index: int, spec: SectionSpec, understanding: str, titles: list[str],
                   total: int) -> None:
        if self.llm.stopping:
            raise LLMError("the run is stopping: no new LLM calls", error_type="cancelled")
        self.ctx.progress.step("sections", f"writing {index + 1}/{total}: {spec.title}")
        with self.ctx.telemetry.step_span(f"section {index + 1}: {spec.title}", {
                attrs.SECTION_TITLE: spec.title, attrs.SECTION_INDEX: index + 1}) as span:
            written = write_section(self.ctx, spec, understanding=understanding,
                                    all_titles=titles)
            if written.grounding is not None:
                record_grounding(span, written.grounding, label=spec.title)
        self.state.sections[index] = written
        self.ctx.progress.section_done(spec.title, written.cost_usd)
        self.resume.save_section(understanding, spec, written.markdown, written.fix_rounds,
                                 written.depends_on, written.cost_usd)

    def _regrade(self, title: str, markdown: str) -> GroundingFigures | None:
        """A reused section's figures, counted again by the gate (its text stays as saved)."""
        grounding = self.ctx.grounding
        if grounding is None:
            return None
        if not markdown.strip():
            figures = GroundingFigures(sections=1, sections_left_out=(title,))
        else:
            gate = grounding.gate
            figures = gate.settle(gate.check(markdown),
                                  keep_unverified=grounding.keep_unverified).figures
        grounding.record(title, figures)
        return figures

    def _assemble(self, *, drafts: bool = False) -> str:
        """The report; ``drafts``: every section as the model wrote it, before the gate."""
        outline = self.state.outline
        assert outline is not None
        # One snapshot: after Ctrl-C, abandoned workers may still be finishing sections.
        state = _RunState(self.state.phase, self.state.understanding, outline,
                          dict(self.state.sections))
        notes = [f"> **Outline**: {FALLBACK_NOTE}"] if self.outline_fallback else []
        missing = state.missing_titles()
        if missing:
            notes.append("> **Incomplete report**: the run stopped before writing: "
                         + "; ".join(missing) + ".")
        if self.resume.reused.anything:
            notes.append(self.resume.reused.note())
        written = state.written_in_order()
        figures = [w.grounding for w in written if w.grounding is not None]
        if drafts:
            written = [dataclasses.replace(w, markdown=w.draft if w.draft is not None
                                           else w.markdown) for w in written]
        body = assemble_report(outline, written, simulated=self.llm.simulated, notes=notes,
                               grounding=GroundingFigures.total(figures)
                               if figures and not drafts else None)
        return attach(body, self._provenance(outline.title, written))

    def _provenance(self, title: str, written: list[WrittenSection]) -> Provenance:
        """What ``tech-writer check`` and ``update`` will compare with the code (see
        :mod:`tech_writer.report.provenance`): recorded with every report, partial ones too."""
        return build_provenance(
            self.ctx.repo, provider=self.llm.provider, model=self.llm.model,
            commit=head_commit(self.ctx.repo.root), prompt=self.ctx.prompt, title=title,
            understanding=self.state.understanding or "",
            sections=[SectionInput(w.spec.title, w.spec.focus, w.spec.relevant_files, w.markdown,
                                   w.depends_on) for w in written])


def assemble_report(outline: Outline, sections: list[WrittenSection], *, simulated: bool,
                    notes: list[str] | None = None,
                    grounding: GroundingFigures | None = None) -> str:
    """Title, banners, then each section that kept something (a section the gate left out is
    named in the grounding line), then the notes."""
    parts = [f"# {outline.title}", ""]
    if simulated:
        parts += [DEMO_NOTICE, ""]
    if grounding is not None:
        parts += [grounding.header_line(), ""]
    for section in sections:
        if section.grounding is not None and not section.markdown.strip():
            continue
        parts += [f"## {section.spec.title}", "", section.markdown.strip(), ""]
    for note in notes or []:
        parts += [note, ""]
    return "\n".join(parts).rstrip() + "\n"


def stop_calls(llm: LLMClient, exc: BaseException) -> None:
    if isinstance(exc, KeyboardInterrupt):
        llm.abort()
    else:
        llm.request_stop()


def outcome_of(exc: BaseException) -> str:
    if isinstance(exc, BudgetExhausted):
        return "budget_exhausted"
    if isinstance(exc, KeyboardInterrupt):
        return "terminated" if isinstance(exc, Terminated) else "interrupted"
    return "failed"


def end_phase(llm: LLMClient, span: Any, phase: str) -> UsageTotals | None:
    """Settle this phase's cost look-ups, put its roll-up on its span and in the log."""
    totals = settled_totals(llm, phase)
    set_rollup(span, totals)
    if totals is not None:
        log.info("%s: %s", phase, format_cost_line(
            totals.cost_usd, totals.total_tokens, totals.calls,
            totals.calls_unknown_cost))
    return totals


def settled_totals(llm: LLMClient, phase: str | None) -> UsageTotals | None:
    llm.settle()
    summary = llm.telemetry.cost.summary()
    return summary.total if phase is None else summary.phases.get(phase)


def set_rollup(span: Any, totals: UsageTotals | None) -> None:
    if totals is None:
        return
    span.set_attributes(totals.rollup_attributes())


def spend_so_far(llm: LLMClient) -> Spend:
    """The cost span processor's running sum (the one source of cost), for the progress."""
    total = llm.telemetry.cost.summary().total
    return Spend(total.cost_usd, total.total_tokens, total.calls)


def best_effort(action: Callable[[], _T]) -> _T | None:
    """Run a step on a failure path (saving costs, building the cost summary): it must never
    replace the run's own error, so a failure is logged and gives None."""
    try:
        return action()
    except Exception:
        log.debug("best-effort step %s failed", getattr(action, "__qualname__", action),
                  exc_info=True)
        return None


def _open_cache(cache_path: str | Path | None, repo_root: Path) -> CacheStore:
    path = _cache_file(cache_path, repo_root)
    try:
        return CacheStore(path)
    except (OSError, sqlite3.Error) as exc:
        raise SettingError("cache_path", f"cannot open the cache file {path} ({exc}); choose a "
                           "writable location", reason="cache_unopenable", path=str(path),
                           error=str(exc)) from None


def _cache_file(cache_path: str | Path | None, repo_root: Path) -> Path:
    """The given file, or one per repository: cache keys are repo-relative paths."""
    if cache_path is not None:
        return Path(cache_path)
    import hashlib

    from platformdirs import user_cache_dir

    digest = hashlib.sha256(str(repo_root.resolve()).encode()).hexdigest()[:16]
    return Path(user_cache_dir("tech_writer")) / f"cache-{digest}.sqlite3"
