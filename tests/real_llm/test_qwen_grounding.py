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
import tempfile
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from cli_helpers import assert_no_traceback, run_cli
from real_llm.llama_server import COMMAND

from bench.local_server import llama_server_command, llama_server_installation, served
from tech_writer.report.citations import verify_citations
from tech_writer.report.evaluation import evaluate_report
from tech_writer.report.gate import UNVERIFIED_PREFIX
from tech_writer.repository.repo import Repository

pytestmark = pytest.mark.local_llm

_RUN_TIMEOUT_S = 3600
_MAX_SECTIONS = 6  # the architecture prompt asks for six aspects; each section takes minutes


@pytest.fixture(scope="module")
def qwen_server() -> Iterator[tuple[str, str, Path]]:
    """``(base_url, model name, sample repository)`` while llama-server runs."""
    found = llama_server_installation()
    if found is None:
        pytest.skip(f"no llama-server and Qwen model prepared: run `{COMMAND}` first (builds "
                    "llama.cpp's server and assembles the model, outside the repository)")
    with tempfile.TemporaryDirectory(prefix="tw-qwen-") as folder:
        with served(partial(llama_server_command, found), Path(folder) / "server.log") as url:
            yield url, found.model_name, Path(found.sample_repo)


def test_qwen_on_llama_server_writes_a_grounded_report(qwen_server, tmp_path):
    base_url, model, source = qwen_server
    repo = tmp_path / source.name  # a copy: the run's cache and report stay out of the cache
    shutil.copytree(source, repo)
    output = tmp_path / "report.md"
    started = time.monotonic()
    result = run_cli("--prompt", "architecture", "--repo", repo, "--provider", "local",
                     "--base-url", base_url, "--model", model, "--request-timeout", "900",
                     "--max-sections", str(_MAX_SECTIONS),
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
