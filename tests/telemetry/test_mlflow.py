"""Optional: MLflow receives a run over OTLP and shows the billed cost, not one of its own.

Not in the default run (marker ``mlflow``; MLflow is a large install, and its server takes a
minute to start on a small machine). To run it::

    python -m venv /tmp/mlflow && /tmp/mlflow/bin/pip install mlflow
    MLFLOW_BIN=/tmp/mlflow/bin/mlflow python -m pytest -m mlflow

MLflow stays out of the project's environment: the server is its ``mlflow`` executable, and the
traces are read back with its own client, run by the Python next to that executable.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_helpers import KEY, assert_no_traceback, run_cli
from span_helpers import chat_answer

from tech_writer.demo import DemoModel, FakeOpenRouter, FakeOptions
from telemetry import Telemetry, TokenPrices

pytestmark = pytest.mark.mlflow

INSTALL = ("python -m venv /tmp/mlflow && /tmp/mlflow/bin/pip install mlflow, then "
           "MLFLOW_BIN=/tmp/mlflow/bin/mlflow python -m pytest -m mlflow")
START_BOUND_S = 240.0  # a cold start imports a great deal; measured ~65 s here under load
READ_BOUND_S = 90.0  # MLflow ingests OTLP batches asynchronously

# Runs in MLflow's own Python: waits (bounded) until the experiment holds a finished trace with
# the expected number of chat spans and a cost, then prints what MLflow made of it as JSON.
_READER = """
import json, sys, time
from mlflow import MlflowClient

uri, experiment, expected, bound = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
client = MlflowClient(tracking_uri=uri)
deadline = time.monotonic() + bound
while True:
    traces = client.search_traces(experiment_ids=[experiment], max_results=10)
    chats = [s for t in traces for s in t.data.spans if s.span_type == "CHAT_MODEL"]
    ready = (traces and len(chats) >= expected
             and all(getattr(t.info.state, "value", t.info.state) == "OK" for t in traces))
    if ready or time.monotonic() > deadline:
        break
    time.sleep(1)
