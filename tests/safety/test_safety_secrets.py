"""Issue 6, secrets: the API key (flag or environment) never appears in stdout, stderr (DEBUG HTTP
logs included), any file written, exception messages, or telemetry — even when the server echoes
it back in error messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import assert_no_traceback, run_cli
from conftest import SAMPLE_FILES, make_repo
from otlp_receiver import OtlpReceiver
from safety_helpers import PhaseRouter, files_containing

from tech_writer.demo import DemoModel, FakeOpenRouter, FakeOptions, Fault, ModelTurn, ToolCall

FLAG_KEY = "sk-or-v1-FLAGCANARY-7e3d1c9b5a0f24681357"
ENV_KEY = "sk-or-v1-ENVCANARY-13579bdf02468ace9753"
OPENAI_KEY = "sk-proj-OPENAICANARY-0a1b2c3d4e5f6a7b8c9d"
CANARIES = (FLAG_KEY, ENV_KEY, OPENAI_KEY)


def echoing(key: str) -> list[Fault]:
    """Faults whose error messages quote the key back, as some gateways do; all are retried."""
    said = f"upstream rejected credentials {key} for this route"
    return [
        # First, so its backoff (no Retry-After in a 200) is the shortest one.
        Fault(status=502, error_in_200=True, body={"error": {"code": 502, "message": said}}),
        Fault(status=429, retry_after=0.05),
        Fault(status=503, retry_after=0.05, body={"error": {"code": 503, "message": said}}),
        Fault(path="generation", status=500, body={"error": {"code": 500, "message": said}}),
    ]


def isolated_env(tmp_path: Path, receiver: OtlpReceiver, extra: dict[str, str]) -> dict[str, str]:
    """Every place the run could write to by default lives under ``tmp_path/home``."""
    home = tmp_path / "home"
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
           "XDG_STATE_HOME": str(home / ".local/state"), "TMPDIR": str(home / "tmp"),
           "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_SERVICE_NAME": "tw-secrets",
           "OPENAI_API_KEY": OPENAI_KEY, **extra}
    (home / "tmp").mkdir(parents=True)
    return env


def telemetry_text(receiver: OtlpReceiver) -> str:
    """Everything the receiver got, as text: span names, attributes, events, statuses, resources,
    metric points, request headers."""
    spans = receiver.spans()
    points = [p for group in receiver.metrics().values() for p in group]
    return "\n".join([*(repr(s) for s in spans), *(repr(p) for p in points),
                      *(repr(r.headers) for r in receiver.requests())])


def assert_nowhere(canaries: tuple[str, ...], *, stdout: str, stderr: str, root: Path,
                   telemetry: str) -> None:
    for key in canaries:
        assert key not in stdout, "key in stdout"
        assert key not in stderr, "key in stderr"
        assert files_containing(root, key) == [], "key in a file written"
        assert key not in telemetry, "key in telemetry"
        # A partial key is a leak too (e.g. a log that cuts the key at some width).
        assert key[-16:] not in stdout + stderr + telemetry


@pytest.mark.parametrize("source", ["flag", "env"])
def test_key_appears_nowhere_in_a_full_debug_run(sample_repo, prompt_file, tmp_path, source):
    key = FLAG_KEY if source == "flag" else ENV_KEY
    out, cache = tmp_path / "out" / "report.md", tmp_path / "cache" / "tw.sqlite3"
    with OtlpReceiver() as receiver, FakeOpenRouter(DemoModel(), api_key=key,
                                                    options=FakeOptions(inline_cost=False)) as server:
        for fault in echoing(key):
            server.faults.add(fault)
        env = isolated_env(tmp_path, receiver, {"OPENROUTER_API_KEY": ENV_KEY})
        flag = ["--openrouter-key", FLAG_KEY] if source == "flag" else []
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider",
                         "openrouter", "--base-url", server.base_url, *flag, "--log-level",
                         # TRACE: DEBUG and the HTTP libraries' own lines, every path that logs
                         "TRACE", "--eval-json", "-o", out, "--persist-cache", "--cache-path",
                         cache, "--cache-dir", tmp_path / "clones", "--max-sections", "2",
                         env=env)
        pending_faults = server.faults.pending("chat") + server.faults.pending("generation")
        telemetry = telemetry_text(receiver)
        spans = receiver.spans()

    assert result.returncode == 0, result.stderr[-3000:]
    assert_no_traceback(result)
    # The run really exercised the paths that could leak: every echoing fault was served,
    # DEBUG HTTP logging was on, files and telemetry were written.
    assert pending_faults == 0
    assert "DEBUG " in result.stderr and "HTTP Request: POST" in result.stderr
    assert "***" in result.stderr  # the echoed key, masked
    assert out.stat().st_size > 0 and cache.stat().st_size > 0
    assert any(s.name == "invoke_agent tech_writer" for s in spans)
    assert json.loads(result.stdout)["cost"]["complete"] is True
    assert_nowhere(CANARIES, stdout=result.stdout, stderr=result.stderr, root=tmp_path,
                   telemetry=telemetry)


@pytest.mark.parametrize("failure", ["401", "400-echo", "402-echo"])
def test_key_appears_nowhere_when_the_run_fails(sample_repo, prompt_file, tmp_path, failure):
    out = tmp_path / "out" / "report.md"
    said = f"key {FLAG_KEY} is not allowed here"
    server_key = "sk-or-v1-some-other-key-000000" if failure == "401" else FLAG_KEY
    with OtlpReceiver() as receiver, FakeOpenRouter(DemoModel(), api_key=server_key) as server:
        if failure != "401":
            status = int(failure[:3])
            # Twice: the first request is the exploration plan, which a 400 asks once more
            # without its forced tool choice.
            server.faults.add(Fault(status=status, body={"error": {"code": status,
                                                                    "message": said}}),
                              count=2 if status == 400 else 1)
        env = isolated_env(tmp_path, receiver, {"OPENROUTER_API_KEY": ENV_KEY})
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider",
                         "openrouter", "--base-url", server.base_url, "--openrouter-key",
                         FLAG_KEY, "--log-level", "DEBUG", "--eval-json", "-o", out, env=env)
        telemetry = telemetry_text(receiver)
        spans = receiver.spans()

    assert result.returncode == 1, result.stderr[-3000:]
    assert_no_traceback(result)
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["error"]
    if failure == "401":
        assert "rejected the API key (401)" in document["error"]
    elif failure == "402-echo":
        assert "(402)" in document["error"]
    else:
        assert "***" in document["error"]  # the server's message kept, the key masked
    failed = [s for s in spans if s.status_code == "ERROR"]
    assert failed, "the failure should be on the spans"
    assert_nowhere(CANARIES, stdout=result.stdout, stderr=result.stderr, root=tmp_path,
                   telemetry=telemetry)


def test_key_found_inside_the_repository_is_not_copied_out(tmp_path, prompt_file):
    """A repository often holds the very key the run uses (a .env beside the code). Reading it is
    allowed; copying it into the report, the cache or telemetry is a leak like any other."""
    repo = make_repo(tmp_path / "repo", {**SAMPLE_FILES,
                                         "config/.env": f"OPENROUTER_API_KEY={ENV_KEY}\n"})
    out, cache = tmp_path / "out" / "report.md", tmp_path / "cache" / "tw.sqlite3"
    router = PhaseRouter(replace={
        ("exploration", 1): ModelTurn(tool_calls=[ToolCall("read_file",
                                                           {"path": "config/.env"})]),
        ("exploration", 2): ModelTurn(tool_calls=[ToolCall("search_text",
                                                           {"query": "OPENROUTER_API_KEY"})]),
    })
    with OtlpReceiver() as receiver, FakeOpenRouter(router, api_key=ENV_KEY) as server:
        env = isolated_env(tmp_path, receiver, {"OPENROUTER_API_KEY": ENV_KEY})
        result = run_cli("--prompt", prompt_file, "--repo", repo, "--provider", "openrouter",
                         "--base-url", server.base_url, "--eval-json", "-o", out,
                         "--persist-cache", "--cache-path", cache, "--max-sections", "2",
                         env=env)
        telemetry = telemetry_text(receiver)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_no_traceback(result)
    written = [p for p in files_containing(tmp_path, ENV_KEY) if repo not in p.parents]
    assert written == [], "the key was copied out of the repository into files written"
    assert ENV_KEY not in result.stdout and ENV_KEY not in result.stderr
    assert ENV_KEY not in telemetry


def test_the_evidence_a_section_request_quotes_masks_a_key_in_the_code(tmp_path, prompt_file):
    """The grounding gate quotes numbered lines of a section's files in its request: a key written
    in the code is masked there as in every tool result."""
    store = SAMPLE_FILES["inventory/store.py"]
    repo = make_repo(tmp_path / "repo", {**SAMPLE_FILES, "inventory/store.py":
                                         f'"""SQLite-backed item storage."""\nTOKEN = "{ENV_KEY}"\n'
                                         + store.split("\n", 1)[1]})
    with FakeOpenRouter(DemoModel(), api_key=ENV_KEY) as server:
        result = run_cli("--prompt", prompt_file, "--repo", repo, "--provider", "openrouter",
                         "--base-url", server.base_url, "-o", tmp_path / "report.md",
                         env={"OPENROUTER_API_KEY": ENV_KEY})
        requests = [json.dumps(r.json) for r in server.requests
                    if r.path.endswith("/chat/completions")]
    assert result.returncode == 0, result.stderr[-3000:]
    evidence = [body for body in requests if "Numbered excerpts" in body]
    assert evidence and any("inventory/store.py" in body for body in evidence)
    assert all(ENV_KEY not in body for body in requests)


def test_a_model_that_repeats_the_key_cannot_put_it_anywhere(sample_repo, prompt_file, tmp_path):
    """Issue 26, finding 10: masked at the writers, the model's own output included, in the
    key's common encodings too."""
    encoded = ENV_KEY.replace("-", "%2D")
    said = (f"## Keys\n\nThe service reads {ENV_KEY} (also written {encoded}) at start "
            "[inventory/store.py:1-2].\n")
    router = PhaseRouter(replace={("sections", 1): ModelTurn(content=said)})
    out, cache = tmp_path / "out" / "report.md", tmp_path / "cache" / "tw.sqlite3"
    with OtlpReceiver() as receiver, FakeOpenRouter(router, api_key=ENV_KEY) as server:
        env = isolated_env(tmp_path, receiver, {
            "OPENROUTER_API_KEY": ENV_KEY,
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY"})
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider",
                         "openrouter", "--base-url", server.base_url, "--eval-json", "-o", out,
                         "--persist-cache", "--cache-path", cache, "--max-sections", "2",
                         env=env)
        telemetry = telemetry_text(receiver)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "***" in out.read_text()  # the model did say it
    for text in (ENV_KEY, encoded):
        assert text not in result.stdout and text not in result.stderr
        assert files_containing(tmp_path, text) == []
        assert text not in telemetry
