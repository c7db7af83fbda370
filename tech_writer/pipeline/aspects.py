"""What a prompt asks for, aspect by aspect: its bullets, else its sub-headings, else a short list.

The outline fallback makes its sections from them, and ``--max-sections`` below their number
says which it drops (the outline the model writes follows the same prompt).
"""

from __future__ import annotations

import re

__all__ = ["HEADING", "dropped_aspects", "prompt_aspects"]

_MAX_TITLE = 70
_LIST_ITEM_WORDS = 6  # longer "items" are prose, not a list of aspects
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.+?)\s*$")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def prompt_aspects(prompt: str) -> list[tuple[str, str]]:
    """(title, focus) for each aspect the prompt names: its bullets, else its second-level (and
    deeper) headings, else the short list after a colon in one of its sentences; empty when it
    names none."""
    bullets = [match[1].rstrip(";.") for match in map(_BULLET.match, prompt.splitlines()) if match]
    if bullets:
        return [(_title(text), text[:1].upper() + text[1:] + ".") for text in bullets]
    headings = [m[2] for m in map(HEADING.match, prompt.splitlines()) if m and len(m[1]) > 1]
    if headings:
        return [(_title(text), f"{text}.") for text in headings]
    return [(_title(item), item[:1].upper() + item[1:] + ".") for item in _colon_list(prompt)]


def _colon_list(prompt: str) -> list[str]:
    """The items of a sentence's list after a colon ("an overview: components, data flow,
    storage."), when it has two or more short ones."""
    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(prompt.split())):
        if ":" not in sentence:
            continue
        tail = sentence.split(":", 1)[1].strip().rstrip(".!?")
        items = [item.strip() for item in re.split(r",\s*(?:and\s+|or\s+)?|\s+and\s+", tail)
                 if item.strip()]
        if len(items) >= 2 and all(len(item.split()) <= _LIST_ITEM_WORDS for item in items):
            return items
    return []


def _title(text: str) -> str:
    """A heading from an aspect: parentheticals and everything after the first comma, colon or
    semicolon dropped, cut at a word, first letter capitalised."""
    title = re.sub(r"\s*\([^)]*\)", "", text)
    title = re.split(r"[,:;]", title, maxsplit=1)[0].strip() or text.strip()
    if len(title) > _MAX_TITLE:
        title = title[:_MAX_TITLE].rsplit(" ", 1)[0]
    return title[:1].upper() + title[1:]



def dropped_aspects(prompt: str, max_sections: int) -> str | None:
    """One line naming the aspects ``--max-sections`` leaves out, or None when all fit."""
    aspects = prompt_aspects(prompt)
    if len(aspects) <= max_sections:
        return None
    dropped = "; ".join(title for title, _ in aspects[max_sections:])
    return (f"the prompt asks for {len(aspects)} aspects and the report has room for "
            f"{max_sections} section{'s' * (max_sections != 1)} (--max-sections): it covers the "
            f"first and drops: {dropped}")
