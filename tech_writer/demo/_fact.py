"""The unit the demo model writes about: one sentence backed by a line range."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["TOPICS", "Fact", "keywords", "sentence_of", "topics_of_text"]

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]{2,}")
_STOPWORDS = frozenset(
    [
        "the", "and", "for", "with", "that", "this", "from", "into", "are", "was", "were", "will",
        "its", "their", "them", "they", "how", "what", "where", "which", "when", "who", "why", "does",
        "file", "files", "code", "section", "sections", "each", "about", "over", "under", "key", "read",
        "first", "make", "new", "you", "your", "use", "used", "using", "can", "may"
    ]
)
_SENTENCE_CAP = 180

# Broad themes a report section can be about, each recognised by word stems in its title/focus.
TOPICS: dict[str, tuple[str, ...]] = {
    "purpose": ("purpose", "overview", "what", "problem", "introduc", "about"),
    "setup": (
        "install",
        "setting",
        "setup",
        "set up",
        "running",
        "build",
        "depend",
        "packag",
        "configur",
        "command",
        "usage",
    ),
    "structure": (
        "component",
        "structure",
        "module",
        "lives",
        "core",
        "class",
        "organis",
        "organiz",
        "public",
        "export",
        "layout",
        "interface",
    ),
    "flow": ("flow", "workflow", "entry", "execution", "starts", "travels", "request", "trigger"),
}
_SETUP_HEADINGS = (
    "install",
    "usage",
    "setup",
    "set-up",
    "quick",
    "config",
    "build",
    "getting started",
)


def keywords(text: str) -> frozenset[str]:
    """Lower-case words of 3+ letters (identifiers split on underscores), minus stopwords."""
    words = set()
    for word in _WORD.findall(text.replace("_", " ")):
        lowered = word.lower()
        if lowered not in _STOPWORDS:
            words.add(lowered)
            words.add(lowered.rstrip("s"))  # crude plural folding: "tools" meets "tool"
    return frozenset(words)


def sentence_of(text: str) -> str:
    """The first sentence of ``text``, capped in length, ending with a full stop."""
    # Square brackets in quoted prose could read as citations ("[a.py:1-2]"); soften them.
    text = " ".join(text.split()).replace("[", "(").replace("]", ")")
    match = re.search(r"(?<=[.!?])\s", text)
    first = text[: match.start()] if match else text
    if len(first) > _SENTENCE_CAP:
        first = first[: _SENTENCE_CAP - 3].rsplit(" ", 1)[0] + "..."
    first = first.rstrip(":;, -")
    if first and first[-1] not in ".!?":
        first += "."
    return first


@dataclass(frozen=True)
class Fact:
    path: str
    start: int
    end: int
    sentence: str  # markdown, without its citation
    weight: int  # how central the fact is to understanding the file, 1 (trivia) .. 7
    names: tuple[str, ...] = ()  # identifiers or titles the fact is about
    # What the fact is: "function", "type", "module-doc", "exports", "imports", "entry-point",
    # "title", "heading", "intro", "identity", "dependencies", "commands", "opening".
    kind: str = "other"

    @property
    def citation(self) -> str:
        return f"[{self.path}:{self.start}-{self.end}]"

    @property
    def topics(self) -> frozenset[str]:
        """The themes of TOPICS this fact speaks to."""
        found = set()
        if self.kind in ("title", "intro", "module-doc", "identity"):
            found.add("purpose")
        heading = self.names[0].lower() if self.names else ""
        if self.kind in ("dependencies", "commands", "identity") or (
            self.kind == "heading" and any(word in heading for word in _SETUP_HEADINGS)
        ):
            found.add("setup")
        if self.kind in ("type", "function", "exports", "module-doc"):
            found.add("structure")
        if self.kind in ("entry-point", "commands") or (
            self.kind == "function" and " calls " in self.sentence
        ):
            found.add("flow")
        return frozenset(found)

    @property
    def words(self) -> frozenset[str]:
        return keywords(" ".join((self.path, self.sentence, *self.names)))


def topics_of_text(text: str) -> frozenset[str]:
    lowered = text.lower()
    return frozenset(
        topic for topic, stems in TOPICS.items() if any(stem in lowered for stem in stems)
    )
