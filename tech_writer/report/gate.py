"""The grounding gate: what a section may say in the report, judged by the code ``eval`` scores with.

A section's text is cut into claims and scored by :func:`~tech_writer.report.evaluation.evaluate_report`
(the one implementation behind ``tech-writer eval``: the same claims, the same citation check, the
same names looked up in the same index). A claim is **grounded** when it carries at least one
citation, every citation it carries verifies, and every name it puts in inline code exists in the
repository. Before judging, an uncited claim that names a definition the repository has in one
place gets a citation of that definition's lines (:mod:`~tech_writer.report.anchors`), checked
like any other.

:meth:`GroundingGate.check` judges (the writer sends the failures back to the model once);
:meth:`GroundingGate.settle` then removes what still fails — or, asked to keep it, moves it into a
blockquote beginning ``**Unverified**``, never plain text. Text that is not prose (an empty answer,
a tool call written out) keeps nothing. :class:`GroundingFigures` count what happened, for the
report's grounding line, ``--eval-json`` and the trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tech_writer.report.anchors import ANCHOR_MARK, DefinitionIndex, anchor_claims
from tech_writer.report.claims import GROUNDING_BANNER_PREFIX, Claim
from tech_writer.report.evaluation import evaluate_report
from tech_writer.report.grounding import RepoIndex
from tech_writer.report.headings import heading_levels
from tech_writer.report.prose import not_prose
from tech_writer.repository.repo import Repository

__all__ = ["GROUNDING_PREFIX", "UNVERIFIED_PREFIX", "ClaimVerdict", "GatedSection",
           "GroundingFigures", "GroundingGate", "SectionCheck"]

GROUNDING_PREFIX = GROUNDING_BANNER_PREFIX
UNVERIFIED_PREFIX = "> **Unverified**"
_MAX_FEEDBACK_CLAIMS = 12  # sentences quoted back to the model; the rest are counted
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*+]|\d{1,9}[.)])\s+")
_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


@dataclass(frozen=True)
class ClaimVerdict:
    """One claim judged: the citations of it that do not verify, the names it uses that the
    repository does not have, and whether the tool anchored its citation."""

    claim: Claim
    invalid_citations: tuple[str, ...] = ()
    missing_names: tuple[str, ...] = ()
    anchored: bool = False

    @property
    def cited(self) -> bool:
        return bool(self.claim.citations)

    @property
    def grounded(self) -> bool:
        return self.cited and not self.invalid_citations and not self.missing_names

    def problem(self) -> str:
        """Why it is not grounded, in a few words (empty when it is)."""
        reasons = []
        if not self.cited:
            reasons.append("no citation")
        if self.invalid_citations:
            # In code: written bare, a quoted citation would itself be checked as one.
            reasons.append("citation does not verify: "
                           + ", ".join(f"`{text}`" for text in self.invalid_citations))
        if self.missing_names:
            reasons.append("not in this repository: "
                           + ", ".join(f"`{name}`" for name in self.missing_names))
        return "; ".join(reasons)


@dataclass(frozen=True)
class SectionCheck:
    """A section's text (with the tool's anchors added) and the verdict on each of its claims;
    ``not_prose`` says why the text is no section at all (then there are no verdicts)."""

    markdown: str
    verdicts: tuple[ClaimVerdict, ...] = ()
    not_prose: str | None = None
    names_checked: int = 0

    @property
    def failing(self) -> list[ClaimVerdict]:
        return [v for v in self.verdicts if not v.grounded]

    @property
    def passed(self) -> bool:
        return self.not_prose is None and not self.failing

    def missing_names(self) -> list[str]:
        return list(dict.fromkeys(n for v in self.verdicts for n in v.missing_names))

    def problems(self) -> str:
        """The failures as lines for the model: each ungrounded sentence with why, then the
        names this repository does not have."""
        if self.not_prose is not None:
            return f"Your answer is not a section ({self.not_prose})."
        failing = self.failing
        lines = [f"- \"{_one_line(v.claim.text)}\" — {v.problem()}"
                 for v in failing[:_MAX_FEEDBACK_CLAIMS]]
        if len(failing) > _MAX_FEEDBACK_CLAIMS:
            lines.append(f"- ... and {len(failing) - _MAX_FEEDBACK_CLAIMS} more")
        missing = self.missing_names()
        if missing:
            lines.append("These names do not exist in this repository: "
                         + ", ".join(f"`{name}`" for name in missing) + ".")
        return "\n".join(lines)


@dataclass(frozen=True)
class GroundingFigures:
    """What the gate did, summed over sections: claims kept (all grounded), of them cited by
    the model and anchored by the tool; claims removed, or kept as unverified; names checked
    and of them missing; sections that kept nothing."""

    claims_kept: int = 0
    claims_cited: int = 0  # of the claims written, those carrying a citation (kept or not)
    cited_by_model: int = 0
    anchored: int = 0
    removed: int = 0
    unverified: int = 0
    names_checked: int = 0
    names_missing: int = 0
    sections: int = 0
    sections_left_out: tuple[str, ...] = ()

    def __add__(self, other: GroundingFigures) -> GroundingFigures:
        return GroundingFigures(
            claims_kept=self.claims_kept + other.claims_kept,
            claims_cited=self.claims_cited + other.claims_cited,
            cited_by_model=self.cited_by_model + other.cited_by_model,
            anchored=self.anchored + other.anchored, removed=self.removed + other.removed,
            unverified=self.unverified + other.unverified,
            names_checked=self.names_checked + other.names_checked,
            names_missing=self.names_missing + other.names_missing,
            sections=self.sections + other.sections,
            sections_left_out=self.sections_left_out + other.sections_left_out)

    @classmethod
    def total(cls, parts: Iterable[GroundingFigures]) -> GroundingFigures:
        result = cls()
        for part in parts:
            result = result + part
        return result

    @property
    def claims_written(self) -> int:
        return self.claims_kept + self.removed + self.unverified

    @property
    def nothing_grounded(self) -> bool:
        """No section kept a grounded claim: the report would say nothing it can back."""
        return self.sections > 0 and self.claims_kept == 0

    def as_dict(self) -> dict[str, Any]:
        return {"claims_written": self.claims_written, "claims_kept": self.claims_kept,
                "claims_cited": self.claims_cited,
                "cited_by_model": self.cited_by_model, "anchored_by_tool": self.anchored,
                "removed": self.removed, "kept_unverified": self.unverified,
                "names_checked": self.names_checked, "names_missing": self.names_missing,
                "sections": self.sections, "sections_left_out": list(self.sections_left_out)}

    def summary(self) -> str:
        """One sentence: ``37 of 89 claims kept, all cited (21 by the model, 16 anchored by the
        tool, marked †); 52 removed; 44 names checked, 9 not in the repository``."""
        parts = [f"{self.claims_kept} of {self.claims_written} claims kept, all cited "
                 f"({self.cited_by_model} by the model, {self.anchored} anchored by the tool to "
                 f"the definition they name, marked {ANCHOR_MARK})"]
        if self.removed:
            parts.append(f"{self.removed} removed (no citation that verifies, or a name this "
                         "repository does not have)")
        if self.unverified:
            parts.append(f"{self.unverified} kept as **Unverified**")
        parts.append(f"{self.names_checked} names checked, {self.names_missing} not in the "
                     "repository" if self.names_missing else
                     f"{self.names_checked} names checked, all in the repository")
        if self.sections_left_out:
            parts.append("left out, nothing in them grounded: " + "; ".join(self.sections_left_out))
        return "; ".join(parts)

    def header_line(self) -> str:
        return f"{GROUNDING_PREFIX}: {self.summary()}."


@dataclass(frozen=True)
class GatedSection:
    """What the report keeps of a section (None: nothing, the section is left out), what it
    would have said before the gate (the draft), and the figures."""

    markdown: str | None
    draft: str
    figures: GroundingFigures


@dataclass
class GroundingGate:
    """One repository's index and definitions, built once per run and shared by its sections."""

    repo: Repository
    index: RepoIndex
    definitions: DefinitionIndex

    @classmethod
    def build(cls, repo: Repository, exclude: frozenset[str] = frozenset()) -> GroundingGate:
        index = RepoIndex.build(repo, exclude)
        return cls(repo, index, DefinitionIndex.of(index))

    def check(self, markdown: str, prefer: Iterable[str] = ()) -> SectionCheck:
        """Anchor what can be anchored, then judge every claim with ``eval``'s code."""
        reason = not_prose(markdown)
        if reason is not None:
            return SectionCheck(markdown, not_prose=reason)
        metrics = evaluate_report(markdown, self.repo, index=self.index)
        anchored_text, anchored = anchor_claims(markdown, metrics.claims, self.index,
                                                self.definitions, frozenset(prefer))
        if anchored:
            metrics = evaluate_report(anchored_text, self.repo, index=self.index)
        if not metrics.claims:
            return SectionCheck(anchored_text, not_prose="no sentences")
        invalid = {(c.citation.offset, c.citation.path, c.citation.start, c.citation.end)
                   for c in metrics.citation_report.invalid_checks()}
        missing: dict[int, list[str]] = {}
        for entity in metrics.entities:
            if not entity.found_as:
                missing.setdefault(entity.claim.start, []).append(entity.entity.text)
        verdicts = tuple(ClaimVerdict(
            claim,
            tuple(dict.fromkeys(c.text for c in claim.citations
                                if (c.offset, c.path, c.start, c.end) in invalid)),
            tuple(dict.fromkeys(missing.get(claim.start, []))),
            anchored=bool(claim.citations) and _tool_only(claim))
            for claim in metrics.claims)
        return SectionCheck(anchored_text, verdicts, names_checked=len(metrics.entities))

    def settle(self, check: SectionCheck, *, keep_unverified: bool = False) -> GatedSection:
        """What the report keeps of a checked section (see the module docstring)."""
        if check.not_prose is not None:
            return GatedSection(None, check.markdown, GroundingFigures(sections=1))
        failing = check.failing
        kept = [v for v in check.verdicts if v.grounded]
        text = _without(check.markdown, [v.claim for v in failing])
        if keep_unverified and failing:
            text = (text.rstrip() + "\n\n" + _unverified_quote(failing)).strip()
        figures = GroundingFigures(
            claims_kept=len(kept), claims_cited=sum(1 for v in check.verdicts if v.cited),
            cited_by_model=sum(1 for v in kept if not v.anchored),
            anchored=sum(1 for v in kept if v.anchored),
            removed=0 if keep_unverified else len(failing),
            unverified=len(failing) if keep_unverified else 0,
            names_checked=check.names_checked,
            names_missing=sum(len(v.missing_names) for v in check.verdicts), sections=1)
        if not kept and not (keep_unverified and failing):
            return GatedSection(None, check.markdown, figures)
        return GatedSection(text, check.markdown, figures)