print(json.dumps([{
    "state": getattr(t.info.state, "value", str(t.info.state)),
    "token_usage": t.info.token_usage,
    "cost": t.info.cost,
    "spans": [{"name": s.name, "type": s.span_type,
               "cost": s.get_attribute("mlflow.llm.cost"),
               "response_id": s.get_attribute("gen_ai.response.id")} for s in t.data.spans],
} for t in traces]))
"""


@dataclass(frozen=True)
class MlflowServer:
    url: str
    python: Path  # the interpreter MLflow is installed in

    def create_experiment(self, name: str) -> str:
        response = httpx.post(f"{self.url}/api/2.0/mlflow/experiments/create",
                              json={"name": name}, timeout=30)
        response.raise_for_status()
        return str(response.json()["experiment_id"])

    def read_traces(self, experiment_id: str, expected_chats: int) -> list[dict[str, Any]]:
        result = subprocess.run(
            [str(self.python), "-c", _READER, self.url, experiment_id, str(expected_chats),
             str(READ_BOUND_S)],
            capture_output=True, text=True, timeout=READ_BOUND_S + 60, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, result.stderr[-3000:]
        traces: list[dict[str, Any]] = json.loads(result.stdout.strip().splitlines()[-1])
        return traces

    def otlp_env(self, experiment_id: str) -> dict[str, str]:
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": self.url,
                "OTEL_EXPORTER_OTLP_HEADERS": f"x-mlflow-experiment-id={experiment_id}",
                "OTEL_METRICS_EXPORTER": "none",  # MLflow takes traces only (404 on metrics)
                "OTEL_BSP_SCHEDULE_DELAY": "200"}  # export during the run, not all at exit


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mlflow_binary() -> Path | None:
    found = os.environ.get("MLFLOW_BIN") or shutil.which("mlflow")
    return Path(found) if found and Path(found).is_file() else None


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    binary = _mlflow_binary()
    if binary is None:
        pytest.skip(f"MLflow not installed: {INSTALL}")
    python = binary.parent / "python"
    if not python.is_file():
        pytest.skip(f"no Python next to {binary} to run MLflow's client: {INSTALL}")
    home = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = home / "server.log"
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # no job workers
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(binary), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
             "--backend-store-uri", f"sqlite:///{home / 'mlflow.db'}",
             "--default-artifact-root", str(home / "artifacts")],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)  # its own process group: the server forks workers
        try:
            _wait_until_healthy(url, process, log_path)
            server = MlflowServer(url, python)
            _warm_up(server)
            yield server
        finally:
            _stop(process)


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_BOUND_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert process.poll() is None, log_path.read_text(errors="replace")[-3000:]
        time.sleep(1)
    pytest.fail(f"MLflow did not start within {START_BOUND_S:.0f} s")


def _warm_up(server: MlflowServer) -> None:
    """MLflow's first OTLP request is slow (imports); the tool only waits 2 s at exit, so the
    first request is made here, with a generous bound."""
    environ = server.otlp_env(server.create_experiment("warm-up"))
    tel = Telemetry.from_env(environ)
    with tel.run_span(agent_name="warm-up"):
        chat = tel.start_chat("openai/gpt-5.1", "openrouter")
        chat.stop(chat_answer(generation_id="gen-warm-up", response_model="openai/gpt-5.1",
                              finish_reasons=["stop"], prompt_tokens=10, completion_tokens=2,
                              cost_usd=1e-5, prices=TokenPrices(1.25e-6, 1e-5)))
    assert tel.force_flush(timeout_s=60.0)
    tel.shutdown(timeout_s=10.0)


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _run_tool(server: MlflowServer, experiment_id: str, sample_repo: Path, prompt_file: Path,
              fake: FakeOpenRouter, *extra: str) -> dict[str, Any]:
    with fake:
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "openrouter",
                         "--model", "openai/gpt-5.1", "--base-url", fake.base_url, "--eval-json",
                         "--max-sections", "2", *extra,
                         env={"OPENROUTER_API_KEY": KEY, "OTEL_SERVICE_NAME": "tw-mlflow",
                              **server.otlp_env(experiment_id)}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    assert "did not finish" not in result.stderr, result.stderr  # every span was sent
    cost: dict[str, Any] = json.loads(result.stdout)["cost"]
    return cost


@pytest.mark.parametrize("inline_cost", [True, False], ids=["inline-cost", "generation-lookup"])
def test_mlflow_shows_the_billed_cost(mlflow_server: MlflowServer, sample_repo: Path,
                                      prompt_file: Path, inline_cost: bool) -> None:
    # Cached prompt tokens make the bill differ from any list-price estimate MLflow could make;
    # without an inline cost every call's cost comes from /generation (after one 404) instead.
    fake = FakeOpenRouter(DemoModel(), api_key=KEY,
                          options=FakeOptions(cached_tokens=300, inline_cost=inline_cost,
                                              generation_404s=0 if inline_cost else 1))
    experiment_id = mlflow_server.create_experiment(f"billed-{'inline' if inline_cost else 'gen'}")
    ours = _run_tool(mlflow_server, experiment_id, sample_repo, prompt_file, fake)
    ledger = {call.generation_id: call for call in fake.ledger}
    billed = ours["total_cost_usd"]
    assert billed == math.fsum(call.cost_usd for call in ledger.values())
    assert ours["complete"] and ours["cached_tokens"] > 0

    (trace,) = mlflow_server.read_traces(experiment_id, expected_chats=len(ledger))
    assert trace["state"] == "OK"
    chats = [span for span in trace["spans"] if span["type"] == "CHAT_MODEL"]
    assert sorted(span["response_id"] for span in chats) == sorted(ledger)
    for span in chats:  # each call: its bill, split into shares that add up to it
        cost = span["cost"]
        assert cost["total_cost"] == ledger[span["response_id"]].cost_usd
        assert cost["input_cost"] + cost["output_cost"] == cost["total_cost"]
    assert trace["token_usage"]["input_tokens"] == ours["prompt_tokens"]
    assert trace["token_usage"]["output_tokens"] == ours["completion_tokens"]
    assert trace["token_usage"]["total_tokens"] == ours["total_tokens"]
    assert trace["token_usage"]["cache_read_input_tokens"] == ours["cached_tokens"]
    assert abs(trace["cost"]["total_cost"] - billed) <= 1e-9
    print(f"\n{'inline' if inline_cost else '/generation'}: billed ${billed!r}, "
          f"MLflow trace cost ${trace['cost']['total_cost']!r}")


def test_a_call_of_unknown_cost_gets_no_cost_from_mlflow(mlflow_server: MlflowServer,
                                                         sample_repo: Path,
                                                         prompt_file: Path) -> None:
    # No inline cost and no /generation: no call's cost is ever known. MLflow would price each
    # from its own table; the marker tech_writer sets (mlflow.llm.cost = {}) stops that.
    fake = FakeOpenRouter(DemoModel(), api_key=KEY,
                          options=FakeOptions(inline_cost=False, generation_available=False))
    experiment_id = mlflow_server.create_experiment("unknown")
    ours = _run_tool(mlflow_server, experiment_id, sample_repo, prompt_file, fake,
                     "--cost-lookup-timeout", "0.5")
    assert not ours["complete"] and ours["calls_without_cost"] == ours["total_calls"] > 0

    (trace,) = mlflow_server.read_traces(experiment_id, expected_chats=ours["total_calls"])
    chats = [span for span in trace["spans"] if span["type"] == "CHAT_MODEL"]
    assert len(chats) == ours["total_calls"]
    assert all(span["cost"] == {} for span in chats)
    assert trace["token_usage"]["input_tokens"] == ours["prompt_tokens"]
    # Nothing invented: the trace's cost is the sum of no known cost.
    assert trace["cost"] in (None, {"input_cost": 0.0, "output_cost": 0.0, "total_cost": 0.0})
