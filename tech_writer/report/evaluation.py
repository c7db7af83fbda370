"""The deterministic scores of a report: no model, milliseconds, always computed.

- **citation validity**: valid citations ÷ citations, by :func:`~tech_writer.report.citations.verify_citations`
  (the run's own check: one implementation);
- **citation coverage**: claims carrying at least one citation ÷ claims (:mod:`tech_writer.report.claims`);
- **entity grounding**: of the backticked names and paths (:mod:`tech_writer.report.grounding`), the
  share the repository has, and the share found inside the lines their own sentence cites; the
  names it does not have are listed (the hallucinations);
- **exploration efficiency** (for a run that says which files it read): files read ÷ files listed,
  and the cited files that were never read.

A share with nothing to count (no citations, no claims, no names) is ``None``, never 0 or 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tech_writer.report.citations import CitationReport, CitedSpans, verify_citations
from tech_writer.report.claims import Claim, split_claims
from tech_writer.report.grounding import Entity, RepoIndex
from tech_writer.repository.repo import Repository

__all__ = ["EntityCheck", "ReportMetrics", "evaluate_report", "share"]

_MAX_LISTED = 50  # names listed as missing / not in their span, so a bad report stays readable


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class EntityCheck:
    entity: Entity
    found_as: str | None  # "symbol" | "path" | "text" | None (missing)
    in_cited_span: bool
    claim: Claim


@dataclass
class ReportMetrics:
    citations_total: int
    citations_valid: int
    invalid_citations: list[dict[str, Any]]
    claims_total: int
    claims_cited: int
    entities: list[EntityCheck]
    files_listed: int
    files_read: int | None = None
    cited_never_read: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    # What the counts were made of, for a caller that judges claim by claim (the grounding gate).
    claims: list[Claim] = field(default_factory=list, repr=False)
    citation_report: CitationReport = field(default_factory=CitationReport, repr=False)

    @property
    def citation_validity(self) -> float | None:
        return share(self.citations_valid, self.citations_total)

    @property
    def citation_coverage(self) -> float | None:
        return share(self.claims_cited, self.claims_total)

    @property
    def entity_existence(self) -> float | None:
        return share(sum(1 for e in self.entities if e.found_as), len(self.entities))

    @property
    def entity_in_cited_span(self) -> float | None:
        return share(sum(1 for e in self.entities if e.in_cited_span), len(self.entities))

    @property
    def exploration_efficiency(self) -> float | None:
        return None if self.files_read is None else share(self.files_read, self.files_listed)

    def missing_entities(self) -> list[str]:
        return list(dict.fromkeys(e.entity.text for e in self.entities if not e.found_as))

    def as_dict(self) -> dict[str, Any]:
        missing = self.missing_entities()
        outside = list(dict.fromkeys(e.entity.text for e in self.entities
                                     if e.found_as and not e.in_cited_span and e.claim.citations))
        return {
            "citation_validity": self.citation_validity,
            "citations": {"total": self.citations_total, "valid": self.citations_valid,
                          "invalid": self.citations_total - self.citations_valid,
                          "invalid_list": self.invalid_citations[:_MAX_LISTED]},
            "citation_coverage": self.citation_coverage,
            "claims": {"total": self.claims_total, "cited": self.claims_cited},
            "entity_existence": self.entity_existence,
            "entity_in_cited_span": self.entity_in_cited_span,
            "entities": {
                "total": len(self.entities),
                "found": sum(1 for e in self.entities if e.found_as),
                "in_cited_span": sum(1 for e in self.entities if e.in_cited_span),
                "by_kind": _count(e.found_as or "missing" for e in self.entities),
                "missing": missing[:_MAX_LISTED],
                "found_outside_cited_span": outside[:_MAX_LISTED],
            },
            "exploration": {
                "files_listed": self.files_listed,
                "files_read": self.files_read,
                "efficiency": self.exploration_efficiency,
                "cited_never_read": self.cited_never_read,
            },
            "notes": self.notes,
        }


def evaluate_report(markdown: str, repo: Repository, *, files_read: Iterable[str] | None = None,
                    index: RepoIndex | None = None,
                    exclude: frozenset[str] = frozenset()) -> ReportMetrics:
    """Score ``markdown`` against ``repo``. ``files_read``: the files the run read (enables the
    exploration metrics); ``exclude``: paths left out of the index (the report's own file)."""
    index = index or RepoIndex.build(repo, exclude)
    checks = verify_citations(markdown, repo)
    invalid = [{"citation": c.citation.text if len(c.citation.text) < 200 else c.citation.text[:200],
                "path": c.citation.path, "start": c.citation.start, "end": c.citation.end,
                "reason": c.reason} for c in checks.invalid_checks()]
    claims = split_claims(markdown)
    entities = _check_entities(claims, repo, index)
    metrics = ReportMetrics(checks.total, checks.valid, invalid, len(claims),
                            sum(1 for claim in claims if claim.citations), entities,
                            len(index.paths), notes=list(index.notes), claims=claims,
                            citation_report=checks)
    if files_read is not None:
        read = set(files_read)
        metrics.files_read = len(read)
        cited = dict.fromkeys(c.citation.path.removeprefix("./") for c in checks.checks if c.valid)
        metrics.cited_never_read = [path for path in cited if path not in read]
    return metrics


def _check_entities(claims: list[Claim], repo: Repository, index: RepoIndex) -> list[EntityCheck]:
    checks = []
    spans = CitedSpans(repo)  # each cited file read once
    span_text: dict[tuple[str, int, int], str | None] = {}
    for claim in claims:
        cited = []
        for citation in claim.citations:
            key = (citation.path, citation.start, citation.end)
            if key not in span_text:
                lines = spans.lines(citation)
                span_text[key] = None if lines is None else "\n".join(lines)
            cited.append((citation.path.removeprefix("./"), span_text[key]))
        for code in claim.code_names:
            entity = index.parse(code)
            if entity is None:
                continue
            found = index.lookup(entity)
            checks.append(EntityCheck(entity, found, bool(found) and _in_span(entity, cited), claim))
    return checks


def _in_span(entity: Entity, cited: list[tuple[str, str | None]]) -> bool:
    """The name is in the cited lines as a whole word (a path: it is the cited file, or written there)."""
    for path, text in cited:
        if text is None:
            continue
        if entity.kind == "path" and (path == entity.name or path.endswith("/" + entity.name)):
            return True
        if _has_word(text, entity.last_part):
            return True
    return False


def _has_word(text: str, word: str) -> bool:
    """``word`` in ``text`` with no word character on either side (what ``(?<!\\w)word(?!\\w)``
    matches, without compiling a pattern per name)."""
    if not word:
        return False
    position = text.find(word)
    while position != -1:
        after = position + len(word)
        if (position == 0 or not _is_word_char(text[position - 1])) and (
                after == len(text) or not _is_word_char(text[after])):
            return True
        position = text.find(word, position + 1)
    return False


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _count(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts
