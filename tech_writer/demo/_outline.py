"""The outline phase of the demo model: a JSON outline shaped by the report request.

Input: the ``Files read:`` line of the exploration summary (anywhere in the messages; the last
one wins), an optional ``Project:`` line, the report request (the first user message, or the part
after ``Report request:`` and before ``Exploration notes:``) and an optional "at most N sections".
Output: ``{"title", "sections": [{"title", "focus", "relevant_files"}]}``, four sections unless
capped; empty files are never listed as relevant.

``outline_mode`` exercises the caller's validation: ``"invalid_once"`` answers with truncated JSON
until the conversation holds an earlier outline attempt (an assistant message starting with
``{``) — the model is stateless, so a retry must send the failed answer back;
``"always_invalid"`` never produces valid JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from tech_writer.repository.filekinds import ENTRY_STEMS, file_role

from ._conversation import Conversation, message_text
from ._explore import FILES_READ_PREFIX
from ._types import ModelTurn, ToolCall

__all__ = [
    "OUTLINE_MODES",
    "KeyFile",
    "build_outline",
    "files_read",
    "key_files",
    "outline_turn",
    "prompt_aspects",
    "report_kind",
    "report_request",
]

OUTLINE_MODES = ("ok", "invalid_once", "always_invalid")
_FILES_READ_LINE = re.compile(rf"^{re.escape(FILES_READ_PREFIX)}\s*(.*)$", re.MULTILINE)
_FILE_ENTRY = re.compile(r"\s*(.+?) \((\d+) lines?\)\s*(?:,|$)")
_PROJECT_LINE = re.compile(r"^Project:\s*(.+?)\s*$", re.MULTILINE)
_FILES_PER_SECTION = 3
_MIN_SECTIONS = 2
_DEFAULT_SECTIONS = 4
_KEY_FILE_LINE = re.compile(
    r"^- (?P<path>\S+) \((?P<lines>\d+|\?) lines?\) \[(?P<roles>[^\]]*)\] ?(?P<why>.*)$",
    re.MULTILINE)
_BULLET = re.compile(r"^\s*[-*]\s+(.+)$")
_HEADING = re.compile(r"^#\s+(.+?)\s*$", re.MULTILINE)
_MAX_TITLE = 70
_SECTION_LIMIT = re.compile(r"\bat most (\d+) sections\b", re.IGNORECASE)
_REQUEST_LABEL = "Report request:"
# Where a request stops when the caller appended context to the same message.
_AFTER_REQUEST = re.compile(r"\n\s*(?:Exploration notes|Repository|Files read):", re.IGNORECASE)


@dataclass(frozen=True)
class _SectionPlan:
    title: str
    focus: str
    groups: tuple[str, ...]  # file groups to draw relevant files from, in order of preference


_KINDS: dict[str, tuple[str, tuple[_SectionPlan, ...]]] = {
    "onboarding": (
        "Onboarding guide: {project}",
        (
            _SectionPlan(
                "What the project does",
                "What {project} is for, as its documentation and package metadata state it.",
                ("docs", "manifest"),
            ),
            _SectionPlan(
                "Setting up and running it",
                "How to install and run the project: commands, entry points, settings.",
                ("manifest", "docs", "entry"),
            ),
            _SectionPlan(
                "Where the code lives",
                "The main modules, what each one does, and where to start reading.",
                ("source",),
            ),
            _SectionPlan(
                "Key workflows",
                "How execution starts, and the functions and classes involved in a typical run.",
                ("entry", "source"),
            ),
        ),
    ),
    "architecture": (
        "Architecture overview: {project}",
        (
            _SectionPlan(
                "System overview",
                "What {project} is for and how its parts fit together at the highest level.",
                ("docs", "entry"),
            ),
            _SectionPlan(
                "Core components",
                "The central classes and functions, their jobs and how they depend on each other.",
                ("source",),
            ),
            _SectionPlan(
                "Control flow",
                "How a command travels from the entry point to the work it triggers.",
                ("entry", "source"),
            ),
            _SectionPlan(
                "Dependencies and configuration",
                "The external packages the project relies on, and how it is packaged and set up.",
                ("manifest", "docs"),
            ),
        ),
    ),
    "api": (
        "API reference: {project}",
        (
            _SectionPlan(
                "Overview",
                "What the public interface of {project} offers and who it is for.",
                ("docs", "manifest"),
            ),
            _SectionPlan(
                "Public modules and functions",
                "The exported classes and functions, their parameters and documented behaviour.",
                ("entry", "source"),
            ),
            _SectionPlan(
                "Usage",
                "How callers use the interface, as shown by the documentation and the code.",
                ("docs", "entry"),
            ),
            _SectionPlan(
                "Packaging",
                "How the package is named, versioned and installed, and what it depends on.",
                ("manifest",),
            ),
        ),
    ),
    "overview": (
        "Technical overview: {project}",
        (
            _SectionPlan(
                "Overview",
                "What {project} does and the problem it addresses.",
                ("docs", "manifest"),
            ),
            _SectionPlan(
                "Code structure",
                "How the source is organised and what the main modules contain.",
                ("source",),
            ),
            _SectionPlan(
                "Key components",
                "The most important functions and classes and how they work together.",
                ("entry", "source"),
            ),
            _SectionPlan(
                "Building and running",
                "How to install, configure and run the project.",
                ("manifest", "docs"),
            ),
        ),
    ),
}
_KIND_KEYWORDS = (
    (
        "onboarding",
        ("onboarding", "getting started", "new contributor", "new developer", "newcomer"),
    ),
    ("architecture", ("architecture", "design", "components", "how it works")),
    ("api", ("api", "reference", "interface", "sdk")),
)


# Which files an aspect of the request draws on, recognised by words of its bullet (first match).
_ASPECT_ROLES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("data structure", "state", "database", "concept", "vocabulary", "schema"),
     ("types", "api", "core", "source")),
    (("flow", "code path", "tour", "request", "lifecycle", "end to end", "entry"),
     ("entry", "flow", "core", "api")),
    (("component", "module", "layout", "where to find", "organi", "structure"),
     ("core", "api", "source")),
    # How to install is what the README says first; what the package needs, its manifest.
    (("install", "build and run", "run the project", "getting started"),
     ("overview", "packaging", "docs", "entry")),
    (("build", "dependenc", "configur", "environment", "integration", "packag"),
     ("packaging", "overview", "docs", "entry")),
    (("design", "decision", "trade-off", "risk", "convention", "pitfall", "first small change",
      "error handling", "weak"), ("core", "api", "source", "entry")),
    (("what the project", "for whom", "purpose", "overview", "what it does"),
     ("overview", "docs", "package", "packaging")),
)
_GROUP_ROLES = {"docs": ("overview", "docs", "package"), "manifest": ("packaging",), "entry": ("entry",),
                "source": ("core", "api", "source")}


def report_kind(request_text: str) -> str:
    lowered = request_text.lower()
    for kind, words in _KIND_KEYWORDS:
        if any(re.search(rf"\b{re.escape(word)}\b", lowered) for word in words):
            return kind
    return "overview"


def files_read(conv: Conversation) -> list[tuple[str, int]]:
    """(path, line count) pairs from the most recent ``Files read:`` line, if any."""
    found: list[str] = []
    for text in conv.all_texts():
        found += _FILES_READ_LINE.findall(text)
    for message in conv.messages:  # the summary may also arrive as finish_exploration arguments
        for call in message.get("tool_calls") or []:
            arguments = (call.get("function") or {}).get("arguments")
            if isinstance(arguments, str):
                found += _FILES_READ_LINE.findall(arguments.replace("\\n", "\n"))
    if not found:
        return []
    return [(m[1].strip(), int(m[2])) for m in _FILE_ENTRY.finditer(found[-1])]


def _project_name(conv: Conversation) -> str:
    for text in reversed(conv.all_texts()):
        match = _PROJECT_LINE.search(text)
        if match:
            return match[1]
    return "the repository"


def report_request(conv: Conversation) -> str:
    """The user's report request: the first user message, without any notes appended to it."""
    users = conv.user_texts()
    text = users[0] if users else ""
    if _REQUEST_LABEL in text:
        text = text.split(_REQUEST_LABEL, 1)[1]
    return re.split(_AFTER_REQUEST, text, maxsplit=1)[0].strip()


