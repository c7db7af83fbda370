"""The words tech_writer says to the model, kept apart from the code that sends them.

System prompts are constants so they are byte-identical across the calls of a phase: together
with the tool schemas they form the stable prefix that provider prompt caching keys on.
Line formats the demo model parses (``Section title:``, ``Relevant files:``, ``Files read:``) are
part of the contract with :mod:`tech_writer.demo` and must not drift.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "EXPLORATION_SYSTEM",
    "FILES_READ_PREFIX",
    "FINISH_EXPLORATION_SCHEMA",
    "OUTLINE_JSON_SCHEMA",
    "OUTLINE_NAME",
    "OUTLINE_TOOL_SCHEMA",
    "OUTLINE_SYSTEM",
    "PLAN_EXPLORATION_SCHEMA",
    "SECTION_SYSTEM",
    "WRAP_UP_EXPLORATION",
    "WRITE_SECTION_NOW",
    "exploration_area_instruction",
    "exploration_opening",
    "exploration_plan_instruction",
    "GROUNDING_FEEDBACK_HEADER",
    "files_read_line",
    "grounding_feedback",
    "outline_request",
    "outline_text_instruction",
    "section_refresh",
    "section_request",
]

EXPLORATION_SYSTEM = """\
You are a senior engineer exploring an unfamiliar code repository so that a technical report can be
written about it. The exploration is shared out: first it is planned (plan_exploration splits the
repository into areas), then one explorer studies each area at the same time as the others.
As an explorer, use the tools on your area: read the files that matter for the report (entry
points, core modules, configuration, docs); look outside your area only to follow a link. Ask for
tools that do not depend on each other in one turn (several read_file calls at once): each turn
is a round trip. Prefer reading specific line ranges of large files. Do not guess: everything you later claim must come
from something you read. When you understand your area, call finish_exploration with thorough
notes: what it is, how it is organised, the key files and what each does (with line ranges worth
citing), how it connects to the rest, and open questions."""

OUTLINE_SYSTEM = """\
You plan technical reports about code repositories. Given the report request and an engineer's
notes from exploring the repository, produce the report's outline as JSON matching the schema:
a title and an ordered list of sections, each with a title, a focus (one or two sentences on what
the section must explain) and the repository files (relative paths) it should draw on. Sections
must not overlap; together they must answer the request. Only list files that exist."""

SECTION_SYSTEM = """\
You write one section of a technical report about a code repository, in Markdown. Read the
relevant files with the tools before writing. Every factual claim must carry a citation of the form
[path:start-end] (or [path:N] for one line): the path relative to the repository root and 1-based
inclusive line numbers of the lines that support the claim, taken from the numbered lines the
tools showed you. Never cite lines you have not seen. Ask for independent reads in one turn.
Write prose and short lists for engineers; do not repeat the section title as a heading; use ### for sub-headings if needed. When you are done
reading, answer with the section text only."""

WRAP_UP_EXPLORATION = ("You have reached the exploration step limit. Without calling more tools, "
                       "summarise your understanding of the repository now, as you would in "
                       "finish_exploration.")

WRITE_SECTION_NOW = ("You have reached the tool-call limit for this section. Without calling "
                     "more tools, write the section now from what you have read.")

FINISH_EXPLORATION_SCHEMA: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "finish_exploration",
        "description": ("End the exploration and hand over your understanding of the repository "
                        "for planning the report."),
        "parameters": {
            "type": "object",
            "properties": {
                "understanding": {
                    "type": "string",
                    "description": ("What the project is, how it is organised, the key files and "
                                    "what each does (with line ranges), and open questions."),
                },
            },
            "required": ["understanding"],
            "additionalProperties": False,
        },
    },
}

PLAN_EXPLORATION_SCHEMA: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "plan_exploration",
        "description": ("Split the exploration into areas that separate explorers study at the "
                        "same time. Areas must not overlap; together they must cover what the "
                        "report needs. Use a single area only for a repository of a handful of "
                        "files."),
        "parameters": {
            "type": "object",
            "properties": {
                "areas": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "title": {"type": "string",
                                      "description": "A few words naming the area."},
                            "focus": {"type": "string",
                                      "description": "What the explorer must find out there."},
                            "paths": {"type": "array", "items": {"type": "string"},
                                      "description": ("Files or directories (relative paths) "
                                                      "to start from.")},
                        },
                        "required": ["title", "focus", "paths"],
                        "additionalProperties": False,
                    },
                },
            },
            "required": ["areas"],
            "additionalProperties": False,
        },
    },
}

OUTLINE_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "sections": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "focus": {"type": "string"},
                    "relevant_files": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["title", "focus", "relevant_files"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["title", "sections"],
    "additionalProperties": False,
}


def exploration_opening(prompt: str, repo_name: str, layout: str) -> str:
    """The part every exploration call opens with, byte-identical across them (the plan's and
    every explorer's): sent as its own content part, so providers that cache up to explicit
    breakpoints can cache it once for all of them."""
    return (f"Report request:\n\n{prompt.strip()}\n\nRepository: {repo_name}\n\n"
            f"Repository layout (get_structure):\n{layout.strip()}\n\n")


def exploration_plan_instruction(max_areas: int) -> str:
    return (f"Call plan_exploration: split the exploration into at most {max_areas} areas that "
            "explorers will study at the same time.")


def exploration_area_instruction(*, title: str, focus: str, paths: Sequence[str],
                                 other_titles: Iterable[str]) -> str:
    others = ", ".join(other_titles) or "none: you explore the whole repository"
    return (f"Your area: {title}\nFocus: {focus}\n"
            f"Start from: {', '.join(paths) or '(anywhere)'}\n"
            f"Other explorers cover: {others}\n\n"
            "Explore your area with the tools, then call finish_exploration.")


OUTLINE_NAME = "report_outline"  # the json_schema's name, and the tool's in the "tool" mode
OUTLINE_TOOL_SCHEMA: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": OUTLINE_NAME,
        "description": "Submit the report's outline: its title and its sections, in order.",
        "parameters": OUTLINE_JSON_SCHEMA,
    },
}


def outline_text_instruction() -> str:
    """For a model without structured output or tools: the schema, in words."""
    return ("Answer with only the JSON object of the report_outline, no prose and no code fence, "
            "matching this JSON schema:\n" + json.dumps(OUTLINE_JSON_SCHEMA))


def outline_request(prompt: str, understanding: str, max_sections: int) -> str:
    return (f"Report request:\n\n{prompt.strip()}\n\nExploration notes:\n\n{understanding.strip()}"
            f"\n\nPlan at most {max_sections} sections.")


def section_request(prompt: str, understanding: str, title: str, focus: str,
                    relevant_files: Sequence[str], other_titles: Iterable[str],
                    evidence: str = "") -> str:
    others = ", ".join(t for t in other_titles if t != title) or "none"
    request = (f"Report request:\n\n{prompt.strip()}\n\n"
               f"Exploration notes:\n\n{understanding.strip()}\n\n"
               f"Write this section:\nSection title: {title}\nFocus: {focus}\n"
               f"Relevant files: {', '.join(relevant_files) or '(none listed; find them)'}\n"
               f"Other sections (do not cover their ground): {others}")
    if evidence:
        request += f"\n\n{EVIDENCE_INTRO}\n\n{evidence}"
    return request


GROUNDING_FEEDBACK_HEADER = "Some of what you wrote cannot go into the report as it is:"
EVIDENCE_INTRO = ("Numbered excerpts of these files. Each is headed by the citation that covers "
                  "it: cite a claim by copying that bracket, narrowed to the lines that support "
                  "the claim. Read more with the tools when you need it.")


def grounding_feedback(problems: str, evidence: str) -> str:
    """What the gate sends back once: the sentences that cannot stay, the names that do not
    exist, and the excerpts to cite from."""
    text = (f"{GROUNDING_FEEDBACK_HEADER}\n{problems}\n\n"
            "Every sentence needs a citation [path:start-end] of lines that support it, and may "
            "name only what exists in this repository. Cite each of these from the excerpts "
            "below or from lines you read with the tools, or drop it. Do not write tool calls as "
            "text. Answer with the whole section, rewritten.")
    return f"{text}\n\n{EVIDENCE_INTRO}\n\n{evidence}" if evidence else text


def section_refresh(old_text: str, changes: str) -> str:
    """What ``tech-writer update`` adds to a stale section's request: its old text and what
    changed in the files behind it."""
    return (f"This section was written before and the code has changed since: some of what it cites "
            f"no longer holds. Its previous text:\n\n<previous>\n{old_text.strip()}\n</previous>\n\n"
            f"What changed in the files behind it:\n\n{changes.strip()}\n\n"
            f"Read the current files, then write the whole section again: keep what still holds, "
            f"correct what changed, and cite the lines as they are now.")


FILES_READ_PREFIX = "Files read:"


def files_read_line(files: Iterable[tuple[str, int]]) -> str:
    """``Files read: a.py (120 lines), b.md (30 lines)`` — the facts the later phases rely on."""
    return f"{FILES_READ_PREFIX} " + ", ".join(f"{path} ({lines} lines)" for path, lines in files)
