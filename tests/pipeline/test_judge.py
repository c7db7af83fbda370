"""The judge protocol against the fake OpenRouter: batches, verdicts, sampling, separate cost, events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_repo
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tech_writer.demo import FakeOpenRouter, ModelTurn, QueueModel
from tech_writer.demo import _judge as demo_judge
from tech_writer.pipeline import judge as judge_protocol
from tech_writer.pipeline.evaluate import JudgeSettings, evaluate
from telemetry import Telemetry
from telemetry import attributes as attrs

KEY = "sk-or-judge-test"
FILES = {"calc.py": "def add(a, b):\n    return a + b\n\n\ndef scale(x):\n    return 2 * x\n"}
REPORT = ("# Calc\n\n## Arithmetic\n\n"
          "- `add` returns the sum of its arguments [calc.py:1-2]\n"
          "- `scale` doubles its input [calc.py:1-2]\n"
          "- `scale` doubles it [calc.py:5-6]\n"
          "- A ghost [calc.py:90-99]\n")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "calc", FILES, git=False)


def settings(server: FakeOpenRouter, **extra: object) -> JudgeSettings:
    return JudgeSettings("openai/gpt-4o-mini", "openrouter", api_key=KEY, base_url=server.base_url,
                         **extra)  # type: ignore[arg-type]


def verdicts_for(request: dict) -> ModelTurn:
    items = json.loads(request["messages"][-1]["content"])["items"]
    answer = [{"id": item["id"], "reasoning": "read it",
               "verdict": "supported" if "add" in item["claim"] else "partial"} for item in items]
    return ModelTurn(content=json.dumps({"verdicts": answer}))


def test_the_protocol_names_are_the_demo_judges() -> None:
    assert (judge_protocol.CITATION_SCHEMA, judge_protocol.FAITHFULNESS_SCHEMA,
            judge_protocol.COMPLETENESS_SCHEMA) == demo_judge.JUDGE_SCHEMAS


def test_precision_faithfulness_completeness_and_a_cost_kept_apart(repo: Path) -> None:
    model = QueueModel([verdicts_for,
                        ModelTurn(content=json.dumps({"reasoning": "mostly", "score": 2})),
                        ModelTurn(content='Sure: {"reasoning": "covers it", "score": 3}')])
    exporter = InMemorySpanExporter()
    telemetry = Telemetry.for_testing(exporter)
    with FakeOpenRouter(model, api_key=KEY) as server:
        document = evaluate(REPORT, repo, prompt="Explain the arithmetic.", telemetry=telemetry,
                            judge=settings(server))
        billed = sum(call.cost_usd for call in server.ledger)
    judge = document["judge"]
    # The invalid citation is unsupported without a call; the other three in one batch.
    assert judge["verdicts"] == {"supported": 1, "partial": 2, "unsupported": 1}
    assert judge["citation_precision"] == pytest.approx((1 + 0.5 * 2) / 4)
    assert judge["pairs"] == {"total": 4, "judged": 4, "unjudged": 0}
    assert judge["sections"] == [{"section": "Arithmetic", "score": 2, "reasoning": "mostly"}]
    assert judge["completeness"] == {"score": 3, "reasoning": "covers it"}
    # What the judge was shown: the claim and the exact cited lines, numbered.
    first = json.loads(model.requests[0]["messages"][-1]["content"])["items"][0]
    assert first["lines"] == "1\tdef add(a, b):\n2\t    return a + b"
    assert model.requests[0]["response_format"]["json_schema"]["name"] == judge_protocol.CITATION_SCHEMA
    assert document["judge_cost_usd"] == pytest.approx(billed, abs=1e-12) and billed > 0
    assert document["judge_cost"]["calls"] == 3
    spans = exporter.get_finished_spans()
    (phase,) = [s for s in spans if s.name == "phase evaluate"]
    assert [s.attributes[attrs.PHASE] for s in spans if s.name.startswith("chat ")] == ["evaluate"] * 3
    events = {e.attributes[attrs.GEN_AI_EVALUATION_NAME]: e for e in phase.events
              if e.name == attrs.GEN_AI_EVALUATION_RESULT}
    assert events["citation_precision"].attributes[attrs.GEN_AI_EVALUATION_SCORE_VALUE] == 0.5
    assert events["faithfulness"].attributes[attrs.GEN_AI_EVALUATION_SCORE_LABEL] == "Arithmetic"
    assert events["faithfulness"].attributes[attrs.GEN_AI_EVALUATION_EXPLANATION] == "mostly"
    assert events["citation_validity"].attributes[attrs.GEN_AI_EVALUATION_SCORE_VALUE] == 0.75


def test_unreadable_or_partial_answers_leave_items_unjudged(repo: Path) -> None:
    only_first = ModelTurn(content=json.dumps({"verdicts": [
        {"id": 0, "reasoning": "ok", "verdict": "supported"},
        {"id": 0, "reasoning": "twice", "verdict": "unsupported"},
        {"id": 99, "reasoning": "unknown id", "verdict": "supported"},
        {"id": 1, "reasoning": "bad label", "verdict": "maybe"}]}))
    model = QueueModel([only_first, ModelTurn(content="no json here")])
    with FakeOpenRouter(model, api_key=KEY) as server:
        document = evaluate(REPORT, repo, telemetry=Telemetry.for_testing(),
                            judge=settings(server))
    judge = document["judge"]
    assert judge["pairs"] == {"total": 4, "judged": 2, "unjudged": 2}
    assert judge["verdicts"] == {"supported": 1, "partial": 0, "unsupported": 1}
    assert judge["sections"][0]["score"] is None
    assert judge["completeness"] is None  # no prompt: not asked
    assert any("not JSON" in error for error in judge["errors"])


def test_the_sample_caps_the_pairs_judged_with_a_seed(repo: Path) -> None:
    report = "".join(f"- `add` line {i} [calc.py:{1 + i % 6}]\n" for i in range(30))

    def run(seed: int) -> list[str]:
        model = QueueModel([verdicts_for] * 3 + [ModelTurn(content='{"reasoning": "", "score": 3}')])
        with FakeOpenRouter(model, api_key=KEY) as server:
            evaluate(report, repo, telemetry=Telemetry.for_testing(),
                     judge=settings(server, sample=10, seed=seed))
        batches = [json.loads(r["messages"][-1]["content"]).get("items") for r in model.requests]
        claims = [item["claim"] for batch in batches if batch for item in batch]
        assert len(claims) == 10 and len(batches[0]) == judge_protocol.BATCH_SIZE
        return claims

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_a_judge_that_fails_keeps_what_it_said(repo: Path) -> None:
    from tech_writer.demo import Fault

    model = QueueModel()
    with FakeOpenRouter(model, api_key=KEY) as server:
        def answer_then_run_out_of_credit(request: dict) -> ModelTurn:
            server.faults.add(Fault(status=402))  # the next call is refused: no credit
            return verdicts_for(request)

        model.add(answer_then_run_out_of_credit)
        document = evaluate(REPORT, repo, telemetry=Telemetry.for_testing(), judge=settings(server))
    judge = document["judge"]
    assert judge["verdicts"] == {"supported": 1, "partial": 2, "unsupported": 1}
    assert judge["sections"] == [] and judge["completeness"] is None
    assert any("the judge stopped" in error for error in judge["errors"])
    assert document["judge_cost"]["calls"] >= 1