def _section_limit(conv: Conversation) -> int:
    for text in reversed(conv.user_texts()):
        match = _SECTION_LIMIT.search(text)
        if match:
            return max(1, int(match[1]))
    return _DEFAULT_SECTIONS


@dataclass(frozen=True)
class KeyFile:
    """One line of the exploration notes' key files: a file and why it matters."""

    path: str
    lines: int
    roles: tuple[str, ...]
    why: str


def key_files(conv: Conversation) -> list[KeyFile]:
    """The key files the explorers listed, in the order the notes give them (every area's most
    important first); without such lines, the files read, with roles guessed from their names."""
    found: dict[str, KeyFile] = {}
    counts = dict(files_read(conv))  # for files whose notes could not state their length
    for text in conv.all_texts():
        for match in _KEY_FILE_LINE.finditer(text):
            path, roles = match["path"], tuple(r.strip() for r in match["roles"].split(","))
            if path in found:  # two areas listed it: keep both views of why
                known = found[path]
                roles = tuple(dict.fromkeys([*known.roles, *roles]))
                found[path] = KeyFile(path, known.lines, roles, known.why)
            else:
                lines = counts.get(path, 0) if match["lines"] == "?" else int(match["lines"])
                found[path] = KeyFile(path, lines, roles, match["why"].strip())
    if found:
        return [f for f in found.values() if f.lines > 0]
    return [KeyFile(path, lines, (_guessed_role(path),), "") for path, lines in files_read(conv)
            if lines > 0]


