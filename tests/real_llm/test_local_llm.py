"""Optional: the whole pipeline against a real (tiny) LLM on a local OpenAI-compatible server.

Not in the default run (marker ``local_llm``): it needs llama-cpp-python, built from source, and
a model file, prepared once by::

    python -m tests.real_llm.prepare        # see that module for what it installs, and where
    python -m pytest -m local_llm

The model (SmolLM2-135M) writes poorly; the point is that the pipeline survives a real model's
behaviour: the run ends with a report or one clear error line, what it says about citations is
true, its cost is a known zero, and its trace has a chat span for each call the server answered.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from cli_helpers import assert_no_traceback, independent_citation_check, run_cli
from conftest import make_repo
from otlp_receiver import OtlpReceiver
from real_llm.prepare import COMMAND, Installation, installation, server_command

from bench.local_server import ServerNotReady, served
from tech_writer.report.citations import verify_citations
from tech_writer.repository.repo import Repository
from telemetry import attributes as attrs

pytestmark = pytest.mark.local_llm

_START_TIMEOUT_S = 120  # loading the 98 MB model takes well under a second; the server's imports more
_RUN_TIMEOUT_S = 3000  # bounded: each call is capped at LOCAL_MAX_TOKENS answer tokens
_COMPLETION_LOG = re.compile(r'"POST /v1/chat/completions HTTP/1\.1" (\d{3})')


@dataclass(frozen=True)
class LocalServer:
    base_url: str  # ends with /v1
    model: str
    log: Path
    template: str  # "chatml-function-calling" or "gguf" (the model file's own chat template)

    def completion_statuses(self) -> list[int]:
        """The status of every chat completion the server answered, from its access log."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return [int(status) for status in _COMPLETION_LOG.findall(text)]


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """A folder of the module's own: a run takes minutes, and pytest's numbered temporary folders
    can be pruned meanwhile by other pytest sessions of the same user."""
    with tempfile.TemporaryDirectory(prefix="tw-local-llm-") as folder:
        yield Path(folder)


def _command(found: Installation, port: int, *, template: str) -> list[str]:
    """The server's command; ``template`` "gguf" drops --chat_format, so that the model file's
    own chat template is used (SmolLM2's shows the model no tools)."""
    command = server_command(found, port)
    if template == "gguf":
        at = command.index("--chat_format")
        del command[at:at + 2]
    return command


# chatml-function-calling: the template that offers SmolLM2 the tools; gguf: the model file's own
# template, which hides them (the server accepts `tools` and drops them).
@pytest.fixture(scope="module", params=["chatml-function-calling", "gguf"])
def local_server(workdir: Path, request: pytest.FixtureRequest) -> Iterator[LocalServer]:
    found = installation()
    if found is None:
        pytest.skip(f"no local LLM prepared: run `{COMMAND}` first (builds llama-cpp-python "
                    "and installs a small model, outside the repository)")
    template = str(request.param)
    log_path = workdir / f"server-{template}.log"
    try:
        with served(partial(_command, found, template=template), log_path,
                    _START_TIMEOUT_S) as base_url:
            yield LocalServer(base_url, found.model_name, log_path, template)
    except ServerNotReady as exc:
        pytest.fail(f"the llama.cpp server did not start: {exc}")


