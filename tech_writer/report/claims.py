"""A report cut into claims: the prose sentences and list items that assert something.

What is a claim (decisions, each covered by a test):

- every sentence of a paragraph, every list item (with its continuation lines) and every data row
  of a table is one claim;
- headings, fenced code blocks, table header and separator rows, horizontal rules, HTML comments
  (all their lines, such as the provenance record's), the demo banner (``> **Demo run** ...``),
  the grounding line (``> **Grounding**: ...``) and the tool's own notes (a paragraph of one
  line in ``*(...)*``) are not claims;
- a sentence is cut after ``.``, ``!`` or ``?`` followed by a space and a capital letter, a
  backtick or a bracket, never inside inline code and never after a common abbreviation
  (``e.g.``, ``i.e.``, ``etc.``, ``vs.``); a piece made only of citations (``Foo does X.
  [a.py:1-3]``) belongs to the sentence before it;
- a piece without a letter outside its citations is not a claim.

Each claim carries the citations written inside it (:func:`tech_writer.report.citations.parse_citations`
finds them: one parser) and the backticked names it mentions.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from tech_writer.report.citations import Citation, code_regions, parse_citations

__all__ = ["DEMO_BANNER_PREFIX", "GROUNDING_BANNER_PREFIX", "Claim", "split_claims"]

DEMO_BANNER_PREFIX = "> **Demo run**"
GROUNDING_BANNER_PREFIX = "> **Grounding**"  # the run's own account of its claims, not one of them
_BANNERS = (DEMO_BANNER_PREFIX, GROUNDING_BANNER_PREFIX)
_HEADING = re.compile(r" {0,3}#{1,6}(?:\s|$)")
_LIST_ITEM = re.compile(r"\s*(?:[-*+]|\d{1,9}[.)])\s+")
_RULE = re.compile(r" {0,3}(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,}|=+)\s*")
_TABLE_SEPARATOR = re.compile(r"\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\[*_\"(])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "approx.", "incl.")
_ABBREVIATION_WINDOW = max(map(len, _ABBREVIATIONS))
_LETTER = re.compile(r"[A-Za-z]")
_TOOL_NOTE = re.compile(r"\*\([^\n]*\)\*")  # "*(The model's answer was cut off ...)*"
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)


@dataclass(frozen=True)
class Claim:
    """One claim: its text as written, where it is (``start``/``end`` offsets in the report), the
    ``##`` section it belongs to (None before the first), its citations and backticked names."""

    text: str
    start: int
    end: int
    section: str | None
    citations: tuple[Citation, ...]

    @property
    def code_names(self) -> list[str]:
        """What the claim puts in inline code (``Foo``, ``bar()``, ``a/b.py``), in order."""
        return [match.group(2).strip() for match in _CODE_SPAN.finditer(self.text)]


def split_claims(markdown: str) -> list[Claim]:
    """The claims of a report, in document order."""
    fenced, spans = code_regions(markdown)
    blanked = _blank(markdown, spans)  # inline code cannot end a sentence
    citations = parse_citations(markdown)  # in document order: offsets ascending
    offsets = [citation.offset for citation in citations]
    pieces: list[tuple[int, int, str | None]] = []
    for start, end, section in _blocks(markdown, fenced):
        pieces += [(s, e, section) for s, e in _sentences(blanked, start, end)]
    claims: list[Claim] = []
    for start, end, section in pieces:
        inside = tuple(citations[bisect.bisect_left(offsets, start):bisect.bisect_left(offsets, end)])
        text = markdown[start:end].strip()
        bare = text
        for citation in inside:
            bare = bare.replace(citation.text, "")
        if _LETTER.search(bare):
            claims.append(Claim(text, start, end, section, inside))
        elif claims and inside and claims[-1].section == section:
            # A sentence's citations written after its full stop: they belong to that sentence.
            last = claims[-1]
            claims[-1] = Claim(markdown[last.start:end].strip(), last.start, end, section,
                               last.citations + inside)
    return claims