def _guessed_role(path: str) -> str:
    role = file_role(path)
    if role == "readme":
        return "overview" if "/" not in path else "docs"
    if role == "manifest":
        return "packaging"
    if role == "source" and PurePosixPath(path).stem in ENTRY_STEMS:
        return "entry"
    return "source" if role == "source" else role


@dataclass(frozen=True)
class _Aspect:
    title: str
    focus: str
    roles: tuple[str, ...]  # file roles to draw on, in order of preference


def prompt_aspects(request: str) -> list[tuple[str, str]]:
    """(title, focus) for each bullet of the request's "Cover:" style list, in order."""
    aspects: list[tuple[str, str]] = []
    listing = False
    for line in request.splitlines():
        bullet = _BULLET.match(line)
        if bullet and listing:
            focus = bullet[1].strip().rstrip(";.")
            aspects.append((_aspect_title(focus), focus[:1].upper() + focus[1:] + "."))
        elif line.strip():
            listing = line.rstrip().endswith(":") or (bool(bullet) and listing)
    return aspects


def _aspect_title(text: str) -> str:
    """A heading from a bullet: parentheticals and everything after the first comma or colon
    dropped, first letter capitalised."""
    title = re.sub(r"\s*\([^)]*\)", "", text)
    title = re.split(r"[,:;]", title, maxsplit=1)[0].strip()
    if len(title) > _MAX_TITLE:
        title = title[:_MAX_TITLE].rsplit(" ", 1)[0]
    return title[:1].upper() + title[1:]


def _roles_for(text: str) -> tuple[str, ...]:
    lowered = text.lower()
    for words, roles in _ASPECT_ROLES:
        if any(word in lowered for word in words):
            return roles
    return ("core", "api", "source", "entry")


def _template_aspects(kind: str, project: str) -> list[_Aspect]:
    _, plans = _KINDS[kind]
    aspects = []
    for plan in plans:
        roles = tuple(role for group in plan.groups for role in _GROUP_ROLES[group])
        aspects.append(_Aspect(plan.title, plan.focus.format(project=project), roles))
    return aspects


_API_ROLES = ("entry", "package", "api", "core", "flow")


def _api_aspects(request: str, files: list[KeyFile]) -> list[_Aspect]:
    """An API reference is grouped by module, as its request asks: one section per public
    module (the most important first), titled by the module, each asked for what the request's
    bullets ask of every entry."""
    bullets = (_BULLET.match(line) for line in request.splitlines())
    asked = [bullet[1].strip().rstrip(";.") for bullet in bullets if bullet]
    focus = ("For each public class and function: " + "; ".join(asked) + ".") if asked else (
        "Its public classes and functions, their parameters and documented behaviour.")
    modules = [f for f in files if file_role(f.path) == "source"
               and any(role in f.roles for role in _API_ROLES)
               and not PurePosixPath(f.path).name.startswith("_")]
    if len(modules) < _MIN_SECTIONS:
        return []
    return [_Aspect(f"The `{_module_name(f.path)}` module", focus, ("=" + f.path,))
            for f in modules]


