from __future__ import annotations

import logging
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otlp_receiver import OtlpReceiver, ReceivedSpan
from span_helpers import chat_answer

from telemetry import Telemetry
from telemetry import attributes as attrs
from telemetry.export_guard import ExportProblems
from telemetry.shutdown import run_bounded

MODEL = "openai/gpt-5.1"
BACKEND_KEY = "phx-key-5f3a9c1e7b"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_once(tel: Telemetry) -> None:
    """A miniature run: agent > phase > (chat with a retry, failing tool)."""
    with tel.run_span(attributes={attrs.RUN_REPO: "demo"}), tel.phase_span("exploration"):
        chat = tel.start_chat(MODEL, "openrouter", server_address="openrouter.ai", server_port=443)
        chat.record_attempt(1, status_code=503, error_type="provider_overloaded", wait_s=0.5)
        chat.record_attempt(2, status_code=200)
        chat.stop(chat_answer(generation_id="gen-1", response_model=MODEL,
                              finish_reasons=["tool_calls"], prompt_tokens=900,
                              completion_tokens=50, cached_tokens=512, cost_usd=0.0042,
                              cost_source="inline"))
        with tel.tool_span("read_file", "call_1") as tool:
            tool.set_result("Error: no such file", is_error=True, truncated=False)


def named(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    return {span.name: span for span in spans}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_spans_and_metrics_reach_an_otlp_http_receiver(caplog: pytest.LogCaptureFixture) -> None:
    with OtlpReceiver() as receiver, caplog.at_level(logging.DEBUG):
        tel = Telemetry.from_env({
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer%20{BACKEND_KEY}",
            "OTEL_SERVICE_NAME": "tw-test",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=ci",
        }, service_version="9.9.9")
        assert tel.exporting is True
        assert tel.export_targets == (
            f"traces → {receiver.endpoint}/v1/traces (http/protobuf)",
            f"metrics → {receiver.endpoint}/v1/metrics (http/protobuf)")
        run_once(tel)
        tel.shutdown()
        assert receiver.wait_for(lambda r: len(r.spans()) == 4 and bool(r.metrics()), timeout=5)

    spans = named(receiver.spans())
    run, phase = spans["invoke_agent tech_writer"], spans["phase exploration"]
    chat, tool = spans[f"chat {MODEL}"], spans["execute_tool read_file"]
    assert run.parent_span_id is None
    assert phase.parent_span_id == run.span_id
    assert chat.parent_span_id == tool.parent_span_id == phase.span_id
    assert len({span.trace_id for span in spans.values()}) == 1
    assert (chat.kind, run.kind) == ("CLIENT", "INTERNAL")
    assert chat.resource_attributes["service.name"] == "tw-test"
    assert chat.resource_attributes["service.version"] == "9.9.9"
    assert chat.resource_attributes["deployment.environment"] == "ci"
    assert (chat.scope_name, chat.scope_version) == ("tech_writer", "9.9.9")
    assert chat.attributes[attrs.GEN_AI_USAGE_COST] == 0.0042
    assert chat.attributes[attrs.GEN_AI_USAGE_INPUT_TOKENS] == 900
    assert chat.attributes[attrs.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 512
    assert chat.attributes[attrs.GEN_AI_RESPONSE_FINISH_REASONS] == ["tool_calls"]
    assert chat.attributes[attrs.PHASE] == "exploration"
    assert [event.attributes for event in chat.events] == [
        {attrs.RETRY_ATTEMPT: 1, attrs.RETRY_STATUS_CODE: 503,
         attrs.ERROR_TYPE: "provider_overloaded", attrs.RETRY_WAIT_S: 0.5},
        {attrs.RETRY_ATTEMPT: 2, attrs.RETRY_STATUS_CODE: 200}]
    assert (tool.status, tool.status_message) == ("ERROR", "Error: no such file")
    assert chat.status == "UNSET"

    metrics = receiver.metrics()
    tokens = metrics[attrs.METRIC_TOKEN_USAGE]
    assert {p.attributes[attrs.GEN_AI_TOKEN_TYPE]: p.sum for p in tokens} == {
        "input": 900, "output": 50}
    assert tokens[0].unit == "{token}" and tokens[0].explicit_bounds == list(
        map(float, attrs.TOKEN_USAGE_BUCKETS))
    (cost,) = metrics[attrs.METRIC_COST]
    assert (cost.value, cost.unit, cost.is_monotonic) == (0.0042, "USD", True)
    assert cost.attributes == {attrs.GEN_AI_OPERATION_NAME: "chat",
                               attrs.GEN_AI_PROVIDER_NAME: "openrouter",
                               attrs.GEN_AI_REQUEST_MODEL: MODEL, attrs.PHASE: "exploration"}
    assert metrics[attrs.METRIC_OPERATION_DURATION][0].count == 1

    requests = receiver.requests()
    assert {r.path for r in requests} == {"/v1/traces", "/v1/metrics"}
    assert all(r.headers["authorization"] == f"Bearer {BACKEND_KEY}" for r in requests)
    assert BACKEND_KEY not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_backend_without_metrics_gets_traces_and_one_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    # Phoenix answers 405 to POST /v1/metrics.
    with OtlpReceiver(metrics_status=405) as receiver, caplog.at_level(logging.WARNING):
        tel = Telemetry.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                                  "OTEL_EXPORTER_OTLP_HEADERS": f"api_key={BACKEND_KEY}"})
        run_once(tel)
        tel.shutdown()
        tel.shutdown()  # idempotent
        assert receiver.wait_for(lambda r: len(r.spans()) == 4, timeout=5)
    (warning,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.name == "telemetry"
    assert warning.getMessage().startswith(
        f"OpenTelemetry: could not export metrics to {receiver.endpoint}/v1/metrics "
        "(HTTP 405 Method Not Allowed)")
    assert warning.exc_info is None
    assert BACKEND_KEY not in caplog.text
    assert tel.cost.summary().total.cost_usd == 0.0042


def test_always_off_sampler_exports_no_spans_but_keeps_metrics_and_cost() -> None:
    with OtlpReceiver() as receiver:
        tel = Telemetry.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                                  "OTEL_TRACES_SAMPLER": "always_off"})
        run_once(tel)
        tel.shutdown()
        assert receiver.wait_for(lambda r: attrs.METRIC_COST in r.metrics(), timeout=5)
    assert receiver.spans() == []
    assert "/v1/traces" not in {r.path for r in receiver.requests()}
    assert tel.cost.summary().phases["exploration"].cost_usd == 0.0042


