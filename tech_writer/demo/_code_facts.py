"""Facts about source files, by language: Python by indentation, the rest by braces."""

from __future__ import annotations

from ._brace_facts import brace_facts
from ._conversation import FileView
from ._fact import Fact
from ._python_facts import python_facts

__all__ = ["code_facts", "defined_names"]


def code_facts(view: FileView, language: str) -> list[Fact]:
    if language == "python":
        return python_facts(view)
    return brace_facts(view, language)


def defined_names(view: FileView, language: str) -> list[str]:
    """Names of the top-level definitions seen in a source file, public ones first."""
    facts = [
        fact
        for fact in code_facts(view, language)
        if fact.kind in ("function", "type") and fact.names
    ]
    public = [fact.names[0] for fact in facts if fact.weight >= 4]
    return public + [fact.names[0] for fact in facts if fact.weight < 4]
