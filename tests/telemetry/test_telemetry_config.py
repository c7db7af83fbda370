from __future__ import annotations

import logging
import uuid

import pytest
from opentelemetry.sdk.trace.sampling import Decision

import telemetry
from telemetry import ContentCapture, Telemetry, load_config
from telemetry.config import MAX_EXPORT_TIMEOUT_S, OtlpTarget, SamplerConfig, redact_url
from telemetry.providers import build_resource, build_sampler

SECRET = "sk-backend-0123456789abcdef"


def test_public_names_are_pinned() -> None:
    assert sorted(telemetry.__all__) == [
        "ChatAnswer", "ChatInvocation", "ChatRequest", "ContentCapture", "CostSpanProcessor",
        "CostSummary", "ExportWiring", "Telemetry", "TelemetryConfig", "TokenPrices",
        "ToolInvocation", "UsageStats", "UsageTotals", "load_config",
    ]


def test_empty_environment_exports_nothing() -> None:
    config = load_config({})
    assert config.exporting is False
    assert config.traces.otlp is None and config.metrics.otlp is None
    assert config.traces.console is False and config.metrics.console is False
    assert config.sdk_disabled is False
    assert config.service_name is None
    assert config.content_capture is ContentCapture.NO_CONTENT
    assert config.capture_content is False
    assert config.sampler == SamplerConfig("parentbased_always_on", 1.0)
    assert config.metric_export_interval_ms == 60_000


@pytest.mark.parametrize("base", ["http://collector:4318", "http://collector:4318/"])
def test_generic_http_endpoint_gets_signal_paths(base: str) -> None:
    config = load_config({"OTEL_EXPORTER_OTLP_ENDPOINT": base})
    assert config.traces.otlp == OtlpTarget("http://collector:4318/v1/traces", "http/protobuf", {},
                                            MAX_EXPORT_TIMEOUT_S)
    assert config.metrics.otlp is not None
    assert config.metrics.otlp.endpoint == "http://collector:4318/v1/metrics"
    assert config.exporting is True


def test_signal_endpoints_are_used_as_given() -> None:
    config = load_config({
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://generic:4318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://phoenix:6006/v1/traces",
    })
    assert config.traces.otlp is not None and config.metrics.otlp is not None
    assert config.traces.otlp.endpoint == "http://phoenix:6006/v1/traces"
    assert config.metrics.otlp.endpoint == "http://generic:4318/v1/metrics"


