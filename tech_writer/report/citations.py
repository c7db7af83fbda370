"""Find ``[path:start-end]`` citations in a report and check them against the files on disk.

What counts as a citation (decisions, each covered by a test):

- ``[path:start-end]`` or ``[path:N]`` (N means start = end = N); the range uses an ASCII hyphen
  only (an en dash is not a citation), no spaces inside;
- several in one bracket, separated by ``,`` or ``;``: ``[a.py:1-3, b.py:7]``; each becomes its own
  :class:`Citation` whose ``text`` and ``offset`` are those of the whole bracket;
- the path has no whitespace, brackets, parentheses, ``:``, ``,`` or ``;``, does not start with
  ``^`` (footnotes), and contains a ``.`` or a ``/`` unless it is a well-known extension-less file
  name (``Makefile``, ``Dockerfile``, ``LICENSE``, … see ``EXTENSIONLESS_NAMES``), so prose such as
  ``[note:3]`` is not mistaken for a citation;
- a bracket followed by ``(``, ``[`` or ``:`` is a markdown link, reference link or link definition,
  not a citation;
- nothing inside fenced code blocks (```` ``` ```` / ``~~~``) or inline code spans is a citation:
  ``x[a.b:3]`` in code is slicing. Indented code blocks are not detected (indentation is ambiguous
  with list continuation).

Verification reads the files as they are on disk now (``Repository.probe``), not what the model read.
A line number no file could have (more than 18 digits: beyond any real file, and past Python's
limit on converting long digit strings) is kept as :data:`IMPOSSIBLE_LINE` and the citation is
invalid ("impossible line number"), never an error.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from tech_writer.repository.repo import FileProbe, Repository

__all__ = [
    "EXTENSIONLESS_NAMES",
    "FEEDBACK_HEADER",
    "IMPOSSIBLE_LINE",
    "Citation",
    "CitationCheck",
    "CitationReport",
    "CitedSpans",
    "format_citation",
    "cited_lines",
    "code_regions",
    "format_feedback",
    "parse_citations",
    "verify_citations",
]

FEEDBACK_HEADER = "Some citations are invalid:"
EXTENSIONLESS_NAMES = frozenset(
    {
        "AUTHORS", "BUILD", "CHANGELOG", "CODEOWNERS", "CONTRIBUTING", "COPYING", "Containerfile",
        "Dockerfile", "GNUmakefile", "Gemfile", "Jenkinsfile", "Justfile", "LICENSE", "Makefile",
        "NOTICE", "Procfile", "README", "Rakefile", "Vagrantfile", "WORKSPACE", "justfile", "makefile",
    }
)

# A line number of more digits than this stands for "no file has that line" (a file of 10**18
# lines cannot exist), so int() never sees the thousands of digits it refuses.
_MAX_LINE_DIGITS = 18
IMPOSSIBLE_LINE = 10**_MAX_LINE_DIGITS

_PATH = r"(?!\^)[^\s\[\]():,;]+"
_ITEM = rf"{_PATH}:\d+(?:-\d+)?"
_ITEM_PARTS = re.compile(rf"(?P<path>{_PATH}):(?P<start>\d+)(?:-(?P<end>\d+))?")
_BRACKET = re.compile(rf"\[(?P<body>{_ITEM}(?:\s*[,;]\s*{_ITEM})*)\](?![(\[:])")
_SEPARATOR = re.compile(r"\s*[,;]\s*")
_FENCE_OPEN = re.compile(r" {0,3}(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_BACKTICKS = re.compile(r"`+")


@dataclass(frozen=True)
class Citation:
    """One cited range. ``text`` is the raw bracket as written and ``offset`` its index in the markdown."""

    path: str
    start: int
    end: int
    text: str
    offset: int


@dataclass(frozen=True)
class CitationCheck:
    """The verdict on one citation. ``reason`` is None when valid, else one of: "file not found",
    "outside repository", "not a file", "binary file", "unreadable", "line 0", "reversed range",
    "end past last line (N lines)", "end past the checked part of a very large file (N lines
    checked)". ``line_count`` is the file's line count when known."""

    citation: Citation
    valid: bool
    reason: str | None = None
    line_count: int | None = None


