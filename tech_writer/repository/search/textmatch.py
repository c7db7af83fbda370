"""The one definition of "this line contains the query", shared by every search engine.

Search engines (ripgrep, git grep, a Python scan) only *propose* files; the lines reported are
always decided here, so every engine returns the same matches. The rules follow ripgrep's
``--fixed-strings`` so that its answers are a superset of ours and it can serve as the fast filter:

- smart case: a query with an upper-case letter is case-sensitive, otherwise case-insensitive;
- case-sensitive: the UTF-8 bytes of the query occur in the line's bytes;
- case-insensitive: both sides are mapped character by character to their Unicode *simple* case
  fold (one character to one character, what ripgrep's ``-i`` uses; ``ß`` does not match ``ss``,
  the Kelvin sign ``K`` does match ``k``), then compared;
- bytes that are not valid UTF-8 only ever match themselves, and the query cannot contain them;
- lines end at ``\\n``; the query holds no line break, so a ``\\r`` before it never matters.

The fast paths avoid decoding: for an ASCII folded query, lower-casing the raw bytes is the exact
fold unless the data holds one of the two non-ASCII characters that fold into ASCII (``K`` → k and
``ſ`` → s), which is checked per file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import AnyStr

__all__ = ["LineMatch", "LiteralMatcher", "is_case_sensitive", "simple_fold"]

# The only non-ASCII characters whose simple case fold is ASCII, with what they fold to.
_FOLDS_INTO_ASCII = {"\u212a": "k", "\u017f": "s"}
_FOLDS_INTO_ASCII_BYTES = {ascii_: char.encode("utf-8") for char, ascii_ in _FOLDS_INTO_ASCII.items()}


def is_case_sensitive(query: str) -> bool:
    """Smart case: any upper-case letter makes the search case-sensitive."""
    return any(char.isupper() for char in query)


def _fold_char(char: str) -> str:
    """Unicode simple case folding of one character, from what ``str`` offers: the full fold when
    it is one character, else the lower case when that is one character (``ẞ`` → ``ß``, Greek
    letters with prosgegrammeni), else the character itself (``İ``, ``ß``, ``ŉ``)."""
    folded = char.casefold()
    if len(folded) == 1:
        return folded
    lowered = char.lower()
    return lowered if len(lowered) == 1 else char


class _FoldTable(dict[int, int]):
    """``str.translate`` table filled on first use of each character."""

    def __missing__(self, code: int) -> int:
        folded = ord(_fold_char(chr(code)))
        self[code] = folded
        return folded


_FOLD_TABLE = _FoldTable()


def simple_fold(text: str) -> str:
    """``text`` with every character replaced by its simple case fold (same length)."""
    if text.isascii():
        return text.lower()
    return text.translate(_FOLD_TABLE)


def _is_uncased(char: str) -> bool:
    """No other character folds to it and it folds to nothing else: its bytes match only themselves."""
    return char.lower() == char and char.upper() == char and char.casefold() == char


@dataclass(frozen=True)
class LineMatch:
    """A matching line: 1-based number and its raw bytes (without the ``\\n``)."""

    line: int
    raw: bytes

    @property
    def text(self) -> str:
        """The line as text: undecodable bytes as U+FFFD, a trailing ``\\r`` dropped."""
        raw = self.raw[:-1] if self.raw.endswith(b"\r") else self.raw
        return raw.decode("utf-8", errors="replace")


class LiteralMatcher:
    """Finds the lines of a file's bytes that contain one literal query."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.case_sensitive = is_case_sensitive(query)
        self._needle = query.encode("utf-8")  # raises UnicodeEncodeError for lone surrogates
        self._folded = simple_fold(query)
        self._folded_bytes = self._folded.encode("utf-8")
        self._ascii_exact = self._folded.isascii()
        self._special_bytes = [raw for ascii_, raw in _FOLDS_INTO_ASCII_BYTES.items() if ascii_ in self._folded]
        self.filter_key = self._needle if self.case_sensitive else _longest_plain_run(self._folded)

    # --- file level ---------------------------------------------------------------------------
    def may_match(self, data: bytes, lowered: bytes | None = None) -> bool:
        """A cheap test that is True for every file with a matching line (and for a few without)."""
        if self.case_sensitive:
            return self._needle in data
        if not self.filter_key:
            return True
        return self.filter_key in (data.lower() if lowered is None else lowered)

    def matching_lines(self, data: bytes, limit: int | None = None) -> list[LineMatch]:
        """The matching lines of ``data`` in order, at most ``limit`` of them."""
        if self.case_sensitive:
            return list(_lines_containing(data, data, self._needle, limit))
        lowered = data.lower()
        if not self.may_match(data, lowered):
            return []
        if self._ascii_exact and not any(special in data for special in self._special_bytes):
            return list(_lines_containing(data, lowered, self._folded_bytes, limit))
        return self._folded_text_matches(data, limit)

    def _folded_text_matches(self, data: bytes, limit: int | None) -> list[LineMatch]:
        """The exact rule on decoded text; positions are mapped back through surrogateescape."""
        text = data.decode("utf-8", errors="surrogateescape")
        folded = simple_fold(text)
        matches = []
        for start, end, number in _spans_containing(folded, self._folded, "\n"):
            matches.append(LineMatch(number, text[start:end].encode("utf-8", errors="surrogateescape")))
            if limit is not None and len(matches) >= limit:
                break
        return matches


def _longest_plain_run(folded: str) -> bytes:
    """The longest part of a folded query whose characters can be found by lower-casing raw bytes
    alone: ASCII other than k and s (which non-ASCII characters fold into), and characters with no
    case at all. Every file with a case-insensitive match contains it in its ``bytes.lower()``."""
    best, current = "", ""
    for char in folded:
        plain = (char.isascii() and char not in _FOLDS_INTO_ASCII_BYTES) or (not char.isascii() and _is_uncased(char))
        current = current + char if plain else ""
        if len(current.encode("utf-8")) > len(best.encode("utf-8")):
            best = current
    return best.encode("utf-8")


def _lines_containing(data: bytes, haystack: bytes, needle: bytes, limit: int | None) -> Iterator[LineMatch]:
    """Lines of ``data`` where ``haystack`` (same length, e.g. lower-cased) contains ``needle``."""
    for start, end, number in _spans_containing(haystack, needle, b"\n"):
        yield LineMatch(number, data[start:end])
        if limit is not None:
            limit -= 1
            if limit <= 0:
                return


def _spans_containing(haystack: AnyStr, needle: AnyStr, newline: AnyStr) -> Iterator[tuple[int, int, int]]:
    """(line start, line end, line number) of each line of ``haystack`` containing ``needle``;
    works on ``bytes`` and ``str`` alike, jumping from match to match instead of splitting lines."""
    position, line_number, counted_to = haystack.find(needle), 1, 0
    while position >= 0:
        line_number += haystack.count(newline, counted_to, position)
        start = haystack.rfind(newline, 0, position) + 1
        end = haystack.find(newline, position + len(needle))
        end = len(haystack) if end < 0 else end
        yield start, end, line_number
        counted_to = end
        position = haystack.find(needle, end + 1) if end < len(haystack) else -1
