"""``RunContext``: what every phase of a run works with, handed over as one object.

The phases (:mod:`~tech_writer.pipeline.exploration`, :mod:`~tech_writer.pipeline.outline`,
:mod:`~tech_writer.pipeline.sections`) and the tool loop under them take a context plus their own
inputs. The telemetry is the client's (``ctx.llm.telemetry``): one run, one telemetry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tech_writer.pipeline.grounded import Grounding
from tech_writer.pipeline.history import HistoryPolicy
from tech_writer.pipeline.progress import Progress
from tech_writer.repository.cache import CacheStore
from tech_writer.repository.repo import Repository
from tech_writer.repository.tools import RepoTools

if TYPE_CHECKING:
    from tech_writer.llm.client import LLMClient
    from telemetry import Telemetry

__all__ = ["RunContext"]


@dataclass(frozen=True)
class RunContext:
    """One run's shared tools: the model client, the repository and its tools, the request, the
    progress display and how long a conversation's history may grow."""

    llm: LLMClient
    repo: Repository
    tools: RepoTools
    store: CacheStore  # what was read (the report's "files read"), and the resume records
    prompt: str
    progress: Progress
    history: HistoryPolicy | None = None
    concurrency: int = 1  # exploration areas and sections worked on at once
    grounding: Grounding | None = None  # the gate at writing time (None: sections kept as written)

    @classmethod
    def of(cls, llm: LLMClient, repo: Repository, prompt: str, *,
           progress: Progress | None = None) -> RunContext:
        """A context with the repository's own tools and no progress display (tests, one-off
        phases)."""
        store = repo.cache if repo.cache is not None else CacheStore(None)
        return cls(llm, repo, RepoTools(repo), store, prompt, progress or Progress.silent())

    @property
    def telemetry(self) -> Telemetry:
        return self.llm.telemetry