@dataclass
class CitationReport:
    checks: list[CitationCheck] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.checks)

    @property
    def valid(self) -> int:
        return sum(1 for check in self.checks if check.valid)

    @property
    def invalid(self) -> int:
        return self.total - self.valid

    def invalid_checks(self) -> list[CitationCheck]:
        return [check for check in self.checks if not check.valid]

    def as_dict(self) -> dict[str, int]:
        return {"total": self.total, "valid": self.valid, "invalid": self.invalid}


def format_citation(path: str, start: int, end: int) -> str:
    """The canonical text of a citation: ``[path:N]`` for one line, else ``[path:start-end]``."""
    return f"[{path}:{start}]" if start == end else f"[{path}:{start}-{end}]"


def parse_citations(markdown: str) -> list[Citation]:
    """Citations in document order (see the module docstring for what counts)."""
    searchable = _blank_code(markdown)
    citations = []
    for bracket in _BRACKET.finditer(searchable):
        parts = _SEPARATOR.split(bracket.group("body"))
        items = [item for item in map(_ITEM_PARTS.fullmatch, parts) if item is not None]
        if len(items) != len(parts) or not all(_looks_like_path(item.group("path")) for item in items):
            continue
        text = markdown[bracket.start() : bracket.end()]
        for item in items:
            start = _line_number(item.group("start"))
            end = _line_number(item.group("end")) if item.group("end") is not None else start
            citations.append(Citation(item.group("path"), start, end, text, bracket.start()))
    return citations


def _line_number(digits: str) -> int:
    significant = digits.lstrip("0")
    return IMPOSSIBLE_LINE if len(significant) > _MAX_LINE_DIGITS else int(significant or "0")


def _looks_like_path(path: str) -> bool:
    return "." in path or "/" in path or path in EXTENSIONLESS_NAMES


def verify_citations(markdown: str, repo: Repository) -> CitationReport:
    """Check every citation against the file on disk now: it must exist inside the repository, be a
    text file, and satisfy ``1 <= start <= end <= line count``."""
    probes = {}
    checks = []
    for citation in parse_citations(markdown):
        if citation.path not in probes:
            probes[citation.path] = repo.probe(citation.path)
        probe = probes[citation.path]
        reason = probe.problem or _range_problem(citation, probe.line_count or 0, probe.complete)
        checks.append(CitationCheck(citation, reason is None, reason, probe.line_count))
    return CitationReport(checks)


def _range_problem(citation: Citation, line_count: int, complete: bool = True) -> str | None:
    if max(citation.start, citation.end) >= IMPOSSIBLE_LINE:
        return "impossible line number"
    if citation.start < 1 or citation.end < 1:
        return "line 0"
    if citation.start > citation.end:
        return "reversed range"
    if citation.end > line_count:
        if not complete:
            return f"end past the checked part of a very large file ({line_count} lines checked)"
        return f"end past last line ({line_count} lines)"
    return None


def cited_lines(citation: Citation, repo: Repository) -> list[str] | None:
    """The lines a citation points at, as the file is on disk now; None when the citation does
    not verify (the same check as :func:`verify_citations`)."""
    return CitedSpans(repo).lines(citation)


class CitedSpans:
    """:func:`cited_lines` for many citations: each file is probed and read once, so scoring a
    report costs one read per cited file, not one per citation."""

    def __init__(self, repo: Repository) -> None:
        self._repo = repo
        self._files: dict[str, tuple[FileProbe, list[str] | None]] = {}

    def lines(self, citation: Citation) -> list[str] | None:
        probe, lines = self._file(citation.path)
        if probe.problem or _range_problem(citation, probe.line_count or 0, probe.complete):
            return None
        return None if lines is None else lines[citation.start - 1 : citation.end]

    def _file(self, path: str) -> tuple[FileProbe, list[str] | None]:
        if path not in self._files:
            probe = self._repo.probe(path)
            lines: list[str] | None = None
            if not probe.problem:
                try:
                    lines = self._repo.read_text(path).lines
                except (OSError, ValueError):
                    lines = None
            self._files[path] = (probe, lines)
        return self._files[path]