def test_force_flush_delivers_before_shutdown() -> None:
    with OtlpReceiver() as receiver:
        tel = Telemetry.from_env({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":
                                  f"{receiver.endpoint}/v1/traces"})
        with tel.phase_span("outline"):
            pass
        assert tel.force_flush(timeout_s=5) is True
        assert [span.name for span in receiver.spans()] == ["phase outline"]
        tel.shutdown()
        assert tel.force_flush() is False
    assert "/v1/metrics" not in {r.path for r in receiver.requests()}


def test_console_exporter_writes_to_stderr_only(capsys: pytest.CaptureFixture[str]) -> None:
    tel = Telemetry.from_env({"OTEL_TRACES_EXPORTER": "console"})
    with tel.phase_span("outline"):
        pass
    tel.shutdown()
    captured = capsys.readouterr()
    assert captured.out == ""  # stdout carries the report / JSON
    assert '"name": "phase outline"' in captured.err


_DEAD_ENDPOINT_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from telemetry import ChatAnswer, Telemetry, UsageStats

    tel = Telemetry.from_env({{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:{port}",
                              "OTEL_EXPORTER_OTLP_PROTOCOL": {protocol!r},
                              "OTEL_EXPORTER_OTLP_HEADERS": "authorization={key}"}})
    with tel.run_span(), tel.phase_span("exploration"):
        usage = UsageStats(10, 2, 12, cost_usd=0.1, generation_id="gen-1")
        tel.start_chat("m", "openrouter").stop(ChatAnswer(usage, "m", ["stop"]))
    started = time.monotonic()
    tel.shutdown(timeout_s=2.0)
    print(f"{{time.monotonic() - started:.3f}}")
    print(tel.cost.summary().total.cost_usd)
