"""Optional: a real OTLP backend (Arize Phoenix) receives a run and reads it back.

Not in the default run (marker ``phoenix``; Phoenix is ~850 MB). To run it::

    python -m venv /tmp/phoenix && /tmp/phoenix/bin/pip install arize-phoenix
    PHOENIX_BIN=/tmp/phoenix/bin/phoenix python -m pytest -m phoenix
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import time

import httpx
import pytest
from cli_helpers import KEY, assert_no_traceback, run_cli

from tech_writer.demo import DemoModel, FakeOpenRouter

pytestmark = pytest.mark.phoenix


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def phoenix(tmp_path):
    binary = os.environ.get("PHOENIX_BIN") or shutil.which("phoenix")
    if not binary:
        pytest.skip("Phoenix not installed: set PHOENIX_BIN (see this module's docstring)")
    port, grpc_port = _free_port(), _free_port()
    env = {**os.environ, "PHOENIX_PORT": str(port), "PHOENIX_GRPC_PORT": str(grpc_port),
           "PHOENIX_HOST": "127.0.0.1", "PHOENIX_WORKING_DIR": str(tmp_path / "phoenix")}
    log = open(tmp_path / "phoenix.log", "wb")
    process = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, (tmp_path / "phoenix.log").read_text()[-2000:]
            time.sleep(0.5)
        else:
            pytest.fail("Phoenix did not start within 120 s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_phoenix_reads_back_the_run_with_its_cost(phoenix, sample_repo, prompt_file):
    with FakeOpenRouter(DemoModel(), api_key=KEY) as server:
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "openrouter",
                         "--base-url", server.base_url, "--eval-json", "--max-sections", "2",
                         env={"OPENROUTER_API_KEY": KEY, "OTEL_EXPORTER_OTLP_ENDPOINT": phoenix,
                              "OTEL_SERVICE_NAME": "tw-phoenix"})
        ledger = {c.generation_id: c for c in server.ledger}
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    total = json.loads(result.stdout)["cost"]["total_cost_usd"]

    spans: list[dict] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        projects = httpx.get(f"{phoenix}/v1/projects", timeout=5).json()["data"]
        spans = []
        for project in projects:
            response = httpx.get(f"{phoenix}/v1/projects/{project['name']}/spans",
                                 params={"limit": 1000}, timeout=10)
            if response.status_code == 200:
                spans += response.json()["data"]
        chats = [s for s in spans if s["name"].startswith("chat ")]
        if len(chats) >= len(ledger):
            break
        time.sleep(1)
    chats = [s for s in spans if s["name"].startswith("chat ")]
    assert len(chats) == len(ledger)
    assert any(s["name"] == "invoke_agent tech_writer" for s in spans)

    def attribute(span: dict, key: str):
        value = span.get("attributes", {})
        for part in key.split("."):  # Phoenix may nest dotted keys
            if isinstance(value, dict) and key in value:
                return value[key]
            value = value.get(part) if isinstance(value, dict) else None
        return value

    costs = [attribute(s, "gen_ai.usage.cost") for s in chats]
    assert all(isinstance(c, (int, float)) for c in costs), chats[0].get("attributes")
    assert math.fsum(costs) == pytest.approx(total, abs=1e-9)
    assert KEY not in json.dumps(spans)
