"""What a run hands back: :class:`RunResult` (the report, its cost summary, what was read and
reused) and, when it stopped early, its :class:`RunFailure`.

Typed all the way to the command line; the cost summary becomes a dict only where JSON is
written (:meth:`RunResult.cost_document`, the ``"cost"`` of ``--eval-json`` and ``compare.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tech_writer.errors import EXIT_FAILED, TechWriterError, interruption
from tech_writer.llm.budget import BudgetExhausted
from tech_writer.llm.client import cost_summary_document
from tech_writer.pipeline.resume import Reused

if TYPE_CHECKING:
    from tech_writer.report.gate import GroundingFigures
    from tech_writer.repository.cache import CacheStore
    from telemetry import CostSummary

__all__ = ["RunFailure", "RunResult"]


@dataclass(frozen=True)
class RunFailure:
    """Why a run stopped after it started, said for the user, and the exit code it means."""

    message: str
    exit_code: int
    phase: str | None = None
    missing_sections: tuple[str, ...] = ()
    budget_exhausted: bool = False
    interrupted: bool = False
    cause: BaseException | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, cause: BaseException, phase: str | None,
           missing_sections: tuple[str, ...] = ()) -> RunFailure:
        exit_code = getattr(cause, "exit_code", EXIT_FAILED)
        if isinstance(cause, TechWriterError):
            message = cause.message
        elif isinstance(cause, KeyboardInterrupt):
            message, exit_code = interruption(cause)
        else:
            message = f"internal error ({type(cause).__name__}: {cause}); please report it"
        return cls(message, exit_code, phase, missing_sections,
                   budget_exhausted=isinstance(cause, BudgetExhausted),
                   interrupted=isinstance(cause, KeyboardInterrupt), cause=cause)


@dataclass(frozen=True)
class RunResult:
    """One run's outcome. ``report`` is the whole report, or after a failure the partial one
    (``None`` when the run stopped before the outline); ``cost_summary`` is ``None`` only when
    it could not be read after a failure."""

    report: str | None
    cost_summary: CostSummary | None
    provider: str
    model: str
    simulated: bool
    track_cost: bool
    store: CacheStore
    reused: Reused = field(default_factory=Reused)
    failure: RunFailure | None = None
    # What the grounding gate kept and removed (None before any section was written), and,
    # when it could ground nothing, the report as the model wrote it, for inspection.
    grounding: GroundingFigures | None = None
    ungrounded_draft: str | None = None

    @property
    def files_read(self) -> list[str]:
        return [info.path for info in self.store.files()]

    def cost_document(self) -> dict[str, Any] | None:
        """The cost summary as JSON: the seed's ``cost_stats`` (``LLMClient.get_cost_summary``'s
        shape) plus what was reused from an earlier run."""
        if self.cost_summary is None:
            return None
        document = cost_summary_document(self.cost_summary, simulated=self.simulated,
                                         provider=self.provider, model=self.model)
        document["reused"] = self.reused.as_dict()
        return document
