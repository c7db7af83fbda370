"""Scores as OpenTelemetry GenAI evaluation events.

Each score becomes one ``gen_ai.evaluation.result`` event with ``gen_ai.evaluation.name``,
``gen_ai.evaluation.score.value`` and, when known, ``gen_ai.evaluation.score.label`` and
``gen_ai.evaluation.explanation`` — what backends that show evaluations (Phoenix, Langfuse) read.
The event goes on the span given (the evaluation's own span: the run it scores has ended).
"""

from __future__ import annotations

import logging

from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

from telemetry import attributes as attrs

__all__ = ["MAX_EXPLANATION_CHARS", "record_evaluation"]

_logger = logging.getLogger(__name__)
MAX_EXPLANATION_CHARS = 2000  # explanations are prose: kept, but bounded


def record_evaluation(span: Span, name: str, value: float, *, label: str | None = None,
                      explanation: str | None = None) -> None:
    """Add one evaluation event to ``span``; never raises into the caller."""
    event: dict[str, AttributeValue] = {attrs.GEN_AI_EVALUATION_NAME: name,
                                        attrs.GEN_AI_EVALUATION_SCORE_VALUE: float(value)}
    if label is not None:
        event[attrs.GEN_AI_EVALUATION_SCORE_LABEL] = label
    if explanation:
        event[attrs.GEN_AI_EVALUATION_EXPLANATION] = explanation[:MAX_EXPLANATION_CHARS]
    try:
        span.add_event(attrs.GEN_AI_EVALUATION_RESULT, event)
    except Exception:
        _logger.warning("telemetry: could not record evaluation %s", name, exc_info=True)
