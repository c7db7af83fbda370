"""Does a report still stand on the code? Every citation and every section, classified against the
files on disk now and the report's provenance (:mod:`tech_writer.report.provenance`). No model.

A citation **holds** (its recorded lines' text is still at the same lines), has **moved** (that
exact text is now at other lines of the same file: the nearest such range is given), is **stale**
(the lines exist but hold other text, and the recorded text is nowhere in the file) or is
**gone** (the file cannot be read as text any more, or the range runs past its end). A citation
the provenance has no hash for (a report without provenance, a citation that did not verify when
written, one added by hand) is checked by existence only: holds when the range exists, else gone.

A section is **stale** when one of its citations is stale or gone; with ``strict``, also when
any file it read or cited has changed at all. ``files`` names the files behind a stale verdict.
Files added since the report's commit (git work trees only) that no section read, cited or was
planned around are listed as uncovered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

from tech_writer.report.citations import Citation, code_regions, format_citation, parse_citations
from tech_writer.report.provenance import (
    CitedRange,
    Provenance,
    SectionRecord,
    attach,
    file_sha,
    lines_sha,
    split_report,
)
from tech_writer.repository.gitinfo import files_at
from tech_writer.repository.repo import Repository

__all__ = [
    "CheckResult",
    "CitationVerdict",
    "ReportSection",
    "STATUSES",
    "SectionVerdict",
    "apply_fixes",
    "check_report",
    "classify_lines",
    "report_sections",
]

Status = Literal["holds", "moved", "stale", "gone"]
STATUSES: tuple[Status, ...] = ("holds", "moved", "stale", "gone")
# A closing run of #s counts only after a space (CommonMark): "## C#" is the section "C#".
_HEADING = re.compile(r"^## +(?P<title>[^\n]*?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_ITEM = re.compile(r"(?P<path>.+):(?P<start>\d+)(?:-(?P<end>\d+))?")
_SEPARATORS = re.compile(r"(\s*[,;]\s*)")


@dataclass(frozen=True)
class ReportSection:
    """A ``## heading`` of the report body and the text up to the next one."""

    title: str
    start: int  # offset of the heading
    end: int  # offset of the next heading (or the body's end)
    occurrence: int  # how many sections before this one had the same title


@dataclass(frozen=True)
class CitationVerdict:
    citation: Citation
    section: str | None  # the heading's text; None before the first heading
    status: Status
    new_start: int | None = None
    new_end: int | None = None
    by_content: bool = True  # False: no recorded hash, checked by existence only
    occurrence: int = 0  # of its section's title (titles may repeat)

    def as_dict(self) -> dict[str, Any]:
        c = self.citation
        return {"section": self.section, "path": c.path, "start": c.start, "end": c.end,
                "status": self.status, "new_start": self.new_start, "new_end": self.new_end,
                "evidence": "content" if self.by_content else "existence"}


@dataclass(frozen=True)
class SectionVerdict:
    title: str
    status: Literal["fresh", "stale"]
    files: tuple[str, ...]  # the files behind a stale verdict (empty when fresh)
    changed_files: tuple[str, ...] = ()  # files it read or cited whose bytes changed (any mode)

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "status": self.status, "files": list(self.files)}


@dataclass(frozen=True)
class CheckResult:
    citations: tuple[CitationVerdict, ...]
    sections: tuple[SectionVerdict, ...]
    uncovered_files: tuple[str, ...] | None  # None: cannot tell (no provenance commit, shallow clone)
    provenance: Provenance | None
    strict: bool = False
    fixed: int = 0  # moved citations rewritten by apply_fixes

    def count(self, status: Status) -> int:
        return sum(1 for verdict in self.citations if verdict.status == status)

    def stale_sections(self) -> list[SectionVerdict]:
        return [section for section in self.sections if section.status == "stale"]

    @property
    def exit_code(self) -> int:
        """0 when every citation holds (and, with ``strict``, every section is fresh), else 1."""
        if self.strict and self.stale_sections():
            return 1
        return 0 if all(verdict.status == "holds" for verdict in self.citations) else 1

    def summary(self) -> dict[str, Any]:
        fresh = sum(1 for section in self.sections if section.status == "fresh")
        return {**{status: self.count(status) for status in STATUSES},
                "citations": len(self.citations), "sections_fresh": fresh,
                "sections_stale": len(self.sections) - fresh,
                "uncovered": None if self.uncovered_files is None else len(self.uncovered_files),
                "provenance": self.provenance is not None,
                "commit": self.provenance.commit if self.provenance else None,
                "strict": self.strict, "fixed": self.fixed}

    def as_dict(self) -> dict[str, Any]:
        return {"citations": [verdict.as_dict() for verdict in self.citations],
                "sections": [section.as_dict() for section in self.sections],
                "uncovered_files": None if self.uncovered_files is None else list(self.uncovered_files),
                "summary": self.summary()}


