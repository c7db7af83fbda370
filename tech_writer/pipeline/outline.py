"""Phase 2: the report's outline, validated against its schema before it is used.

It is asked for in the best form the model supports (:meth:`Capabilities.outline_mode`):
strict ``json_schema`` structured output; else a forced ``report_outline`` tool call whose
arguments follow the same schema; else JSON in the text. Whatever the form, the answer is parsed
and validated the same way, and an unusable one is asked for again once, with the problem. A form
the server refuses outright (a 400/404/422, e.g. a local server without structured output) falls
back to the next one without using up that second chance.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tech_writer.errors import OutlineError, RequestRejectedError
from tech_writer.pipeline import prompts
from tech_writer.pipeline.toolloop import assistant_message

if TYPE_CHECKING:
    from tech_writer.llm.capabilities import OutlineMode
    from tech_writer.llm.client import LLMClient
    from tech_writer.pipeline.context import RunContext
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
    "json_schema": {"name": prompts.OUTLINE_NAME, "strict": True,
                    "schema": prompts.OUTLINE_JSON_SCHEMA},
}
_FORCED_TOOL = {"type": "function", "function": {"name": prompts.OUTLINE_NAME}}
_NEXT_MODE: dict[str, OutlineMode] = {"json_schema": "tool", "tool": "text"}
_REFUSED_FORM = (400, 404, 422)

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
    try:  # strict=False: raw newlines inside strings, as real models write them, are accepted
        data = json.loads(fenced.group(1) if fenced else text, strict=False)
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
        log.warning("the outline has %d sections; keeping the first %d (--max-sections)",
                    len(sections), max_sections)
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


def make_outline(ctx: RunContext, understanding: str, max_sections: int) -> Outline:
    """Ask for the outline; on an invalid answer ask once more with the error; else fail clearly."""
    llm = ctx.llm
    mode = llm.capabilities().outline_mode()
    request = prompts.outline_request(ctx.prompt, understanding, max_sections)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": prompts.OUTLINE_SYSTEM},
        {"role": "user", "content": request},
    ]
    if mode == "text":
        messages[1]["content"] = f"{request}\n\n{prompts.outline_text_instruction()}"
    problem = ""
    for attempt in (1, 2):
        reply, mode = _ask(llm, messages, mode, request)
        try:
            outline = parse_outline(_outline_text(reply, mode), max_sections)
        except OutlineInvalid as exc:
            problem = str(exc)
            log.warning("outline attempt %d unusable: %s", attempt, problem)
            _ask_again(messages, reply, problem)
            continue
        return _existing_files_only(outline, ctx.repo)
    raise OutlineError(f"the model did not return a usable outline after 2 attempts ({problem}); "
                       "try another --model")


def _ask(llm: LLMClient, messages: list[dict[str, Any]], mode: OutlineMode,
         request: str) -> tuple[dict[str, Any], OutlineMode]:
    """One outline call in ``mode``, falling back to the next form when the server refuses
    this one; returns the reply and the form that answered."""
    while True:
        try:
            if mode == "json_schema":
                reply, _ = llm.chat(messages, response_format=RESPONSE_FORMAT)
            elif mode == "tool":
                reply, _ = llm.chat(messages, tools=[prompts.OUTLINE_TOOL_SCHEMA],
                                    tool_choice=_FORCED_TOOL)
            else:
                reply, _ = llm.chat(messages)
            return reply, mode
        except RequestRejectedError as exc:
            if mode == "text" or exc.status_code not in _REFUSED_FORM or len(messages) > 2:
                raise
            log.warning("the server refused the outline as %s (%s); asking for it as %s",
                        mode, exc.status_code, _NEXT_MODE[mode])
            mode = _NEXT_MODE[mode]
            if mode == "text":
                messages[1] = {"role": "user",
                               "content": f"{request}\n\n{prompts.outline_text_instruction()}"}


def _outline_text(reply: dict[str, Any], mode: OutlineMode) -> str | None:
    """The outline JSON: the report_outline call's arguments in the tool form (a model that
    answered in text instead is read as text), else the answer's text."""
    if mode == "tool":
        for call in reply.get("tool_calls") or []:
            function = call.get("function") or {}
            if function.get("name") == prompts.OUTLINE_NAME:
                arguments = function.get("arguments")
                return arguments if isinstance(arguments, str) else None
    content = reply.get("content")
    return content if isinstance(content, str) else None


def _ask_again(messages: list[dict[str, Any]], reply: dict[str, Any], problem: str) -> None:
    """The unusable answer, an answer to each of its tool calls (the history must have them),
    and the problem."""
    messages.append(assistant_message(reply))
    for index, call in enumerate(reply.get("tool_calls") or []):
        call["id"] = call.get("id") or f"call_outline_{index}"
        messages.append({"role": "tool", "tool_call_id": call["id"],
                         "content": f"Error: {problem}"})
    messages.append({"role": "user", "content": (
        f"That outline is not usable: {problem}. Answer again with only a JSON object "
        "matching the schema.")})


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
