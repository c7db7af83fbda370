"""Issue 26, finding 10: spans leave the process through the host's redactor."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from telemetry.export_guard import ExportProblems, QuietSpanExporter
from telemetry.redaction import set_redactor

KEY = "sk-or-v1-span-canary-0123456789"


@pytest.fixture
def exported() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    inner = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(
        QuietSpanExporter(inner, ExportProblems(), "memory")))
    set_redactor(lambda text: text.replace(KEY, "***"))
    yield provider, inner
    set_redactor(None)
    provider.shutdown()


def test_every_string_a_span_writes_out_is_redacted(exported) -> None:
    provider, inner = exported
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span(f"chat {KEY}") as span:
        span.set_attribute("gen_ai.output.messages", f'[{{"content": "the key is {KEY}"}}]')
        span.set_attribute("list", [f"a {KEY}", "b"])
        span.set_attribute("tokens", 12)
        span.add_event("gen_ai.choice", {"message": KEY})
        span.set_status(Status(StatusCode.ERROR, f"refused {KEY}"))
    (written,) = inner.get_finished_spans()
    text = repr((written.name, dict(written.attributes or {}), written.status.description,
                 [(e.name, dict(e.attributes or {})) for e in written.events]))
    assert KEY not in text and text.count("***") == 5
    assert written.attributes["tokens"] == 12


def test_a_span_with_nothing_to_redact_is_exported_as_it_is(exported) -> None:
    provider, inner = exported
    with provider.get_tracer("t").start_as_current_span("plain") as span:
        span.set_attribute("a", "b")
    (written,) = inner.get_finished_spans()
    assert written.name == "plain" and written.attributes["a"] == "b"
