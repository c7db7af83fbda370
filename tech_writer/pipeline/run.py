"""``run_pipeline``: exploration → outline → sections → assembly, each phase its own span.

The run is one trace: a root ``invoke_agent tech_writer`` span, a span per phase, a span per
section, and under them a ``chat`` span per LLM call and an ``execute_tool`` span per tool call.
The cost summary comes from the telemetry layer's cost span processor (via
:meth:`LLMClient.get_cost_summary`), so it is by construction what the spans say.

A failure late in a run never throws away what was paid for: :class:`RunFailed` carries the
partial report (from the outline on: its title, every section finished so far, the others named
as not written) and the cost so far.
"""

from __future__ import annotations

import functools
import logging
import math
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tech_writer.errors import (
    EXIT_FAILED,
    LLMError,
    TechWriterError,
    Terminated,
    UsageError,
    interruption,
)
from tech_writer.llm.budget import BudgetExhausted
from tech_writer.llm.client import LLMClient
from tech_writer.llm.cost_lookup import LookupPolicy
from tech_writer.llm.retry import RetryPolicy
from tech_writer.pipeline.exploration import explore
from tech_writer.pipeline.history import HistoryPolicy
from tech_writer.pipeline.outline import Outline, SectionSpec, make_outline
from tech_writer.pipeline.progress import Progress, Spend
from tech_writer.pipeline.resume import ResumeStore
from tech_writer.pipeline.sections import WrittenSection, write_section
from tech_writer.pipeline.workers import run_jobs
from tech_writer.report.citations import verify_citations
from tech_writer.repository.cache import CacheStore
from tech_writer.repository.repo import Repository
from tech_writer.repository.tools import RepoTools
from tech_writer.secrets import known_secrets
from telemetry import attributes as attrs

if TYPE_CHECKING:
    from telemetry import Telemetry, UsageTotals

__all__ = ["DEMO_NOTICE", "RunFailed", "assemble_report", "format_cost_line", "run_pipeline"]

log = logging.getLogger("tech_writer")
_T = TypeVar("_T")

DEMO_NOTICE = ("> **Demo run** (`--provider demo`): written by tech_writer's built-in scripted "
               "model; its costs are simulated. Use `--provider openrouter` or `openai` for a "
               "real report.")