# --- one citation ----------------------------------------------------------------------------
def classify_lines(lines: list[str] | None, start: int, end: int,
                   sha: str | None) -> tuple[Status, int | None, int | None]:
    """``(status, new_start, new_end)`` of a citation of ``start``-``end`` recorded with ``sha``
    (None: existence only), against the file's lines now (None: not readable as text)."""
    if lines is None:
        return "gone", None, None
    in_range = 1 <= start <= end <= len(lines)
    if sha is None:
        return ("holds" if in_range else "gone"), None, None
    if in_range and lines_sha(lines[start - 1 : end]) == sha:
        return "holds", None, None
    found = _find(lines, end - start + 1, sha, start)
    if found is not None:
        return "moved", found, found + end - start
    return ("stale" if in_range else "gone"), None, None


def _find(lines: list[str], length: int, sha: str, near: int) -> int | None:
    """The 1-based start of the ``length``-line window whose text hashes to ``sha`` nearest to
    ``near`` (the earlier one on a tie), or None: windows are tried outwards from ``near``, so
    the first match is the answer."""
    last = len(lines) - length + 1
    if last < 1:
        return None
    for distance in range(max(near - 1, last - near) + 1):
        for candidate in (near - distance, near + distance) if distance else (near,):
            if 1 <= candidate <= last and lines_sha(lines[candidate - 1 : candidate - 1 + length]) == sha:
                return candidate
    return None


# --- the report ------------------------------------------------------------------------------
def report_sections(body: str) -> list[ReportSection]:
    """The body's ``## `` sections in order (headings inside fenced code do not count)."""
    fences = code_regions(body)[0]
    heads = [match for match in _HEADING.finditer(body)
             if not any(start <= match.start() < end for start, end in fences)]
    seen: dict[str, int] = {}
    sections = []
    for index, match in enumerate(heads):
        title = match.group("title")
        end = heads[index + 1].start() if index + 1 < len(heads) else len(body)
        sections.append(ReportSection(title, match.start(), end, seen.get(title, 0)))
        seen[title] = seen.get(title, 0) + 1
    return sections


def check_report(text: str, repo: Repository, *, strict: bool = False,
                 exclude: Iterable[str] = ()) -> CheckResult:
    """Classify every citation and section of the report ``text`` (body and provenance) against
    ``repo`` now. ``exclude``: paths never listed as uncovered (the report itself)."""
    body, provenance = split_report(text)
    sections = report_sections(body)
    lines_cache: dict[str, list[str] | None] = {}
    verdicts = []
    for citation in parse_citations(body):
        section = _section_at(sections, citation.offset)
        record = _record(provenance, section)
        cited = record.cited(citation.path, citation.start, citation.end) if record else None
        status, new_start, new_end = classify_lines(
            _lines(repo, citation.path, lines_cache), citation.start, citation.end,
            cited.sha if cited else None)
        verdicts.append(CitationVerdict(citation, section.title if section else None, status,
                                        new_start, new_end, cited is not None,
                                        section.occurrence if section else 0))
    section_verdicts = tuple(_section_verdict(section, _record(provenance, section), verdicts, repo, strict)
                             for section in sections)
    uncovered = _uncovered(repo, provenance, exclude)
    return CheckResult(tuple(verdicts), section_verdicts, uncovered, provenance, strict)


def _lines(repo: Repository, path: str, cache: dict[str, list[str] | None]) -> list[str] | None:
    if path not in cache:
        try:
            cache[path] = repo.read_text(path).lines  # the first max_file_bytes of a huge file
        except (OSError, ValueError):
            cache[path] = None
    return cache[path]