""")


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_a_dead_endpoint_costs_at_most_two_seconds_and_one_line(tmp_path: Path,
                                                                 protocol: str) -> None:
    script = tmp_path / "dead_endpoint.py"
    script.write_text(_DEAD_ENDPOINT_SCRIPT.format(root=str(PROJECT_ROOT), port=closed_port(),
                                                   protocol=protocol, key=BACKEND_KEY))
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=30, cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    shutdown_s, cost = done.stdout.split()
    assert float(shutdown_s) <= 2.5
    assert cost == "0.1"
    assert elapsed < 8  # interpreter start and imports included; nothing waits at exit
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("OpenTelemetry: ")
    assert "127.0.0.1" in lines[0]
    assert "Traceback" not in done.stderr and BACKEND_KEY not in done.stderr


def test_export_problems_warn_once_and_hide_secrets(caplog: pytest.LogCaptureFixture) -> None:
    problems = ExportProblems([BACKEND_KEY])

    def leaky_export() -> bool:
        raise RuntimeError(f"rejected header authorization={BACKEND_KEY}")

    with caplog.at_level(logging.DEBUG, logger="telemetry"):
        assert problems.run_export("traces", "http://collector:4318/v1/traces", leaky_export) is False
        assert problems.run_export("metrics", "http://collector:4318/v1/metrics",
                                   lambda: False) is False
        problems.report_timeout(2.0)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "OpenTelemetry: could not export traces to http://collector:4318/v1/traces "
        "(RuntimeError: rejected header authorization=***); further export errors are not shown"]
    assert problems.failures == 2
    assert BACKEND_KEY not in caplog.text


def test_run_bounded_gives_up_on_a_blocked_call() -> None:
    release = threading.Event()
    started = time.monotonic()
    outcome = run_bounded([lambda: release.wait(10), lambda: True], timeout_s=0.2)
    assert time.monotonic() - started < 1.0
    assert outcome.finished is False and outcome.ok is False
    release.set()
    assert run_bounded([lambda: 1 / 0], timeout_s=1).errors[0].__class__ is ZeroDivisionError


def test_in_memory_wiring_reports_exporting() -> None:
    assert Telemetry.for_testing().exporting is False
    assert Telemetry.for_testing(InMemorySpanExporter()).exporting is True


# --- the HTTP exporters read the environment once ----------------------------------------------
def test_export_session_takes_proxies_from_the_environment_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from telemetry.providers import _export_session

    endpoint = "http://collector.example:4318/v1/traces"
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = _export_session(endpoint, "TRACES")
    assert session is not None
    assert session.trust_env is False  # no environment scan on every export
    assert session.proxies.get("http") == "http://proxy.example:3128"
    monkeypatch.setenv("NO_PROXY", "collector.example")
    again = _export_session(endpoint, "TRACES")
    assert again is not None and "http" not in again.proxies


@pytest.mark.parametrize("variable", ["OTEL_PYTHON_EXPORTER_OTLP_HTTP_CREDENTIAL_PROVIDER",
                                      "OTEL_PYTHON_EXPORTER_OTLP_HTTP_TRACES_CREDENTIAL_PROVIDER"])
def test_a_credential_provider_keeps_the_exporters_own_session(
        monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    from telemetry.providers import _export_session

    monkeypatch.setenv(variable, "my-provider")
    assert _export_session("http://collector.example:4318/v1/traces", "TRACES") is None
    assert (_export_session("http://collector.example:4318/v1/metrics", "METRICS") is None) == (
        variable == "OTEL_PYTHON_EXPORTER_OTLP_HTTP_CREDENTIAL_PROVIDER")


def test_export_session_keeps_netrc_credentials(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from telemetry.providers import _export_session

    netrc = tmp_path / ".netrc"
    netrc.write_text("machine collector.example login otel password s3cret\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    mine = _export_session("http://collector.example:4318/v1/traces", "TRACES")
    other = _export_session("http://other.example:4318/v1/traces", "TRACES")
    assert mine is not None and mine.auth == ("otel", "s3cret")
    assert other is not None and other.auth is None


def test_requests_ca_bundle_applies_unless_an_otlp_certificate_is_set(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from telemetry.providers import _requests_ca_bundle

    for name in ("OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
                 "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    assert _requests_ca_bundle("TRACES") is None
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/curl.pem")
    assert _requests_ca_bundle("TRACES") == "/etc/ssl/curl.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corp.pem")
    assert _requests_ca_bundle("TRACES") == "/etc/ssl/corp.pem"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/etc/ssl/otel.pem")
    assert _requests_ca_bundle("TRACES") is None
    assert _requests_ca_bundle("METRICS") == "/etc/ssl/corp.pem"


def test_the_run_resource_hashes_and_compares_like_a_plain_resource() -> None:
    from opentelemetry.sdk.resources import Resource

    from telemetry.providers import build_resource

    resource = build_resource(service_name="svc", default_service_name="tech_writer",
                              service_version="1.2", env_attributes={"team": "docs"})
    plain = Resource(dict(resource.attributes))
    assert resource == plain and hash(resource) == hash(plain)
    assert {resource: 1}[plain] == 1  # the OTLP encoder groups spans by resource this way
    assert resource.merge(Resource({"extra": "x"})).attributes["team"] == "docs"


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("name", [
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",  # SDK <= 1.44
    "opentelemetry.exporter.otlp.common.http",  # SDK 1.45: the shared HTTP client
    "opentelemetry.sdk._shared_internal",  # the batch processor
    "opentelemetry.sdk.metrics._internal.export",  # the periodic metric reader
])
def test_export_path_records_reach_no_handler_but_the_guards(name: str) -> None:
    # A host may attach handlers to the SDK's loggers themselves (pytest >= 9 does, to every
    # non-propagating logger): the guard must still be the only one to speak of a failure.
    from telemetry.export_guard import redirect_exporter_logs

    sdk_logger = logging.getLogger(name)
    redirect_exporter_logs()
    own, root, debug = _Recorder(), _Recorder(), _Recorder()
    sdk_logger.addHandler(own)
    logging.getLogger().addHandler(root)
    logging.getLogger("telemetry.export").addHandler(debug)
    previous_level = logging.getLogger("telemetry.export").level
    logging.getLogger("telemetry.export").setLevel(logging.DEBUG)
    problems = ExportProblems([BACKEND_KEY])

    def failing_export() -> bool:
        sdk_logger.error("Failed to export metrics batch code: %s, reason: %s", 405,
                         f"Method Not Allowed {BACKEND_KEY}")
        return False

    try:
        assert problems.run_export("metrics", "http://phoenix:6006/v1/metrics",
                                   failing_export) is False
    finally:
        sdk_logger.removeHandler(own)
        logging.getLogger().removeHandler(root)
        logging.getLogger("telemetry.export").removeHandler(debug)
        logging.getLogger("telemetry.export").setLevel(previous_level)
    assert own.records == []
    assert [r.name for r in root.records if r.levelno >= logging.WARNING] == ["telemetry"]
    assert root.records[-1].getMessage() == (
        "OpenTelemetry: could not export metrics to http://phoenix:6006/v1/metrics "
        "(HTTP 405 Method Not Allowed ***); further export errors are not shown")
    (relogged,) = [r for r in debug.records if r.levelno == logging.DEBUG]
    assert relogged.getMessage().startswith(f"{name}: Failed to export metrics batch code: 405")
    assert BACKEND_KEY not in relogged.getMessage()
