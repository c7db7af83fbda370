from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    Metric,
    NumberDataPoint,
    Sum,
)
from span_helpers import chat_answer

from telemetry import ChatAnswer, Telemetry
from telemetry import attributes as attrs

MODEL = "openai/gpt-5.1"
RESPONSE_MODEL = "openai/gpt-5.1-2026-01-01"


class FakeClock:
    """Advances by a fixed step at each reading: start and stop of a call are ``step`` apart."""

    def __init__(self, step: float) -> None:
        self.now = 1000.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def tel(reader: InMemoryMetricReader) -> Iterator[Telemetry]:
    telemetry = Telemetry.for_testing(metric_reader=reader, clock=FakeClock(step=0.5))
    yield telemetry
    telemetry.shutdown()


def usage(**overrides: object) -> ChatAnswer:
    fields: dict[str, object] = dict(generation_id="gen-1", response_model=RESPONSE_MODEL,
                                     finish_reasons=["stop"], prompt_tokens=1500,
                                     completion_tokens=40)
    fields.update(overrides)
    return chat_answer(**fields)


def metrics_by_name(reader: InMemoryMetricReader) -> dict[str, Metric]:
    data = reader.get_metrics_data()
    assert data is not None
    return {metric.name: metric
            for resource_metrics in data.resource_metrics
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics}


def points(metric: Metric) -> dict[frozenset[tuple[str, Any]], Any]:
    return {frozenset((point.attributes or {}).items()): point for point in metric.data.data_points}


BASE = {attrs.GEN_AI_OPERATION_NAME: "chat", attrs.GEN_AI_PROVIDER_NAME: "openrouter",
        attrs.GEN_AI_REQUEST_MODEL: MODEL, attrs.PHASE: "exploration"}


def key(**extra: Any) -> frozenset[tuple[str, Any]]:
    return frozenset({**BASE, **extra}.items())


def test_token_usage_histogram(tel: Telemetry, reader: InMemoryMetricReader) -> None:
    with tel.phase_span("exploration"):
        tel.start_chat(MODEL, "openrouter").stop(usage())
        tel.start_chat(MODEL, "openrouter").stop(usage(prompt_tokens=500, completion_tokens=60))
    metric = metrics_by_name(reader)[attrs.METRIC_TOKEN_USAGE]
    assert metric.unit == "{token}"
    by_key = points(metric)
    assert set(by_key) == {
        key(**{attrs.GEN_AI_RESPONSE_MODEL: RESPONSE_MODEL, attrs.GEN_AI_TOKEN_TYPE: "input"}),
        key(**{attrs.GEN_AI_RESPONSE_MODEL: RESPONSE_MODEL, attrs.GEN_AI_TOKEN_TYPE: "output"}),
    }
    input_point = by_key[key(**{attrs.GEN_AI_RESPONSE_MODEL: RESPONSE_MODEL,
                                attrs.GEN_AI_TOKEN_TYPE: "input"})]
    assert isinstance(input_point, HistogramDataPoint)
    assert (input_point.count, input_point.sum) == (2, 2000)
    assert tuple(input_point.explicit_bounds) == attrs.TOKEN_USAGE_BUCKETS
    # 500 falls in (256, 1024], 1500 in (1024, 4096]
    assert list(input_point.bucket_counts[4:8]) == [0, 1, 1, 0]


def test_duration_histogram_uses_the_clock_and_advised_buckets(
        tel: Telemetry, reader: InMemoryMetricReader) -> None:
    with tel.phase_span("exploration"):
        tel.start_chat(MODEL, "openrouter").stop(usage())
        tel.start_chat(MODEL, "openrouter").fail(TimeoutError("slow"), error_type="timeout")
    metric = metrics_by_name(reader)[attrs.METRIC_OPERATION_DURATION]
    assert metric.unit == "s"
    by_key = points(metric)
    ok = by_key[key(**{attrs.GEN_AI_RESPONSE_MODEL: RESPONSE_MODEL})]
    failed = by_key[key(**{attrs.ERROR_TYPE: "timeout"})]
    assert (ok.count, ok.sum, failed.count, failed.sum) == (1, 0.5, 1, 0.5)
    assert tuple(ok.explicit_bounds) == attrs.DURATION_BUCKETS


def test_failed_calls_record_no_tokens(tel: Telemetry, reader: InMemoryMetricReader) -> None:
    tel.start_chat(MODEL, "openrouter").fail(ConnectionError("reset"))
    names = metrics_by_name(reader)
    assert attrs.METRIC_TOKEN_USAGE not in names
    assert attrs.METRIC_COST not in names
    (point,) = names[attrs.METRIC_OPERATION_DURATION].data.data_points
    assert (point.attributes or {})[attrs.ERROR_TYPE] == "ConnectionError"
    assert attrs.PHASE not in (point.attributes or {})  # no phase outside a phase span


def test_cost_counter_adds_inline_and_settled_costs(tel: Telemetry,
                                                    reader: InMemoryMetricReader) -> None:
    with tel.phase_span("exploration"):
        tel.start_chat(MODEL, "openrouter").stop(usage(cost_usd=0.25))
        settled = tel.start_chat(MODEL, "openrouter")
        settled.stop(usage(cost_pending=True))
        unknown = tel.start_chat(MODEL, "openrouter")
        unknown.stop(usage(cost_pending=True))
        tel.start_chat(MODEL, "openrouter").stop(usage(cost_usd=-1.0))  # never counted down
    tel.settle_cost(settled, cost_usd=0.5, lookup_attempts=1)
    tel.settle_cost(unknown, cost_usd=None, lookup_attempts=4, error="404")
    metric = metrics_by_name(reader)[attrs.METRIC_COST]
    assert metric.unit == "USD"
    (point,) = metric.data.data_points
    assert isinstance(point, NumberDataPoint)
    assert dict(point.attributes or {}) == BASE
    assert point.value == 0.75
    assert isinstance(metric.data, Sum) and metric.data.is_monotonic is True