def _blank(markdown: str, regions: list[tuple[int, int]]) -> str:
    chars = list(markdown)
    for start, end in regions:
        for index in range(start, end):
            if chars[index] != "\n":
                chars[index] = "X"  # a capital: code never ends a sentence, but may start one
    return "".join(chars)


def _blocks(markdown: str, fenced: list[tuple[int, int]]) -> list[tuple[int, int, str | None]]:
    """``(start, end, section)`` of each paragraph, list item and table row that may hold claims."""
    blocks: list[tuple[int, int, str | None]] = []
    section: str | None = None
    current: list[int] | None = None  # [start, end] of the open paragraph or list item
    in_quote_banner = False
    in_comment = False  # inside a multi-line HTML comment (the provenance record is one)
    offset = 0
    lines = markdown.split("\n")
    fence = 0  # the first fenced block not wholly before this line (both run forwards)
    for index, line in enumerate(lines):
        line_start, line_end = offset, offset + len(line)
        offset = line_end + 1
        body = line.rstrip("\r")
        while fence < len(fenced) and fenced[fence][1] <= line_start:
            fence += 1
        kind = _line_kind(body, lines[index + 1] if index + 1 < len(lines) else "",
                          fence < len(fenced) and fenced[fence][0] <= line_start)
        if in_comment or kind == "comment":
            in_comment = "-->" not in (body if in_comment else body.split("<!--", 1)[1])
            kind = "skip"
        if kind == "quote":
            in_quote_banner = body.lstrip().startswith(_BANNERS) or (
                in_quote_banner and current is None)
            kind = "skip" if in_quote_banner else "text"
        else:
            in_quote_banner = False
        if kind in ("blank", "skip", "heading", "item", "row") and current is not None:
            blocks.append((current[0], current[1], section))
            current = None
        if kind == "heading":
            title = body.strip().lstrip("#").strip()
            if body.lstrip().startswith("## ") or body.lstrip().startswith("##\t"):
                section = title
        elif kind == "row":
            blocks.append((line_start, line_end, section))
        elif kind in ("item", "text"):
            if current is None:
                current = [line_start, line_end]
            else:
                current[1] = line_end
    if current is not None:
        blocks.append((current[0], current[1], section))
    return blocks


def _line_kind(body: str, next_line: str, in_fence: bool) -> str:
    stripped = body.strip()
    if in_fence:
        return "skip"
    if not stripped:
        return "blank"
    if _HEADING.match(body):
        return "heading"
    if stripped.startswith("<!--"):
        return "comment"
    if _RULE.fullmatch(body) or _TOOL_NOTE.fullmatch(stripped):
        return "skip"
    if stripped.startswith("|"):
        if _TABLE_SEPARATOR.fullmatch(stripped) or _TABLE_SEPARATOR.fullmatch(next_line.strip()):
            return "skip"  # the separator, and the header row above it
        return "row"
    if stripped.startswith(">"):
        return "quote"
    if _LIST_ITEM.match(body):
        return "item"
    return "text"


def _sentences(blanked: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence ranges inside ``[start, end)`` (a list item or table row is one sentence)."""
    text = blanked[start:end]
    if _LIST_ITEM.match(text) or text.lstrip().startswith("|"):
        return [(start, end)]
    ranges = []
    piece_start = 0
    for boundary in _SENTENCE_END.finditer(text):
        # Only the piece's tail can end with an abbreviation: a window, so that a paragraph of
        # many "e.g." stays linear.
        before = text[max(piece_start, boundary.start() - _ABBREVIATION_WINDOW):boundary.start()]
        if before.rstrip().lower().endswith(_ABBREVIATIONS):
            continue
        ranges.append((start + piece_start, start + boundary.start()))
        piece_start = boundary.end()
    ranges.append((start + piece_start, end))
    return ranges
