"""Exploration that reads: when the model read too little, the tool reads what matters itself.

A small model may end its exploration after a call or two, or answer with the text of a tool
call instead of calling it (``functions.get_structure:``). The outline and the sections would
then rest on nothing. :func:`reading_needed` says when that happened; :func:`read_what_matters`
then does what a careful reader does, with the same tools the model has: list the files, read the
README and the packaging metadata, find the entry points, ask every source file what it imports
and what it defines, rank the files (:func:`tech_writer.repository.ranking.rank`, the ranking the
demo model uses) and read the ones that matter most. What it learned becomes notes the outline
reads: each file read, why it matters, the definitions it holds and where.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from tech_writer.report.prose import looks_like_tool_call
from tech_writer.repository.filekinds import file_role, is_readme
from tech_writer.repository.ranking import (
    MAIN_MARKERS,
    FileRank,
    is_noise,
    is_root,
    listed_paths,
    rank,
    symbols_of,
)
from tech_writer.repository.toolresults import ToolCallRecord, Transcript

__all__ = ["DEFAULT_FILES", "MIN_FILES_READ", "SelfRead", "read_what_matters", "reading_needed"]

MIN_FILES_READ = 3  # fewer, and the exploration did not read enough to write an outline from
DEFAULT_FILES = 6  # source files read in full (well, their first window) after the ranking
MAX_SURVEYED = 40  # source files asked for their imports and definitions
MAX_DEFINITIONS_LISTED = 8
RunTool = Callable[[str, Mapping[str, Any]], str]


def reading_needed(paths_read: Collection[str], notes: str, files_listed: int) -> str | None:
    """Why the tool must read for itself (or None): the exploration read fewer files than an
    outline needs, or its notes are a tool call written as text."""
    if looks_like_tool_call(notes):
        return "the exploration ended with a tool call written as text"
    wanted = min(MIN_FILES_READ, files_listed)
    if len(paths_read) < wanted:
        return f"the exploration read {len(paths_read)} file(s)"
    return None


@dataclass(frozen=True)
class SelfRead:
    """What the tool read itself: the calls (a transcript), the ranking made from them, the
    files read in order of importance."""

    transcript: Transcript
    ranked: tuple[FileRank, ...]
    files_read: tuple[str, ...]

    def important_files(self, limit: int = DEFAULT_FILES) -> list[str]:
        return [r.path for r in self.ranked[:limit]]

    def notes(self) -> str:
        """The outline's material: each file read, why it matters, its main definitions."""
        symbols = symbols_of(self.transcript)
        why = {r.path: r.reasons for r in self.ranked}
        lines = ["The tool read these files itself, most important first:"]
        for path in self.files_read:
            reasons = "; ".join(why.get(path, [])) or "read for the overview"
            lines.append(f"- `{path}`: {reasons}")
            defined = symbols.get(path, [])[:MAX_DEFINITIONS_LISTED]
            if defined:
                lines.append("  defines " + ", ".join(
                    f"`{s.name}` [{path}:{s.start}-{s.end}]" for s in defined))
        return "\n".join(lines)


def read_what_matters(run_tool: RunTool, *, max_files: int = DEFAULT_FILES) -> SelfRead:
    """Survey the repository with the tools (``run_tool(name, arguments)`` returns the text a
    model would get) and read the ``max_files`` files that matter most."""
    calls: list[ToolCallRecord] = []

    def call(name: str, **arguments: Any) -> None:
        calls.append(ToolCallRecord(name, arguments, run_tool(name, arguments)))

    call("list_files")
    listed = listed_paths(Transcript(tuple(calls)))
    front = [p for p in listed if is_root(p) and (is_readme(p) or file_role(p) == "manifest")]
    for path in front[:3]:
        call("read_file", path=path)
    for query, glob in MAIN_MARKERS.values():
        call("search_text", query=query, path_glob=glob)
    sources = [p for p in listed if file_role(p) == "source" and not is_noise(p)][:MAX_SURVEYED]
    for path in sources:
        call("get_imports", path=path)
        call("get_symbols", path=path)
    ranked = rank(Transcript(tuple(calls)))
    read = list(front[:3])
    for entry in ranked:
        if len(read) >= len(front[:3]) + max_files:
            break
        if entry.path not in read and file_role(entry.path) == "source":
            call("read_file", path=entry.path)
            read.append(entry.path)
    transcript = Transcript(tuple(calls))
    return SelfRead(transcript, tuple(rank(transcript)), tuple(read))
