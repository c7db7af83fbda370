"""Phase 2: the report's outline, as strict structured output, validated before it is used."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tech_writer.errors import OutlineError
from tech_writer.pipeline import prompts
from tech_writer.pipeline.toolloop import assistant_message

if TYPE_CHECKING:
    from tech_writer.llm.client import LLMClient
    from tech_writer.repository.repo import Repository

__all__ = [
    "RESPONSE_FORMAT",
    "Outline",
    "OutlineInvalid",
    "SectionSpec",
    "make_outline",
    "parse_outline",
]

log = logging.getLogger("tech_writer.outline")

RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "report_outline", "strict": True,
                    "schema": prompts.OUTLINE_JSON_SCHEMA},
}

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*)\n\s*```\s*$", re.DOTALL)


@dataclass(frozen=True)
class SectionSpec:
    title: str
    focus: str
    relevant_files: tuple[str, ...]


@dataclass(frozen=True)
class Outline:
    title: str
    sections: tuple[SectionSpec, ...]


class OutlineInvalid(ValueError):
    """The model's outline does not match the schema; the message says how."""


def parse_outline(text: str | None, max_sections: int) -> Outline:
    """Parse and validate an outline; cap it at ``max_sections``. Raises :class:`OutlineInvalid`."""
    if not text or not text.strip():
        raise OutlineInvalid("the answer was empty")
    fenced = _FENCE.match(text)
    try:
        data = json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError as exc:
        raise OutlineInvalid(
            f"the answer is not valid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(data, dict):
        raise OutlineInvalid("the answer must be a JSON object with 'title' and 'sections'")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise OutlineInvalid("'title' must be a non-empty string")
    raw_sections = data.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise OutlineInvalid("'sections' must be a non-empty list")
    sections = [_section(i, raw) for i, raw in enumerate(raw_sections)]
    if len(sections) > max_sections:
        log.info("outline has %d sections; keeping the first %d", len(sections), max_sections)
    return Outline(title.strip(), tuple(sections[:max_sections]))


def _section(index: int, raw: Any) -> SectionSpec:
    where = f"section {index + 1}"
    if not isinstance(raw, dict):
        raise OutlineInvalid(f"{where} must be an object with title, focus, relevant_files")
    title, focus, files = raw.get("title"), raw.get("focus"), raw.get("relevant_files", [])
    if not isinstance(title, str) or not title.strip():
        raise OutlineInvalid(f"{where}: 'title' must be a non-empty string")
    if not isinstance(focus, str):
        raise OutlineInvalid(f"{where}: 'focus' must be a string")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise OutlineInvalid(f"{where}: 'relevant_files' must be a list of strings")
    return SectionSpec(title.strip(), focus.strip(), tuple(f.strip() for f in files if f.strip()))


def make_outline(llm: LLMClient, repo: Repository, prompt: str, understanding: str,
                 max_sections: int) -> Outline:
    """Ask for the outline; on an invalid answer ask once more with the error; else fail clearly."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": prompts.OUTLINE_SYSTEM},
        {"role": "user", "content": prompts.outline_request(prompt, understanding, max_sections)},
    ]
    problem = ""
    for attempt in (1, 2):
        reply, _ = llm.chat(messages, response_format=RESPONSE_FORMAT)
        try:
            outline = parse_outline(reply.get("content"), max_sections)
        except OutlineInvalid as exc:
            problem = str(exc)
            log.warning("outline attempt %d unusable: %s", attempt, problem)
            messages.append(assistant_message(reply))
            messages.append({"role": "user", "content": (
                f"That outline is not usable: {problem}. Answer again with only a JSON object "
                "matching the schema.")})
            continue
        return _existing_files_only(outline, repo)
    raise OutlineError(f"the model did not return a usable outline after 2 attempts ({problem}); "
                       "try another --model")


def _existing_files_only(outline: Outline, repo: Repository) -> Outline:
    sections = []
    for spec in outline.sections:
        kept = tuple(p for p in spec.relevant_files if repo.line_count(p) is not None)
        dropped = set(spec.relevant_files) - set(kept)
        if dropped:
            log.info("section %r: ignoring files that do not exist: %s", spec.title,
                     ", ".join(sorted(dropped)))
        sections.append(SectionSpec(spec.title, spec.focus, kept))
    return Outline(outline.title, tuple(sections))
