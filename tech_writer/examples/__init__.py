"""The example prompts shipped inside tech_writer, usable by name: ``--prompt architecture``.

``--prompt`` takes a file; when no such file exists, a bundled prompt's name (``architecture``,
``onboarding``, ``api-reference``, with or without ``.md``) names the one shipped here; ``-``
reads the prompt from standard input.

Imports: :mod:`tech_writer.errors` and :mod:`tech_writer.repository.files` (the one reader of a
text file the user names) only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from tech_writer.errors import UsageError
from tech_writer.repository.files import read_user_text

__all__ = ["NAMES", "STDIN", "bundled_prompt", "prompt_path", "read_prompt"]

NAMES = ("architecture", "onboarding", "api-reference")
STDIN = "-"
_HERE = Path(__file__).resolve().parent


def bundled_prompt(name: str) -> Path | None:
    """The shipped prompt called ``name`` (``architecture`` or ``architecture.md``), if any."""
    stem = name.removesuffix(".md")
    return _HERE / f"{stem}.md" if stem in NAMES else None


def prompt_path(spec: str) -> Path:
    """The user's file when it exists, else the bundled prompt of that name; a usage error
    naming both choices when neither is."""
    path = Path(spec)
    if path.is_file():
        return path
    bundled = bundled_prompt(spec)
    if bundled is not None and not path.exists():
        return bundled
    if path.exists():
        return path  # a directory, say: the reader says what is wrong with it
    raise UsageError(f"--prompt {spec}: no such file; name a file, '-' for standard input, or a "
                     f"bundled prompt: {', '.join(NAMES)}")


def read_prompt(spec: str, stdin: TextIO) -> str:
    """The prompt's text, from a file, a bundled prompt or (``-``) standard input; a one-line
    usage error when there is nothing to read or it is empty."""
    if spec == STDIN:
        if stdin.isatty():
            raise UsageError("--prompt -: standard input is a terminal; pipe the prompt in "
                             "(echo '...' | tech-writer --prompt - ...)")
        text, where = stdin.read(), "standard input"
    else:
        text, where = read_user_text("--prompt", prompt_path(spec), "a text prompt"), "the file"
    if not text.strip():
        raise UsageError(f"--prompt {spec}: {where} is empty; write what report you want")
    return text
