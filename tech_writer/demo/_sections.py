"""The section phase of the demo model: read the relevant files, then write cited markdown.

The request names the section in lines ``Section title: ...``, ``Focus: ...`` and
``Relevant files: a.py, b.py`` (when it lists none, the first files of the ``Files read:`` line
stand in). The model first reads each relevant file (lines 1-200), then
writes an introductory paragraph and two to four bullets, each a fact about what it read followed
by a citation ``[path:start-end]`` inside lines it actually saw. The body has no heading: the
caller places it under the section title.

``citation_mode``: ``"valid"``; ``"fix_after_feedback"`` adds one citation past the end of a file
until a user message starting with ``Some citations are invalid:`` arrives, then rewrites the
section with valid citations only; ``"keep_invalid"`` always adds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from tech_writer.repository.ranking import is_noise

from ._conversation import Conversation, FileView
from ._extents import Definition, definitions, unread_facts, whole_type
from ._fact import Fact, keywords, topics_of_text
from ._facts import extract_facts
from ._outline import files_read
from ._references import Hit, real_references
from ._types import ModelTurn, ToolCall

__all__ = [
    "CITATION_MODES",
    "FEEDBACK_PREFIX",
    "SectionRequest",
    "parse_section_request",
    "section_turn",
    "write_section",
]

CITATION_MODES = ("valid", "fix_after_feedback", "keep_invalid")
FEEDBACK_PREFIX = "Some citations are invalid:"
READ_LINES = 400
_CALLER_SEARCHES = 2
_HIT = re.compile(r"^(.+?):(\d+): (.*)$")
_IMPORTED_BY = re.compile(
    r"^- (?P<path>\S+) \((?:\d+|\?) lines?\) \[[^\]]*\] imported by (?P<count>\d+) file\(s\): (?P<refs>[^;]+)",
    re.MULTILINE)
_REF = re.compile(r"([^\s,:]+):(\d+)")
_MIN_BULLETS, _MAX_BULLETS = 2, 4
_TITLE = re.compile(r"^\s*Section title:\s*(.+?)\s*$", re.MULTILINE)
_FOCUS = re.compile(r"^\s*Focus:\s*(.+?)\s*$", re.MULTILINE)
_RELEVANT = re.compile(r"^\s*Relevant files:\s*(.*?)\s*$", re.MULTILINE)
_FALLBACK_FILES = 2
# How far past the end of a file the deliberately invalid citation points.
_PAST_END_OFFSET = 9990


@dataclass(frozen=True)
class SectionRequest:
    title: str
    focus: str
    files: tuple[str, ...]


def parse_section_request(conv: Conversation) -> SectionRequest:
    for text in conv.user_texts():
        title = _TITLE.search(text)
        if title is None:
            continue
        focus = _FOCUS.search(text)
        relevant = _RELEVANT.search(text)
        listed = relevant[1] if relevant and not relevant[1].startswith("(") else ""
        names = [name.strip().strip("`'\"") for name in listed.split(",")]
        files = tuple(dict.fromkeys(name for name in names if name))
        if not files:  # "(none listed; find them)": fall back on what exploration read
            files = tuple(path for path, lines in files_read(conv) if lines > 0)[:_FALLBACK_FILES]
        return SectionRequest(title[1], focus[1] if focus else "", files)
    return SectionRequest("", "", ())


def section_turn(conv: Conversation, citation_mode: str, parallel_tool_calls: bool) -> ModelTurn:
    request = parse_section_request(conv)
    calls: list[ToolCall] = []
    if conv.offers("get_symbols"):  # the whole extent of definitions running past the lines
        # read, for the files the notes say are longer; asked first, so that a history cut
        # short drops these before the lines read
        lengths = dict(files_read(conv))
        calls = [ToolCall("get_symbols", {"path": p}) for p in request.files
                 if lengths.get(p, 0) > READ_LINES and not conv.has_called("get_symbols", path=p)]
    if not calls and conv.offers("read_file"):
        calls = [
            ToolCall("read_file", {"path": p, "start_line": 1, "end_line": READ_LINES})
            for p in request.files if not conv.has_called("read_file", path=p)
        ]
    known = definitions(conv)
    if not calls and conv.offers("search_text"):  # who calls what it will describe
        facts = _choose_facts(request, _views_for(conv, request), known)
        calls = [ToolCall("search_text", {"query": query, "path_glob": glob})
                 for query, glob in _caller_queries(facts)
                 if not conv.has_called("search_text", query=query)]
    if calls:
        return ModelTurn(tool_calls=calls if parallel_tool_calls else calls[:1])
    feedback = any(text.lstrip().startswith(FEEDBACK_PREFIX) for text in conv.user_texts())
    add_invalid = citation_mode == "keep_invalid" or (
        citation_mode == "fix_after_feedback" and not feedback
    )
    usage = Usage(callers=_callers(conv), importers=_importers(conv))
    return ModelTurn(content=write_section(request, _views_for(conv, request), add_invalid, usage,
                                           known))


@dataclass(frozen=True)
class Usage:
    """Where the code a section describes is used: callers found by search_text (query ->
    [(path, line)]) and importers named by the exploration notes (path -> [(path, line)])."""

    callers: dict[str, list[Hit]] = field(default_factory=dict)
    importers: dict[str, tuple[int, list[tuple[str, int]]]] = field(default_factory=dict)


def _caller_queries(facts: list[Fact]) -> list[tuple[str, str]]:
    """(``name``, files of the same kind) for the public functions and classes among the chosen
    facts, at most two: callers are looked for where they can be, not in every file. The bare
    name, so that the import lines which make a use in another file real are found too."""
    wanted = [(fact.names[0], PurePosixPath(fact.path).suffix) for fact in facts
              if fact.kind in ("function", "type") and fact.names and fact.weight >= 4]
    return [(name, f"*{suffix}" if suffix else "*")
            for name, suffix in wanted[:_CALLER_SEARCHES]]


def _callers(conv: Conversation) -> dict[str, list[Hit]]:
    found: dict[str, list[Hit]] = {}
    for call in conv.calls_to("search_text"):
        if call.failed:
            continue
        hits = []
        for line in (call.result or "").splitlines():
            match = _HIT.match(line)
            if match:
                hits.append(Hit(match[1].removeprefix("./"), int(match[2]), match[3]))
        found[str(call.arguments.get("query"))] = hits
    return found


def _importers(conv: Conversation) -> dict[str, tuple[int, list[tuple[str, int]]]]:
    found: dict[str, tuple[int, list[tuple[str, int]]]] = {}
    for text in conv.user_texts():
        for match in _IMPORTED_BY.finditer(text):
            refs = [(m[1], int(m[2])) for m in _REF.finditer(match["refs"])]
            if refs:
                found.setdefault(match["path"], (int(match["count"]), refs))
    return found


def _views_for(conv: Conversation, request: SectionRequest) -> list[FileView]:
    """Views of the relevant files in request order (all files seen when none were named)."""
    views = conv.file_views()
    by_normal_path = {_normal(path): view for path, view in views.items()}
    if not request.files:
        return list(views.values())
    found = [by_normal_path.get(_normal(path)) for path in request.files]
    return [view for view in found if view is not None]


def _normal(path: str) -> str:
    return path.removeprefix("./")


def _facts_of(view: FileView, known: list[Definition]) -> list[Fact]:
    """What the lines read say, classes over their whole extent, and the large definitions
    get_symbols showed past those lines."""
    return [whole_type(fact, known) for fact in extract_facts(view)] + unread_facts(view, known)


def _choose_facts(request: SectionRequest, views: list[FileView],
                  known: dict[str, list[Definition]] | None = None) -> list[Fact]:
    wanted = keywords(f"{request.title} {request.focus}")
    # The title decides the theme; the focus only when the title says nothing recognisable.
    themes = topics_of_text(request.title) or topics_of_text(request.focus)
    per_file = [_facts_of(view, (known or {}).get(view.path, [])) for view in views]

    def score(fact: Fact) -> tuple[int, int]:
        on_theme = 4 if fact.topics & themes else 0
        return fact.weight + 3 * len(fact.words & wanted) + on_theme, -fact.start

    # Overloads and re-definitions of one name make one bullet: the longest definition.
    per_file = [_one_per_name(facts) for facts in per_file]
    chosen: list[Fact] = []
    for facts in per_file:  # the best fact of every file first, so each relevant file is used
        if facts and len(chosen) < _MAX_BULLETS:
            chosen.append(max(facts, key=score))
    rest = sorted(
        (f for facts in per_file for f in facts if f not in chosen), key=score, reverse=True
    )
    for fact in rest:
        if len(chosen) >= _MAX_BULLETS:
            break
        fits = bool(fact.topics & themes) if themes else fact.weight >= 4
        if len(chosen) < _MIN_BULLETS or fits:
            chosen.append(fact)
    order = {view.path: index for index, view in enumerate(views)}
    return sorted(chosen, key=lambda fact: (order[fact.path], fact.start))


def _one_per_name(facts: list[Fact]) -> list[Fact]:
    best: dict[str, Fact] = {}
    for fact in facts:
        if fact.kind in ("function", "type") and fact.names:
            known = best.get(fact.names[0])
            if known is None or fact.end - fact.start > known.end - known.start:
                best[fact.names[0]] = fact
    return [f for f in facts if not (f.kind in ("function", "type") and f.names)
            or best[f.names[0]] is f]


def write_section(request: SectionRequest, views: list[FileView], add_invalid: bool,
                  usage: Usage | None = None,
                  known: dict[str, list[Definition]] | None = None) -> str:
    if not views:
        named = ", ".join(f"`{path}`" for path in request.files)
        if named:
            return f"The files named for this section ({named}) could not be read: no claims made."
        return "No files were named for this section, so it makes no claims about the code."
    usage = usage or Usage()
    facts = _choose_facts(request, views, known)
    # Each source with the lines of it that were read: the sentence is a claim, and cites.
    sources = ", ".join(f"`{view.path}` {_seen_span(view)}".rstrip() for view in views)
    # The section's title already says what it covers: the prose starts with where it looked.
    paragraphs = [f"What follows is drawn from {sources}."]
    described: set[str] = set()  # files whose importers were already named
    bullets = []
    for fact in facts:
        bullet = f"- {fact.sentence} {fact.citation}"
        used = _used_by(fact, usage, described)
        bullets.append(f"{bullet} {used}" if used else bullet)
    if add_invalid:
        target = views[0]
        start = target.total_lines + _PAST_END_OFFSET
        bullets.append(
            f"- Further details appear later in `{target.path}` [{target.path}:{start}-{start + 9}]"
        )
    paragraphs.append("\n".join(bullets))
    return "\n\n".join(paragraphs)


def _used_by(fact: Fact, usage: Usage, described: set[str]) -> str:
    """A sentence on who uses the fact's code, citing one use; empty when nothing is known."""
    if fact.kind in ("function", "type") and fact.names:
        hits = real_references(fact.names[0], fact.path, fact.start, fact.end,
                               usage.callers.get(fact.names[0], []))
        elsewhere = sorted((hit for hit in hits if hit.path != fact.path),
                           key=lambda hit: is_noise(hit.path)) or hits  # code first, then tests
        if elsewhere:
            files = list(dict.fromkeys(hit.path for hit in elsewhere))
            path, line = elsewhere[0].path, elsewhere[0].line
            more = f" and {len(files) - 1} other file(s)" if len(files) > 1 else ""
            return f"It is used in `{path}`{more} [{path}:{line}]."
    count, importers = usage.importers.get(fact.path, (0, []))
    if importers and fact.path not in described and fact.kind in ("module-doc", "exports",
                                                                   "type", "function"):
        described.add(fact.path)
        path, line = importers[0]
        more = f" and {count - 1} other file(s)" if count > 1 else ""
        return f"`{fact.path}` is imported by `{path}`{more} [{path}:{line}]."
    return ""


def _seen_span(view: FileView) -> str:
    """The citation of the first run of lines read in ``view`` (none when none was)."""
    if not view.lines:
        return ""
    first = min(view.lines)
    return f"[{view.path}:{first}-{view.run_end(first)}]"
