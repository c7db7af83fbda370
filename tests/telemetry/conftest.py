"""Fixtures shared by the telemetry unit tests: a real SDK pipeline into an in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from telemetry import Telemetry


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tel(exporter: InMemorySpanExporter) -> Iterator[Telemetry]:
    telemetry = Telemetry.for_testing(exporter)
    yield telemetry
    telemetry.shutdown()
