"""``tech-writer update``: refresh a report after the code moved, paying only for what went stale.

From the report's provenance alone (no cache): ``check`` classifies every citation and section;
moved citations are re-anchored without a model; fresh sections are kept byte for byte (but for
those line numbers); each stale section is written again by the same section writer as a run,
from the stored outline entry and understanding plus its old text and what changed in its
evidence (the git diff since the report's commit when there is one, else the cited lines as they
read now), with the same verification of every citation. No exploration and no outline call: a
section's place in the report does not change. Files added that no section covers are listed;
placing them needs a new outline, so that is a full run's job (the update says so).

An update with nothing stale makes no model call and costs $0 (no client is even opened). A
failure or Ctrl-C in the middle never leaves a mix on disk: the report written is whole, every
section either as it was or rewritten, with the provenance to match, so the next update carries
on with the sections still stale and nothing paid for is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tech_writer.errors import LLMError, TechWriterError, UsageError
from tech_writer.pipeline import prompts
from tech_writer.pipeline.outline import SectionSpec
from tech_writer.pipeline.result import RunFailure
from tech_writer.pipeline.run import (
    RunResources,
    best_effort,
    end_phase,
    outcome_of,
    run_attributes,
    run_context,
    set_rollup,
    settled_totals,
    stop_calls,
)
from tech_writer.pipeline.sections import WrittenSection, write_section
from tech_writer.report.freshness import CheckResult, ReportSection, apply_fixes, check_report, report_sections
from tech_writer.report.provenance import (
    Provenance,
    ProvenanceError,
    SectionInput,
    SectionRecord,
    attach,
    build_provenance,
    split_report,
)
from tech_writer.repository.cache import CacheStore
from tech_writer.repository.gitinfo import diff_since, head_commit
from tech_writer.repository.repo import Repository
from telemetry import attributes as attrs

if TYPE_CHECKING:
    from tech_writer.llm.client import LLMClient
    from tech_writer.pipeline.context import RunContext
    from tech_writer.pipeline.progress import Progress
    from tech_writer.pipeline.settings import RunSettings
    from telemetry import CostSummary, Telemetry

__all__ = ["StaleSection", "UpdatePlan", "UpdateResult", "UpdateScope", "plan_update", "update_report"]

log = logging.getLogger("tech_writer.update")

_MAX_SHOWN_LINES = 40
_MAX_DIFF_BYTES = 6_000
_NOTES = ("\n> **Incomplete report**", "\n> **Resumed**")


@dataclass(frozen=True)
class StaleSection:
    """A section to write again: where it is, its outline entry, why it is stale, what changed."""

    section: ReportSection
    index: int  # among the report's sections
    spec: SectionSpec
    old_text: str
    reason: str
    changes: str


@dataclass(frozen=True)
class UpdatePlan:
    """What an update will do, decided with no model: the verdicts, the re-anchored report and
    the sections to write again."""

    text: str  # the report with moved citations re-anchored
    body: str
    provenance: Provenance
    check: CheckResult  # after the re-anchoring
    reanchored: int
    stale: tuple[StaleSection, ...]
    sections: tuple[ReportSection, ...]


@dataclass(frozen=True)
class UpdateResult:
    report: str  # the report as it is now: whole, with its provenance
    changed: bool
    plan: UpdatePlan
    rewritten: tuple[str, ...] = ()
    cost_summary: CostSummary | None = None  # None: no model was called
    provider: str | None = None
    model: str | None = None
    simulated: bool = False
    track_cost: bool = True
    failure: RunFailure | None = None

    def cost_document(self) -> dict[str, Any] | None:
        """The update's own cost as JSON (the run's ``"cost"`` shape); ``None`` when it could not
        be read after a failure. With no model call: an empty summary, $0."""
        from tech_writer.llm.client import cost_summary_document

        summary = self.cost_summary
        if summary is None:
            if self.provider is not None:
                return None
            from telemetry import CostSummary

            summary = CostSummary()  # nothing was called: every total is zero
        return cost_summary_document(summary, simulated=self.simulated, provider=self.provider or "",
                                     model=self.model or "")

    def counts(self) -> dict[str, int]:
        return {"sections_rewritten": len(self.rewritten),
                "sections_kept": len(self.plan.sections) - len(self.rewritten),
                "citations_reanchored": self.plan.reanchored}


# --- planning (no model) ---------------------------------------------------------------------
def plan_update(text: str, repo: Repository, *, strict: bool = False,
                exclude: Iterable[str] = ()) -> UpdatePlan:
    """Check the report, re-anchor its moved citations, and say which sections are stale and why.
    Raises :class:`UsageError` for a report without (readable) provenance."""
    try:
        _, provenance = split_report(text)
        checked = check_report(text, repo, strict=strict, exclude=exclude)
    except ProvenanceError as exc:
        raise UsageError(f"the report's provenance comment is unreadable ({exc}); restore it from "
                         "version control") from None
    if provenance is None:
        raise UsageError("the report has no provenance (written by hand, or by an older tech-writer): "
                         "update needs one; write it again with tech-writer --prompt ... -o REPORT")
    fixed_text, checked = apply_fixes(text, checked)
    body, fixed_provenance = split_report(fixed_text)
    assert fixed_provenance is not None
    sections = report_sections(body)
    stale = tuple(_stale_section(body, section, index, fixed_provenance, checked, repo)
                  for index, section in enumerate(sections) if checked.sections[index].status == "stale")
    return UpdatePlan(fixed_text, body, fixed_provenance, checked, checked.fixed, stale, tuple(sections))


def _stale_section(body: str, section: ReportSection, index: int, provenance: Provenance,
                   checked: CheckResult, repo: Repository) -> StaleSection:
    verdict = checked.sections[index]
    record = provenance.section(section.title, section.occurrence)
    broken = [v for v in checked.citations
              if section.start <= v.citation.offset < section.end and v.status in ("stale", "gone")]
    spec = (SectionSpec(section.title, record.focus, record.relevant_files) if record is not None
            else SectionSpec(section.title, f"What the section '{section.title}' covered.", verdict.files))
    cited = ", ".join(f"{v.citation.path}:{v.citation.start}-{v.citation.end} ({v.status})" for v in broken)
    reason = "; ".join(part for part in (f"citations no longer hold: {cited}" if cited else "",
                                         f"changed files: {', '.join(verdict.changed_files)}"
                                         if verdict.changed_files else "") if part)
    lines = []
    for v in broken:
        lines.append(_cited_now(repo, v.citation.path, v.citation.start, v.citation.end, v.status))
    for path in verdict.files:
        diff = diff_since(repo.root, provenance.commit, path, _MAX_DIFF_BYTES) if provenance.commit else None
        if diff:
            lines.append(f"git diff of {path} since the report was written:\n```diff\n{diff.rstrip()}\n```")
    old_text, _ = _split_notes(_section_text(body, section))
    return StaleSection(section, index, spec, old_text, reason or "stale", "\n\n".join(lines))


def _cited_now(repo: Repository, path: str, start: int, end: int, status: str) -> str:
    try:
        lines = repo.read_text(path).lines
    except (OSError, ValueError):
        return f"- [{path}:{start}-{end}] is gone: {path} no longer exists (or is not text)."
    if status == "gone":
        return f"- [{path}:{start}-{end}] is gone: {path} now has {len(lines)} lines."
    shown = lines[start - 1 : min(end, start - 1 + _MAX_SHOWN_LINES)]
    numbered = "\n".join(f"{start + offset}: {line}" for offset, line in enumerate(shown))
    return f"- [{path}:{start}-{end}] no longer says what it said; those lines now read:\n```\n{numbered}\n```"


def _section_text(body: str, section: ReportSection) -> str:
    """The section's text after its heading line."""
    heading_end = body.find("\n", section.start)
    return body[heading_end + 1 : section.end] if heading_end != -1 and heading_end < section.end else ""


