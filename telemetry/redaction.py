"""What leaves the process in spans passes one redactor: a host installs it once.

Telemetry knows nothing of its host's secrets. The host (tech_writer installs its secret mask)
calls :func:`set_redactor` with a ``str -> str`` function, and every exporter of this package
(:class:`~telemetry.export_guard.QuietSpanExporter`, OTLP and console alike) exports spans whose
name, string attributes (lists of strings included), events and status description went through
it. Spans in the process (the cost processor reads them) are never changed; only what is
written out. A span with nothing to redact is exported as it is, not copied.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Status

__all__ = ["redact_spans", "set_redactor"]

Redactor = Callable[[str], str]
_lock = threading.Lock()
_redactor: Redactor | None = None


def set_redactor(redactor: Redactor | None) -> None:
    """Install (or, with None, remove) the process-wide redactor."""
    global _redactor
    with _lock:
        _redactor = redactor


def redact_spans(spans: Sequence[ReadableSpan]) -> Sequence[ReadableSpan]:
    """``spans`` as they may be written out."""
    redactor = _redactor
    if redactor is None:
        return spans
    return [_redacted(span, redactor) for span in spans]


def _redacted(span: ReadableSpan, redact: Redactor) -> ReadableSpan:
    name = redact(span.name)
    attributes = _attributes(span.attributes, redact)
    events = [_event(event, redact) for event in span.events]
    description = span.status.description
    status = span.status
    if description is not None and redact(description) != description:
        status = Status(span.status.status_code, redact(description))
    if (name == span.name and attributes is span.attributes and status is span.status
            and all(new is old for new, old in zip(events, span.events, strict=True))):
        return span
    return ReadableSpan(name=name, context=span.context, parent=span.parent,
                        resource=span.resource, attributes=attributes, events=events,
                        links=span.links, kind=span.kind, status=status,
                        start_time=span.start_time, end_time=span.end_time,
                        instrumentation_scope=span.instrumentation_scope)


def _event(event: Event, redact: Redactor) -> Event:
    name = redact(event.name)
    attributes = _attributes(event.attributes, redact)
    if name == event.name and attributes is event.attributes:
        return event
    return Event(name, attributes, event.timestamp)


def _attributes(attributes: Any, redact: Redactor) -> Any:
    """The same mapping when nothing changes, else a new dict."""
    if not attributes:
        return attributes
    changed: dict[str, Any] = {}
    for key, value in attributes.items():
        new = _value(value, redact)
        if new is not value:
            changed[key] = new
    return {**attributes, **changed} if changed else attributes


def _value(value: Any, redact: Redactor) -> Any:
    if isinstance(value, str):
        masked = redact(value)
        return value if masked == value else masked
    if isinstance(value, (list, tuple)) and any(isinstance(item, str) for item in value):
        items = [redact(item) if isinstance(item, str) else item for item in value]
        return value if list(value) == items else tuple(items)
    return value
