"""The outline built without the model, when every outline form failed: the exploration is kept.

A small model (SmolLM2-135M) may explore for minutes, then never write valid outline JSON. The
exploration was paid for, in money or in time; failing there throws it away. This outline is made
from what the user asked and what the exploration learned:

* the sections are the prompt's own aspects: its bullets (``- how to install ...``), else its
  ``##`` headings, else one section on the whole request;
* the files the exploration read are shared among them by what it learned: each file goes to
  the aspect whose words its notes (the exploration's lines naming the file) and its path share
  most, and every aspect gets a file while any is left.

:func:`fallback_outline` is deterministic and makes no call; the run says it used it, on stderr
and in the report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath

from tech_writer.pipeline.aspects import HEADING, prompt_aspects
from tech_writer.pipeline.outline import Outline, SectionSpec

__all__ = ["FALLBACK_NOTE", "fallback_outline"]

FALLBACK_NOTE = ("The model did not return a usable outline, so this report follows an outline "
                 "built from the prompt's own aspects and the files the exploration read.")
_FILES_PER_SECTION = 4
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]{2,}")
_STOPWORDS = frozenset(
    "the and for with that this from into are was its their them they how what where which when "
    "who why does each about over under one two its your you can may must should will would all "
    "any some other than then there these those file files code repository project report "
    "write cite lines line name".split())
# Words a file's name stands for, beyond the words of its path: a README says what the project is
# and how to install it; a manifest names dependencies and how it is built.
_NAME_WORDS: dict[str, str] = {
    "readme": "overview purpose introduction install usage getting started what",
    "pyproject": "install build dependencies packaging configuration",
    "package": "install build dependencies packaging scripts",
    "setup": "install build dependencies packaging",
    "cargo": "install build dependencies packaging",
    "main": "entry start run command flow",
    "cli": "entry command run flow usage",
    "__main__": "entry start run command",
    "test": "test testing conventions",
    "conftest": "test testing conventions",
    "config": "configuration settings",
    "settings": "configuration settings",
}


def _report_title(prompt: str) -> str:
    for line in prompt.splitlines():
        match = HEADING.match(line)
        if match and len(match[1]) == 1:
            return match[2]
    return "Report"


def _words(text: str) -> set[str]:
    found = set()
    for word in _WORD.findall(text.replace("_", " ")):
        lowered = word.lower()
        if lowered not in _STOPWORDS:
            found.add(lowered.rstrip("s") if len(lowered) > 4 else lowered)
    return found


def _file_words(path: str, understanding: str) -> set[str]:
    """What the exploration learned of ``path``: its notes' lines naming it, its path, and what
    its kind of name stands for."""
    pure = PurePosixPath(path)
    notes = " ".join(line for line in understanding.splitlines() if path in line)
    named = " ".join(words for stem, words in _NAME_WORDS.items()
                     if pure.stem.lower().startswith(stem))
    return _words(f"{notes} {' '.join(pure.parts)} {named}")


def _share(files: Sequence[str], aspect_words: list[set[str]],
           understanding: str) -> list[list[str]]:
    """Files for each aspect: each file to the aspect it shares most words with (ties: the one
    with fewer files), then each aspect left empty takes, from a section with more than one, the
    file that loses least by moving (ties: the less important, later file)."""
    chosen: list[list[str]] = [[] for _ in aspect_words]
    scores = {path: [len(_file_words(path, understanding) & words) for words in aspect_words]
              for path in files}
    for path in files:
        best = max(range(len(aspect_words)),
                   key=lambda i: (scores[path][i], -len(chosen[i]), -i))
        if len(chosen[best]) < _FILES_PER_SECTION:
            chosen[best].append(path)
    while True:  # an empty aspect takes the file that loses least by moving, while any can
        moves = [(scores[p][index] - scores[p][donor], files.index(p), p, donor, index)
                 for index, own in enumerate(chosen) if not own
                 for donor, paths in enumerate(chosen) if len(paths) > 1 for p in paths]
        if not moves:
            break
        _, _, path, donor, index = max(moves)
        chosen[donor].remove(path)
        chosen[index].append(path)
    return chosen


def fallback_outline(prompt: str, understanding: str, files_read: Iterable[str],
                     max_sections: int) -> Outline:
    """An outline from the prompt's aspects, with the files read shared among them; at most
    ``max_sections`` sections (the first aspects)."""
    aspects = prompt_aspects(prompt) or [("Overview", " ".join(prompt.split())[:300])]
    aspects = aspects[:max(1, max_sections)]
    files = list(dict.fromkeys(files_read))
    words = [_words(f"{title} {focus}") for title, focus in aspects]
    shared = _share(files, words, understanding)
    sections = tuple(SectionSpec(title, focus, tuple(paths))
                     for (title, focus), paths in zip(aspects, shared, strict=True))
    return Outline(_report_title(prompt), sections)