class RunFailed(TechWriterError):
    """The run stopped early. Carries what it had produced and what it cost."""

    def __init__(self, cause: BaseException, partial_report: str | None,
                 cost_stats: dict[str, Any] | None, phase: str | None,
                 missing_sections: list[str] | None = None) -> None:
        exit_code = getattr(cause, "exit_code", EXIT_FAILED)
        if isinstance(cause, TechWriterError):
            message = cause.message
        elif isinstance(cause, KeyboardInterrupt):
            message, exit_code = interruption(cause)
        else:
            message = f"internal error ({type(cause).__name__}: {cause}); please report it"
        super().__init__(message)
        self.cause = cause
        self.partial_report = partial_report
        self.cost_stats = cost_stats
        self.phase = phase
        self.missing_sections = missing_sections or []
        self.budget_exhausted = isinstance(cause, BudgetExhausted)
        self.exit_code = exit_code


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
    concurrency: int = 4,
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

    Raises :class:`UsageError` for bad arguments before any LLM call, and :class:`RunFailed`
    (with the partial report and the cost so far) when the run stops after it started —
    an API failure, ``--max-cost`` reached (exit 3), Ctrl-C (130) or SIGTERM (143).
    """
    root = Path(repo_path)
    _check_arguments(prompt, root, repo_path, max_exploration=max_exploration,
                     max_sections=max_sections, concurrency=concurrency, resume=resume,
                     persist_cache=persist_cache, max_cost_usd=max_cost_usd)
    progress = progress or Progress.silent()
    store = _open_cache(cache_path, root) if persist_cache else CacheStore(None)
    own_telemetry = telemetry is None and llm is None
    own_llm = llm is None
    if llm is None:
        telemetry = telemetry if telemetry is not None else _telemetry_from(environ)
        llm = _client_for_run(telemetry, own_telemetry, model, provider, api_key, base_url,
                              track_cost, environ=environ, stream=stream, retry=retry,
                              lookup=lookup, timeout_s=request_timeout_s,
                              max_in_flight=concurrency, max_cost_usd=max_cost_usd,
                              reasoning=reasoning, structured_output=structured_output,
                              parallel_tools=parallel_tools)
    telemetry = llm.telemetry  # the one it was built with, or the given client's own
    try:
        history = history or _check_model(llm)
    except BaseException:
        if own_llm:
            llm.close()
        if own_telemetry:
            telemetry.shutdown()
        raise
    if llm.simulated:
        log.warning("demo provider: a built-in scripted model writes the report; "
                    "costs are simulated")
    progress.attach(functools.partial(spend_so_far, llm), simulated=llm.simulated,
                    cost_tracked=llm.track_cost, budget_usd=max_cost_usd)
    repo = Repository(root, cache=store)
    tools = RepoTools(repo, secrets=known_secrets(llm.api_key_for_masking, api_key,
                                                  environ=environ))
    run = _Run(llm, telemetry, repo, tools, store, prompt, progress,
               max_exploration=max_exploration, max_sections=max_sections,
               concurrency=concurrency, history=history,
               resume=ResumeStore(store, repo, prompt=prompt, model=llm.model,
                                  provider=llm.provider, enabled=resume))
    try:
        report = _execute_traced(run, _run_attributes(llm, repo, prompt_name))
        return report, store, run.cost_summary()
    except (Exception, KeyboardInterrupt) as exc:
        if isinstance(exc, UsageError) and run.state.phase is None:
            raise
        if not isinstance(exc, (TechWriterError, KeyboardInterrupt)):
            # A bug, not a user error: one line for the user, the traceback for --log-level DEBUG.
            log.debug("internal error", exc_info=True)
        raise RunFailed(exc, run.partial_report(), _best_effort(run.cost_summary), run.state.phase,
                        run.state.missing_titles()) from exc
    finally:
        if own_llm:
            llm.close()
        if own_telemetry and telemetry is not None:
            telemetry.shutdown()


def _check_arguments(prompt: str, root: Path, repo_path: str | Path, *, max_exploration: int,
                     max_sections: int, concurrency: int, resume: bool, persist_cache: bool,
                     max_cost_usd: float | None) -> None:
    """Bad arguments are refused before anything is started or paid for."""
    if not prompt.strip():
        raise UsageError("the prompt is empty: write what report you want in the --prompt file")
    if not root.is_dir():
        raise UsageError(f"--repo {repo_path}: not a directory")
    if max_exploration < 1 or max_sections < 1 or concurrency < 1:
        raise UsageError("--max-exploration, --max-sections and --concurrency must be at least 1")
    if resume and not persist_cache:
        raise UsageError("--resume needs --persist-cache (that is where finished work is kept)")
    if max_cost_usd is not None and not (math.isfinite(max_cost_usd) and max_cost_usd > 0):
        raise UsageError("--max-cost must be a positive, finite amount of US dollars")


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


def _telemetry_from(environ: Mapping[str, str] | None) -> Telemetry:
    from telemetry import Telemetry

    return Telemetry.from_env(environ)


def _client_for_run(telemetry: Telemetry, own_telemetry: bool, *args: Any,
                    environ: Mapping[str, str] | None, **settings: Any) -> LLMClient:
    """The run's own client; the telemetry it was given is shut down if the client is refused."""
    try:
        return LLMClient(*args, telemetry=telemetry, environ=environ, **settings)
    except BaseException:
        if own_telemetry:
            telemetry.shutdown()
        raise


def _run_attributes(llm: LLMClient, repo: Repository, prompt_name: str | None) -> dict[str, Any]:
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


def _execute_traced(run: _Run, attributes: dict[str, Any]) -> str:
    """The phases under the run's root span, which ends with the outcome and the settled rollup."""
    llm = run.llm
    with run.telemetry.run_span(agent_name="tech_writer", attributes=attributes) as root_span:
        try:
            report = run.execute()
        except BaseException as exc:
            _stop_calls(llm, exc)
            root_span.set_attribute(attrs.RUN_OUTCOME, _outcome(exc))
            _set_rollup(root_span, _settled_totals(llm, None))
            _best_effort(run.save_settled_costs)  # what --resume will not pay for again
            raise
        root_span.set_attribute(attrs.RUN_OUTCOME, "done")
        _set_rollup(root_span, _settled_totals(llm, None))
    return report


