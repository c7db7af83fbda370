"""The exploration phase of the demo model: plan areas, look around, read the telling files,
summarise.

Each turn re-derives what to do from the conversation (the model is stateless):

* asked to plan (``plan_exploration`` forced), it splits the files of the layout it was shown
  into an overview area (README, manifest) and up to three areas of source files, two files each;
  a repository with fewer than three telling files gets one area;
* exploring an area (the request names ``Your area:`` and ``Start from:`` paths), it asks in one
  turn to read those files and for the symbols of the first source file among them (parallel
  tool calls, as the system prompt asks), then calls finish_exploration;
* exploring the whole repository: get_structure (unless the layout was given), list_files,
  read_file on the most informative listed files, get_symbols on a source file, search_text for
  a name it saw, then finish_exploration.

The summary's last line is ``Files read: a.py (120 lines), README.md (40 lines)``. Tools not
offered are skipped, paths come only from tool results and the layout, and a call whose result
was an error is not retried.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePosixPath

from ._code_facts import defined_names
from ._conversation import Conversation, FileView, RecordedCall, parse_read_result
from ._facts import extract_facts, project_identity
from ._files import ENTRY_STEMS, file_role, is_readme, language_of
from ._types import ModelTurn, ToolCall

__all__ = [
    "FILES_READ_PREFIX",
    "FINISH_TOOL",
    "ExplorationOptions",
    "exploration_turn",
    "understanding",
]

FINISH_TOOL = "finish_exploration"
PLAN_TOOL = "plan_exploration"
_LAYOUT_HEADER = "Repository layout (get_structure):"
_AREA = re.compile(r"^Your area:\s*(.+?)\s*$", re.MULTILINE)
_START_FROM = re.compile(r"^Start from:\s*(.*?)\s*$", re.MULTILINE)
_LAYOUT_DIR = re.compile(r"^(?P<name>.+?)/ \(\d+ files?\)$")
_MAX_SOURCE_AREAS = 3
_FILES_PER_AREA = 2
FILES_READ_PREFIX = "Files read:"
_TINY_FILE_LINES = 5  # a read this short (an empty __init__.py, say) earns a replacement read
_EXTRA_READS = 2  # how many replacement reads at most
_NOISE_DIRS = frozenset(
    {
        "docs",
        "doc",
        "examples",
        "example",
        "scripts",
        "benchmarks",
        "bench",
        "vendor",
        "third_party",
        "node_modules",
        "build",
        "dist",
        "migrations",
        "fixtures",
        ".github",
    }
)
_LAYOUT_ENTRIES = 8
_SEARCH_HIT = re.compile(r"^(.+?):(\d+):")


@dataclass(frozen=True)
class ExplorationOptions:
    max_files: int = 4
    parallel_tool_calls: bool = False


def exploration_turn(conv: Conversation, options: ExplorationOptions) -> ModelTurn:
    if conv.has_called(FINISH_TOOL) or conv.tool_choice == "none":
        return ModelTurn(content=understanding(conv))
    if _asked_to_plan(conv):
        return ModelTurn(tool_calls=[ToolCall(PLAN_TOOL, {"areas": plan_areas(conv)})])
    if conv.forced_tool() != FINISH_TOOL:
        assigned = _area(conv)
        if assigned:  # an area explorer asks for everything at once
            calls = _area_calls(conv, options, assigned[1])
            if calls:
                return ModelTurn(tool_calls=calls)
        else:
            calls = _next_calls(conv, options)
            if calls:
                return ModelTurn(tool_calls=calls if options.parallel_tool_calls else calls[:1])
    return ModelTurn(
        tool_calls=[ToolCall(FINISH_TOOL, {_finish_parameter(conv): understanding(conv)})]
    )


def _finish_parameter(conv: Conversation) -> str:
    """ "understanding", unless the offered schema names its text parameter differently."""
    properties = (conv.tools.get(FINISH_TOOL, {}).get("parameters") or {}).get("properties") or {}
    if not properties or "understanding" in properties:
        return "understanding"
    return str(next(iter(properties)))


# --- planning and areas -----------------------------------------------------------------------
def _asked_to_plan(conv: Conversation) -> bool:
    """Planning is forced through tool_choice, or asked for in words on a first turn (a provider
    may drop tool_choice)."""
    if conv.forced_tool() == PLAN_TOOL:
        return True
    return (conv.forced_tool() is None and conv.offers(PLAN_TOOL) and not conv.calls
            and any(f"Call {PLAN_TOOL}" in text for text in conv.user_texts()))


def layout_paths(conv: Conversation) -> list[str]:
    """File paths from the ``get_structure`` layout quoted in the request (directories expanded
    by indentation; "[... more]" notes skipped)."""
    for text in conv.user_texts():
        if _LAYOUT_HEADER not in text:
            continue
        block = text.split(_LAYOUT_HEADER, 1)[1].lstrip("\n").split("\n\n", 1)[0]
        paths: list[str] = []
        stack: list[tuple[int, str]] = []  # (indent, directory) of the open directories
        for line in block.splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith("["):
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


def plan_areas(conv: Conversation) -> list[dict[str, object]]:
    """An overview area (README, manifest) and up to three areas of two source files each."""
    ranked = rank_files(layout_paths(conv))
    overview = [p for p in ranked if file_role(p) in ("readme", "manifest")][:2]
    sources = [p for p in ranked if file_role(p) == "source" and not _is_noise(p)]
    sources = sources[:_MAX_SOURCE_AREAS * _FILES_PER_AREA]
    if len(overview) + len(sources) < 3:
        return [{"title": "The whole repository", "focus": "everything the report needs",
                 "paths": overview + sources}]
    areas: list[dict[str, object]] = []
    if overview:
        areas.append({"title": "Overview and configuration",
                      "focus": "what the project is for, how it is built and configured",
                      "paths": overview})
    for start in range(0, len(sources), _FILES_PER_AREA):
        chunk = sources[start:start + _FILES_PER_AREA]
        names = ", ".join(PurePosixPath(path).name for path in chunk)
        directory = str(PurePosixPath(chunk[0]).parent)
        where = "" if directory == "." else f"{directory}/"
        areas.append({"title": f"Code: {where}{names}",
                      "focus": "what these modules define and how they fit together",
                      "paths": chunk})
    return areas


def _is_noise(path: str) -> bool:
    return any(part in _NOISE_DIRS for part in PurePosixPath(path).parts[:-1])


def _area(conv: Conversation) -> tuple[str, list[str]] | None:
    """(title, start paths) when the request assigns an area other than the whole repository."""
    for text in conv.user_texts():
        area, start = _AREA.search(text), _START_FROM.search(text)
        if area is None or start is None or start[1].startswith("("):
            continue
        paths = [p.strip() for p in start[1].split(",") if p.strip()]
        return (area[1], paths) if paths else None
    return None


def _area_calls(conv: Conversation, options: ExplorationOptions,
                start_paths: list[str]) -> list[ToolCall]:
    """One turn: read the area's files (directories: their files in the layout) and get the
    symbols of its first source file, all at once; then there is nothing left to call."""
    if conv.calls_to("read_file") or conv.calls_to("get_symbols"):
        return []  # its one turn of reads is done
    known = layout_paths(conv)
    files: list[str] = []
    for path in start_paths:
        inside = [p for p in known if p.startswith(path.rstrip("/") + "/")]
        files += rank_files(inside) if inside else [path]
    files = list(dict.fromkeys(files))[:options.max_files]
    calls = [ToolCall("read_file", {"path": path}) for path in files] if conv.offers(
        "read_file") else []
    sources = [path for path in files if file_role(path) == "source"]
    if sources and conv.offers("get_symbols"):
        calls.append(ToolCall("get_symbols", {"path": sources[0]}))
    return calls


def _next_calls(conv: Conversation, options: ExplorationOptions) -> list[ToolCall]:
    if (conv.offers("get_structure") and not conv.has_called("get_structure")
            and not layout_paths(conv)):
        return [ToolCall("get_structure", {"path": "."})]
    if conv.offers("list_files") and not conv.has_called("list_files"):
        return [ToolCall("list_files", {"pattern": "*", "path": "."})]
    reads = _pending_reads(conv, options)
    if reads:
        return [ToolCall("read_file", {"path": path}) for path in reads]
    views = conv.file_views()
    sources = [view for view in views.values() if file_role(view.path) == "source"]
    if sources and conv.offers("get_symbols") and not conv.has_called("get_symbols"):
        return [ToolCall("get_symbols", {"path": sources[0].path})]
    identifier = _identifier_to_search(sources)
    if identifier and conv.offers("search_text") and not conv.has_called("search_text"):
        return [ToolCall("search_text", {"query": identifier})]
    return []


# --- choosing files ---------------------------------------------------------------------------
def listed_paths(conv: Conversation) -> list[str]:
    """Paths from successful list_files results, in listed order, without notes or headers."""
    paths: list[str] = []
    for call in conv.calls_to("list_files"):
        if call.failed:
            continue
        for line in (call.result or "").splitlines():
            candidate = line.strip()
            if _looks_like_path(candidate) and candidate not in paths:
                paths.append(candidate)
    return paths


def _looks_like_path(line: str) -> bool:
    if not line or line.startswith(("[", "(", "Error", "#")) or ": " in line or line.endswith(":"):
        return False
    return "/" in line or "." in line or not any(ch.isspace() for ch in line)


def _source_rank(path: str) -> tuple[int, int, int, str]:
    pure = PurePosixPath(path)
    noisy = int(any(part in _NOISE_DIRS for part in pure.parts[:-1]))
    stem_rank = ENTRY_STEMS.index(pure.stem) if pure.stem in ENTRY_STEMS else len(ENTRY_STEMS)
    return noisy, stem_rank, len(pure.parts), path


def rank_files(paths: list[str]) -> list[str]:
    """Most informative first: the top README, the top manifest, then varied source files."""
    depth = {path: len(PurePosixPath(path).parts) for path in paths}
    readmes = sorted((p for p in paths if is_readme(p)), key=lambda p: (depth[p], p))
    manifests = sorted(
        (p for p in paths if file_role(p) == "manifest"), key=lambda p: (depth[p], p)
    )
    sources = sorted((p for p in paths if file_role(p) == "source"), key=_source_rank)
    varied: list[str] = []
    seen_stems: set[str] = set()
    for (
        path
    ) in sources:  # one file per stem first, so four __init__.py files don't crowd out cli.py
        stem = PurePosixPath(path).stem
        if stem not in seen_stems:
            varied.append(path)
            seen_stems.add(stem)
    varied += [path for path in sources if path not in varied]
    return readmes[:1] + manifests[:1] + varied + readmes[1:] + manifests[1:]


def _pending_reads(conv: Conversation, options: ExplorationOptions) -> list[str]:
    if not conv.offers("read_file"):
        return []
    attempts = conv.calls_to("read_file")
    attempted = {str(call.arguments.get("path")) for call in attempts}
    informative = sum(1 for call in attempts if _was_informative(call))
    wanted = min(options.max_files - informative, options.max_files + _EXTRA_READS - len(attempts))
    if wanted <= 0:
        return []
    return [path for path in rank_files(listed_paths(conv)) if path not in attempted][:wanted]


def _was_informative(call: RecordedCall) -> bool:
    view = parse_read_result(call.result or "")
    return view is not None and view.total_lines >= _TINY_FILE_LINES


def _identifier_to_search(sources: list[FileView]) -> str | None:
    for view in sources:
        names = defined_names(view, language_of(view.path) or "")
        long_names = [name for name in names if len(name) >= 4 and name.isidentifier()]
        if long_names:
            return long_names[0]
    return None


# --- the summary ------------------------------------------------------------------------------
def understanding(conv: Conversation) -> str:
    """What the repository appears to be, its layout and key files, ending in a Files read line."""
    views = list(conv.file_views().values())
    name, description = project_identity(views)
    project = name or "this repository"
    lines: list[str] = []
    if name or _area(conv) is None:  # an area explorer that saw no identity leaves it to others
        lines.append(f"Project: {project}")
        if description:
            lines.append(f"This repository appears to be {project}: {description}")
        else:
            lines.append(f"This repository appears to be {project}; no one-line description "
                         "was found.")
    listed = listed_paths(conv)
    if listed:
        lines.append(_layout(listed))
    if views:
        lines.append("Key files:")
        lines += [
            f"- {view.path} ({view.total_lines} lines): {_file_summary(view)}" for view in views
        ]
    lines += _tool_notes(conv)
    read = ", ".join(f"{view.path} ({view.total_lines} lines)" for view in views)
    lines.append(f"{FILES_READ_PREFIX} {read or 'none'}")
    return "\n".join(lines)


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
    role = file_role(view.path)
    facts = extract_facts(view)
    if role in ("readme", "docs"):
        titles = [
            fact.names[0] for fact in facts if fact.kind in ("title", "heading") and fact.names
        ]
        return "documentation" + (f"; sections: {', '.join(titles[:6])}" if titles else "")
    if role in ("source", "test"):
        names = defined_names(view, language_of(view.path) or "")
        if names:
            return f"{language_of(view.path)} source defining {', '.join(names[:6])}"
    best = max(facts, key=lambda fact: fact.weight, default=None)
    return best.sentence.replace("`", "") if best else "read, nothing notable"


def _tool_notes(conv: Conversation) -> list[str]:
    notes: list[str] = []
    for call in conv.calls_to("get_symbols")[:1]:
        if not call.failed:
            symbol_lines = [
                line.strip() for line in (call.result or "").splitlines() if line.strip()
            ]
            notes.append(f"Symbols in {call.arguments.get('path')}: " + "; ".join(symbol_lines[:5]))
    for call in conv.calls_to("search_text")[:1]:
        if not call.failed:
            hits = [
                m[1] for line in (call.result or "").splitlines() if (m := _SEARCH_HIT.match(line))
            ]
            files = list(dict.fromkeys(hits))
            query = call.arguments.get("query")
            notes.append(
                f"Searching for {query} found {len(hits)} matches in {len(files)} files: "
                + ", ".join(files[:5])
            )
    return notes
