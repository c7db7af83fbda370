"""Is a model's answer prose at all? An empty answer, or a tool call written out as text, is not.

Small models that drive tools poorly sometimes answer with the call they meant to make instead of
making it: ``functions.get_structure:`` (llama-cpp-python's ``chatml-function-calling`` format),
``<tool_call>{"name": ...}</tool_call>`` (Qwen's own format, unparsed), or a bare JSON object
with a ``name`` and ``arguments``. Such text is never a section and never an understanding of the
repository: :func:`not_prose` says why, so the caller can ask again or read for itself.
"""

from __future__ import annotations

import json
import re

__all__ = ["looks_like_tool_call", "not_prose"]

_FUNCTIONS_PREFIX = re.compile(r"^\s*(?:functions|tools?)\.[A-Za-z_]\w*\s*[:(]", re.MULTILINE)
_TOOL_CALL_TAG = re.compile(r"</?(?:tool_call|function_call|tools?)>|<\|(?:tool|python)[^|]*\|>")
_FENCE = re.compile(r"^\s*```\w*\s*|\s*```\s*$")
_LETTER = re.compile(r"[A-Za-z]")
_WORDS = re.compile(r"[A-Za-z]{2,}")
_BARE_CALL = re.compile(r"\s*(?:list_files|read_file|search_text|get_symbols|get_imports|"
                        r"get_structure|finish_exploration|plan_exploration)\s*(?:[:(]|$)")


def looks_like_tool_call(text: str) -> bool:
    """The text is a tool call in disguise: it opens with one, or is little else."""
    stripped = _FENCE.sub("", text.strip()).strip()
    if not stripped:
        return False
    if _TOOL_CALL_TAG.search(stripped):
        return True
    head = stripped[:400]
    if _FUNCTIONS_PREFIX.match(head):
        return True
    if stripped[0] in "{[" and _is_call_json(stripped):
        return True
    # "read_file(path='a.py')" or "get_structure: {}": a tool's name first, hardly any prose.
    return _BARE_CALL.match(head) is not None and len(_WORDS.findall(stripped)) <= 12


def _is_call_json(text: str) -> bool:
    try:
        data = json.loads(text)
    except ValueError:
        return False
    items = data if isinstance(data, list) else [data]
    return bool(items) and all(
        isinstance(item, dict) and ("name" in item or "function" in item)
        and ({"arguments", "parameters", "function"} & item.keys()) for item in items)


def not_prose(text: str | None) -> str | None:
    """Why ``text`` is not prose (``"empty answer"``, ``"a tool call written as text"``,
    ``"no sentences"``), or None when it is."""
    if text is None or not text.strip():
        return "empty answer"
    if looks_like_tool_call(text):
        return "a tool call written as text"
    if not _LETTER.search(text):
        return "no sentences"
    return None