class _Run:
    """One run's phases. Holds what has been produced so far, for a partial report."""

    def __init__(self, llm: LLMClient, telemetry: Telemetry, repo: Repository,
                 tools: RepoTools, store: CacheStore, prompt: str, progress: Progress, *,
                 max_exploration: int, max_sections: int, concurrency: int,
                 history: HistoryPolicy | None, resume: ResumeStore) -> None:
        self.llm, self.telemetry, self.repo, self.tools = llm, telemetry, repo, tools
        self.store, self.prompt, self.progress = store, prompt, progress
        self.max_exploration, self.max_sections = max_exploration, max_sections
        self.concurrency, self.history, self.resume = concurrency, history, resume
        self.state = _RunState()

    def execute(self) -> str:
        understanding = self._exploration()
        self.state.understanding = understanding
        outline = self._outline(understanding)
        self._sections(outline, understanding)
        self.state.phase = "assembly"
        return self._assemble()

    def cost_summary(self) -> dict[str, Any]:
        summary = self.llm.get_cost_summary()
        summary["reused"] = self.resume.reused.as_dict()
        return summary

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
        with self.telemetry.phase_span("exploration") as span:
            understanding = self.resume.load_exploration()
            paths_read: frozenset[str] = frozenset()
            if understanding is not None:
                self.progress.phase("exploration", "reused from an earlier run (--resume)")
            else:
                self.progress.phase("exploration", f"up to {self.max_exploration} steps")
                exploration = explore(self.llm, self.telemetry, self.tools, self.store,
                                      self.prompt, self.repo.root.name,
                                      max_steps=self.max_exploration, progress=self.progress,
                                      history=self.history, concurrency=self._parallel_jobs())
                understanding, paths_read = exploration.understanding, exploration.paths_read
            totals = _end_phase(self.llm, span, "exploration")
            if not self.resume.reused.exploration:
                self.resume.save_exploration(understanding, paths_read,
                                             totals.cost_usd if totals else 0.0)
        return understanding

    def _outline(self, understanding: str) -> Outline:
        self.state.phase = "outline"
        with self.telemetry.phase_span("outline") as span:
            outline = self.resume.load_outline(understanding)
            if outline is not None:
                outline = Outline(outline.title, outline.sections[:self.max_sections])
                self.progress.phase("outline", "reused from an earlier run (--resume)")
            else:
                self.progress.phase("outline")
                outline = make_outline(self.llm, self.repo, self.prompt, understanding,
                                       self.max_sections)
            totals = _end_phase(self.llm, span, "outline")
            if not self.resume.reused.outline:
                self.resume.save_outline(understanding, outline,
                                         totals.cost_usd if totals else 0.0)
        self.state.outline = outline
        self.progress.step("outline", f"{outline.title!r}: {len(outline.sections)} sections")
        return outline

    def _sections(self, outline: Outline, understanding: str) -> None:
        self.state.phase = "sections"
        specs = list(enumerate(outline.sections))
        self.progress.phase("sections", f"{len(specs)} in the outline")
        with self.telemetry.phase_span("sections") as span:
            todo = []
            for index, spec in specs:
                record = self.resume.load_section(understanding, spec)
                if record is None:
                    todo.append((index, spec))
                    continue
                self.progress.step("sections", f"reused {index + 1}/{len(specs)}: {spec.title}")
                self.state.sections[index] = WrittenSection(
                    spec, record["markdown"], verify_citations(record["markdown"], self.repo),
                    int(record.get("fix_rounds", 0)), tuple(record.get("deps", {})),
                    float(record.get("cost_usd", 0.0)), reused=True)
            titles = [s.title for s in outline.sections]
            self.progress.sections_planned(len(specs), done=len(self.state.sections))
            self._write_all(todo, understanding, titles, len(specs))
            _end_phase(self.llm, span, "sections")  # waits for the phase's cost look-ups
            self.save_settled_costs()

    def _write_all(self, todo: list[tuple[int, SectionSpec]], understanding: str,
                   titles: list[str], total: int) -> None:
        """Write sections ``concurrency`` at a time (see :mod:`tech_writer.pipeline.workers`); the report
        keeps the outline's order."""
        if not todo:
            return
        workers = min(self._parallel_jobs(), len(todo))
        self.progress.step("sections", f"writing {len(todo)}, {workers} at a time")
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

    def _parallel_jobs(self) -> int:
        """How many jobs (exploration areas, sections) may be open at once.

        Under --max-cost, one at a time: the budget then buys whole jobs in order instead of
        several half-done ones that all stop at the limit."""
        return 1 if self.llm.budget is not None else self.concurrency

    def _write_one(self, index: int, spec: SectionSpec, understanding: str, titles: list[str],
                   total: int) -> None:
        if self.llm.stopping:
            raise LLMError("the run is stopping: no new LLM calls", error_type="cancelled")
        self.progress.step("sections", f"writing {index + 1}/{total}: {spec.title}")
        with self.telemetry.step_span(f"section {index + 1}: {spec.title}", {
                attrs.SECTION_TITLE: spec.title, attrs.SECTION_INDEX: index + 1}):
            written = write_section(self.llm, self.telemetry, self.tools, self.repo, spec,
                                    prompt=self.prompt, understanding=understanding,
                                    all_titles=titles, progress=self.progress,
                                    history=self.history)
        self.state.sections[index] = written
        self.progress.section_done(spec.title, written.cost_usd)
        self.resume.save_section(understanding, spec, written.markdown, written.fix_rounds,
                                 written.depends_on, written.cost_usd)

    def _assemble(self) -> str:
        outline = self.state.outline
        assert outline is not None
        # One snapshot: after Ctrl-C, abandoned workers may still be finishing sections.
        state = _RunState(self.state.phase, self.state.understanding, outline,
                          dict(self.state.sections))
        notes = []
        missing = state.missing_titles()
        if missing:
            notes.append("> **Incomplete report**: the run stopped before writing: "
                         + "; ".join(missing) + ".")
        if self.resume.reused.anything:
            notes.append(self.resume.reused.note())
        return assemble_report(outline, state.written_in_order(),
                               simulated=self.llm.simulated, notes=notes)


