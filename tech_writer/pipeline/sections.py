"""Phase 3: each outline section written by its own tool loop, citations checked and sent back."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tech_writer.pipeline import prompts
from tech_writer.pipeline.context import RunContext
from tech_writer.pipeline.outline import SectionSpec
from tech_writer.pipeline.toolloop import (
    LoopOutcome,
    ask_model,
    assistant_message,
    run_tool_loop,
)
from tech_writer.report.citations import CitationReport, format_feedback, verify_citations
from tech_writer.report.headings import demote_headings

if TYPE_CHECKING:
    from tech_writer.llm.client import UsageStats
    from tech_writer.report.gate import GroundingFigures

__all__ = ["MAX_FIX_ROUNDS", "MAX_SECTION_STEPS", "WrittenSection", "write_section"]

log = logging.getLogger("tech_writer.sections")

MAX_SECTION_STEPS = 12
MAX_FIX_ROUNDS = 2


CUT_OFF_NOTE = "*(The model's answer was cut off at its output limit.)*"
NO_CITATIONS = ("This section cites nothing. Every factual claim needs a citation "
                "[path:start-end] of lines you read with the tools: read what you need, then "
                "rewrite the whole section with its citations.")
EMPTY_NOTE = "*(The model returned no text for this section.)*"
CONTINUE = ("Your answer was cut off by the output limit. Continue exactly where it stopped, "
            "without repeating anything.")


@dataclass(frozen=True)
class WrittenSection:
    spec: SectionSpec
    markdown: str
    citations: CitationReport
    fix_rounds: int
    depends_on: tuple[str, ...] = ()  # files read or cited: a change to one invalidates this
    cost_usd: float = 0.0  # what writing it cost, as known when it was written
    reused: bool = False
    # Its calls' usage; a background /generation look-up fills a cost in later, in place.
    usages: tuple[UsageStats, ...] = field(default=(), compare=False, repr=False)
    # What the grounding gate kept and removed; the text as the model wrote it, before the gate.
    # An empty ``markdown`` with figures: nothing could be grounded, the section is left out.
    grounding: GroundingFigures | None = field(default=None, compare=False)
    draft: str | None = field(default=None, compare=False, repr=False)

    def settled_cost_usd(self) -> float:
        """The cost now: ``cost_usd`` plus whatever look-ups have settled since."""
        if not self.usages:
            return self.cost_usd
        return math.fsum(u.cost_usd or 0.0 for u in self.usages)


def write_section(ctx: RunContext, spec: SectionSpec, *, understanding: str,
                  all_titles: Sequence[str], max_steps: int = MAX_SECTION_STEPS,
                  refresh: str | None = None) -> WrittenSection:
    """Write one section (``refresh``: what ``tech-writer update`` adds to the request of a
    section written again: its old text and what changed)."""
    grounding = ctx.grounding
    evidence = grounding.evidence(spec.relevant_files) if grounding is not None else ""
    request = prompts.section_request(ctx.prompt, understanding, spec.title, spec.focus,
                                      spec.relevant_files, all_titles, evidence)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": prompts.SECTION_SYSTEM},
        {"role": "user", "content": request + (f"\n\n{refresh}" if refresh else "")},
    ]
    writer = _Writer(ctx, messages, ctx.tools.schemas(), max_steps)
    text, report, rounds = _with_valid_citations(writer, spec, writer.write())
    if report.invalid:
        log.warning("section %r keeps %d invalid citation(s) after %d fix rounds",
                    spec.title, report.invalid, rounds)
    draft: str | None = None
    figures = None
    if grounding is not None:
        def rewrite(feedback: str) -> str:
            messages.append({"role": "user", "content": feedback})
            return writer.write()

        # The tool's own note on a cut-off answer is not the model's claim: kept aside.
        cut_off = text.endswith(CUT_OFF_NOTE)
        text = text.removesuffix(CUT_OFF_NOTE).rstrip()
        gated = grounding.ground(
            spec.title, text, evidence=evidence, relevant_files=spec.relevant_files,
            rewrite=rewrite, on_retry=lambda why: ctx.progress.step(
                "sections", f"{spec.title}: {why}; sent back once with the evidence"))
        text, draft, figures = gated.markdown or "", gated.draft or EMPTY_NOTE, gated.figures
        if cut_off and text:
            text += "\n\n" + CUT_OFF_NOTE
        report = verify_citations(text, ctx.repo)
    else:
        text, report = _ask_for_citations(writer, spec, text, report)
    if not text and grounding is None:
        log.warning("section %r: the model returned no text", spec.title)
        text = EMPTY_NOTE
    tracker = writer.tracker
    depends_on = set(tracker.paths_read) | set(spec.relevant_files) | {
        check.citation.path for check in report.checks if check.valid}
    cost = math.fsum(u.cost_usd or 0.0 for u in tracker.usages)
    return WrittenSection(spec, text, report, rounds, tuple(sorted(depends_on)), cost,
                          usages=tuple(tracker.usages), grounding=figures, draft=draft)


def _with_valid_citations(writer: _Writer, spec: SectionSpec,
                          text: str) -> tuple[str, CitationReport, int]:
    """Invalid citations sent back (at most MAX_FIX_ROUNDS times) with what would be valid."""
    ctx = writer.ctx
    report = verify_citations(text, ctx.repo)
    rounds = 0
    while report.invalid and rounds < MAX_FIX_ROUNDS:
        rounds += 1
        ctx.progress.step("sections", f"{spec.title}: {report.invalid} invalid citation(s), "
                                      f"asking for a fix (round {rounds}/{MAX_FIX_ROUNDS})")
        writer.messages.append({"role": "user", "content": format_feedback(report) +
                                "\n\nRewrite the whole section with every citation corrected."})
        text = writer.write()
        report = verify_citations(text, ctx.repo)
    return text, report, rounds


def _ask_for_citations(writer: _Writer, spec: SectionSpec, text: str,
                       report: CitationReport) -> tuple[str, CitationReport]:
    """Without the gate: uncited prose is asked once for citations, then kept as it is."""
    if report.total == 0 and text:
        writer.ctx.progress.step("sections", f"{spec.title}: no citations, asking for them")
        writer.messages.append({"role": "user", "content": NO_CITATIONS})
        retry = writer.write()
        if retry:
            text, report = retry, verify_citations(retry, writer.ctx.repo)
        if report.total == 0:
            log.warning("section %r has no citations", spec.title)
    return text, report


@dataclass
class _Writer:
    """One section's conversation: each :meth:`write` runs the tool loop on it (plus a wrap-up
    call and one continuation when needed) and adds what was read and paid to ``tracker``."""

    ctx: RunContext
    messages: list[dict[str, Any]]
    schemas: list[dict[str, Any]]
    max_steps: int
    tracker: LoopOutcome = field(default_factory=lambda: LoopOutcome(content=None))

    def write(self) -> str:
        outcome = run_tool_loop(self.ctx, self.messages, self.schemas, max_steps=self.max_steps,
                                phase="sections")
        self.tracker.paths_read |= outcome.paths_read
        self.tracker.usages += outcome.usages
        finish_reason = outcome.finish_reason
        if outcome.hit_step_cap or not (outcome.content or "").strip():
            reply = self._ask(prompts.WRITE_SECTION_NOW)
            text, finish_reason = reply.get("content") or "", reply.get("finish_reason")
        else:
            text = outcome.content or ""
        if finish_reason == "length" and text:
            # One continuation; a second cut-off is kept and marked rather than chased forever.
            reply = self._ask(CONTINUE)
            text += reply.get("content") or ""
            if reply.get("finish_reason") == "length":
                log.warning("a section answer was cut off by the model's output limit twice")
                text = text.rstrip() + "\n\n" + CUT_OFF_NOTE
        return clean_section_text(text)

    def _ask(self, instruction: str) -> dict[str, Any]:
        """One more call with ``instruction``, tools offered but not allowed."""
        self.messages.append({"role": "user", "content": instruction})
        reply, usage = ask_model(self.ctx.llm, self.messages, self.schemas,
                                 history=self.ctx.history, tool_choice="none")
        self.tracker.usages.append(usage)
        self.messages.append(assistant_message(reply))
        return reply


_LEADING_HEADING = re.compile(r"\A\s*#{1,2}\s+[^\n]*\n+")


def clean_section_text(text: str) -> str:
    """Drop a leading ``#``/``##`` heading (assembly adds the title) and outer whitespace; any
    other ``#``/``##`` heading becomes ``###``: a section adds no section of its own."""
    return demote_headings(_LEADING_HEADING.sub("", text.strip(), count=1).strip())