def _section_at(sections: list[ReportSection], offset: int) -> ReportSection | None:
    for section in sections:
        if section.start <= offset < section.end:
            return section
    return None


def _record(provenance: Provenance | None, section: ReportSection | None) -> SectionRecord | None:
    if provenance is None or section is None:
        return None
    return provenance.section(section.title, section.occurrence)


def _section_verdict(section: ReportSection, record: SectionRecord | None,
                     verdicts: list[CitationVerdict], repo: Repository, strict: bool) -> SectionVerdict:
    own = [v for v in verdicts if section.start <= v.citation.offset < section.end]
    broken = {v.citation.path for v in own if v.status in ("stale", "gone")}
    changed: set[str] = set()
    if record is not None:
        changed = {path for path, sha in record.files if file_sha(repo, path) != sha}
    behind = broken | changed if strict else broken
    return SectionVerdict(section.title, "stale" if behind else "fresh", tuple(sorted(behind)),
                          tuple(sorted(changed)))


def _uncovered(repo: Repository, provenance: Provenance | None,
               exclude: Iterable[str]) -> tuple[str, ...] | None:
    if provenance is None or provenance.commit is None:
        return None
    then = files_at(repo.root, provenance.commit)
    if then is None:
        return None
    skip = then | provenance.covered_files() | set(exclude)
    return tuple(path for path in repo.list_files() if path not in skip)


# --- --fix -----------------------------------------------------------------------------------
def apply_fixes(text: str, result: CheckResult) -> tuple[str, CheckResult]:
    """The report with every moved citation rewritten to its new range, in the body and in the
    provenance (and nothing else changed), and the result as it reads after the fix."""
    moved = [v for v in result.citations if v.status == "moved"]
    if not moved:
        return text, result
    body, provenance = split_report(text)
    by_bracket: dict[int, list[CitationVerdict]] = {}
    for verdict in moved:
        by_bracket.setdefault(verdict.citation.offset, []).append(verdict)
    for offset in sorted(by_bracket, reverse=True):
        bracket = by_bracket[offset][0].citation.text
        body = body[:offset] + _rewrite_bracket(bracket, by_bracket[offset]) + body[offset + len(bracket):]
    fixed_text = attach(body, _moved_provenance(provenance, moved)) if provenance else body
    fixed = tuple(replace(v, citation=replace(v.citation, start=v.new_start or v.citation.start,
                                              end=v.new_end or v.citation.end),
                          status="holds", new_start=None, new_end=None) if v.status == "moved" else v
                  for v in result.citations)
    return fixed_text, replace(result, citations=fixed, fixed=len(moved))


def _rewrite_bracket(bracket: str, moved: list[CitationVerdict]) -> str:
    targets = {(v.citation.path, v.citation.start, v.citation.end): (v.new_start, v.new_end) for v in moved}
    parts = _SEPARATORS.split(bracket[1:-1])
    for index in range(0, len(parts), 2):  # even parts are items, odd ones separators
        item = _ITEM.fullmatch(parts[index])
        if item is None:
            continue
        start = int(item.group("start"))
        end = int(item.group("end")) if item.group("end") else start
        new = targets.get((item.group("path"), start, end))
        if new is not None and new[0] is not None and new[1] is not None:
            parts[index] = format_citation(item.group("path"), new[0], new[1])[1:-1]
    return "[" + "".join(parts) + "]"


def _moved_provenance(provenance: Provenance, moved: list[CitationVerdict]) -> Provenance:
    sections = []
    counts: dict[str, int] = {}
    for record in provenance.sections:
        occurrence = counts.get(record.title, 0)
        counts[record.title] = occurrence + 1
        mine = {(v.citation.path, v.citation.start, v.citation.end): v for v in moved
                if (v.section, v.occurrence) == (record.title, occurrence)}
        cited = tuple(_moved_range(c, mine.get((c.path, c.start, c.end))) for c in record.citations)
        sections.append(replace(record, citations=tuple(sorted(set(cited), key=lambda c: (c.path, c.start, c.end)))))
    return replace(provenance, sections=tuple(sections))


def _moved_range(cited: CitedRange, verdict: CitationVerdict | None) -> CitedRange:
    if verdict is None or verdict.new_start is None or verdict.new_end is None:
        return cited
    return replace(cited, start=verdict.new_start, end=verdict.new_end)