def assemble_report(outline: Outline, sections: list[WrittenSection], *, simulated: bool,
                    notes: list[str] | None = None) -> str:
    parts = [f"# {outline.title}", ""]
    if simulated:
        parts += [DEMO_NOTICE, ""]
    for section in sections:
        parts += [f"## {section.spec.title}", "", section.markdown.strip(), ""]
    for note in notes or []:
        parts += [note, ""]
    return "\n".join(parts).rstrip() + "\n"


def _stop_calls(llm: LLMClient, exc: BaseException) -> None:
    if isinstance(exc, KeyboardInterrupt):
        llm.abort()
    else:
        llm.request_stop()


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, BudgetExhausted):
        return "budget_exhausted"
    if isinstance(exc, KeyboardInterrupt):
        return "terminated" if isinstance(exc, Terminated) else "interrupted"
    return "failed"


def _end_phase(llm: LLMClient, span: Any, phase: str) -> UsageTotals | None:
    """Settle this phase's cost look-ups, put its roll-up on its span and in the log."""
    totals = _settled_totals(llm, phase)
    _set_rollup(span, totals)
    if totals is not None:
        log.info("%s: %s", phase, format_cost_line(
            totals.cost_usd, totals.total_tokens, totals.calls,
            totals.calls_unknown_cost))
    return totals


def _settled_totals(llm: LLMClient, phase: str | None) -> UsageTotals | None:
    llm.settle()
    summary = llm.telemetry.cost.summary()
    return summary.total if phase is None else summary.phases.get(phase)


def _set_rollup(span: Any, totals: UsageTotals | None) -> None:
    if totals is None:
        return
    span.set_attributes(totals.rollup_attributes())


def spend_so_far(llm: LLMClient) -> Spend:
    """The cost span processor's running sum (the one source of cost), for the progress."""
    total = llm.telemetry.cost.summary().total
    return Spend(total.cost_usd, total.total_tokens, total.calls)


def format_cost_line(cost_usd: float, tokens: int, calls: int, unknown_calls: int = 0) -> str:
    """``$0.0234 · 15,420 tokens · 23 calls`` (+ what is unknown, when something is)."""
    line = f"${cost_usd:.4f} · {tokens:,} tokens · {calls:,} call{'' if calls == 1 else 's'}"
    if unknown_calls:
        line += f" · {unknown_calls} call(s) of unknown cost (total is a lower bound)"
    return line


def _best_effort(action: Callable[[], _T]) -> _T | None:
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
        raise UsageError(f"--cache-path {path}: cannot open the cache ({exc}); "
                         "choose a writable location") from None


def _cache_file(cache_path: str | Path | None, repo_root: Path) -> Path:
    """The given file, or one per repository: cache keys are repo-relative paths."""
    if cache_path is not None:
        return Path(cache_path)
    import hashlib

    from platformdirs import user_cache_dir

    digest = hashlib.sha256(str(repo_root.resolve()).encode()).hexdigest()[:16]
    return Path(user_cache_dir("tech_writer")) / f"cache-{digest}.sqlite3"
