"""Phase 3: each outline section written by its own tool loop, citations checked and sent back."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tech_writer.pipeline import prompts
from tech_writer.pipeline.history import HistoryPolicy
from tech_writer.pipeline.outline import SectionSpec
from tech_writer.pipeline.progress import Progress
from tech_writer.pipeline.toolloop import (
    LoopOutcome,
    ask_model,
    assistant_message,
    run_tool_loop,
)
from tech_writer.report.citations import CitationReport, format_feedback, verify_citations

if TYPE_CHECKING:
    from tech_writer.llm.client import LLMClient, UsageStats
    from tech_writer.repository.repo import Repository
    from tech_writer.repository.tools import RepoTools
    from telemetry import Telemetry

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

    def settled_cost_usd(self) -> float:
        """The cost now: ``cost_usd`` plus whatever look-ups have settled since."""
        if not self.usages:
            return self.cost_usd
        return math.fsum(u.cost_usd or 0.0 for u in self.usages)


def write_section(llm: LLMClient, telemetry: Telemetry, tools: RepoTools,
                  repo: Repository, spec: SectionSpec, *, prompt: str, understanding: str,
                  all_titles: Sequence[str], progress: Progress,
                  max_steps: int = MAX_SECTION_STEPS,
                  history: HistoryPolicy | None = None) -> WrittenSection:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": prompts.SECTION_SYSTEM},
        {"role": "user", "content": prompts.section_request(
            prompt, understanding, spec.title, spec.focus, spec.relevant_files, all_titles)},
    ]
    schemas = tools.schemas()
    tracker = LoopOutcome(content=None)
    text = _write(llm, telemetry, tools, messages, schemas, max_steps, progress, tracker, history)
    report = verify_citations(text, repo)
    rounds = 0
    while report.invalid and rounds < MAX_FIX_ROUNDS:
        rounds += 1
        progress.step("sections", f"{spec.title}: {report.invalid} invalid citation(s), "
                                  f"asking for a fix (round {rounds}/{MAX_FIX_ROUNDS})")
        messages.append({"role": "user", "content": format_feedback(report) +
                         "\n\nRewrite the whole section with every citation corrected."})
        text = _write(llm, telemetry, tools, messages, schemas, max_steps, progress, tracker,
                      history)
        report = verify_citations(text, repo)
    if report.total == 0 and text:
        # Uncited prose is what the tool exists to avoid: asked once, then kept as it is.
        progress.step("sections", f"{spec.title}: no citations, asking for them")
        messages.append({"role": "user", "content": NO_CITATIONS})
        retry = _write(llm, telemetry, tools, messages, schemas, max_steps, progress, tracker,
                       history)
        if retry:
            text, report = retry, verify_citations(retry, repo)
        if report.total == 0:
            log.warning("section %r has no citations", spec.title)
    if report.invalid:
        log.warning("section %r keeps %d invalid citation(s) after %d fix rounds",
                    spec.title, report.invalid, rounds)
    if not text:
        log.warning("section %r: the model returned no text", spec.title)
        text = EMPTY_NOTE
    depends_on = set(tracker.paths_read) | set(spec.relevant_files) | {
        check.citation.path for check in report.checks if check.valid}
    cost = math.fsum(u.cost_usd or 0.0 for u in tracker.usages)
    return WrittenSection(spec, text, report, rounds, tuple(sorted(depends_on)), cost,
                          usages=tuple(tracker.usages))


def _write(llm: LLMClient, telemetry: Telemetry, tools: RepoTools,
           messages: list[dict[str, Any]], schemas: list[dict[str, Any]], max_steps: int,
           progress: Progress, tracker: LoopOutcome, history: HistoryPolicy | None) -> str:
    outcome = run_tool_loop(llm, telemetry, tools, messages, schemas, max_steps=max_steps,
                            phase="sections", progress=progress, history=history)
    tracker.paths_read |= outcome.paths_read
    tracker.usages += outcome.usages
    finish_reason = outcome.finish_reason
    if outcome.hit_step_cap or not (outcome.content or "").strip():
        messages.append({"role": "user", "content": prompts.WRITE_SECTION_NOW})
        reply, usage = ask_model(llm, messages, schemas, history=history, tool_choice="none")
        tracker.usages.append(usage)
        messages.append(assistant_message(reply))
        text, finish_reason = reply.get("content") or "", reply.get("finish_reason")
    else:
        text = outcome.content or ""
    if finish_reason == "length" and text:
        # One continuation; a second cut-off is kept and marked rather than chased forever.
        messages.append({"role": "user", "content": CONTINUE})
        reply, usage = ask_model(llm, messages, schemas, history=history, tool_choice="none")
        tracker.usages.append(usage)
        messages.append(assistant_message(reply))
        text += reply.get("content") or ""
        if reply.get("finish_reason") == "length":
            log.warning("a section answer was cut off by the model's output limit twice")
            text = text.rstrip() + "\n\n" + CUT_OFF_NOTE
    return clean_section_text(text)


_LEADING_HEADING = re.compile(r"\A\s*#{1,2}\s+[^\n]*\n+")


def clean_section_text(text: str) -> str:
    """Drop a leading ``#``/``##`` heading (assembly adds the title) and outer whitespace."""
    return _LEADING_HEADING.sub("", text.strip(), count=1).strip()
