"""Facts about package manifests: pyproject.toml, Cargo.toml, package.json, go.mod.

Line-based on purpose: the model only has the numbered lines it was shown, and every fact must
cite a range inside them, so no TOML/JSON parser (which would need the whole file) is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from ._conversation import FileView
from ._fact import Fact, sentence_of

__all__ = ["MANIFEST_READERS"]

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


MANIFEST_READERS: dict[str, Callable[[FileView], list[Fact]]] = {
    "pyproject.toml": _pyproject_facts,
    "Cargo.toml": _cargo_facts,
    "package.json": _package_json_facts,
    "go.mod": _go_mod_facts,
}
