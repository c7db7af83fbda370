"""``demo/sloppy``: the demo model made deliberately worse, for comparisons that must tell models apart.

It is :class:`~tech_writer.demo.model.DemoModel` with its finished sections degraded in three ways
an evaluation can see (exploration and outline are left alone, so both models see the same files):

- every citation is moved :data:`SHIFT` lines away from what supports the claim, staying inside
  the file (so it still verifies on disk: only reading the cited lines shows it is wrong);
- every second bullet names a helper that does not exist (``<Stem>Registry.dispatch()``, made
  from the cited file's name);
- the last bullet loses its citation.

A layer over whatever the demo model writes, so it keeps up with improvements of the model.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from ._conversation import Conversation, FileView
from ._explore import FINISH_TOOL
from ._types import ModelTurn

__all__ = ["SHIFT", "SloppyModel", "degrade_section"]

SHIFT = 40
_CITATION = re.compile(r"\[(?P<path>[^\[\]\s:]+):(?P<start>\d+)(?:-(?P<end>\d+))?\]")
_BULLET = re.compile(r"^(?P<head>\s*[-*+]\s+.*?)(?P<cite>\s*\[[^\[\]\s:]+:\d+(?:-\d+)?\])?\s*$")


class SloppyModel:
    """Wraps a scripted model (normally a DemoModel); degrades the sections it writes."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def respond(self, request: dict[str, Any]) -> ModelTurn:
        turn: ModelTurn = self.inner.respond(request)
        conv = Conversation(request)
        is_section = bool(conv.tools) and FINISH_TOOL not in conv.tools
        if not is_section or turn.tool_calls or not turn.content:
            return turn
        return ModelTurn(content=degrade_section(turn.content, conv.file_views()),
                         finish_reason=turn.finish_reason)


def degrade_section(markdown: str, views: dict[str, FileView]) -> str:
    lines = markdown.split("\n")
    bullets = [i for i, line in enumerate(lines) if _BULLET.match(line) and _CITATION.search(line)]
    for count, index in enumerate(bullets):
        line = _CITATION.sub(lambda m: _shifted(m, views), lines[index])
        if count % 2 == 1:
            line = _with_invented_helper(line)
        if count == len(bullets) - 1 and len(bullets) > 1:
            line = _CITATION.sub("", line).rstrip()
        lines[index] = line
    return "\n".join(lines)


def _shifted(match: re.Match[str], views: dict[str, FileView]) -> str:
    path, start = match["path"], int(match["start"])
    end = int(match["end"] or start)
    view = views.get(path) or views.get(path.removeprefix("./"))
    total = view.total_lines if view else 0
    if end + SHIFT <= total:
        start, end = start + SHIFT, end + SHIFT
    elif start - SHIFT >= 1:
        start, end = start - SHIFT, end - SHIFT
    return f"[{path}:{start}-{end}]"


def _with_invented_helper(line: str) -> str:
    match = _CITATION.search(line)
    if match is None:
        return line
    stem = posixpath.splitext(posixpath.basename(match["path"]))[0].strip("_.") or "core"
    helper = "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", stem) if part)
    clause = f", registered through `{helper}Registry.dispatch()`"
    head = line[: match.start()].rstrip()
    if head.endswith("."):
        head = head[:-1]
    return f"{head}{clause}. {line[match.start():]}"