def test_a_real_model_on_a_local_server(local_server, workdir):
    sample_repo = make_repo(workdir / f"inventory-repo-{local_server.template}")
    prompt_file = workdir / "architecture.md"
    prompt_file.write_text("Write an architecture overview of this repository: components, data "
                           "flow, storage. Cite the code.\n", encoding="utf-8")
    output = workdir / f"report-{local_server.template}.md"
    with OtlpReceiver() as receiver:
        started = time.monotonic()
        result = run_cli(
            "--prompt", prompt_file, "--repo", sample_repo, "--provider", "local",
            "--base-url", local_server.base_url, "--model", local_server.model,
            "--max-exploration", "4", "--max-sections", "2", "--concurrency", "1",
            "--request-timeout", "600", "--eval-json", "-o", output,
            env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                 "OTEL_SERVICE_NAME": "tw-local-llm"},
            timeout=_RUN_TIMEOUT_S)
        wall_s = time.monotonic() - started
        spans = receiver.spans()  # the CLI flushed before exiting
    print(f"exit {result.returncode} after {wall_s:.0f} s\n--- stderr ---\n{result.stderr[-6000:]}")

    # With the template that offers it the tools, the run ends with a report (exit 0): an
    # outline the model cannot write is built from the prompt instead, and the exploration is
    # kept. With the model file's own template, a report or one clear line naming what the
    # server lacks. Never a traceback.
    assert_no_traceback(result)
    if local_server.template == "chatml-function-calling":
        assert result.returncode == 0, result.stderr[-3000:]
    elif result.returncode != 0:
        errors = [line for line in result.stderr.splitlines()
                  if line.startswith("tech-writer: error: ")]
        assert len(errors) == 1, result.stderr[-3000:]
        assert result.returncode == 1, result.stderr[-3000:]
        assert "tool" in errors[0], errors[0]  # what the server lacks: tool calls
    document = json.loads(result.stdout)
    if result.returncode == 0:
        assert document["report"] and output.read_text(encoding="utf-8") == document["report"]

    # A local server bills nothing: the cost is a known zero, tokens come from its usage.
    cost = document["cost"]
    assert cost["provider"] == "local"
    assert cost["total_cost_usd"] == 0.0
    assert cost["complete"] is True
    assert cost["calls_without_cost"] == 0
    assert cost["total_calls"] >= 1
    assert cost["prompt_tokens"] > 0 and cost["completion_tokens"] > 0
    print(f"calls {cost['total_calls']}, prompt tokens {cost['prompt_tokens']}, "
          f"completion tokens {cost['completion_tokens']}")

    # What the run says of the report's citations is true: tech_writer's own check and an
    # independent one agree with the JSON, about the report actually written.
    report = document["report"]
    if report is not None:
        assert output.read_text(encoding="utf-8") == report
        checked = verify_citations(report, Repository(sample_repo))
        assert document["citations"] == checked.as_dict()
        assert independent_citation_check(report, sample_repo) == (checked.total, checked.valid)
        print(f"citations: {checked.as_dict()}")

    # One chat span per call: an answered one per call counted, a failed one per request the
    # server refused; each HTTP attempt a span records is one the server logged answering
    # (retries included); every span names the local provider, the model and the server.
    chats = [s for s in spans if s.attributes.get(attrs.GEN_AI_OPERATION_NAME) == "chat"]
    answered = [s for s in chats if s.status_code != "ERROR"]
    assert len(answered) == cost["total_calls"]
    attempts = [e for s in chats for e in s.events if e.name == attrs.RETRY_EVENT]
    statuses = local_server.completion_statuses()
    assert len(statuses) == len(attempts) >= len(chats)
    assert statuses.count(200) == len(answered)
    tools = [s for s in spans if s.attributes.get(attrs.GEN_AI_OPERATION_NAME) == "execute_tool"]
    if not tools and result.returncode == 0:  # a template that hides the tools: said so
        assert "the model read no file: it answered without calling a tool" in result.stderr
    print(f"chat spans {len(chats)} ({len(chats) - len(answered)} refused), server statuses "
          f"{sorted(set(statuses))}, tool calls {len(tools)} "
          f"({sum(s.status_code == 'ERROR' for s in tools)} answered with an error)")
    for chat in chats:
        assert chat.attributes[attrs.GEN_AI_PROVIDER_NAME] == "local"
        assert chat.attributes[attrs.GEN_AI_REQUEST_MODEL] == local_server.model
        assert chat.attributes[attrs.SERVER_ADDRESS] == "127.0.0.1"
        assert chat.attributes.get(attrs.GEN_AI_USAGE_COST, 0.0) == 0.0
    (root,) = [s for s in spans if s.parent_span_id is None]
    assert root.attributes[attrs.ROLLUP_COST_USD] == 0.0
