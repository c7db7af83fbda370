"""The grounding gate at writing time, for one run: evidence in, the gate's verdict out.

Each section's request carries numbered excerpts of its files (:func:`Grounding.evidence`). When
the section is written, :meth:`Grounding.ground` judges it with the gate (the code ``eval``
scores with); what fails goes back to the model once, with the evidence ("these sentences have
no citation; these names do not exist here: cite them or drop them"); what still fails is removed,
or with ``keep_unverified`` quoted as **Unverified**. The run sums the sections' figures
(:meth:`Grounding.figures`) for the report's grounding line, ``--eval-json`` and the trace; when
nothing at all could be grounded the run fails with :class:`UngroundedReport`, and the draft the
model wrote is kept for inspection.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from tech_writer.errors import TechWriterError
from tech_writer.pipeline import prompts
from tech_writer.report.gate import GatedSection, GroundingFigures, GroundingGate, SectionCheck
from tech_writer.repository.excerpts import format_excerpts, select_excerpts
from tech_writer.repository.repo import Repository
from telemetry import attributes as attrs
from telemetry.evaluation import record_evaluation

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = ["MIN_EVIDENCE_FILES", "Grounding", "UngroundedReport", "record_grounding"]

log = logging.getLogger("tech_writer.grounding")

MIN_EVIDENCE_FILES = 3  # a section whose outline names fewer gets the run's most important files
MAX_EVIDENCE_FILES = 5


class UngroundedReport(TechWriterError):
    """No section kept a single grounded claim. Carries the figures and the ungrounded draft."""

    def __init__(self, figures: GroundingFigures, draft: str) -> None:
        if figures.claims_written:
            why = f"{figures.claims_cited} of {figures.claims_written} cited"
            if figures.names_missing:
                why += f", {figures.names_missing} name(s) not in the repository"
        else:
            why = (f"none of its {figures.sections} section(s) was prose (a tool call written "
                   "as text, or nothing)")
        super().__init__(f"the model could not ground its claims: {why}; try a larger model")
        self.figures, self.draft = figures, draft


class Grounding:
    """One run's gate (built on first use: the index reads the repository), its evidence and its
    running figures (sections are written side by side: the figures are kept under a lock)."""

    def __init__(self, repo: Repository, *, keep_unverified: bool = False,
                 important_files: Sequence[str] = (), gate: GroundingGate | None = None,
                 mask: Callable[[str], str] | None = None) -> None:
        self.repo, self.keep_unverified = repo, keep_unverified
        # Evidence is repository text sent to the model: masked like every tool result.
        self._mask = mask
        self.important_files: list[str] = list(important_files)  # most important first
        self._gate = gate
        self._figures: dict[str, GroundingFigures] = {}
        self._lock = threading.Lock()

    @property
    def gate(self) -> GroundingGate:
        with self._lock:
            if self._gate is None:
                self._gate = GroundingGate.build(self.repo)
            return self._gate

    def evidence_files(self, relevant_files: Iterable[str]) -> list[str]:
        """The section's own files that exist, topped up with the run's most important ones."""
        listed = self.gate.index.paths
        files = [p.removeprefix("./") for p in relevant_files if p.removeprefix("./") in listed]
        for path in self.important_files:
            if len(files) >= MIN_EVIDENCE_FILES:
                break
            if path not in files:
                files.append(path)
        return list(dict.fromkeys(files))[:MAX_EVIDENCE_FILES]

    def evidence(self, relevant_files: Iterable[str]) -> str:
        files = self.evidence_files(relevant_files)
        text = format_excerpts(select_excerpts(self.repo, files))
        return self._mask(text) if self._mask is not None else text

    def ground(self, title: str, text: str, *, evidence: str, relevant_files: Iterable[str],
               rewrite: Callable[[str], str], on_retry: Callable[[str], None] | None = None
               ) -> GatedSection:
        """Judge ``text``; if it fails, ``rewrite(feedback)`` once (the model's new answer) and
        keep the better of the two; settle what fails. ``on_retry`` hears why it was asked."""
        prefer = self.evidence_files(relevant_files)
        check = self.gate.check(text, prefer)
        # An empty answer was already asked again by the writer: it is not sent back once more.
        if not check.passed and check.not_prose != "empty answer":
            why = (check.not_prose if check.not_prose is not None else
                   f"{len(check.failing)} of {len(check.verdicts)} claim(s) not grounded")
            if on_retry is not None:
                on_retry(why)
            retry = self.gate.check(rewrite(prompts.grounding_feedback(check.problems(), evidence)),
                                    prefer)
            check = _better(check, retry)
        gated = self.gate.settle(check, keep_unverified=self.keep_unverified)
        if gated.markdown is None:
            log.warning("section %r: nothing in it could be grounded; left out", title)
            gated = GatedSection(None, gated.draft,
                                 dataclasses.replace(gated.figures, sections_left_out=(title,)))
        with self._lock:
            self._figures[title] = gated.figures
        return gated

    def record(self, title: str, figures: GroundingFigures) -> None:
        """The figures of a section not written by :meth:`ground` (reused from an earlier run)."""
        with self._lock:
            self._figures[title] = figures

    def figures(self, titles: Iterable[str] | None = None) -> GroundingFigures:
        """The figures summed over the sections written (those of ``titles`` only, when given)."""
        with self._lock:
            chosen = (list(self._figures.values()) if titles is None
                      else [self._figures[t] for t in titles if t in self._figures])
        return GroundingFigures.total(chosen)


def _better(first: SectionCheck, second: SectionCheck) -> SectionCheck:
    """The answer that keeps more grounded claims (the rewrite, when as good, unless it is
    empty: the first answer is then the better draft to show)."""
    def grounded(check: SectionCheck) -> int:
        if check.not_prose is not None:
            return -2 if check.not_prose == "empty answer" else -1
        return sum(1 for v in check.verdicts if v.grounded)
    return first if grounded(first) > grounded(second) else second


def record_grounding(span: Span, figures: GroundingFigures, label: str | None = None, *,
                     event: bool = True) -> None:
    """The figures as span attributes, and (``event``) one ``gen_ai.evaluation.result`` event
    ``grounding`` whose score is the share of the claims written that the report keeps, all
    cited."""
    span.set_attributes({
        attrs.GROUNDING_CLAIMS_KEPT: figures.claims_kept,
        attrs.GROUNDING_CLAIMS_ANCHORED: figures.anchored,
        attrs.GROUNDING_CLAIMS_REMOVED: figures.removed,
        attrs.GROUNDING_CLAIMS_UNVERIFIED: figures.unverified,
        attrs.GROUNDING_NAMES_CHECKED: figures.names_checked,
        attrs.GROUNDING_NAMES_MISSING: figures.names_missing,
    })
    if event and figures.claims_written:
        record_evaluation(span, "grounding", figures.claims_kept / figures.claims_written,
                          label=label, explanation=figures.summary())