def format_feedback(report: CitationReport) -> str:
    """A message for the model listing each invalid citation once, with what would be valid.

    Starts exactly with ``"Some citations are invalid:"``; empty when every citation is valid.
    """
    invalid = report.invalid_checks()
    if not invalid:
        return ""
    lines = [FEEDBACK_HEADER]
    seen: dict[tuple[str, str, int, int], int] = {}
    for check in invalid:
        key = (check.citation.text, check.citation.path, check.citation.start, check.citation.end)
        seen[key] = seen.get(key, 0) + 1
    for check in invalid:
        citation = check.citation
        key = (citation.text, citation.path, citation.start, citation.end)
        count = seen.pop(key, 0)
        if count == 0:
            continue  # already listed
        cited = (format_citation(citation.path, citation.start, citation.end)
                 if check.reason != "impossible line number" else _shortened(citation.text))
        repeated = f" (cited {count} times)" if count > 1 else ""
        lines.append(f"- {cited}: {check.reason}; {_hint(check)}{repeated}")
    lines.append("Correct or remove each of these: cite only files that exist and lines inside them.")
    return "\n".join(lines)


def _shortened(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _hint(check: CitationCheck) -> str:
    path, lines = check.citation.path, check.line_count
    if check.reason == "impossible line number":
        return "line numbers are those of the file, see read_file's output"
    if lines is not None and check.reason is not None and check.reason.startswith("end past the checked part"):
        return f"only lines 1-{lines} of {path} can be checked, so cite within them"
    if lines is not None:
        if lines == 0:
            return f"{path} is empty, so it cannot be cited"
        return f"file has {lines} lines, so cite within 1-{lines}"
    if check.reason == "file not found":
        return f"there is no file {path} in the repository; check the path with list_files"
    if check.reason == "outside repository":
        return "cite paths relative to the repository root, without '..'"
    return f"{path} cannot be cited"


# --- code regions ---------------------------------------------------------------------------
def code_regions(markdown: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """``(fenced blocks, inline code spans)`` as ``(start, end)`` offsets: the markdown that is code,
    where nothing is a citation (evaluation skips the same regions when it splits claims)."""
    return _fenced_blocks(markdown), _code_spans(markdown)


def _blank_code(markdown: str) -> str:
    """The markdown with fenced blocks and inline code spans replaced by spaces (newlines kept),
    so offsets still line up with the original text."""
    chars = list(markdown)
    for start, end in _fenced_blocks(markdown) + _code_spans(markdown):
        for index in range(start, end):
            if chars[index] != "\n":
                chars[index] = " "
    return "".join(chars)


def _fenced_blocks(markdown: str) -> list[tuple[int, int]]:
    """CommonMark fences: 3+ backticks or tildes (indented at most 3 spaces) up to a closing fence of
    the same character at least as long, or to the end of the document."""
    blocks = []
    offset = 0
    opened: tuple[str, int, int] | None = None  # (fence char, fence length, start offset)
    for body in markdown.split("\n"):
        line_length = len(body) + 1  # with its newline (one past the end for the last line: harmless)
        body = body.rstrip("\r")
        if opened is None:
            match = _FENCE_OPEN.fullmatch(body)
            if match and not (match.group("fence")[0] == "`" and "`" in match.group("info")):
                opened = (match.group("fence")[0], len(match.group("fence")), offset)
        else:
            char, length, start = opened
            stripped = body.strip(" ")
            if len(body) - len(body.lstrip(" ")) <= 3 and len(stripped) >= length and set(stripped) == {char}:
                blocks.append((start, min(offset + line_length, len(markdown))))
                opened = None
        offset += line_length
    if opened is not None:
        blocks.append((opened[2], len(markdown)))
    return blocks


def _code_spans(markdown: str) -> list[tuple[int, int]]:
    """Inline code: a run of N backticks up to the next run of exactly N, within one paragraph."""
    runs = [(match.start(), len(match.group())) for match in _BACKTICKS.finditer(markdown)]
    breaks = [match.start() for match in _PARAGRAPH_BREAK.finditer(markdown)]
    by_length: dict[int, list[int]] = {}
    for index, (_, length) in enumerate(runs):
        by_length.setdefault(length, []).append(index)
    spans = []
    index = 0
    while index < len(runs):
        start, length = runs[index]
        candidates = by_length[length]
        position = bisect.bisect_right(candidates, index)
        closer = candidates[position] if position < len(candidates) else None
        if closer is not None and not _crosses(breaks, start, runs[closer][0]):
            spans.append((start, runs[closer][0] + length))
            index = closer + 1
        else:
            index += 1  # an unmatched run is literal text
    return spans


def _crosses(breaks: list[int], start: int, end: int) -> bool:
    position = bisect.bisect_right(breaks, start)
    return position < len(breaks) and breaks[position] < end