def _split_notes(text: str) -> tuple[str, str]:
    """(the section's own text, the run's notes that follow the last section, if any)."""
    cut = min((text.find(note) for note in _NOTES if note in text), default=-1)
    return (text, "") if cut == -1 else (text[:cut], text[cut:])


# --- the update ------------------------------------------------------------------------------
@dataclass(frozen=True)
class UpdateScope:
    """What counts as stale (``strict``: any change in a file a section read, as ``check
    --strict``) and which paths are never "uncovered" (the report itself)."""

    strict: bool = False
    exclude: frozenset[str] = frozenset()


def update_report(text: str, repo_path: str | Path, settings: RunSettings, *,
                  scope: UpdateScope | None = None, telemetry: Telemetry | None = None,
                  llm: LLMClient | None = None, progress: Progress | None = None,
                  environ: Mapping[str, str] | None = None) -> UpdateResult:
    """Refresh the report ``text`` about ``repo_path``; the result carries a failure instead of
    raising once a model call was made. Nothing stale: no client, no call, $0."""

    root, scope = Path(repo_path), scope or UpdateScope()
    plan = plan_update(text, Repository(root), strict=scope.strict, exclude=scope.exclude)
    if not plan.stale:
        return UpdateResult(plan.text, plan.text != text, plan)
    with RunResources(settings, telemetry, llm, environ) as client:
        repo = Repository(root, cache=CacheStore(None), path_filter=settings.path_filter)
        ctx = run_context(client, settings, repo, plan.provenance.prompt, progress, None, environ)
        return _Update(ctx, plan, text).run()


