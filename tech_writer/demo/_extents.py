"""Whole definitions from ``get_symbols``: a class cited over its full extent, with all its methods.

A section reads the first lines of a file; a class (Flask's ``Flask``, rich's ``Console``) may run
far past them or start after them. ``get_symbols`` reports every definition's line range and its
methods, so the demo model cites a class from its first line to its last, names its methods with
"and N more" when it shows only some, and knows the large definitions it never read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ._code_common import name_list, shorten
from ._conversation import Conversation, FileView
from ._fact import Fact

__all__ = ["Definition", "definitions", "unread_facts", "whole_type"]

_HEADER = re.compile(r"^(?P<path>.+?): \d+ symbols? \(")
_LINE = re.compile(r"^(\d+)-(\d+)\t( *)(.*)$")
_NAME = re.compile(r"\b(?:class|def|function|func|fn|struct|interface|trait|enum|type)\s+"
                   r"(?:\([^)]*\)\s*)?([A-Za-z_$][\w$]*)")
_TYPE_WORDS = ("class ", "struct ", "interface ", "trait ", "enum ", "type ")
_METHODS_SHOWN = 5
_UNREAD_MIN_LINES = 20  # an unread definition shorter than this is not worth a bullet


@dataclass(frozen=True)
class Definition:
    name: str
    signature: str
    start: int
    end: int
    methods: tuple[str, ...]  # the public methods, in source order

    @property
    def is_type(self) -> bool:
        return self.signature.lstrip().startswith(_TYPE_WORDS)


def definitions(conv: Conversation) -> dict[str, list[Definition]]:
    """path -> its top-level definitions, from every successful get_symbols result."""
    found: dict[str, list[Definition]] = {}
    for call in conv.calls_to("get_symbols"):
        lines = (call.result or "").splitlines()
        header = _HEADER.match(lines[0]) if lines and not call.failed else None
        if header is None:
            continue
        top: list[tuple[int, int, str, list[str]]] = []
        for line in lines[1:]:
            match = _LINE.match(line)
            name = _NAME.search(match[4]) if match else None
            if match is None or name is None:
                continue
            if not match[3]:
                top.append((int(match[1]), int(match[2]), match[4].strip(), [name[1]]))
            elif len(match[3]) == 2 and top and not name[1].startswith("_"):
                top[-1][3].append(name[1])
        found[header["path"].removeprefix("./")] = [
            Definition(names[0], signature, start, end, tuple(dict.fromkeys(names[1:])))
            for start, end, signature, names in top]
    return found


def whole_type(fact: Fact, known: list[Definition]) -> Fact:
    """A class fact over the class's whole extent, naming its methods as get_symbols lists them."""
    match = next((d for d in known if d.start == fact.start and d.is_type), None)
    if fact.kind != "type" or match is None or match.end < fact.end:
        return fact
    head = fact.sentence.split(" Its methods include ", 1)[0].rstrip(".")
    head = head if head.endswith((".", "!", "?")) else head + "."
    methods = f" Its methods include {name_list(match.methods, _METHODS_SHOWN)}." if (
        match.methods) else ""
    return replace(fact, end=match.end, sentence=head + methods,
                   names=(match.name, *match.methods[:_METHODS_SHOWN]))


def unread_facts(view: FileView, known: list[Definition]) -> list[Fact]:
    """Facts for the large public definitions that start past the lines read."""
    seen = max(view.lines, default=0)
    facts = []
    for found in known:
        if found.start <= seen or found.name.startswith("_") or (
                found.end - found.start + 1 < _UNREAD_MIN_LINES):
            continue
        size = found.end - found.start + 1
        title = f"`{shorten(found.signature)}`"
        sentence = f"{title} in `{view.path}` runs {size} lines."
        if found.methods:
            sentence += f" Its methods include {name_list(found.methods, _METHODS_SHOWN)}."
        kind = "type" if found.is_type else "function"
        facts.append(Fact(view.path, found.start, found.end, sentence, 5 if found.is_type else 4,
                          (found.name, *found.methods[:_METHODS_SHOWN]), kind))
    return facts
