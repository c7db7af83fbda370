"""``--resume``: reuse the phases and sections an earlier run already paid for.

With ``--persist-cache`` every finished phase and section is saved in the cache's key-value table
as it completes. A later run with ``--resume`` reuses a saved piece when it was made for the same
prompt *content*, model and provider (the prompt file's path and the time do not matter) and
every repository file it depended on still has the content hash it had then:

* exploration — the files it read (a file added to the repository does not, by itself, redo it);
* outline — the exploration's understanding it was planned from (the same text: an exploration
  done again that comes to the same understanding keeps the outline);
* each section — its spec (title, focus, relevant files) and the files it read or cites, and
  nothing else: whatever happened to files it did not read, and even when the exploration was
  done again, a section whose own evidence is unchanged is reused.

So a changed source file invalidates exactly what depended on it. Refreshing a report after code
changes without a cache is ``tech-writer update``'s job (it works from the report's provenance).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tech_writer.pipeline.outline import Outline, SectionSpec

if TYPE_CHECKING:
    from tech_writer.repository.cache import CacheStore
    from tech_writer.repository.repo import Repository

__all__ = ["ResumeStore", "Reused"]

log = logging.getLogger("tech_writer.resume")

NAMESPACE = "resume/v2"  # v2: sections keyed by their spec, not the understanding


def _digest(value: Any) -> str:
    data = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Reused:
    """What this run took from an earlier one, and what that had cost."""

    exploration: bool = False
    outline: bool = False
    sections: list[str] = field(default_factory=list)
    cost_usd: float = 0.0

    @property
    def anything(self) -> bool:
        return self.exploration or self.outline or bool(self.sections)

    def as_dict(self) -> dict[str, Any]:
        return {"exploration": self.exploration, "outline": self.outline,
                "sections": len(self.sections), "section_titles": list(self.sections),
                "cost_usd": self.cost_usd}

    def note(self) -> str:
        parts = (["exploration"] if self.exploration else []) + (
            ["outline"] if self.outline else []) + (
            [f"{len(self.sections)} section(s): " + "; ".join(self.sections)]
            if self.sections else [])
        return (f"> **Resumed**: reused from an earlier run: {', '.join(parts)} "
                f"(${self.cost_usd:.4f} not spent again).")


class ResumeStore:
    def __init__(self, cache: CacheStore, repo: Repository, *, prompt: str, model: str,
                 provider: str, enabled: bool) -> None:
        self._cache = cache
        self._repo = repo
        self._run_key = _digest(["tech_writer", 1, prompt, model, provider])
        self.enabled = enabled  # reuse only with --resume; saving happens whenever persisted
        self.reused = Reused()
        if enabled and cache.previous_unsaved is not None:
            log.warning("--resume: an earlier run could not save to the cache, so what it lost "
                        "is done again; %s", cache.previous_unsaved.summary())
            cache.acknowledge_previous_unsaved()  # said once

    # --- exploration -------------------------------------------------------------------
    def load_exploration(self) -> str | None:
        record = self._load("exploration")
        if record is None:
            return None
        if not self._unchanged(record.get("deps", {})):
            log.info("resume: a file the exploration read has changed; exploring again")
            return None
        self.reused.exploration = True
        self.reused.cost_usd += float(record.get("cost_usd", 0.0))
        return str(record["understanding"])

    def save_exploration(self, understanding: str, paths_read: Iterable[str],
                         cost_usd: float) -> None:
        self._save("exploration", {"understanding": understanding,
                                   "deps": self._hashes(paths_read), "cost_usd": cost_usd})

    # --- outline -----------------------------------------------------------------------
    def load_outline(self, understanding: str) -> Outline | None:
        record = self._load(f"outline:{_digest(understanding)}")
        if record is None:
            return None
        self.reused.outline = True
        self.reused.cost_usd += float(record.get("cost_usd", 0.0))
        return Outline(record["title"], tuple(
            SectionSpec(s["title"], s["focus"], tuple(s["relevant_files"]))
            for s in record["sections"]))

    def save_outline(self, understanding: str, outline: Outline, cost_usd: float) -> None:
        self._save(f"outline:{_digest(understanding)}", {
            "title": outline.title, "cost_usd": cost_usd,
            "sections": [{"title": s.title, "focus": s.focus,
                          "relevant_files": list(s.relevant_files)} for s in outline.sections]})

    # --- sections ----------------------------------------------------------------------
    def load_section(self, understanding: str, spec: SectionSpec) -> dict[str, Any] | None:
        record = self._load(self._section_key(understanding, spec))
        if record is None:
            return None
        if not self._unchanged(record.get("deps", {})):
            log.info("resume: section %r depends on a changed file; writing it again", spec.title)
            return None
        self.reused.sections.append(spec.title)
        self.reused.cost_usd += float(record.get("cost_usd", 0.0))
        return record

    def save_section(self, understanding: str, spec: SectionSpec, markdown: str,
                     fix_rounds: int, depends_on: Iterable[str], cost_usd: float) -> None:
        self._save(self._section_key(understanding, spec), {
            "markdown": markdown, "fix_rounds": fix_rounds, "cost_usd": cost_usd,
            "deps": self._hashes(depends_on)}, label=f"section {spec.title!r}")

    def update_section_cost(self, understanding: str, spec: SectionSpec, cost_usd: float) -> None:
        """Record a section's settled cost on its saved record, keeping the dependency hashes
        taken when it was written (hashing the files again would cost a read of each, and could
        pair a file edited since with text written from its old content)."""
        name = self._section_key(understanding, spec)
        record = self._read(name)
        if record is not None:
            record["cost_usd"] = cost_usd
            self._save(name, record, label=f"section {spec.title!r} (its cost)")

    # --- internals ---------------------------------------------------------------------
    def _section_key(self, understanding: str, spec: SectionSpec) -> str:
        """A section's own identity: its spec. The understanding it was written from is left
        out on purpose (see the module docstring); its evidence is checked by the record's
        dependency hashes."""
        del understanding
        return "section:" + _digest([spec.title, spec.focus, list(spec.relevant_files)])

    def _load(self, name: str) -> dict[str, Any] | None:
        return self._read(name) if self.enabled else None

    def _read(self, name: str) -> dict[str, Any] | None:
        raw = self._cache.get(NAMESPACE, f"{self._run_key}:{name}")
        if raw is None:
            return None
        try:
            record = json.loads(raw)
        except json.JSONDecodeError:
            return None
        return record if isinstance(record, dict) else None

    def _save(self, name: str, record: dict[str, Any], label: str | None = None) -> None:
        try:
            self._cache.put(NAMESPACE, f"{self._run_key}:{name}", json.dumps(record),
                            label=label or name.split(":")[0])
        except Exception:  # saving for a later resume must never break this run
            log.warning("could not save %s for --resume", name.split(":")[0], exc_info=True)

    def _hashes(self, paths: Iterable[str]) -> dict[str, str | None]:
        return {path: self._hash(path) for path in sorted(set(paths))}

    def _hash(self, path: str) -> str | None:
        try:
            return self._repo.read_text(path).content_hash
        except Exception:  # missing, outside, binary: recorded as "not readable"
            return None

    def _unchanged(self, deps: dict[str, str | None]) -> bool:
        return all(self._hash(path) == digest for path, digest in deps.items())
