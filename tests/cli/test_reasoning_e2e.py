"""The whole pipeline on a reasoning model (signed reasoning blocks with every tool call), in the
real command: it must send each block back with its tool calls, keep the thinking out of the
report, and know the exact cost, streamed or not."""

from __future__ import annotations

import json
import math

import pytest
from cli_helpers import KEY, assert_no_traceback, run_cli

from tech_writer.demo import DemoModel, FakeOpenRouter, FakeOptions

REASONING_MARK = "[fake reasoning]"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_reasoning_model_runs_end_to_end_with_exact_cost(sample_repo, prompt_file,
                                                         stream: bool) -> None:
    with FakeOpenRouter(DemoModel(), api_key=KEY, options=FakeOptions(reasoning=True)) as server:
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "openrouter",
                         "--model", "google/gemini-3-pro-preview", "--base-url", server.base_url,
                         "--eval-json", "--max-sections", "2", *(["--stream"] if stream else []),
                         env={"OPENROUTER_API_KEY": KEY})
        ledger = server.ledger
        requests = server.requests
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert all(call.streamed is stream for call in ledger)
    document = json.loads(result.stdout)
    cost = document["cost"]
    assert cost["complete"] is True and cost["total_calls"] == len(ledger)
    assert cost["total_cost_usd"] == pytest.approx(math.fsum(c.cost_usd for c in ledger), abs=1e-12)
    assert cost["reasoning_tokens"] == sum(c.reasoning_tokens for c in ledger) > 0
    assert cost["completion_tokens"] == sum(c.completion_tokens for c in ledger)
    # Every tool call went back with its signed blocks (the fake would have answered 400 if not).
    resent = [message for request in requests if request.path.endswith("/chat/completions")
              for message in request.json["messages"]
              if message.get("role") == "assistant" and message.get("tool_calls")]
    assert resent and all(len(message["reasoning_details"]) == 3 for message in resent)
    assert REASONING_MARK not in document["report"] and "reasoning." not in document["report"]
    assert REASONING_MARK not in result.stderr
