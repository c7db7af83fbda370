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

from ._conversation import Conversation, message_text
from ._explore import FILES_READ_PREFIX
from ._files import ENTRY_STEMS, file_role
from ._types import ModelTurn, ToolCall

__all__ = [
    "OUTLINE_MODES",
    "build_outline",
    "files_read",
    "outline_turn",
    "report_kind",
    "report_request",
]

OUTLINE_MODES = ("ok", "invalid_once", "always_invalid")
_FILES_READ_LINE = re.compile(rf"^{re.escape(FILES_READ_PREFIX)}\s*(.*)$", re.MULTILINE)
_FILE_ENTRY = re.compile(r"\s*(.+?) \((\d+) lines?\)\s*(?:,|$)")
_PROJECT_LINE = re.compile(r"^Project:\s*(.+?)\s*$", re.MULTILINE)
_FILES_PER_SECTION = 3
_DEFAULT_SECTIONS = 4
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


def _grouped(paths: list[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {"docs": [], "manifest": [], "entry": [], "source": []}
    for path in paths:
        role = file_role(path)
        if role in ("readme", "docs"):
            groups["docs"].append(path)
        elif role == "manifest":
            groups["manifest"].append(path)
        elif role in ("source", "test", "other"):
            groups["source"].append(path)
            if PurePosixPath(path).stem in ENTRY_STEMS:
                groups["entry"].append(path)
    return groups


def _relevant(plan: _SectionPlan, groups: dict[str, list[str]], paths: list[str]) -> list[str]:
    chosen: list[str] = []
    for group in plan.groups:
        chosen += [path for path in groups[group] if path not in chosen]
    if not chosen:
        chosen = (
            groups["source"] or paths
        )  # every section gets something to read when anything exists
    return chosen[:_FILES_PER_SECTION]


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


def build_outline(conv: Conversation) -> dict[str, Any]:
    kind = report_kind(report_request(conv))
    title_template, plans = _KINDS[kind]
    project = _project_name(conv)
    paths = [
        path for path, lines in files_read(conv) if lines > 0
    ]  # nothing to cite in empty files
    groups = _grouped(paths)
    sections = [
        {
            "title": plan.title,
            "focus": plan.focus.format(project=project),
            "relevant_files": _relevant(plan, groups, paths),
        }
        for plan in plans[: _section_limit(conv)]
    ]
    return {"title": title_template.format(project=project), "sections": sections}


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
