"""Optional: a capable small real model behind llama.cpp's own server, and the grounding gate.

Not in the default run (marker ``local_llm``): Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) on
``llama-server --jinja``, both prepared once, outside the repository, by::

    python -m tests.real_llm.prepare        # see tests/real_llm/llama_server.py
    python -m pytest -m local_llm tests/real_llm/test_qwen_grounding.py

It writes the architecture report of a small real package (``itsdangerous`` 2.2.0's released
source, about 1,700 lines) and checks what the gate promises, whatever the model does: every
claim kept is cited and its citations verify, no name it uses is absent from the repository, and
at least three sections keep a valid citation. Several minutes on 2 cores.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli_helpers import assert_no_traceback, run_cli
from real_llm.llama_server import COMMAND, installation, server_command

from tech_writer.report.citations import verify_citations
from tech_writer.report.evaluation import evaluate_report
from tech_writer.report.gate import UNVERIFIED_PREFIX
from tech_writer.repository.repo import Repository

pytestmark = pytest.mark.local_llm

_START_TIMEOUT_S = 180
_RUN_TIMEOUT_S = 3600
_PROMPT = Path(__file__).resolve().parents[2] / "examples" / "architecture.md"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def qwen_server() -> Iterator[tuple[str, str, Path]]:
    """``(base_url, model name, sample repository)`` while llama-server runs."""
    found = installation()
    if found is None:
        pytest.skip(f"no llama-server and Qwen model prepared: run `{COMMAND}` first (builds "
                    "llama.cpp's server and assembles the model, outside the repository)")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="tw-qwen-") as folder:
        log_path = Path(folder) / "server.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(server_command(found, port), stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + _START_TIMEOUT_S
            while time.monotonic() < deadline:
                assert process.poll() is None, log_path.read_text(errors="replace")[-3000:]
                try:
                    if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            else:
                pytest.fail(f"llama-server did not answer within {_START_TIMEOUT_S} s")
            yield base_url, found.model_name, Path(found.sample_repo)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=20)


def test_qwen_on_llama_server_writes_a_grounded_report(qwen_server, tmp_path):
    base_url, model, source = qwen_server
    repo = tmp_path / source.name  # a copy: the run's cache and report stay out of the cache
    shutil.copytree(source, repo)
    output = tmp_path / "report.md"
    started = time.monotonic()
    result = run_cli("--prompt", _PROMPT, "--repo", repo, "--provider", "local",
                     "--base-url", base_url, "--model", model, "--request-timeout", "900",
                     "--eval-json", "-o", output, timeout=_RUN_TIMEOUT_S)
    wall_s = time.monotonic() - started
    print(f"exit {result.returncode} after {wall_s:.0f} s\n--- stderr ---\n{result.stderr[-5000:]}")
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr[-3000:]
    document = json.loads(result.stdout)
    report = output.read_text(encoding="utf-8")
    print(f"grounding: {document['grounding']}\n--- report ---\n{report}\n--- end of report ---")
    assert UNVERIFIED_PREFIX not in report  # removed by default, never kept as plain text

    metrics = evaluate_report(report, Repository(repo))
    print(f"eval: {json.dumps(metrics.as_dict())[:1500]}")
    # Every claim kept is cited, and every citation verifies.
    assert metrics.claims_total > 0
    assert metrics.citation_coverage == 1.0
    assert metrics.citation_validity == 1.0
    # No name the report uses is absent from the repository.
    assert metrics.missing_entities() == []
    # At least three sections keep a valid citation.
    sections = re.split(r"^## .+$", report, flags=re.M)[1:]
    grounded = [s for s in sections if verify_citations(s, Repository(repo)).valid > 0]
    assert len(grounded) >= 3, report
