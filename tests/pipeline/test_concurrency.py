"""Sections written concurrently: bounded in-flight requests, same report, right span tree, exact cost."""

from __future__ import annotations

import math
import threading

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tech_writer.demo import DemoModel, FakeOpenRouter
from tech_writer.llm.client import LLMClient
from tech_writer.llm.limiter import AdaptiveLimiter
from tech_writer.llm.retry import RetryPolicy
from tech_writer.pipeline.run import run_pipeline
from telemetry import Telemetry
from telemetry import attributes as attrs

KEY = "sk-or-concurrency-test-key"
PROMPT = "Write an architecture overview: components and data flow."


class CountingModel(DemoModel):
    """The demo model, counting how many requests it is answering at the same moment."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.active = 0
        self.peak = 0

    def respond(self, request):  # type: ignore[no-untyped-def]
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            threading.Event().wait(0.05)  # hold the slot long enough for overlap to show
            return super().respond(request)
        finally:
            with self._lock:
                self.active -= 1


def run(sample_repo, concurrency: int, model: DemoModel | None = None):
    exporter = InMemorySpanExporter()
    telemetry = Telemetry.for_testing(exporter)
    with FakeOpenRouter(model or DemoModel(), api_key=KEY) as server:
        llm = LLMClient("openai/gpt-5.1", "openrouter", KEY, server.base_url, telemetry=telemetry,
                        max_in_flight=concurrency, retry=RetryPolicy(initial_backoff_s=0.01))
        with llm:
            report, _store, cost = run_pipeline(PROMPT, sample_repo, llm=llm, max_sections=6,
                                                concurrency=concurrency)
        ledger = server.ledger
    return report, cost, ledger, exporter.get_finished_spans(), llm


def test_concurrent_sections_keep_order_cost_and_span_tree(sample_repo):
    serial_report, _, _, _, _ = run(sample_repo, 1)
    model = CountingModel()
    report, cost, ledger, spans, llm = run(sample_repo, 3, model)

    assert report == serial_report  # same text, same section order
    assert 1 < model.peak <= 3 and llm.limiter.peak_in_flight <= 3
    assert cost["total_cost_usd"] == pytest.approx(math.fsum(c.cost_usd for c in ledger), abs=1e-9)
    assert cost["total_calls"] == len(ledger)

    by_id = {s.context.span_id: s for s in spans}
    sections = [s for s in spans if attrs.SECTION_TITLE in (s.attributes or {})]
    assert len(sections) == report.count("\n## ")
    chats = [s for s in spans if s.attributes.get(attrs.GEN_AI_OPERATION_NAME) == "chat"
             and s.attributes.get(attrs.PHASE) == "sections"]
    assert chats
    for chat in chats:  # every section call sits under its section span, across threads
        parent = by_id[chat.parent.span_id]
        assert attrs.SECTION_TITLE in parent.attributes
        assert parent.context.trace_id == chat.context.trace_id


def test_limiter_halves_on_429_and_recovers():
    limiter = AdaptiveLimiter(8, recover_after=2)
    limiter.acquire()
    limiter.release(rate_limited=True)
    assert limiter.limit == 4
    limiter.acquire()
    limiter.release(rate_limited=True)
    assert limiter.limit == 2
    for _ in range(4):
        limiter.acquire()
        limiter.release()
    assert limiter.limit == 4
    with pytest.raises(ValueError):
        AdaptiveLimiter(0)


def test_limiter_never_admits_more_than_its_limit():
    limiter = AdaptiveLimiter(2)
    active = peak = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal active, peak
        for _ in range(20):
            limiter.acquire()
            with lock:
                active += 1
                peak = max(peak, active)
            threading.Event().wait(0.001)
            with lock:
                active -= 1
            limiter.release()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert peak == 2 and limiter.peak_in_flight == 2