def _module_name(path: str) -> str:
    """``src/requests/api.py`` -> ``requests.api``; other languages keep their path."""
    pure = PurePosixPath(path.removeprefix("src/"))
    if pure.suffix != ".py":
        return path
    parts = list(pure.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _report_title(request: str, kind: str, project: str) -> str:
    """The request's own heading (``# Architecture overview``) or the kind's, then the project."""
    heading = next((m[1].strip() for m in _HEADING.finditer(request)), None)
    if heading:
        return f"{heading}: {project}"
    return _KINDS[kind][0].format(project=project)


def _assign(aspects: list[_Aspect], files: list[KeyFile]) -> list[list[str]]:
    """Files for each aspect, no file given twice: each takes its fair share of the files left,
    from its roles in order of preference, then from the most important files left."""
    taken: set[str] = set()
    chosen: list[list[str]] = [[] for _ in aspects]
    # Aspects that want a particular kind of file (the entry points of a flow) choose before
    # those any central module serves, so the flow is not left with what the others did not take.
    order = sorted(range(len(aspects)), key=lambda i: aspects[i].roles[:1] == ("core",))
    for done, index in enumerate(order):
        aspect = aspects[index]
        left = [f for f in files if f.path not in taken]
        share = max(1, min(_FILES_PER_SECTION, -(-len(left) // max(1, len(aspects) - done))))
        picked: list[str] = []
        if aspect.roles[0].startswith("="):  # a section about one file: that file, alone
            picked = [f.path for f in left if f.path == aspect.roles[0][1:]]
            taken.update(picked)
            chosen[index] = picked
            continue
        for role in aspect.roles:  # its fair share, from its roles in order of preference
            picked += [f.path for f in left if role in f.roles and f.path not in picked]
            if len(picked) >= share:
                break
        if not picked:  # nothing of its kind left: the next most important file
            picked = [f.path for f in left]
        picked = picked[:share]
        taken.update(picked)
        chosen[index] = picked
    return chosen


def build_outline(conv: Conversation) -> dict[str, Any]:
    request = report_request(conv)
    kind = report_kind(request)
    project = _project_name(conv)
    files = key_files(conv)
    listed = prompt_aspects(request) if kind != "api" else []
    aspects = ([_Aspect(title, focus, _roles_for(f"{title} {focus}")) for title, focus in listed]
               or (_api_aspects(request, files) if kind == "api" else [])
               or _template_aspects(kind, project))[: _section_limit(conv)]
    sections: list[dict[str, Any]] = []
    for aspect, paths in zip(aspects, _assign(aspects, files), strict=True):
        if not paths and files and len(sections) >= _MIN_SECTIONS:
            continue  # nothing of its own left to draw on: a section with no claims is noise
        if not paths and files:  # too few files for even two sections: they share
            paths = [f.path for f in files][:_FILES_PER_SECTION]
        sections.append({"title": aspect.title, "focus": aspect.focus, "relevant_files": paths})
    return {"title": _report_title(request, kind, project), "sections": sections}


# The outline's name: the json_schema's, and the tool's when it is asked for as a tool call.
OUTLINE_NAME = "report_outline"


def asks_outline_in_text(conv: Conversation) -> bool:
    """A model without structured output is asked for the report_outline JSON in words."""
    users = conv.user_texts()
    return bool(users) and OUTLINE_NAME in users[0]


def outline_turn(conv: Conversation, mode: str, *, as_tool_call: bool = False) -> ModelTurn:
    text = json.dumps(build_outline(conv), indent=2, ensure_ascii=False)
    earlier_attempt = any(
        m.get("role") == "assistant"
        and (message_text(m).lstrip().startswith("{") or m.get("tool_calls"))
        for m in conv.messages
    )
    if mode == "always_invalid" or (mode == "invalid_once" and not earlier_attempt):
        text = text[: len(text) * 3 // 5]  # cut off mid-way: not valid JSON
    if as_tool_call:
        return ModelTurn(tool_calls=[ToolCall(OUTLINE_NAME, text)])
    return ModelTurn(content=text)