def test_only_the_signal_with_an_endpoint_is_exported() -> None:
    config = load_config({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://phoenix:6006/v1/traces"})
    assert config.traces.otlp is not None
    assert config.metrics.otlp is None


def test_grpc_endpoint_is_not_given_a_path_and_protocol_is_per_signal() -> None:
    config = load_config({
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf",
    })
    assert config.traces.otlp is not None and config.metrics.otlp is not None
    assert (config.traces.otlp.endpoint, config.traces.otlp.protocol) == (
        "http://collector:4317", "grpc")
    assert (config.metrics.otlp.endpoint, config.metrics.otlp.protocol) == (
        "http://collector:4317/v1/metrics", "http/protobuf")


def test_explicit_otlp_exporter_without_endpoint_uses_the_default_endpoint() -> None:
    config = load_config({"OTEL_TRACES_EXPORTER": "otlp"})
    assert config.traces.otlp is not None
    assert config.traces.otlp.endpoint == "http://localhost:4318/v1/traces"
    assert config.metrics.otlp is None  # OTEL_METRICS_EXPORTER not set, no endpoint


def test_console_and_none_exporters() -> None:
    config = load_config({"OTEL_TRACES_EXPORTER": "console",
                          "OTEL_METRICS_EXPORTER": "none",
                          "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert config.traces.console is True and config.traces.otlp is None
    assert config.metrics.exporting is False


def test_exporter_lists_combine() -> None:
    config = load_config({"OTEL_TRACES_EXPORTER": " OTLP , console ",
                          "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert config.traces.console is True and config.traces.otlp is not None


def test_bad_exporter_name_warns_once_with_valid_values_and_falls_back(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = load_config({"OTEL_TRACES_EXPORTER": "jaeger",
                              "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert config.traces.otlp is not None  # the default with an endpoint
    (record,) = caplog.records
    assert "OTEL_TRACES_EXPORTER" in record.getMessage()
    assert "otlp, console, none" in record.getMessage()


def test_bad_protocol_falls_back_to_http(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = load_config({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
                              "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert config.traces.otlp is not None and config.traces.otlp.protocol == "http/protobuf"
    assert config.traces.otlp.endpoint == "http://collector:4318/v1/traces"
    assert "http/protobuf, grpc" in caplog.text


def test_endpoint_without_scheme_disables_http_export(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = load_config({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "collector:4318/v1/traces"})
    assert config.traces.otlp is None
    assert "http:// or https://" in caplog.text


def test_headers_are_percent_decoded_lowercased_and_per_signal_replaces_generic() -> None:
    config = load_config({
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
        "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20abc,X-Team=docs",
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS": "api_key=xyz",
    })
    assert config.traces.otlp is not None and config.metrics.otlp is not None
    assert dict(config.traces.otlp.headers) == {"authorization": "Bearer abc", "x-team": "docs"}
    assert dict(config.metrics.otlp.headers) == {"api_key": "xyz"}


def test_header_values_never_reach_logs_or_repr(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        config = load_config({
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"https://user:{SECRET}@collector:4318?key={SECRET}",
            "OTEL_EXPORTER_OTLP_HEADERS": f"authorization={SECRET},{SECRET},=oops",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "soon",
        })
    assert "2 malformed entries in OTEL_EXPORTER_OTLP_HEADERS" in caplog.text
    assert caplog.text.count("OTEL_EXPORTER_OTLP_HEADERS") == 1  # read for both signals, told once
    assert SECRET not in caplog.text
    assert SECRET not in repr(config)
    assert config.traces.otlp is not None
    assert SECRET not in config.traces.otlp.display_endpoint
    assert config.traces.otlp.headers == {"authorization": SECRET}


@pytest.mark.parametrize(("env", "expected"), [
    ({}, MAX_EXPORT_TIMEOUT_S),
    ({"OTEL_EXPORTER_OTLP_TIMEOUT": "30"}, MAX_EXPORT_TIMEOUT_S),
    ({"OTEL_EXPORTER_OTLP_TIMEOUT": "2"}, 2.0),
    ({"OTEL_EXPORTER_OTLP_TIMEOUT": "3", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "1.5"}, 1.5),
    ({"OTEL_EXPORTER_OTLP_TIMEOUT": "-1"}, MAX_EXPORT_TIMEOUT_S),
])
def test_exporter_timeout_is_capped(env: dict[str, str], expected: float) -> None:
    config = load_config({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", **env})
    assert config.traces.otlp is not None
    assert config.traces.otlp.timeout_s == expected


def test_sdk_disabled_exports_nothing_even_with_an_endpoint() -> None:
    config = load_config({"OTEL_SDK_DISABLED": "TRUE",
                          "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
                          "OTEL_TRACES_EXPORTER": "console"})
    assert config.sdk_disabled is True
    assert config.exporting is False


def test_bad_boolean_warns_and_means_false(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = load_config({"OTEL_SDK_DISABLED": "yes"})
    assert config.sdk_disabled is False
    assert "OTEL_SDK_DISABLED='yes'" in caplog.text and "true, false" in caplog.text


@pytest.mark.parametrize(("raw", "expected"), [
    ("15000", 15000.0), ("0", 60000.0), ("soon", 60000.0), ("", 60000.0),
])
def test_metric_export_interval(raw: str, expected: float) -> None:
    assert load_config({"OTEL_METRIC_EXPORT_INTERVAL": raw}).metric_export_interval_ms == expected


@pytest.mark.parametrize(("raw", "mode", "on_spans"), [
    ("true", ContentCapture.SPAN_ONLY, True),
    ("False", ContentCapture.NO_CONTENT, False),
    ("span_and_event", ContentCapture.SPAN_AND_EVENT, True),
    ("SPAN_ONLY", ContentCapture.SPAN_ONLY, True),
    ("EVENT_ONLY", ContentCapture.EVENT_ONLY, False),  # no log events here: nothing recorded
    ("NO_CONTENT", ContentCapture.NO_CONTENT, False),
    ("everything", ContentCapture.NO_CONTENT, False),
])
def test_content_capture_modes(raw: str, mode: ContentCapture, on_spans: bool) -> None:
    config = load_config({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": raw})
    assert config.content_capture is mode
    assert config.capture_content is on_spans


def test_resource_attributes_are_percent_decoded_and_service_name_wins() -> None:
    config = load_config({
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=ci,team=tech%20docs,service.name=x",
        "OTEL_SERVICE_NAME": "writer-bot",
    })
    resource = build_resource(service_name=config.service_name, default_service_name="tech_writer",
                              service_version="1.2.3", code_attributes={"team": "code"},
                              env_attributes=config.resource_attributes)
    assert resource.attributes["service.name"] == "writer-bot"
    assert resource.attributes["service.version"] == "1.2.3"
    assert resource.attributes["team"] == "tech docs"  # the environment overrides code
    assert resource.attributes["deployment.environment"] == "ci"
    assert resource.attributes["telemetry.sdk.language"] == "python"


def test_service_name_from_resource_attributes_beats_the_default() -> None:
    tel = Telemetry.from_env({"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-env"})
    assert tel.tracer_provider.resource.attributes["service.name"] == "from-env"
    tel.shutdown()
    tel = Telemetry.from_env({}, default_service_name="my_tool")
    assert tel.tracer_provider.resource.attributes["service.name"] == "my_tool"
    tel.shutdown()


def test_every_run_gets_its_own_service_instance_id() -> None:
    # Backends tell runs apart by it: the dashboard's "cost per run" groups by the `instance`
    # label the collector's Prometheus exporter derives from it.
    ids = set()
    for _ in range(2):
        tel = Telemetry.from_env({})
        instance = str(tel.tracer_provider.resource.attributes["service.instance.id"])
        assert uuid.UUID(instance).version == 4
        assert tel.meter_provider._sdk_config.resource.attributes[
            "service.instance.id"] == instance  # traces and metrics name the same run
        ids.add(instance)
        tel.shutdown()
    assert len(ids) == 2
    pinned = Telemetry.from_env({"OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=run-7"})
    assert pinned.tracer_provider.resource.attributes["service.instance.id"] == "run-7"
    pinned.shutdown()


def test_malformed_resource_attribute_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = load_config({"OTEL_RESOURCE_ATTRIBUTES": "a=1,broken"})
    assert dict(config.resource_attributes) == {"a": "1"}
    assert "1 malformed entry in OTEL_RESOURCE_ATTRIBUTES" in caplog.text


@pytest.mark.parametrize(("env", "expected"), [
    ({"OTEL_TRACES_SAMPLER": "always_off"}, SamplerConfig("always_off", 1.0)),
    ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"},
     SamplerConfig("traceidratio", 0.25)),
    ({"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"},
     SamplerConfig("parentbased_traceidratio", 1.0)),
    ({"OTEL_TRACES_SAMPLER": "jaeger_remote"}, SamplerConfig("parentbased_always_on", 1.0)),
])
def test_sampler_config(env: dict[str, str], expected: SamplerConfig) -> None:
    assert load_config(env).sampler == expected


def test_sampler_records_what_it_does_not_sample() -> None:
    sampler = build_sampler(SamplerConfig("always_off"))
    result = sampler.should_sample(None, 1, "span", attributes={"tech_writer.phase": "outline"})
    assert result.decision is Decision.RECORD_ONLY
    assert dict(result.attributes) == {"tech_writer.phase": "outline"}  # kept on the span
    assert build_sampler(SamplerConfig()).should_sample(None, 1, "span").decision is (
        Decision.RECORD_AND_SAMPLE)


def test_redact_url() -> None:
    assert redact_url("https://u:p@host:4318/v1/traces?token=x#f") == "https://host:4318/v1/traces"
    assert redact_url("http://[::1]:4318") == "http://::1:4318"


def test_empty_mapping_means_in_process_only_even_when_os_environ_disables_the_sdk(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK providers read OTEL_SDK_DISABLED from os.environ by themselves; spans must still
    # be recorded because the cost summary is built on them.
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    for tel in (Telemetry.from_env({}), Telemetry.from_env()):
        assert tel.exporting is False and tel.export_targets == ()
        with tel.phase_span("outline") as span:
            assert span.is_recording()
        tel.shutdown()
