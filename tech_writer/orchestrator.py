"""``run_pipeline``: exploration → outline → sections → assembly, each phase its own span.

The run is one trace: a root ``invoke_agent tech_writer`` span, a span per phase, a span per
section, and under them a ``chat`` span per LLM call and an ``execute_tool`` span per tool call.
The cost summary comes from the telemetry layer's cost span processor (via
:meth:`LLMClient.get_cost_summary`), so it is by construction what the spans say.

A failure late in a run never throws away what was paid for: :class:`RunFailed` carries the
partial report (every section finished so far) and the cost so far.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from telemetry import attributes as attrs
from tech_writer.cache import CacheStore
from tech_writer.cost_lookup import LookupPolicy
from tech_writer.errors import TechWriterError, UsageError
from tech_writer.exploration import explore
from tech_writer.llm import LLMClient
from tech_writer.outline import Outline, make_outline
from tech_writer.progress import Progress
from tech_writer.repo import Repository
from tech_writer.retry import RetryPolicy
from tech_writer.sections import WrittenSection, write_section
from tech_writer.tools import RepoTools

if TYPE_CHECKING:
    from telemetry import Telemetry, UsageTotals

__all__ = ["run_pipeline", "RunFailed", "assemble_report", "DEMO_NOTICE", "format_cost_line"]

log = logging.getLogger("tech_writer")

DEMO_NOTICE = ("> **Demo run** (`--provider demo`): written by tech_writer's built-in scripted "
               "model; its costs are simulated. Use `--provider openrouter` or `openai` for a "
               "real report.")


class RunFailed(TechWriterError):
    """The run stopped early. Carries what it had produced and what it cost."""

    def __init__(self, cause: TechWriterError | BaseException, partial_report: str | None,
                 cost_stats: dict[str, Any] | None, phase: str | None) -> None:
        message = cause.message if isinstance(cause, TechWriterError) else (
            f"{type(cause).__name__}: {cause}")
        super().__init__(message)
        self.cause = cause
        self.partial_report = partial_report
        self.cost_stats = cost_stats
        self.phase = phase
        self.exit_code = cause.exit_code if isinstance(cause, TechWriterError) else 1


@dataclass
class _RunState:
    phase: str | None = None
    outline: Outline | None = None
    sections: list[WrittenSection] = field(default_factory=list)


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
    stream: bool = False,
    telemetry: "Telemetry | None" = None,
    llm: LLMClient | None = None,
    progress: Progress | None = None,
    prompt_name: str | None = None,
    environ: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
    lookup: LookupPolicy | None = None,
    request_timeout_s: float = 180.0,
) -> tuple[str, CacheStore, dict[str, Any]]:
    """Write the report. Returns ``(report_markdown, cache_store, cost_stats)``.

    Raises :class:`UsageError` for bad arguments before any LLM call, and :class:`RunFailed`
    (with the partial report and the cost so far) when the run fails after it started.
    """
    if not prompt.strip():
        raise UsageError("the prompt is empty: write what report you want in the --prompt file")
    root = Path(repo_path)
    if not root.is_dir():
        raise UsageError(f"--repo {repo_path}: not a directory")
    if max_exploration < 1 or max_sections < 1:
        raise UsageError("--max-exploration and --max-sections must be at least 1")
    progress = progress or Progress.silent()
    own_telemetry = telemetry is None and llm is None
    if llm is None:
        if telemetry is None:
            from telemetry import Telemetry

            telemetry = Telemetry.from_env(environ)
        llm = LLMClient(model, provider, api_key, base_url, track_cost, telemetry=telemetry,
                        stream=stream, environ=environ, retry=retry, lookup=lookup,
                        timeout_s=request_timeout_s)
        own_llm = True
    else:
        telemetry, own_llm = llm.telemetry, False
    store = CacheStore(_cache_file(cache_path, root) if persist_cache else None)
    repo = Repository(root, cache=store)
    tools = RepoTools(repo)
    state = _RunState()
    try:
        run_attributes = {
            attrs.RUN_REPO: str(repo.root.name),
            attrs.RUN_PROMPT_FILE: prompt_name or "",
            attrs.GEN_AI_PROVIDER_NAME: llm.provider,
            attrs.GEN_AI_REQUEST_MODEL: llm.model,
        }
        with telemetry.run_span(agent_name="tech_writer", attributes=run_attributes) as root_span:
            try:
                report = _run_phases(llm, telemetry, repo, tools, store, prompt, state,
                                     max_exploration, max_sections, progress)
            except BaseException:
                llm.request_stop()
                _set_rollup(root_span, _settled_totals(llm, None))
                raise
            _set_rollup(root_span, _settled_totals(llm, None))
        return report, store, llm.get_cost_summary()
    except TechWriterError as exc:
        if isinstance(exc, UsageError) and state.phase is None:
            raise
        raise RunFailed(exc, _partial(llm, state), _safe_summary(llm), state.phase) from exc
    finally:
        if own_llm:
            llm.close()
        if own_telemetry and telemetry is not None:
            telemetry.shutdown()


def _run_phases(llm: LLMClient, telemetry: "Telemetry", repo: Repository, tools: RepoTools,
                store: CacheStore, prompt: str, state: _RunState, max_exploration: int,
                max_sections: int, progress: Progress) -> str:
    state.phase = "exploration"
    progress.phase("exploration", f"up to {max_exploration} steps")
    with telemetry.phase_span("exploration") as span:
        exploration = explore(llm, telemetry, tools, store, prompt, repo.root.name,
                              max_steps=max_exploration, progress=progress)
        _end_phase(llm, span, "exploration")

    state.phase = "outline"
    progress.phase("outline")
    with telemetry.phase_span("outline") as span:
        state.outline = make_outline(llm, repo, prompt, exploration.understanding, max_sections)
        _end_phase(llm, span, "outline")
    titles = [s.title for s in state.outline.sections]
    progress.step("outline", f"{state.outline.title!r}: {len(titles)} sections")

    state.phase = "sections"
    progress.phase("sections", f"{len(titles)} to write")
    with telemetry.phase_span("sections") as span:
        for index, spec in enumerate(state.outline.sections, start=1):
            progress.step("sections", f"writing {index}/{len(titles)}: {spec.title}")
            with telemetry.step_span(f"section {index}: {spec.title}", {
                    attrs.SECTION_TITLE: spec.title, attrs.SECTION_INDEX: index}):
                state.sections.append(write_section(
                    llm, telemetry, tools, repo, spec, prompt=prompt,
                    understanding=exploration.understanding, all_titles=titles, progress=progress))
        _end_phase(llm, span, "sections")
    state.phase = "assembly"
    return assemble_report(state.outline, state.sections, simulated=llm.simulated)


def assemble_report(outline: Outline, sections: list[WrittenSection], *, simulated: bool,
                    missing_note: str | None = None) -> str:
    parts = [f"# {outline.title}", ""]
    if simulated:
        parts += [DEMO_NOTICE, ""]
    for section in sections:
        parts += [f"## {section.spec.title}", "", section.markdown.strip(), ""]
    if missing_note:
        parts += [missing_note, ""]
    return "\n".join(parts).rstrip() + "\n"


def _partial(llm: LLMClient, state: _RunState) -> str | None:
    if state.outline is None or not state.sections:
        return None
    written = {id(s.spec) for s in state.sections}
    missing = [spec.title for spec in state.outline.sections if id(spec) not in written]
    note = ("> **Incomplete report**: the run stopped before writing: "
            + "; ".join(missing) + ".") if missing else None
    return assemble_report(state.outline, state.sections, simulated=llm.simulated,
                           missing_note=note)


def _end_phase(llm: LLMClient, span: Any, phase: str) -> None:
    """Settle this phase's cost look-ups, put its roll-up on its span and in the log."""
    totals = _settled_totals(llm, phase)
    _set_rollup(span, totals)
    if totals is not None:
        log.info("%s: %s", phase, format_cost_line(
            totals.cost_usd, totals.total_tokens, totals.calls,
            totals.calls_without_cost + totals.calls_pending))


