"""Citable facts read off the lines the demo model has seen.

A :class:`Fact` is one sentence about a file plus the line range that backs it. Ranges always lie
inside one contiguous run of seen lines, so a citation built from a fact is valid whenever the
file on disk still matches what was read. Extraction is regex-based and deliberately shallow:
headings and intros for documents, names and versions for manifests, definitions with their
docstrings / doc comments for source code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from tech_writer.repository.filekinds import file_role, is_readme, language_of

from ._code_facts import code_facts
from ._conversation import FileView
from ._fact import Fact, sentence_of
from ._manifest_facts import MANIFEST_READERS

__all__ = ["Fact", "extract_facts", "project_identity"]

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_RST_UNDERLINE = re.compile(r"^([=\-~^*#+])\1{2,}\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_RST_DIRECTIVE = re.compile(r"^\s*\.\. \S+::")  # ".. code-block:: bash" opens a code block too
_NOISE_LINE = re.compile(r"^\s*(\[!\[|!\[|<|\||---|\*\*\*|\[\S+\]:)")  # badges, html, tables, rules
_BLOCK_CAP = 15
_KEY_HEADINGS = (
    "install",
    "usage",
    "quick",
    "getting started",
    "config",
    "architecture",
    "overview",
)


def extract_facts(view: FileView) -> list[Fact]:
    """Facts for one file, in line order; a generic opening-lines fact when nothing else fits."""
    role = file_role(view.path)
    name = PurePosixPath(view.path).name
    if role in ("readme", "docs") or name.lower().endswith((".md", ".rst")):
        facts = _document_facts(view)
    elif name in MANIFEST_READERS:
        facts = MANIFEST_READERS[name](view)
    elif language_of(view.path) is not None:
        facts = code_facts(view, language_of(view.path) or "")
    else:
        facts = []
    if not facts:
        facts = _opening_fact(view)
    return sorted(facts, key=lambda fact: (fact.start, fact.end))


# --- documents --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Heading:
    line: int
    level: int
    title: str


def _headings(view: FileView) -> list[_Heading]:
    found: list[_Heading] = []
    in_fence = False
    for number in sorted(view.lines):
        text = view.lines[number]
        if _FENCE.match(text):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        markdown = _MD_HEADING.match(text)
        if markdown:
            found.append(_Heading(number, len(markdown[1]), _strip_markup(markdown[2])))
            continue
        below = view.lines.get(number + 1, "")
        if text.strip() and _RST_UNDERLINE.match(below) and len(below.strip()) >= len(text.strip()):
            level = 1 if below.strip()[0] == "=" else 2
            found.append(_Heading(number, level, _strip_markup(text.strip())))
    return found


def _strip_markup(text: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images keep their label
    return text.replace("`", "").replace("*", "").strip()


def _first_block(view: FileView, after: int, stop: int) -> tuple[str, int, str] | None:
    """The first paragraph or code line after a heading: (kind, last line, text)."""
    paragraph: list[str] = []
    last = after
    number = after + 1
    while number in view.lines and number < stop and number - after <= _BLOCK_CAP:
        text = view.lines[number]
        if _FENCE.match(text) or _RST_DIRECTIVE.match(text):
            command_line, command = _command_after(view, number)
            if paragraph and paragraph[-1].endswith(":") and command:
                # "Requests is available on PyPI:" and the command it introduces: one claim.
                lead = sentence_of(_strip_markup(" ".join(paragraph))).rstrip(".:")
                return "prose", command_line, f"{lead}: `{command}`."
            if paragraph:
                break
            return ("code", command_line, command) if command else None
        if not text.strip() or _NOISE_LINE.match(text) or _RST_UNDERLINE.match(text):
            if paragraph and paragraph[-1].endswith(":"):  # it may introduce a code block
                following = number + 1
                while following in view.lines and not view.lines[following].strip():
                    following += 1
                if _FENCE.match(view.lines.get(following, "")):
                    number = following
                    continue
            if paragraph:
                break
        else:
            paragraph.append(text.strip())
            last = number
        number += 1
    if not paragraph:
        return None
    return "prose", last, sentence_of(_strip_markup(" ".join(paragraph)))


def _command_after(view: FileView, fence: int) -> tuple[int, str]:
    """The first line of the code block opened at ``fence`` (a shell prompt's ``$`` dropped)."""
    command_line = fence + 1
    while command_line in view.lines and not view.lines[command_line].strip():
        command_line += 1
    command = view.lines.get(command_line, "").strip()
    if not command or _FENCE.match(command) or _RST_DIRECTIVE.match(command):
        return command_line, ""
    return command_line, command.removeprefix("$ ").removeprefix("> ")


def _document_facts(view: FileView) -> list[Fact]:
    headings = _headings(view)
    facts: list[Fact] = []
    for index, heading in enumerate(headings):
        stop = (
            headings[index + 1].line if index + 1 < len(headings) else heading.line + _BLOCK_CAP + 1
        )
        block = _first_block(view, heading.line, stop)
        is_title = index == 0 and heading.level == 1
        if block is None:
            if is_title:
                sentence = f"`{view.path}` is titled **{heading.title}**."
                facts.append(
                    Fact(
                        view.path,
                        heading.line,
                        heading.line,
                        sentence,
                        5,
                        (heading.title,),
                        "title",
                    )
                )
            continue
        kind, last, text = block
        if is_title and kind == "prose":
            sentence = f"`{view.path}` introduces **{heading.title}**: {text}"
            weight = 7
        elif kind == "code":
            sentence = f'`{view.path}`\'s "{heading.title}" section shows the command `{text}`.'
            weight = 3
        else:
            sentence = f'`{view.path}`\'s "{heading.title}" section says: {text}'
            weight = 3
        if any(key in heading.title.lower() for key in _KEY_HEADINGS):
            weight += 2
        kind = "title" if is_title else "heading"
        facts.append(Fact(view.path, heading.line, last, sentence, weight, (heading.title,), kind))
    if not headings:
        block = _first_block(view, 0, _BLOCK_CAP + 1)
        if block is not None and block[0] == "prose":
            sentence = f"`{view.path}` opens with: {block[2]}"
            facts.append(Fact(view.path, 1, block[1], sentence, 4, (), "intro"))
    return facts


# --- anything else ----------------------------------------------------------------------------
def _opening_fact(view: FileView) -> list[Fact]:
    first = next((n for n in sorted(view.lines) if view.lines[n].strip()), None)
    if first is None:
        return []
    text = view.lines[first].strip()
    if len(text) > 100:
        text = text[:97] + "..."
    text = text.replace("`", "'")
    return [Fact(view.path, first, first, f"`{view.path}` begins with `{text}`.", 1, (), "opening")]


# --- the project as a whole -------------------------------------------------------------------
def project_identity(views: Iterable[FileView]) -> tuple[str | None, str | None]:
    """(name, one-sentence description) from a README title/intro, else from a manifest."""
    name: str | None = None
    description: str | None = None
    for view in views:
        for fact in extract_facts(view):
            described = fact.sentence.split(": ", 1)[1] if ": " in fact.sentence else None
            if fact.kind == "title" and is_readme(view.path) and fact.names:
                return fact.names[0], described
            if fact.kind == "identity" and name is None and fact.names:
                name, description = fact.names[0], described
    return name, description
