"""Issue 26, finding 9: ``OTEL_*`` values that make no sense are one warning line naming the
variable and the value used instead: never a traceback, with telemetry on or off, and the SDK's
own repeated complaints stay out of sight."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import assert_no_traceback, run_cli
from opentelemetry.sdk.trace import SpanLimits

from telemetry.config import (
    BatchConfig,
    SpanLimitsConfig,
    load_config,
    sanitize_sdk_environment,
)
from telemetry.providers import _sdk_span_limits


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize(("env", "expected", "used"), [
    ({"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "0"}, BatchConfig(), "using 512"),
    ({"OTEL_BSP_MAX_QUEUE_SIZE": "-1"}, BatchConfig(), "using 2048"),
    ({"OTEL_BSP_SCHEDULE_DELAY": "soon"}, BatchConfig(), "using 5000"),
    ({"OTEL_BSP_MAX_QUEUE_SIZE": "10", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "100"},
     BatchConfig(max_queue_size=10, max_export_batch_size=10), "using 10"),
    ({"OTEL_BSP_MAX_QUEUE_SIZE": "9" * 5_000}, BatchConfig(), "using 2048"),
])
def test_bad_batch_settings_warn_once_and_fall_back(env: dict[str, str], expected: BatchConfig,
                                                    used: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = load_config(env)
    assert config.batch == expected
    warnings = _warnings(caplog)
    assert len(warnings) == 1 and used in warnings[0] and "OTEL_BSP_" in warnings[0]


def test_span_limits_are_read_validated_and_passed_whole(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = load_config({"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "-1",
                              "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "abc",
                              "OTEL_ATTRIBUTE_COUNT_LIMIT": "64",
                              "OTEL_SPAN_EVENT_COUNT_LIMIT": "unset"})
    assert config.span_limits == SpanLimitsConfig(
        max_attributes=64, max_events=None, max_span_attributes=64, max_event_attributes=64,
        max_link_attributes=64)
    warnings = _warnings(caplog)
    assert len(warnings) == 2
    assert any("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT='-1'" in w and "using no limit" in w
               for w in warnings)
    assert any("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT='abc'" in w and "using 64" in w for w in warnings)
    limits = _sdk_span_limits(config.span_limits)
    assert isinstance(limits, SpanLimits) and limits.max_span_attributes == 64
    assert limits.max_events is None and limits.max_attribute_length is None


def test_the_process_environment_is_cleaned_before_the_sdk_reads_it(
        caplog: pytest.LogCaptureFixture) -> None:
    environ = {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "abc", "OTEL_ATTRIBUTE_COUNT_LIMIT": "7",
               "OTEL_BSP_MAX_QUEUE_SIZE": "-1", "OTEL_SPAN_LINK_COUNT_LIMIT": "unset"}
    with caplog.at_level(logging.WARNING):
        sanitize_sdk_environment(environ)
    assert environ == {"OTEL_ATTRIBUTE_COUNT_LIMIT": "7", "OTEL_SPAN_LINK_COUNT_LIMIT": "unset"}
    assert len(_warnings(caplog)) == 2


def test_importing_telemetry_with_a_bad_limit_is_not_a_traceback() -> None:
    env = {**os.environ, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "abc"}
    child = subprocess.run([sys.executable, "-c", "import telemetry"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == 0 and "Traceback" not in child.stderr
    assert child.stderr.count("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT") == 1


BAD_SETTINGS = [
    ({"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "0", "OTEL_TRACES_EXPORTER": "console"},
     "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
    ({"OTEL_BSP_MAX_QUEUE_SIZE": "-1", "OTEL_TRACES_EXPORTER": "console"},
     "OTEL_BSP_MAX_QUEUE_SIZE"),
    ({"OTEL_BSP_MAX_QUEUE_SIZE": "10", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "100",
      "OTEL_TRACES_EXPORTER": "console"}, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
    ({"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "-1"}, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"),
    ({"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "abc"}, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"),
    ({"OTEL_EXPORTER_OTLP_HEADERS": "bad-header-sk-secret-value",
      "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}, "OTEL_EXPORTER_OTLP_HEADERS"),
]


@pytest.mark.parametrize(("env", "variable"), BAD_SETTINGS, ids=[v for _, v in BAD_SETTINGS])
def test_a_run_with_a_bad_setting_warns_once_and_writes_its_report(
        env: dict[str, str], variable: str, sample_repo: Path, prompt_file: Path,
        tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "demo",
                     "-o", out, env=env)
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.read_text().startswith("# ")
    assert result.stderr.count(variable) == 1, result.stderr[-3000:]
    assert "Header format invalid" not in result.stderr
    assert "sk-secret-value" not in result.stderr
