"""Markdown headings of a section's text: which lines are headings, and at what level.

A section is one ``##`` of the report: its own headings must be ``###`` or deeper, or the report's
outline breaks (a small model writing ``## Main Components`` inside another section adds a
section nobody planned). A ``#`` inside a fenced code block is code, not a heading.
"""

from __future__ import annotations

import re

__all__ = ["SECTION_SUBHEADING", "demote_headings", "heading_levels"]

SECTION_SUBHEADING = 3  # the report is `#`, its sections `##`: a section's own headings start here
_HEADING = re.compile(r"( {0,3})(#{1,6})(?=[ \t]|$)")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


def heading_levels(lines: list[str]) -> list[int]:
    """Each line's heading level (0: not a heading)."""
    levels, fence = [], ""
    for line in lines:
        marker = _FENCE.match(line)
        if marker and (not fence or marker.group(1).startswith(fence)):
            fence = "" if fence else marker.group(1)
            levels.append(0)
            continue
        heading = None if fence else _HEADING.match(line)
        levels.append(len(heading.group(2)) if heading else 0)
    return levels


def demote_headings(text: str, top: int = SECTION_SUBHEADING) -> str:
    """``text`` with every heading above level ``top`` set at ``top`` (``##`` → ``###``)."""
    lines = text.split("\n")
    for index, level in enumerate(heading_levels(lines)):
        if 0 < level < top:
            lines[index] = _HEADING.sub(lambda m: m.group(1) + "#" * top, lines[index], count=1)
    return "\n".join(lines)
