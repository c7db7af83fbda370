"""A report's provenance: what it was written from, so ``check`` and ``update`` can tell later,
with no cache and no model, which of its claims still stand on the code.

Where it lives: inside the report, as a trailing HTML comment (GitHub and every CommonMark
renderer show nothing of it). One file means one atomic write puts the report and its
provenance on disk together, and they cannot part ways when the report is copied, moved or
reviewed in a pull request. A report without one (older, or hand-written) is still checked, by
existence only.

The format, one JSON object per line between the comment's first and last lines (a diff shows
which record changed)::

    <!-- tech-writer provenance v1: what `tech-writer check` and `update` compare with the code
    {"provider": "demo", "model": "openai/gpt-5.1", "commit": "<40 hex or null>"}
    {"prompt": "<the prompt's text>"}
    {"title": "<the outline's title>"}
    {"understanding": "<the exploration's notes the sections were written from>"}
    {"section": "<title>", "focus": "<the outline's focus>", "relevant_files": ["a.py"]}
    {"file": "a.py", "sha": "<16 hex>"}                  one per file the section read or cited
    {"cite": "a.py", "lines": [3, 9], "sha": "<16 hex>"}  one per distinct citation of it
    -->

``sha`` is the first 16 hex digits (64 bits) of a SHA-256: of a file's bytes, or of the cited
lines' text joined by ``\\n`` (lines as :func:`split_lines` counts them). Files and citations are
sorted, so the same run writes the same bytes. Strings are JSON with ``<``, ``>``, ``[`` and
``]`` escaped (``\\u003c``...), so the comment cannot be closed early and nothing in it reads as
a citation. Nothing secret is in it: the prompt is the user's own file, and every text a tool
writes goes through the secret mask before it is written.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tech_writer.report.citations import parse_citations
from tech_writer.repository.repo import Repository

__all__ = [
    "HEADER",
    "CitedRange",
    "Provenance",
    "ProvenanceError",
    "SectionInput",
    "SectionRecord",
    "attach",
    "build_provenance",
    "file_sha",
    "lines_sha",
    "render",
    "report_body",
    "split_report",
]

VERSION = 1
HEADER = f"<!-- tech-writer provenance v{VERSION}"
_HEADER_LINE = HEADER + ": what `tech-writer check` and `update` compare with the code"
_FOOTER = "-->"
_START = re.compile(r"(?:^|\n)<!-- tech-writer provenance v(?P<version>\d+)\b[^\n]*\n")
_SHA = re.compile(r"[0-9a-f]{16}")
_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "[": "\\u005b", "]": "\\u005d"})


class ProvenanceError(ValueError):
    """The report's provenance comment is there but cannot be read (edited by hand, cut)."""


@dataclass(frozen=True)
class CitedRange:
    path: str
    start: int
    end: int
    sha: str  # of the cited lines' text when the report was written


@dataclass(frozen=True)
class SectionRecord:
    title: str
    focus: str
    relevant_files: tuple[str, ...]
    files: tuple[tuple[str, str | None], ...]  # (path, sha of its bytes; None: unreadable then)
    citations: tuple[CitedRange, ...]

    def cited(self, path: str, start: int, end: int) -> CitedRange | None:
        for cited in self.citations:
            if (cited.path, cited.start, cited.end) == (path, start, end):
                return cited
        return None

    def file_paths(self) -> tuple[str, ...]:
        return tuple(path for path, _ in self.files)


@dataclass(frozen=True)
class Provenance:
    provider: str
    model: str
    commit: str | None
    prompt: str
    title: str
    understanding: str
    sections: tuple[SectionRecord, ...]

    def section(self, title: str, occurrence: int = 0) -> SectionRecord | None:
        """The ``occurrence``-th section record with this title (titles may repeat)."""
        matching = [record for record in self.sections if record.title == title]
        return matching[occurrence] if occurrence < len(matching) else None

    def covered_files(self) -> frozenset[str]:
        return frozenset(path for record in self.sections
                         for path in (*record.file_paths(), *record.relevant_files))


@dataclass(frozen=True)
class SectionInput:
    """What the run knows of one written section, to record it."""

    title: str
    focus: str
    relevant_files: tuple[str, ...]
    markdown: str
    files: tuple[str, ...]  # the files it read or cited