@dataclass
class _Update:
    ctx: RunContext
    plan: UpdatePlan
    original: str
    written: dict[int, WrittenSection] = field(default_factory=dict)

    def run(self) -> UpdateResult:

        llm = self.ctx.llm
        failure = None
        try:
            self._traced()
        except (Exception, KeyboardInterrupt) as exc:
            if not isinstance(exc, (TechWriterError, KeyboardInterrupt)):
                log.debug("internal error", exc_info=True)
            failure = RunFailure.of(exc, "update", tuple(s.spec.title for s in self.plan.stale
                                                         if s.index not in self.written))
        report = self._assemble()
        return UpdateResult(report, report != self.original, self.plan,
                            tuple(self.plan.sections[i].title for i in sorted(self.written)),
                            best_effort(llm.cost_summary), llm.provider, llm.model, llm.simulated,
                            llm.track_cost, failure)

    def _traced(self) -> None:

        llm, telemetry = self.ctx.llm, self.ctx.telemetry
        attributes: dict[str, Any] = {**run_attributes(llm, self.ctx.repo, None), attrs.RUN_COMMAND: "update"}
        with telemetry.run_span(agent_name="tech_writer", attributes=attributes) as root_span:
            try:
                with telemetry.phase_span("update") as span:
                    self.ctx.progress.phase("update", f"{len(self.plan.stale)} stale section(s) to write again")
                    for stale in self.plan.stale:
                        self._rewrite(stale)
                    end_phase(llm, span, "update")
            except BaseException as exc:
                stop_calls(llm, exc)
                root_span.set_attribute(attrs.RUN_OUTCOME, outcome_of(exc))
                set_rollup(root_span, settled_totals(llm, None))
                raise
            root_span.set_attribute(attrs.RUN_OUTCOME, "done")
            set_rollup(root_span, settled_totals(llm, None))

    def _rewrite(self, stale: StaleSection) -> None:

        if self.ctx.llm.stopping:
            raise LLMError("the update is stopping: no new LLM calls", error_type="cancelled")
        titles = [section.title for section in self.plan.sections]
        self.ctx.progress.step("update", f"writing again {stale.index + 1}/{len(titles)}: {stale.spec.title} "
                                         f"({stale.reason})")
        with self.ctx.telemetry.step_span(f"update section {stale.index + 1}: {stale.spec.title}", {
                attrs.SECTION_TITLE: stale.spec.title, attrs.SECTION_INDEX: stale.index + 1,
                attrs.UPDATE_REASON: stale.reason}):
            written = write_section(self.ctx, stale.spec, understanding=self.plan.provenance.understanding,
                                    all_titles=titles,
                                    refresh=self.ctx.tools.masked(
                                        prompts.section_refresh(stale.old_text, stale.changes)))
        self.written[stale.index] = written
        self.ctx.progress.section_done(stale.spec.title, written.cost_usd)

    def _assemble(self) -> str:
        """The report with every section rewritten so far in place, and its provenance."""
        written = dict(self.written)  # one snapshot
        if not written:
            return self.plan.text
        body = _replace_sections(self.plan.body, self.plan.sections,
                                 {index: w.markdown for index, w in written.items()})
        return attach(body, self._provenance(written))

    def _provenance(self, written: dict[int, WrittenSection]) -> Provenance:
        old = self.plan.provenance
        fresh = build_provenance(
            self.ctx.repo, provider=self.ctx.llm.provider, model=self.ctx.llm.model, commit=None, prompt=old.prompt,
            title=old.title, understanding=old.understanding,
            sections=[SectionInput(w.spec.title, w.spec.focus, w.spec.relevant_files, w.markdown, w.depends_on)
                      for _, w in sorted(written.items())])
        new_records = dict(zip(sorted(written), fresh.sections, strict=True))
        records: list[SectionRecord] = []
        for index, section in enumerate(self.plan.sections):
            record = new_records.get(index) or old.section(section.title, section.occurrence)
            if record is not None:
                records.append(record)
        return replace(old, commit=head_commit(self.ctx.repo.root), sections=tuple(records))


def _replace_sections(body: str, sections: tuple[ReportSection, ...], texts: dict[int, str]) -> str:
    for index in sorted(texts, reverse=True):  # from the end: earlier offsets stay valid
        section = sections[index]
        heading_end = body.find("\n", section.start)
        heading = body[section.start : heading_end if heading_end != -1 else len(body)]
        _, notes = _split_notes(_section_text(body, section))
        new = f"{heading}\n\n{texts[index].strip()}\n" + (notes if notes else "\n" if index + 1 < len(sections) else "")
        body = body[: section.start] + new + body[section.end :]
    return body
