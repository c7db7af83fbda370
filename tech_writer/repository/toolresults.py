"""Reading back what the repository tools answered: the evidence a ranking is judged from.

The tools (:mod:`.tools`) answer in documented text formats, notably ``read_file``::

    <path>: lines <start>-<end> of <total>
    <n>\t<source line>
    ...
    [truncated: ...]            (optional)

Whoever holds those answers — the demo model reading its request, or the pipeline reading its
exploration's transcript — reads them back through this module, so the formats are parsed once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "ERROR_PREFIX",
    "FileView",
    "ToolCall",
    "ToolCallRecord",
    "ToolEvidence",
    "Transcript",
    "merged_file_views",
    "parse_read_result",
]

ERROR_PREFIX = "Error:"  # how every failed tool call's text begins (tools._error)
_READ_HEADER = re.compile(r"^(?P<path>.+): lines (?P<start>\d+)-(?P<end>\d+) of (?P<total>\d+)\s*$")
_NUMBERED_LINE = re.compile(r"^(\d+)\t(.*)$")


@dataclass
class FileView:
    """The lines of one file seen through ``read_file``, merged over every read of it."""

    path: str
    total_lines: int
    lines: dict[int, str] = field(default_factory=dict)

    def merge(self, other: FileView) -> None:
        self.total_lines = max(self.total_lines, other.total_lines)
        self.lines.update(other.lines)

    def run_end(self, start: int) -> int:
        """The last line of the contiguous seen run containing ``start`` (citations stay inside)."""
        end = start
        while end + 1 in self.lines:
            end += 1
        return end

    def text(self) -> str:
        return "\n".join(self.lines[n] for n in sorted(self.lines))


def parse_read_result(text: str) -> FileView | None:
    """Parse a ``read_file`` result; None for errors or anything not in that format."""
    if not text or text.startswith(ERROR_PREFIX):
        return None
    first, _, rest = text.partition("\n")
    header = _READ_HEADER.match(first)
    if header is None:
        return None
    view = FileView(path=header["path"], total_lines=int(header["total"]))
    for line in rest.split("\n"):
        numbered = _NUMBERED_LINE.match(line)
        if numbered is not None:
            view.lines[int(numbered[1])] = numbered[2].rstrip("\r")
    return view


class ToolCall(Protocol):
    """One tool call and the text it got back (None: no answer was sent)."""

    @property
    def name(self) -> str: ...
    @property
    def arguments(self) -> Mapping[str, Any]: ...
    @property
    def result(self) -> str | None: ...
    @property
    def failed(self) -> bool: ...


class ToolEvidence(Protocol):
    """The tool calls made so far and the files they showed."""

    @property
    def calls(self) -> Sequence[ToolCall]: ...
    def calls_to(self, tool_name: str) -> Sequence[ToolCall]: ...
    def file_views(self) -> dict[str, FileView]: ...


def merged_file_views(calls: Iterable[ToolCall]) -> dict[str, FileView]:
    """Every file seen through ``read_file`` results, in first-read order."""
    views: dict[str, FileView] = {}
    for call in calls:
        if call.name != "read_file":
            continue
        view = parse_read_result(call.result or "")
        if view is None:
            continue
        if view.path in views:
            views[view.path].merge(view)
        else:
            views[view.path] = view
    return views


@dataclass(frozen=True)
class ToolCallRecord:
    """A tool call as the pipeline saw it: its name, its arguments, the text it returned."""

    name: str
    arguments: Mapping[str, Any]
    result: str | None

    @property
    def failed(self) -> bool:
        return self.result is None or self.result.startswith(ERROR_PREFIX)


@dataclass(frozen=True)
class Transcript:
    """Tool calls in the order they were made: evidence for :func:`.ranking.rank`."""

    calls: tuple[ToolCallRecord, ...] = ()

    def calls_to(self, tool_name: str) -> list[ToolCallRecord]:
        return [call for call in self.calls if call.name == tool_name]

    def file_views(self) -> dict[str, FileView]:
        return merged_file_views(self.calls)