# --- hashing -------------------------------------------------------------------------------
def _short(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def lines_sha(lines: Sequence[str]) -> str:
    """The hash recorded for cited lines (their text joined by newlines)."""
    return _short("\n".join(lines).encode("utf-8", "surrogatepass"))


def file_sha(repo: Repository, path: str) -> str | None:
    """The hash recorded for a file: the first 16 hex digits of the SHA-256 of its bytes (as
    :attr:`FileText.content_hash`), None when it cannot be read as text."""
    try:
        return repo.read_text(path).content_hash[:16]
    except (OSError, ValueError):
        return None


# --- building --------------------------------------------------------------------------------
def build_provenance(repo: Repository, *, provider: str, model: str, commit: str | None, prompt: str,
                     title: str, understanding: str, sections: Iterable[SectionInput]) -> Provenance:
    """Hash every file each section depends on and the lines of each of its citations that
    verify, as they are on disk now (right after the sections were written)."""
    texts: dict[str, list[str] | None] = {}
    records = []
    for section in sections:
        cited = set()
        for citation in parse_citations(section.markdown):
            lines = _file_lines(repo, citation.path, texts)
            if lines is not None and 1 <= citation.start <= citation.end <= len(lines):
                sha = lines_sha(lines[citation.start - 1 : citation.end])
                cited.add(CitedRange(citation.path, citation.start, citation.end, sha))
        paths = sorted(set(section.files) | {c.path for c in cited})
        files = tuple((path, file_sha(repo, path)) for path in paths)
        records.append(SectionRecord(section.title, section.focus, tuple(section.relevant_files), files,
                                     tuple(sorted(cited, key=lambda c: (c.path, c.start, c.end)))))
    return Provenance(provider, model, commit, prompt, title, understanding, tuple(records))


def _file_lines(repo: Repository, path: str, texts: dict[str, list[str] | None]) -> list[str] | None:
    if path not in texts:
        try:
            texts[path] = repo.read_text(path).lines
        except (OSError, ValueError):
            texts[path] = None
    return texts[path]


# --- writing ---------------------------------------------------------------------------------
def _dumps(value: Any) -> str:
    """Compact JSON, one line, with every string escaped as the module docstring says."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).translate(_ESCAPES)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_dumps(key)}: {_dumps(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_dumps(item) for item in value) + "]"
    return json.dumps(value)


def render(provenance: Provenance) -> str:
    """The provenance comment, ending with a newline."""
    records: list[dict[str, Any]] = [
        {"provider": provenance.provider, "model": provenance.model, "commit": provenance.commit},
        {"prompt": provenance.prompt}, {"title": provenance.title},
        {"understanding": provenance.understanding},
    ]
    for section in provenance.sections:
        records.append({"section": section.title, "focus": section.focus,
                        "relevant_files": list(section.relevant_files)})
        records += [{"file": path, "sha": sha} for path, sha in section.files]
        records += [{"cite": c.path, "lines": [c.start, c.end], "sha": c.sha} for c in section.citations]
    return "\n".join([_HEADER_LINE, *map(_dumps, records), _FOOTER]) + "\n"


def attach(body: str, provenance: Provenance) -> str:
    """The report as written to disk: its body, a blank line, its provenance."""
    return body.rstrip("\n") + "\n\n" + render(provenance)


# --- reading ---------------------------------------------------------------------------------
def split_report(text: str) -> tuple[str, Provenance | None]:
    """``(body, provenance)``: the report without its trailing provenance comment (None when it has
    none). Raises :class:`ProvenanceError` when the comment is there but unreadable."""
    matches = list(_START.finditer(text))
    if not matches:
        return text, None
    start = matches[-1]
    if int(start.group("version")) != VERSION:
        raise ProvenanceError(f"provenance version {start.group('version')} is not one this "
                              f"tech-writer reads (v{VERSION})")
    rest = text[start.end():].rstrip()
    if not rest.endswith(_FOOTER):
        raise ProvenanceError("the provenance comment is not closed by '-->' at the end of the report")
    lines = [line for line in rest[: -len(_FOOTER)].split("\n") if line.strip()]
    try:
        records = [json.loads(line) for line in lines]
    except json.JSONDecodeError as exc:
        raise ProvenanceError(f"a provenance line is not JSON ({exc.msg})") from None
    body = text[: start.start()].rstrip("\n") + "\n"
    return body, _from_records(records)


def report_body(text: str) -> str:
    """The report without its provenance comment, whatever state that comment is in (for
    readers of the prose, e.g. the evaluation, which must not score the comment as claims)."""
    matches = list(_START.finditer(text))
    return text if not matches else text[: matches[-1].start()].rstrip("\n") + "\n"


def _from_records(records: list[Any]) -> Provenance:
    if not all(isinstance(record, dict) for record in records):
        raise ProvenanceError("a provenance line is not a JSON object")
    head: dict[str, Any] = {}
    sections: list[SectionRecord] = []
    for record in records:
        if "section" in record:
            sections.append(SectionRecord(_text(record, "section"), _text(record, "focus"),
                                          _paths(record.get("relevant_files")), (), ()))
        elif "file" in record or "cite" in record:
            if not sections:
                raise ProvenanceError("a file or citation record comes before any section")
            sections[-1] = _add_evidence(sections[-1], record)
        else:
            head.update(record)
    commit = head.get("commit")
    if commit is not None and not isinstance(commit, str):
        raise ProvenanceError("the provenance's commit is not a string")
    return Provenance(_text(head, "provider"), _text(head, "model"), commit, _text(head, "prompt"),
                      _text(head, "title"), _text(head, "understanding"), tuple(sections))


def _add_evidence(section: SectionRecord, record: dict[str, Any]) -> SectionRecord:
    sha = record.get("sha")
    if "file" in record:
        if sha is not None and not (isinstance(sha, str) and _SHA.fullmatch(sha)):
            raise ProvenanceError(f"file record {record!r}: sha is not 16 hex digits")
        return replace(section, files=(*section.files, (_text(record, "file"), sha)))
    lines = record.get("lines")
    if not (isinstance(lines, list) and len(lines) == 2 and all(type(n) is int and n >= 1 for n in lines)
            and lines[0] <= lines[1] and isinstance(sha, str) and _SHA.fullmatch(sha)):
        raise ProvenanceError(f"citation record {record!r}: needs lines [start, end] and a 16-hex sha")
    cited = CitedRange(_text(record, "cite"), lines[0], lines[1], sha)
    return replace(section, citations=(*section.citations, cited))


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key, "")
    if not isinstance(value, str):
        raise ProvenanceError(f"provenance field {key!r} is not a string")
    return value


def _paths(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
        raise ProvenanceError("relevant_files is not a list of paths")
    return tuple(value)
