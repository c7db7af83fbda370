"""The demo judge: a scripted evaluator that really reads what it is shown.

It answers the evaluation requests of ``tech-writer eval --judge`` (recognised by the name of
their JSON schema, :data:`JUDGE_SCHEMAS`) with verdicts computed from the text it is given:

- a (claim, cited lines) pair is *supported* when every identifier the claim puts in backticks
  occurs in the cited lines as a word and a fair share of its other words do too, *partial* when
  some do, *unsupported* when none do;
- a section's faithfulness (0–3) is the share of its backticked identifiers that its cited lines
  contain; completeness (0–3) the share of the prompt's key words the report covers.

The reasoning names what was found and what was not. The protocol (schema names and fields) is
the one :mod:`tech_writer.pipeline.judge` speaks; a test keeps the two in step.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._conversation import Conversation
from ._fact import keywords
from ._types import ModelTurn

__all__ = ["JUDGE_SCHEMAS", "is_judge_request", "judge_turn"]

CITATION_SCHEMA = "tech_writer_citation_verdicts"
FAITHFULNESS_SCHEMA = "tech_writer_faithfulness"
COMPLETENESS_SCHEMA = "tech_writer_completeness"
JUDGE_SCHEMAS = (CITATION_SCHEMA, FAITHFULNESS_SCHEMA, COMPLETENESS_SCHEMA)
_CODE = re.compile(r"`+([^`]+?)`+")
_CITATION = re.compile(r"\[[^\[\]\s:]+:\d+(?:-\d+)?(?:\s*[,;]\s*[^\[\]\s:]+:\d+(?:-\d+)?)*\]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_FILE_SUFFIX = re.compile(r"\.(py|md|toml|txt|json|ya?ml|cfg|ini|js|ts|tsx|go|rs|lock|sh)$")


def schema_name(request: dict[str, Any]) -> str | None:
    response_format = request.get("response_format")
    if not isinstance(response_format, dict):
        return None
    schema = response_format.get("json_schema")
    name = schema.get("name") if isinstance(schema, dict) else None
    return name if isinstance(name, str) else None


def is_judge_request(request: dict[str, Any]) -> bool:
    return schema_name(request) in JUDGE_SCHEMAS


def judge_turn(request: dict[str, Any]) -> ModelTurn:
    name = schema_name(request)
    texts = Conversation(request).user_texts()
    try:
        payload = json.loads(texts[-1]) if texts else {}
    except json.JSONDecodeError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    if name == CITATION_SCHEMA:
        answer: dict[str, Any] = {"verdicts": [_verdict(item) for item in payload.get("items", [])
                                               if isinstance(item, dict)]}
    elif name == FAITHFULNESS_SCHEMA:
        answer = _faithfulness(payload)
    else:
        answer = _completeness(payload)
    return ModelTurn(content=json.dumps(answer))


def _names(claim: str) -> list[str]:
    """Backticked identifiers (not file paths), by their last dotted part, without call parens."""
    names = []
    for code in _CODE.findall(claim):
        code = code.strip()
        if "/" in code or _FILE_SUFFIX.search(code):
            continue
        match = _IDENTIFIER.match(code)
        if match:
            names.append(match.group().rsplit(".", 1)[-1])
    return list(dict.fromkeys(name for name in names if len(name) > 1))


def _found(name: str, lines: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", lines) is not None


def support(claim: str, lines: str) -> tuple[str, str]:
    """``(verdict, reasoning)`` for one claim and the lines it cites."""
    prose = _CITATION.sub(" ", _CODE.sub(" ", claim))
    words = keywords(prose)
    seen = keywords(lines)
    shared = sorted(words & seen)
    overlap = len(shared) / len(words) if words else 0.0
    names = _names(claim)
    found = [name for name in names if _found(name, lines)]
    missing = [name for name in names if name not in found]
    reasoning = (f"Cited lines contain {len(found)}/{len(names)} named identifiers"
                 f"{' (missing: ' + ', '.join(missing) + ')' if missing else ''} and "
                 f"{len(shared)}/{len(words)} of the claim's words.")
    if names:
        if not missing and overlap >= 0.2:
            return "supported", reasoning
        return ("partial" if found or overlap >= 0.3 else "unsupported"), reasoning
    if overlap >= 0.5:
        return "supported", reasoning
    return ("partial" if overlap >= 0.25 else "unsupported"), reasoning


def _verdict(item: dict[str, Any]) -> dict[str, Any]:
    verdict, reasoning = support(str(item.get("claim", "")), str(item.get("lines", "")))
    return {"id": item.get("id"), "reasoning": reasoning, "verdict": verdict}


def _score(fraction: float) -> int:
    return 3 if fraction >= 0.85 else 2 if fraction >= 0.5 else 1 if fraction >= 0.25 else 0


def _faithfulness(payload: dict[str, Any]) -> dict[str, Any]:
    text = str(payload.get("text", ""))
    cited = "\n".join(str(item.get("lines", "")) for item in payload.get("cited", [])
                      if isinstance(item, dict))
    names = _names(text)
    if not names:
        words = keywords(_CITATION.sub(" ", text))
        fraction = len(words & keywords(cited)) / len(words) if words else 0.0
        return {"reasoning": f"No identifiers named; {fraction:.0%} of the section's words are in "
                             "its cited lines.", "score": _score(fraction)}
    found = [name for name in names if _found(name, cited)]
    missing = [name for name in names if name not in found]
    fraction = len(found) / len(names)
    return {"reasoning": f"The cited lines show {len(found)} of the {len(names)} identifiers the "
                         f"section names{'; not shown: ' + ', '.join(missing) if missing else ''}.",
            "score": _score(fraction)}


def _completeness(payload: dict[str, Any]) -> dict[str, Any]:
    wanted = keywords(str(payload.get("prompt", "")))
    covered = wanted & keywords(str(payload.get("report", "")))
    fraction = len(covered) / len(wanted) if wanted else 0.0
    missing = sorted(wanted - covered)[:8]
    return {"reasoning": f"The report covers {len(covered)} of the request's {len(wanted)} key "
                         f"words{'; not covered: ' + ', '.join(missing) if missing else ''}.",
            "score": _score(fraction)}
