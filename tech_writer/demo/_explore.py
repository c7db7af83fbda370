"""The exploration phase of the demo model: plan areas by aspect, rank the files the way a careful
reader would, read the ones that matter, and hand over notes.

Each turn re-derives what to do from the conversation (the model is stateless):

* asked to plan (``plan_exploration`` forced), it splits the work by aspect, from the layout it
  was shown: the root README and packaging metadata (:data:`OVERVIEW_AREA`), where execution
  starts (:data:`ENTRY_AREA`) and the core source directories (:data:`CORE_AREA`); a repository
  with fewer than three telling files gets one area for everything;
* exploring, it works in stages, each one a single turn of parallel tool calls (one call a turn
  when ``parallel_tool_calls`` is off): a survey (list_files, the root README and manifests,
  searches for ``if __name__ == "__main__"`` / ``func main()``), then ``get_imports`` on a sample
  of source files spread over the directories (which modules does the rest of the code use?),
  then ``get_symbols`` and a read of the opening lines of the top-ranked files; then
  ``finish_exploration``. The ranking is :func:`._ranking.rank`.

Every stage's calls are chosen from the results of earlier stages only, so a stage's plan does not
move while its results arrive. The notes list the key files most important first, one line each::

    - path (120 lines) [entry, core] runs the console script `x`; imported by 3 file(s): a.py:4

and end with ``Files read: a.py (120 lines), README.md (40 lines)``. Tools not offered are
skipped, paths come only from tool results and the layout, and a failed call is not retried.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import PurePosixPath

from tech_writer.repository.filekinds import ENTRY_STEMS, file_role, is_readme, language_of
from tech_writer.repository.ranking import (
    MAIN_MARKERS,
    FileRank,
    front_door,
    imported_by,
    is_noise,
    is_root,
    listed_paths,
    rank,
)

from ._conversation import Conversation, FileView, message_text
from ._facts import extract_facts, project_identity
from ._types import ModelTurn, ToolCall

__all__ = [
    "CORE_AREA",
    "ENTRY_AREA",
    "FILES_READ_PREFIX",
    "FINISH_TOOL",
    "KEY_FILES_HEADER",
    "OVERVIEW_AREA",
    "ExplorationOptions",
    "exploration_turn",
    "layout_paths",
    "plan_areas",
    "understanding",
]

FINISH_TOOL = "finish_exploration"
PLAN_TOOL = "plan_exploration"
FILES_READ_PREFIX = "Files read:"
KEY_FILES_HEADER = "Key files, most important first:"
OVERVIEW_AREA = "Overview and packaging"
ENTRY_AREA = "Entry points"
CORE_AREA = "Core modules"
_WHOLE = "whole"
_STAGE_PREFIX = "Exploring, stage:"
_STAGE = re.compile(rf"^{re.escape(_STAGE_PREFIX)} (\w+)\.", re.MULTILINE)
_WORKING_HEADER = "Ranked so far:"
_WORKING_LINE = re.compile(
    r"^- (?P<path>\S+) \[(?P<roles>[^\]]*)\] \{(?P<score>-?[\d.]+)\} ?(?P<why>.*)$", re.MULTILINE)
_PROJECT_LINE = re.compile(r"^Project: .+$", re.MULTILINE)
_DESCRIBED_LINE = re.compile(r"^This repository appears to be .+$", re.MULTILINE)
_LAYOUT_LINE = re.compile(r"^Layout: .+$", re.MULTILINE)
_WORKING_FILES = 16
_LAYOUT_HEADER = "Repository layout (get_structure):"
_REPOSITORY_LINE = re.compile(r"^Repository:\s*(.+?)\s*$", re.MULTILINE)
_AREA = re.compile(r"^Your area:\s*(.+?)\s*$", re.MULTILINE)
_OTHERS = re.compile(r"^Other explorers cover:\s*(.*?)\s*$", re.MULTILINE)
_START_FROM = re.compile(r"^Start from:\s*(.*?)\s*$", re.MULTILINE)
_LAYOUT_DIR = re.compile(r"^(?P<name>.+?)/ \(\d+ files?\)$")
_SURVEY_LINES = 150  # how much of a README or manifest the survey reads
_DEEP_LINES = 40  # how much of a ranked source file: its docstring, imports, first definitions
_IMPORT_SAMPLE = 24  # files whose imports are asked for: enough to see who uses what
_MAX_CORE_DIRS = 2
_MAX_ENTRY_PATHS = 4
_MAX_TURNS = 12  # a stage that keeps producing calls (it should not) still ends
_LAYOUT_ENTRIES = 8
_KEY_FILES = 12


@dataclass(frozen=True)
class ExplorationOptions:
    max_files: int = 8  # source files read closely per explorer
    parallel_tool_calls: bool = False


def exploration_turn(conv: Conversation, options: ExplorationOptions) -> ModelTurn:
    if conv.has_called(FINISH_TOOL) or conv.tool_choice == "none":
        return ModelTurn(content=understanding(conv))
    if _asked_to_plan(conv):
        return ModelTurn(tool_calls=[ToolCall(PLAN_TOOL, {"areas": plan_areas(conv)})])
    if conv.forced_tool() != FINISH_TOOL and conv.assistant_turns() < _MAX_TURNS:
        stage, calls = _next_calls(conv, options)
        if calls:
            # The stage is named in the message: tool results may be elided from the history
            # later (the pipeline keeps long conversations affordable), the model's words stay.
            return ModelTurn(content=f"{_STAGE_PREFIX} {stage}.\n{_working_notes(conv)}",
                             tool_calls=calls if options.parallel_tool_calls else calls[:1])
    return ModelTurn(
        tool_calls=[ToolCall(FINISH_TOOL, {_finish_parameter(conv): understanding(conv)})]
    )


def _finish_parameter(conv: Conversation) -> str:
    """ "understanding", unless the offered schema names its text parameter differently."""
    properties = (conv.tools.get(FINISH_TOOL, {}).get("parameters") or {}).get("properties") or {}
    if not properties or "understanding" in properties:
        return "understanding"
    return str(next(iter(properties)))


# --- planning -----------------------------------------------------------------------------------
def _asked_to_plan(conv: Conversation) -> bool:
    """Planning is forced through tool_choice, or asked for in words on a first turn (a provider
    may drop tool_choice)."""
    if conv.forced_tool() == PLAN_TOOL:
        return True
    return (conv.forced_tool() is None and conv.offers(PLAN_TOOL) and not conv.calls
            and any(f"Call {PLAN_TOOL}" in text for text in conv.user_texts()))


def layout_paths(conv: Conversation) -> list[str]:
    """File paths from the ``get_structure`` layout quoted in the request (directories expanded
    by indentation; "[... more]" and "… and N more files" notes skipped)."""
    for text in conv.user_texts():
        if _LAYOUT_HEADER not in text:
            continue
        block = text.split(_LAYOUT_HEADER, 1)[1].lstrip("\n").split("\n\n", 1)[0]
        paths: list[str] = []
        stack: list[tuple[int, str]] = []  # (indent, directory) of the open directories
        for line in block.splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith(("[", "…")):
                continue
            indent = len(line) - len(line.lstrip(" "))
            while stack and stack[-1][0] >= indent:
                stack.pop()
            directory = _LAYOUT_DIR.match(stripped)
            if directory is not None:
                stack.append((indent, directory["name"]))
                continue
            parts = [name for _, name in stack if name != "."] + [stripped]
            paths.append("/".join(parts))
        return paths
    return []


def _root_documents(paths: list[str]) -> list[str]:
    """The root README (the shortest name: README.md before README.ja.md) and root manifests."""
    readmes = sorted((p for p in paths if is_root(p) and is_readme(p)), key=lambda p: (len(p), p))
    manifests = sorted(p for p in paths if is_root(p) and file_role(p) == "manifest")
    return readmes[:1] + manifests[:2]


def _entry_candidates(paths: list[str]) -> list[str]:
    def looks_like_entry(path: str) -> bool:
        pure = PurePosixPath(path)
        return (file_role(path) == "source" and not is_noise(path)
                and (pure.stem in ENTRY_STEMS[:4] or "cmd" in pure.parts[:-1]
                     or "bin" in pure.parts[:-1]))

    found = [p for p in paths if looks_like_entry(p)]
    return sorted(found, key=lambda p: (p.count("/"), ENTRY_STEMS.index(PurePosixPath(p).stem)
                                        if PurePosixPath(p).stem in ENTRY_STEMS else 9, p))


def _core_directories(paths: list[str], truncated: bool) -> list[str]:
    """Top-level directories holding the most (non-test) source files; "." for root sources,
    and first when the layout was cut short (it names directories before root files)."""
    counts: Counter[str] = Counter()
    for path in paths:
        if file_role(path) == "source" and not is_noise(path):
            counts[PurePosixPath(path).parts[0] if "/" in path else "."] += 1
    ranked = sorted(counts, key=lambda d: (-counts[d], d))
    if truncated and "." not in ranked[:_MAX_CORE_DIRS]:
        ranked.insert(0, ".")
    return ranked[:_MAX_CORE_DIRS]


def _layout_truncated(conv: Conversation) -> bool:
    return any(_LAYOUT_HEADER in text and "[truncated:" in text.split(_LAYOUT_HEADER, 1)[1]
               for text in conv.user_texts())


def _source_glob(conv: Conversation) -> str:
    """``*.py`` when most source files of the layout are Python (and so on): the listing then
    holds what the imports stage samples, not images and data files."""
    suffixes = Counter(PurePosixPath(p).suffix for p in layout_paths(conv)
                       if file_role(p) == "source")
    return f"*{suffixes.most_common(1)[0][0]}" if suffixes else "*"


def plan_areas(conv: Conversation) -> list[dict[str, object]]:
    """Areas by aspect: overview and packaging, entry points, core modules."""
    paths = layout_paths(conv)
    documents = _root_documents(paths)
    sources = [p for p in paths if file_role(p) == "source" and not is_noise(p)]
    if len(documents) + len(sources) < 3:
        return [{"title": "The whole repository", "focus": "everything the report needs",
                 "paths": documents + sources}]
    areas: list[dict[str, object]] = []
    if documents:
        areas.append({"title": OVERVIEW_AREA,
                      "focus": "what the project is for, how it is packaged, installed and run",
                      "paths": documents})
    areas.append({"title": ENTRY_AREA,
                  "focus": "where execution starts: console scripts, __main__ modules, "
                           "if __name__ == \"__main__\" blocks, main functions",
                  "paths": _entry_candidates(paths)[:_MAX_ENTRY_PATHS]})
    areas.append({"title": CORE_AREA,
                  "focus": "the modules the rest of the code imports most, and the largest "
                           "public classes and functions",
                  "paths": _core_directories(paths, _layout_truncated(conv)) or ["."]})
    return areas


def _area(conv: Conversation) -> tuple[str, list[str]] | None:
    """(title, start paths) when the request assigns an area."""
    for text in conv.user_texts():
        area, start = _AREA.search(text), _START_FROM.search(text)
        if area is None:
            continue
        listed = "" if start is None or start[1].startswith("(") else start[1]
        return area[1], [p.strip() for p in listed.split(",") if p.strip()]
    return None


def _kind(conv: Conversation) -> str:
    assigned = _area(conv)
    if assigned is not None and assigned[0] in (OVERVIEW_AREA, ENTRY_AREA, CORE_AREA):
        return assigned[0]
    return _WHOLE


def _other_areas(conv: Conversation) -> str:
    for text in conv.user_texts():
        match = _OTHERS.search(text)
        if match:
            return match[1]
    return ""


def repository_name(conv: Conversation) -> str | None:
    for text in conv.user_texts():
        match = _REPOSITORY_LINE.search(text)
        if match:
            return match[1]
    return None


# --- the stages ---------------------------------------------------------------------------------
def _next_calls(conv: Conversation, options: ExplorationOptions) -> tuple[str, list[ToolCall]]:
    """The first stage with calls still to make, and those calls. With parallel tool calls a
    stage is one turn, done once named; one call a turn, it is done when nothing is pending."""
    kind = _kind(conv)
    done = _stages_done(conv)
    for name, stage in (("survey", _survey), ("imports", _imports_stage), ("deep", _deep_stage)):
        if name in done and options.parallel_tool_calls:
            continue
        wanted = [call for call in stage(conv, kind, options) if conv.offers(call.name)]
        pending = [call for call in wanted if not _made(conv, call)]
        if pending:
            return name, pending
    return "", []


def _stages_done(conv: Conversation) -> set[str]:
    return {match[1] for message in conv.messages if message.get("role") == "assistant"
            for match in _STAGE.finditer(message_text(message))}


def _made(conv: Conversation, call: ToolCall) -> bool:
    return any(made.arguments == call.arguments for made in conv.calls_to(call.name))


def _read(path: str, lines: int) -> ToolCall:
    return ToolCall("read_file", {"path": path, "start_line": 1, "end_line": lines})


def _start_paths(conv: Conversation) -> list[str]:
    assigned = _area(conv)
    return assigned[1] if assigned else []


def _languages(conv: Conversation) -> set[str]:
    paths = layout_paths(conv) or listed_paths(conv)
    return {language_of(p) or "" for p in paths} or {"python"}


def _survey(conv: Conversation, kind: str, options: ExplorationOptions) -> list[ToolCall]:
    layout = layout_paths(conv)
    starts = _start_paths(conv)
    calls: list[ToolCall] = []
    if kind in (OVERVIEW_AREA, _WHOLE):
        documents = [p for p in starts if is_root(p) and file_role(p) in ("readme", "manifest")]
        calls += [_read(p, _SURVEY_LINES) for p in documents or _root_documents(layout)]
    if kind == ENTRY_AREA:
        calls += [_read(p, _SURVEY_LINES) for p in _root_documents(layout)
                  if file_role(p) == "manifest"]  # console scripts are declared there
        calls.append(ToolCall("list_files", {"pattern": "__main__.py", "path": "."}))
        if not any(file_role(p) == "manifest" for p in _root_documents(layout)):
            # A layout cut short (lodash's 600 root files) may hide the manifest naming `main`.
            calls.append(ToolCall("list_files", {"pattern": "package.json", "path": "."}))
    if kind == CORE_AREA:
        directories = [p for p in starts if "." not in PurePosixPath(p).name] or ["."]
        glob = _source_glob(conv)
        calls += [ToolCall("list_files", {"pattern": glob, "path": d}) for d in directories]
    if kind == _WHOLE:
        calls.append(ToolCall("list_files", {"pattern": "*", "path": "."}))
    if kind in (ENTRY_AREA, _WHOLE):
        languages = _languages(conv)
        calls += [ToolCall("search_text", {"query": query, "path_glob": glob})
                  for language, (query, glob) in MAIN_MARKERS.items()
                  if language in languages or not layout]
    return calls


def _imports_stage(conv: Conversation, kind: str, options: ExplorationOptions) -> list[ToolCall]:
    if kind == ENTRY_AREA:  # a library is entered through what its front door re-exports
        listed = listed_paths(conv)
        door = front_door(layout_paths(conv) or listed)
        manifests = [p for p in listed if is_root(p) and file_role(p) == "manifest"
                     and not conv.has_called("read_file", path=p)]
        return ([_read(p, _SURVEY_LINES) for p in manifests]
                + ([ToolCall("get_imports", {"path": door})] if door else []))
    if kind not in (CORE_AREA, _WHOLE):
        return []
    listed = listed_paths(conv)
    calls: list[ToolCall] = []
    if kind == _WHOLE:  # no layout was given: the README and manifests come from the listing
        calls += [_read(p, _SURVEY_LINES) for p in _root_documents(listed)]
    calls += [ToolCall("get_imports", {"path": p}) for p in _import_sample(listed)]
    return calls


def _import_sample(paths: list[str]) -> list[str]:
    """Up to :data:`_IMPORT_SAMPLE` source files, taken in turn from each directory (shallow
    directories first) so one big package does not fill the sample."""
    by_directory: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        if file_role(path) == "source" and not is_noise(path):
            by_directory[str(PurePosixPath(path).parent)].append(path)
    queues = [sorted(files, key=_source_order)
              for _, files in sorted(by_directory.items(), key=lambda kv: (kv[0].count("/"), kv[0]))]
    sample: list[str] = []
    while queues and len(sample) < _IMPORT_SAMPLE:
        for queue in list(queues):
            if len(sample) >= _IMPORT_SAMPLE:
                break
            sample.append(queue.pop(0))
            if not queue:
                queues.remove(queue)
    return sample


def _source_order(path: str) -> tuple[int, str]:
    stem = PurePosixPath(path).stem
    return (ENTRY_STEMS.index(stem) if stem in ENTRY_STEMS else len(ENTRY_STEMS)), path


def _survey_views(conv: Conversation) -> dict[str, FileView]:
    """Files read by the survey (its reads have their own length): the evidence the deep stage
    may rank on without its own results moving its choice."""
    views: dict[str, FileView] = {}
    for call in conv.calls_to("read_file"):
        if call.arguments.get("end_line") == _SURVEY_LINES:
            path = str(call.arguments.get("path"))
            view = conv.file_views().get(path)
            if view is not None:
                views[path] = view
    return views


def _deep_stage(conv: Conversation, kind: str, options: ExplorationOptions) -> list[ToolCall]:
    if kind == OVERVIEW_AREA:
        return []
    starts = _start_paths(conv) if kind == ENTRY_AREA else []
    # The layout names the modules a front door re-exports from: the entry points of a library.
    known = [*starts, *layout_paths(conv)] if kind == ENTRY_AREA else starts
    ranked = _noted_files(conv, rank(conv, known, views=_survey_views(conv), with_symbols=False))
    wanted = [r.path for r in ranked if file_role(r.path) == "source" and not is_noise(r.path)
              and (kind != ENTRY_AREA or "entry" in r.roles or r.path in starts)]
    chosen = wanted[:options.max_files]
    calls = [_read(p, _DEEP_LINES) for p in chosen]
    calls += [ToolCall("get_symbols", {"path": p}) for p in chosen]
    return calls


# --- the notes ----------------------------------------------------------------------------------
@dataclass
class _Noted:
    """A file as the notes know it: from this turn's evidence or from the model's own earlier
    messages (tool results may have been elided from the history since; its words stay)."""

    path: str
    roles: list[str]
    score: float
    why: str


def _noted_files(conv: Conversation, fresh: list[FileRank] | None = None) -> list[_Noted]:
    """Every ranked file, carried notes merged with fresh evidence (``fresh``, default: a
    ranking on everything visible), most important first."""
    noted: dict[str, _Noted] = {}
    for text in _assistant_texts(conv):
        for match in _WORKING_LINE.finditer(text):
            roles = [r.strip() for r in match["roles"].split(",") if r.strip()]
            noted[match["path"]] = _Noted(match["path"], roles, float(match["score"]),
                                          match["why"])
    views = conv.file_views()
    graph = imported_by(conv, [*listed_paths(conv), *views])
    for ranked in rank(conv) if fresh is None else fresh:
        why = _why(ranked, views.get(ranked.path), graph.get(ranked.path, {}))
        known = noted.get(ranked.path)
        if known is None:
            noted[ranked.path] = _Noted(ranked.path, list(ranked.roles), ranked.score, why)
            continue
        if "script" in ranked.roles:  # the front door's re-exports, seen since, made a
            # program-like module of a library a side door: no longer an entry point
            known.roles = [role for role in known.roles if role != "entry"]
            known.score = ranked.score
        known.roles = list(dict.fromkeys([*known.roles, *ranked.roles]))
        known.score = max(known.score, ranked.score)
        known.why = why if len(why) >= len(known.why) else known.why
    return sorted(noted.values(), key=lambda n: (-n.score, n.path.count("/"), n.path))


def _assistant_texts(conv: Conversation) -> list[str]:
    return [message_text(m) for m in conv.messages if m.get("role") == "assistant"]


def _carried(conv: Conversation, pattern: re.Pattern[str]) -> str | None:
    """The last line the model wrote earlier that matches ``pattern``."""
    found = [m[0] for text in _assistant_texts(conv) for m in pattern.finditer(text)]
    return found[-1] if found else None


def _working_notes(conv: Conversation) -> str:
    """What the model has concluded so far, written into its own message: the identity, the
    layout and the ranking, with the scores that order it."""
    lines = _identity_lines(conv)
    listed = listed_paths(conv)
    layout = _layout(listed) if listed else _carried(conv, _LAYOUT_LINE)
    if layout:
        lines.append(layout)
    ranked = [n for n in _noted_files(conv) if n.roles != ["source"]][:_WORKING_FILES]
    if ranked:
        lines.append(_WORKING_HEADER)
        lines += [f"- {n.path} [{', '.join(n.roles)}] {{{n.score:.1f}}} {n.why}" for n in ranked]
    return "\n".join(lines)


def _identity_lines(conv: Conversation) -> list[str]:
    views = conv.file_views()
    kind = _kind(conv)
    name, description = None, None
    if kind in (OVERVIEW_AREA, _WHOLE):  # the others leave the project's name to this one
        # Only the root README or manifest names the project: a nested README describes a part.
        name, description = project_identity(v for v in views.values() if is_root(v.path))
        if name is None:
            carried = _carried(conv, _PROJECT_LINE)
            if carried:
                described = _carried(conv, _DESCRIBED_LINE)
                return [carried, described] if described else [carried]
        name = name or repository_name(conv) or "this repository"
    elif OVERVIEW_AREA not in _other_areas(conv):  # no one reads a README: name it after the repo
        name = repository_name(conv)
    if not name:
        return []
    return [f"Project: {name}",
            f"This repository appears to be {name}: {description}" if description
            else f"This repository appears to be {name}; no one-line description was found."]


def _read_paths(conv: Conversation) -> list[str]:
    """Files read successfully, in first-read order (their text may have been elided since)."""
    return list(dict.fromkeys(str(call.arguments.get("path")).removeprefix("./")
                              for call in conv.calls_to("read_file") if not call.failed))


def understanding(conv: Conversation) -> str:
    """What the repository is, its layout and key files (most important first), ending in a
    Files read line."""
    views = conv.file_views()
    lines = _identity_lines(conv)
    listed = listed_paths(conv)
    layout = _layout(listed) if listed else _carried(conv, _LAYOUT_LINE)
    if layout:
        lines.append(layout)
    read = set(_read_paths(conv)) | set(views)
    key = [n for n in _noted_files(conv) if n.path in read][:_KEY_FILES]
    if key:
        lines.append(KEY_FILES_HEADER)
        for noted in key:
            view = views.get(noted.path)
            count = str(view.total_lines) if view is not None else "?"
            lines.append(f"- {noted.path} ({count} lines) [{', '.join(noted.roles)}] {noted.why}")
    read_line = ", ".join(f"{view.path} ({view.total_lines} lines)" for view in views.values())
    lines.append(f"{FILES_READ_PREFIX} {read_line or 'none'}")
    return "\n".join(lines)


def _why(ranked: FileRank, view: FileView | None, importers: dict[str, int]) -> str:
    reasons = [r for r in ranked.reasons if not r.startswith("imported by")]
    if importers:
        users = sorted(importers.items(), key=lambda kv: (is_noise(kv[0]), kv[0]))
        shown = ", ".join(f"{path}:{line}" for path, line in users[:3])
        reasons.insert(0, f"imported by {len(importers)} file(s): {shown}")
    summary = _file_summary(view) if view is not None else ""
    if summary:
        reasons.append(summary)
    return "; ".join(reasons)


def _layout(paths: list[str]) -> str:
    top: Counter[str] = Counter()
    for path in paths:
        parts = PurePosixPath(path).parts
        top[parts[0] + "/" if len(parts) > 1 else parts[0]] += 1
    entries = [
        f"{entry} ({count} files)" if entry.endswith("/") else entry for entry, count in top.items()
    ]
    shown = ", ".join(entries[:_LAYOUT_ENTRIES])
    more = f" and {len(entries) - _LAYOUT_ENTRIES} more" if len(entries) > _LAYOUT_ENTRIES else ""
    return f"Layout: {len(paths)} files listed; top level: {shown}{more}."


def _file_summary(view: FileView) -> str:
    facts = extract_facts(view)
    if file_role(view.path) in ("readme", "docs"):
        titles = [f.names[0] for f in facts if f.kind in ("title", "heading") and f.names]
        return f"sections: {', '.join(titles[:6])}" if titles else ""
    described = [f for f in facts if f.kind == "module-doc"]
    if described:
        return described[0].sentence.split(": ", 1)[-1].replace("`", "")
    return ""

