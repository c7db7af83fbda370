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

from ._code_facts import code_facts
from ._conversation import FileView
from ._fact import Fact, sentence_of
from ._files import file_role, is_readme, language_of

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
    elif name in _MANIFEST_READERS:
        facts = _MANIFEST_READERS[name](view)
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
            if paragraph:
                break
            command_line = number + 1
            while command_line in view.lines and not view.lines[command_line].strip():
                command_line += 1
            command = view.lines.get(command_line, "").strip()
            if command and not _FENCE.match(command) and not _RST_DIRECTIVE.match(command):
                return "code", command_line, command
            return None
        if not text.strip() or _NOISE_LINE.match(text) or _RST_UNDERLINE.match(text):
            if paragraph:
                break
        else:
            paragraph.append(text.strip())
            last = number
        number += 1
    if not paragraph:
        return None
    return "prose", last, sentence_of(_strip_markup(" ".join(paragraph)))


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


# --- manifests --------------------------------------------------------------------------------
_TOML_STRING = re.compile(r'^\s*([\w-]+)\s*=\s*"([^"]*)"')
_TOML_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_QUOTED = re.compile(r'"([^"]+)"')
_JSON_STRING = re.compile(r'^\s*"([\w@/.-]+)"\s*:\s*"([^"]*)"')
_JSON_OBJECT_START = re.compile(r'^\s*"(\w+)"\s*:\s*\{\s*$')
_REQUIREMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def _toml_sections(view: FileView) -> list[tuple[str, int, list[int]]]:
    """(section name, header line, body line numbers) for a TOML file; '' is the preamble."""
    sections: list[tuple[str, int, list[int]]] = [("", 0, [])]
    for number in sorted(view.lines):
        header = _TOML_SECTION.match(view.lines[number])
        if header:
            sections.append((header[1].strip(), number, []))
        else:
            sections[-1][2].append(number)
    return sections


def _toml_identity(view: FileView, section_names: Iterable[str]) -> Fact | None:
    wanted = set(section_names)
    for section, _header, body in _toml_sections(view):
        if section not in wanted:
            continue
        values = {}
        for number in body:
            match = _TOML_STRING.match(view.lines[number])
            if match and match[1] in ("name", "description", "version") and match[1] not in values:
                values[match[1]] = (number, match[2])
        if "name" not in values:
            continue
        lines = [number for number, _ in values.values()]
        start, end = min(lines), max(lines)
        if view.run_end(start) < end:
            end = start
        described = f": {sentence_of(values['description'][1])}" if "description" in values else "."
        version = f" (version {values['version'][1]})" if "version" in values else ""
        sentence = f"`{view.path}` names the project `{values['name'][1]}`{version}{described}"
        return Fact(view.path, start, end, sentence, 6, (values["name"][1],), "identity")
    return None


def _toml_list_block(view: FileView, key: str) -> tuple[int, int, list[str]] | None:
    """``key = [ "...", ... ]``: (first line, last line, quoted items)."""
    for number in sorted(view.lines):
        if not re.match(rf"^\s*{re.escape(key)}\s*=\s*\[", view.lines[number]):
            continue
        items: list[str] = []
        last = number
        while last in view.lines:
            text = view.lines[last]
            items += _QUOTED.findall(text.split("=", 1)[1] if last == number else text)
            if "]" in text:
                return number, last, items
            last += 1
        return None
    return None


def _requirement_names(items: Iterable[str]) -> list[str]:
    names = []
    for item in items:
        match = _REQUIREMENT_NAME.match(item.strip())
        if match:
            names.append(match[0])
    return names


