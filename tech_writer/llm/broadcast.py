"""OpenRouter Broadcast: the request's ``trace`` object, so OpenRouter's spans nest under ours.

With Broadcast on (OpenRouter's Settings → Observability), OpenRouter sends its own OTLP trace of
every generation to the user's collector. Without a ``trace`` object that trace is a second one,
unlinked to tech_writer's. With it (OpenRouter's ``TraceConfig``), OpenRouter puts its spans in
our trace (``trace_id``) under the chat span of the call (``parent_span_id``), and names them:
``span_name`` for the span it opens under the parent, ``generation_name`` for the generation in
it. Both ids go as the lowercase hex strings OTLP/JSON carries (32 and 16 digits): the schema
types them as plain strings, and OpenRouter maps them to the OTLP trace and parent span ids.

Nothing is sent unless the chat span is exported: a valid context, sampled, and telemetry
exporting at all (the caller's check). Otherwise there is no span of ours in the user's backend
to hang OpenRouter's under, and Broadcast's own unlinked trace is the better result.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import SpanContext, format_span_id, format_trace_id

__all__ = ["trace_object"]


def trace_object(context: SpanContext, *, model: str, phase: str | None) -> dict[str, Any] | None:
    """The ``trace`` field for a request made inside the chat span whose context is
    ``context``; None when that span is not valid or not sampled (not exported)."""
    if not (context.is_valid and context.trace_flags.sampled):
        return None
    where = f" ({phase})" if phase else ""
    return {
        "trace_id": format_trace_id(context.trace_id),
        "parent_span_id": format_span_id(context.span_id),
        "span_name": f"openrouter {model}{where}",
        "generation_name": f"generation {model}",
    }