def _settled_totals(llm: LLMClient, phase: str | None) -> "UsageTotals | None":
    llm.settle()
    summary = llm.telemetry.cost.summary()
    return summary.total if phase is None else summary.phases.get(phase)


def _set_rollup(span: Any, totals: "UsageTotals | None") -> None:
    if totals is None:
        return
    span.set_attribute(attrs.ROLLUP_COST_USD, totals.cost_usd)
    span.set_attribute(attrs.ROLLUP_COST_COMPLETE, totals.complete)
    span.set_attribute(attrs.ROLLUP_INPUT_TOKENS, totals.prompt_tokens)
    span.set_attribute(attrs.ROLLUP_OUTPUT_TOKENS, totals.completion_tokens)
    span.set_attribute(attrs.ROLLUP_CALLS, totals.calls)
    span.set_attribute(attrs.ROLLUP_CALLS_WITHOUT_COST,
                       totals.calls_without_cost + totals.calls_pending)


def format_cost_line(cost_usd: float, tokens: int, calls: int, unknown_calls: int = 0) -> str:
    """``$0.0234 · 15,420 tokens · 23 calls`` (+ what is unknown, when something is)."""
    line = f"${cost_usd:.4f} · {tokens:,} tokens · {calls:,} calls"
    unknown = unknown_calls
    if unknown:
        line += f" · {unknown} call(s) of unknown cost (total is a lower bound)"
    return line


def _safe_summary(llm: LLMClient) -> dict[str, Any] | None:
    try:
        return llm.get_cost_summary()
    except Exception:  # the summary must never mask the real failure
        log.debug("could not build the cost summary", exc_info=True)
        return None


def _cache_file(cache_path: str | Path | None, repo_root: Path) -> Path:
    """The given file, or one per repository: cache keys are repo-relative paths."""
    if cache_path is not None:
        return Path(cache_path)
    import hashlib

    from platformdirs import user_cache_dir

    digest = hashlib.sha256(str(repo_root.resolve()).encode()).hexdigest()[:16]
    return Path(user_cache_dir("tech_writer")) / f"cache-{digest}.sqlite3"