def _tool_only(claim: Claim) -> bool:
    """Every citation of the claim is one the tool wrote (marked right after its bracket)."""
    return all(claim.text.find(c.text + ANCHOR_MARK) >= 0 for c in claim.citations)


def _one_line(text: str, limit: int = 240) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def _without(markdown: str, claims: list[Claim]) -> str:
    """``markdown`` with each claim's text taken out: a list item or table row as whole lines,
    a sentence from its paragraph; blank runs left behind collapse to one."""
    text = markdown
    for claim in sorted(claims, key=lambda c: c.start, reverse=True):
        line_start = text.rfind("\n", 0, claim.start) + 1
        head = text[line_start:claim.start]
        whole_lines = not head.strip() and (_LIST_ITEM.match(text, line_start) is not None
                                            or text[claim.start:claim.end].lstrip().startswith("|"))
        if whole_lines:
            line_end = text.find("\n", claim.end)
            start, end = line_start, (len(text) if line_end == -1 else line_end + 1)
        else:
            start, end = claim.start, claim.end
            while end < len(text) and text[end] in " \t":
                end += 1
        text = text[:start] + text[end:]
    lines = _without_empty_headings([line.rstrip() for line in text.split("\n")])
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def _without_empty_headings(lines: list[str]) -> list[str]:
    """``lines`` without the headings left with nothing under them: a ``###`` whose every claim
    was removed is followed only by blank lines up to a heading of its level or above."""
    levels = heading_levels(lines)
    kept: list[int] = []  # indices, from the end: a heading's contents are already settled
    for index in range(len(lines) - 1, -1, -1):
        if levels[index]:
            following = next((i for i in reversed(kept) if lines[i].strip()), None)
            if following is None or 0 < levels[following] <= levels[index]:
                continue
        kept.append(index)
    return [lines[i] for i in reversed(kept)]


def _unverified_quote(failing: list[ClaimVerdict]) -> str:
    lines = [f"{UNVERIFIED_PREFIX}: the tool could not ground these sentences, so they are not "
             "part of the report's checked content.", ">"]
    for verdict in failing:
        body = _LIST_ITEM.sub("", _one_line(verdict.claim.text, 1000), count=1)
        for citation in verdict.invalid_citations:  # kept visible, no longer a citation
            body = body.replace(citation, f"`{citation}`")
        lines.append(f"> - {body} *({verdict.problem()})*")
    return "\n".join(lines)