def _name_list(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(f"`{name}`" for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _pyproject_facts(view: FileView) -> list[Fact]:
    facts: list[Fact] = []
    identity = _toml_identity(view, ("project", "tool.poetry"))
    if identity:
        facts.append(identity)
    dependencies = _toml_list_block(view, "dependencies")
    if dependencies and dependencies[2]:
        names = _requirement_names(dependencies[2])
        sentence = f"`{view.path}` declares {len(names)} runtime dependencies: {_name_list(names)}."
        lines = dependencies[0], dependencies[1]
        facts.append(Fact(view.path, *lines, sentence, 4, tuple(names), "dependencies"))
    facts += _toml_entry_table(
        view, ("project.scripts", "tool.poetry.scripts"), "installs the command"
    )
    return facts


def _toml_entry_table(view: FileView, section_names: tuple[str, ...], verb: str) -> list[Fact]:
    for section, header, body in _toml_sections(view):
        if section not in section_names:
            continue
        entries = [(n, m) for n in body if (m := _TOML_STRING.match(view.lines[n]))]
        if not entries:
            continue
        end = entries[-1][0] if view.run_end(header) >= entries[-1][0] else header
        described = ", ".join(f"`{m[1]}` (→ `{m[2]}`)" for _, m in entries[:4])
        sentence = f"`{view.path}` {verb}{'s' if len(entries) > 1 else ''} {described}."
        names = tuple(m[1] for _, m in entries)
        return [Fact(view.path, header, end, sentence, 5, names, "commands")]
    return []


def _cargo_facts(view: FileView) -> list[Fact]:
    facts: list[Fact] = []
    identity = _toml_identity(view, ("package",))
    if identity:
        facts.append(identity)
    for section, header, body in _toml_sections(view):
        if section != "dependencies":
            continue
        names = [m[1] for n in body if (m := re.match(r"^\s*([\w-]+)\s*=", view.lines[n]))]
        if names:
            end = max(n for n in body if view.lines[n].strip())
            end = end if view.run_end(header) >= end else header
            sentence = f"`{view.path}` depends on {_name_list(names)}."
            facts.append(Fact(view.path, header, end, sentence, 4, tuple(names), "dependencies"))
    return facts


def _package_json_facts(view: FileView) -> list[Fact]:
    facts: list[Fact] = []
    values: dict[str, tuple[int, str]] = {}
    for number in sorted(view.lines):
        match = _JSON_STRING.match(view.lines[number])
        if match and match[1] in ("name", "description", "main") and match[1] not in values:
            values[match[1]] = (number, match[2])
    if "name" in values:
        start = values["name"][0]
        end = max((n for n, _ in values.values() if n <= view.run_end(start)), default=start)
        described = f": {sentence_of(values['description'][1])}" if "description" in values else "."
        sentence = f"`{view.path}` names the package `{values['name'][1]}`{described}"
        facts.append(Fact(view.path, start, end, sentence, 6, (values["name"][1],), "identity"))
    for number in sorted(view.lines):
        opening = _JSON_OBJECT_START.match(view.lines[number])
        if not opening or opening[1] not in ("scripts", "dependencies", "bin"):
            continue
        entries: list[str] = []
        last = number + 1
        while last in view.lines and "}" not in view.lines[last]:
            entry = _JSON_STRING.match(view.lines[last])
            if entry:
                entries.append(entry[1])
            last += 1
        if not entries or last not in view.lines:
            continue
        noun = {"scripts": "npm scripts", "dependencies": "dependencies", "bin": "commands"}[
            opening[1]
        ]
        sentence = f"`{view.path}` defines {len(entries)} {noun}: {_name_list(entries)}."
        kind = "dependencies" if opening[1] == "dependencies" else "commands"
        facts.append(Fact(view.path, number, last, sentence, 4, tuple(entries), kind))
    return facts


def _go_mod_facts(view: FileView) -> list[Fact]:
    facts: list[Fact] = []
    for number in sorted(view.lines):
        module = re.match(r"^module\s+(\S+)", view.lines[number])
        if module:
            sentence = f"`{view.path}` declares the Go module `{module[1]}`."
            facts.append(Fact(view.path, number, number, sentence, 6, (module[1],), "identity"))
        if re.match(r"^require\s*\(\s*$", view.lines[number]):
            names: list[str] = []
            last = number + 1
            while last in view.lines and view.lines[last].strip() != ")":
                parts = view.lines[last].split()
                if parts and not parts[0].startswith("//"):
                    names.append(parts[0])
                last += 1
            if names and last in view.lines:
                sentence = f"`{view.path}` requires {_name_list(names)}."
                facts.append(
                    Fact(view.path, number, last, sentence, 4, tuple(names), "dependencies")
                )
    return facts


_MANIFEST_READERS = {
    "pyproject.toml": _pyproject_facts,
    "Cargo.toml": _cargo_facts,
    "package.json": _package_json_facts,
    "go.mod": _go_mod_facts,
}


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
