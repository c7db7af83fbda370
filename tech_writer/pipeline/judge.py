"""The LLM judge of ``tech-writer eval --judge MODEL``: three criteria, one per call.

- **citation precision**: the judge sees each (claim, exact cited lines) pair and answers
  supported / partial / unsupported, a batch of pairs per call; precision = (supported + ½ partial)
  ÷ pairs judged. A citation that does not resolve on disk has no lines to show: it counts as
  unsupported without a call. At most ``sample`` pairs are judged, drawn with a seeded generator.
- **faithfulness** of each ``##`` section, 0 (contradicts the code) … 3 (fully supported), from the
  section's text and the lines it cites;
- **completeness** of the report against the prompt, 0 (ignores the request) … 3 (covers all of it).

Every answer is strict structured output (a JSON schema whose ``reasoning`` comes before the
verdict, so the model reasons first). The schema names are the protocol the demo judge
(:mod:`tech_writer.demo._judge`) recognises. An answer that cannot be read leaves its items
unjudged (counted, never guessed).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tech_writer.llm.client import LLMClient
from tech_writer.report.citations import Citation, cited_lines, format_citation
from tech_writer.report.claims import Claim
from tech_writer.repository.repo import Repository

__all__ = [
    "BATCH_SIZE",
    "CITATION_SCHEMA",
    "COMPLETENESS_SCHEMA",
    "DEFAULT_SAMPLE",
    "FAITHFULNESS_SCHEMA",
    "Judge",
    "JudgeResult",
    "Pair",
    "claim_pairs",
]

log = logging.getLogger("tech_writer")

CITATION_SCHEMA = "tech_writer_citation_verdicts"
FAITHFULNESS_SCHEMA = "tech_writer_faithfulness"
COMPLETENESS_SCHEMA = "tech_writer_completeness"
VERDICTS = ("supported", "partial", "unsupported")
DEFAULT_SAMPLE = 200
BATCH_SIZE = 8
MAX_LINES_SHOWN = 80  # of one citation: a claim citing a whole file is judged on its start
MAX_SECTIONS = 20
MAX_CITED_PER_SECTION = 30
MAX_REPORT_CHARS = 24_000

_CITATION_SYSTEM = (
    "You check citations in a technical report about a code repository. For each item you get a "
    "claim from the report and the exact lines it cites (numbered). Decide from those lines "
    "alone: 'supported' if they show everything the claim says, 'partial' if they show part of "
    "it, 'unsupported' if they do not show it or contradict it. Reason briefly first, then give "
    "the verdict. Answer every item by its id.")
_FAITHFULNESS_SYSTEM = (
    "You grade one section of a technical report about a code repository for faithfulness to the "
    "code it cites. You get the section's text and the lines it cites. Reason first, then score: "
    "0 = contradicts the code, 1 = mostly unsupported, 2 = mostly supported with some unsupported "
    "or inaccurate statements, 3 = every statement is supported by the cited lines.")
_COMPLETENESS_SYSTEM = (
    "You grade a technical report about a code repository for completeness against the request "
    "it was written for. Reason first, then score: 0 = ignores the request, 1 = covers a small "
    "part, 2 = covers most of it, 3 = covers everything the request asks for.")


@dataclass(frozen=True)
class Pair:
    """One (claim, citation) to judge; ``lines`` is None when the citation does not resolve."""

    id: int
    claim: Claim
    citation: Citation
    lines: str | None


@dataclass
class JudgeResult:
    verdicts: list[dict[str, Any]] = field(default_factory=list)  # id, citation, verdict, reasoning
    pairs_total: int = 0
    unjudged: int = 0
    sections: list[dict[str, Any]] = field(default_factory=list)  # section, score, reasoning
    completeness: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(VERDICTS, 0)
        for verdict in self.verdicts:
            counts[verdict["verdict"]] += 1
        return counts

    @property
    def precision(self) -> float | None:
        counts = self.counts()
        judged = sum(counts.values())
        if not judged:
            return None
        return round((counts["supported"] + 0.5 * counts["partial"]) / judged, 4)

    @property
    def faithfulness(self) -> float | None:
        scores = [s["score"] for s in self.sections if s.get("score") is not None]
        return round(sum(scores) / len(scores), 4) if scores else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "citation_precision": self.precision,
            "verdicts": self.counts(),
            "pairs": {"total": self.pairs_total, "judged": len(self.verdicts),
                      "unjudged": self.unjudged},
            "unsupported": [v for v in self.verdicts if v["verdict"] != "supported"][:50],
            "faithfulness": self.faithfulness,
            "sections": self.sections,
            "completeness": self.completeness,
            "errors": self.errors,
        }


def claim_pairs(claims: Sequence[Claim], repo: Repository) -> list[Pair]:
    """Every (claim, distinct citation) pair, in document order, with the cited lines numbered."""
    pairs: list[Pair] = []
    cache: dict[tuple[str, int, int], str | None] = {}
    for claim in claims:
        seen = set()
        for citation in claim.citations:
            key = (citation.path, citation.start, citation.end)
            if key in seen:
                continue
            seen.add(key)
            if key not in cache:
                cache[key] = _numbered(citation, repo)
            pairs.append(Pair(len(pairs), claim, citation, cache[key]))
    return pairs


def _numbered(citation: Citation, repo: Repository) -> str | None:
    lines = cited_lines(citation, repo)
    if lines is None:
        return None
    shown = [f"{citation.start + i}\t{line}" for i, line in enumerate(lines[:MAX_LINES_SHOWN])]
    if len(lines) > MAX_LINES_SHOWN:
        shown.append(f"[... {len(lines) - MAX_LINES_SHOWN} more cited lines not shown]")
    return "\n".join(shown)


class Judge:
    """Asks one model (any provider tech_writer speaks) the three questions above."""

    def __init__(self, llm: LLMClient, *, sample: int = DEFAULT_SAMPLE, seed: int = 0,
                 batch_size: int = BATCH_SIZE) -> None:
        self.llm, self.sample, self.seed, self.batch_size = llm, sample, seed, batch_size

    # --- citation precision -------------------------------------------------------------
    def judge_citations(self, pairs: list[Pair], result: JudgeResult) -> None:
        result.pairs_total = len(pairs)
        chosen = pairs
        if len(pairs) > self.sample:
            picked = random.Random(self.seed).sample(range(len(pairs)), self.sample)
            chosen = [pairs[i] for i in sorted(picked)]
        to_ask = []
        for pair in chosen:
            if pair.lines is None:
                result.verdicts.append(_verdict(pair, "unsupported",
                                                "the citation does not resolve to lines on disk"))
            else:
                to_ask.append(pair)
        for start in range(0, len(to_ask), self.batch_size):
            batch = to_ask[start:start + self.batch_size]
            answer = self._ask(CITATION_SCHEMA, _CITATION_SYSTEM, _verdicts_schema(), {
                "items": [{"id": p.id, "claim": p.claim.text, "citation": p.citation.text,
                           "lines": p.lines} for p in batch]}, result)
            verdicts = _read_verdicts(answer, batch)
            result.verdicts += verdicts
            result.unjudged += len(batch) - len(verdicts)
        result.verdicts.sort(key=lambda v: v["id"])

    # --- faithfulness and completeness ---------------------------------------------------
    def judge_sections(self, claims: Sequence[Claim], pairs: list[Pair], result: JudgeResult) -> None:
        sections: dict[str, list[Claim]] = {}
        for claim in claims:
            if claim.section is not None:
                sections.setdefault(claim.section, []).append(claim)
        lines_of = {(p.citation.path, p.citation.start, p.citation.end): p.lines for p in pairs}
        for title, members in list(sections.items())[:MAX_SECTIONS]:
            cited = []
            for claim in members:
                for c in claim.citations:
                    lines = lines_of.get((c.path, c.start, c.end))
                    entry = {"citation": format_citation(c.path, c.start, c.end), "lines": lines}
                    if lines is not None and entry not in cited:
                        cited.append(entry)
            answer = self._ask(FAITHFULNESS_SCHEMA, _FAITHFULNESS_SYSTEM, _score_schema(), {
                "section": title, "text": "\n".join(c.text for c in members),
                "cited": cited[:MAX_CITED_PER_SECTION]}, result)
            result.sections.append({"section": title, **_score_of(answer)})
        if len(sections) > MAX_SECTIONS:
            result.errors.append(f"only the first {MAX_SECTIONS} of {len(sections)} sections graded")

    def judge_completeness(self, prompt: str, markdown: str, result: JudgeResult) -> None:
        answer = self._ask(COMPLETENESS_SCHEMA, _COMPLETENESS_SYSTEM, _score_schema(),
                           {"prompt": prompt, "report": markdown[:MAX_REPORT_CHARS]}, result)
        result.completeness = _score_of(answer)

    # --- one call ------------------------------------------------------------------------
    def _ask(self, name: str, system: str, schema: dict[str, Any], payload: dict[str, Any],
             result: JudgeResult) -> Any:
        messages = [{"role": "system", "content": system},
                    {"role": "user", "content": json.dumps(payload, ensure_ascii=False)}]
        response_format = {"type": "json_schema",
                           "json_schema": {"name": name, "strict": True, "schema": schema}}
        reply, _usage = self.llm.chat(messages, response_format=response_format)
        if reply.get("finish_reason") == "length":  # cut at the cap even when asked again:
            result.errors.append(f"{name}: the judge's answer was cut off at its output cap")
            log.warning("judge: %s answer was cut off; its items stay unjudged", name)
            return None  # a part of a JSON answer is never read as the whole
        content = reply.get("content") or ""
        parsed = _json_in(content)
        if parsed is None:
            result.errors.append(f"{name}: the judge's answer was not JSON")
            log.warning("judge: %s answer was not JSON; its items stay unjudged", name)
        return parsed


def _read_verdicts(answer: Any, batch: list[Pair]) -> list[dict[str, Any]]:
    """The verdicts of an answer that name a pair of the batch, once each, with a known label."""
    by_id = {pair.id: pair for pair in batch}
    items = answer.get("verdicts") if isinstance(answer, dict) else None
    verdicts: dict[int, dict[str, Any]] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("verdict") not in VERDICTS:
            continue
        pair_id = item.get("id")
        pair = by_id.get(pair_id) if isinstance(pair_id, int) else None
        if pair is not None and pair.id not in verdicts:
            verdicts[pair.id] = _verdict(pair, item["verdict"], str(item.get("reasoning", "")))
    return list(verdicts.values())


def _verdict(pair: Pair, verdict: str, reasoning: str) -> dict[str, Any]:
    return {"id": pair.id, "citation": pair.citation.text, "claim": pair.claim.text[:300],
            "verdict": verdict, "reasoning": reasoning[:1000]}


def _score_of(answer: Any) -> dict[str, Any]:
    score = answer.get("score") if isinstance(answer, dict) else None
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 3:
        return {"score": None, "reasoning": "no readable score in the judge's answer"}
    reasoning = answer.get("reasoning") if isinstance(answer, dict) else ""
    return {"score": int(round(score)), "reasoning": str(reasoning or "")[:1000]}


def _json_in(content: str) -> Any:
    try:
        return json.loads(content)
    except json.JSONDecodeError:
        start, end = content.find("{"), content.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(content[start:end + 1])
            except json.JSONDecodeError:
                return None
    return None


def _verdicts_schema() -> dict[str, Any]:
    verdict = {"type": "object", "additionalProperties": False,
               "required": ["id", "reasoning", "verdict"],
               "properties": {"id": {"type": "integer"}, "reasoning": {"type": "string"},
                              "verdict": {"type": "string", "enum": list(VERDICTS)}}}
    return {"type": "object", "additionalProperties": False, "required": ["verdicts"],
            "properties": {"verdicts": {"type": "array", "items": verdict}}}


def _score_schema() -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": ["reasoning", "score"],
            "properties": {"reasoning": {"type": "string"},
                           "score": {"type": "integer", "enum": [0, 1, 2, 3]}}}
