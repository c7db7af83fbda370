"""Issue 6, interruption and failure: real signals to a real subprocess, fatal API errors mid-run,
telemetry flushed on the way out, and an output file that is never half-overwritten."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import KEY, assert_no_traceback, run_cli
from otlp_receiver import OtlpReceiver
from safety_helpers import (
    LiveCli,
    PhaseRouter,
    chat_bodies,
    section_title_of,
    wait_until_billed,
)

from tech_writer.demo import DemoModel, FakeOpenRouter, Fault
from telemetry import attributes as attrs

ENV = {"OPENROUTER_API_KEY": KEY}
EXIT_BOUND_S = 5.0  # "exit non-zero within a few seconds"
STALL_S = 60.0  # how long a stalled request would hang if the run did not cut it


class Stall:
    """Holds the first request of section ``at`` (or exploration step ``at``) for ``hold_s``
    seconds (or until released), so the test can signal the run while that request is in flight."""

    def __init__(self, *, at: int, phase: str = "sections", hold_s: float = STALL_S) -> None:
        self.at, self.phase, self.hold_s = at, phase, hold_s
        self.reached, self.release = threading.Event(), threading.Event()
        self.titles: list[str] = []

    def __call__(self, phase: str, number: int, request: dict[str, Any]) -> None:
        if self.reached.is_set():  # a retry of the held request (or any other) is held too
            self.release.wait(self.hold_s)
            return
        if phase != self.phase:
            return
        if phase == "sections":
            title = section_title_of(request) or ""
            if title not in self.titles:
                self.titles.append(title)
            hit = len(self.titles) == self.at
        else:
            hit = number == self.at
        if hit and not self.reached.is_set():
            self.reached.set()
            self.release.wait(self.hold_s)


def wait_bounded(run: LiveCli, sent: float) -> tuple[int, float]:
    """The exit code and how long after the signal it came; fails if it took past the bound."""
    try:
        code = run.wait(EXIT_BOUND_S + 1)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {EXIT_BOUND_S + 1:.0f}s after the signal:\n{run.stderr}")
    return code, time.monotonic() - sent


def assert_cost_is_honest(cost: dict[str, Any], billed: float, billed_calls: int) -> None:
    """The cost printed is the bill, or says it is a lower bound: a request cut in flight has
    been billed by the provider, but its answer (and cost) never arrived."""
    if cost["complete"]:
        assert cost["total_cost_usd"] == pytest.approx(billed, abs=1e-12), (cost, billed)
        assert cost["total_calls"] == billed_calls
    else:
        assert cost["total_cost_usd"] <= billed + 1e-12
        assert cost["calls_without_cost"] >= billed_calls - cost["total_calls"] >= 1


def command(server: FakeOpenRouter, sample_repo: Path, prompt_file: Path, *extra: str | Path
            ) -> list[str | Path]:
    return ["--prompt", prompt_file, "--repo", sample_repo, "--provider", "openrouter",
            "--base-url", server.base_url, "--concurrency", "1", *extra]


@pytest.mark.parametrize("signum, code, outcome, message", [
    (signal.SIGINT, 130, "interrupted", "interrupted (Ctrl-C)"),
    (signal.SIGTERM, 143, "terminated", "terminated (SIGTERM)"),
], ids=["SIGINT", "SIGTERM"])
def test_signal_mid_run_saves_partial_report_cost_and_telemetry(sample_repo, prompt_file,
                                                                 tmp_path, signum, code,
                                                                 outcome, message):
    out = tmp_path / "out" / "report.md"
    # Section 1 finished, section 2's first request in flight (answered half a second later:
    # cutting a request that hangs is test_signal_cuts_a_hanging_request_short).
    stall = Stall(at=2, hold_s=0.5)
    router = PhaseRouter(before=stall)
    with OtlpReceiver() as receiver, FakeOpenRouter(router, api_key=KEY) as server:
        run = LiveCli(*command(server, sample_repo, prompt_file, "--eval-json", "-o", out),
                      env={**ENV, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint})
        try:
            assert stall.reached.wait(60), run.stderr
            calls_at_signal = len(chat_bodies(server))
            returncode, elapsed = wait_bounded(run, run.signal(signum))
            calls_after = len(chat_bodies(server))
            spans = receiver.spans()
            stall.release.set()
            wait_until_billed(server, router)
            billed, ledger = server.billed_total_usd(), server.ledger
        finally:
            stall.release.set()
            run.kill()

    assert returncode == code, run.stderr
    assert elapsed < EXIT_BOUND_S, f"took {elapsed:.1f}s to stop"
    assert "Traceback" not in run.stderr + run.stdout
    assert calls_after == calls_at_signal, "a new LLM call started after the signal"

    document = run.json()
    assert document["error"] == message
    assert_cost_is_honest(document["cost"], billed, len(ledger))
    report = document["report"]
    assert report is not None and out.read_text(encoding="utf-8") == report
    first, second = stall.titles[:2]
    assert f"\n## {first}\n" in report and f"## {second}" not in report
    body = report.split(f"## {first}\n", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"\[[^\]\s:]+:\d+(-\d+)?\]", body), "the finished section lost its citations"
    assert "Incomplete report" in report and second in report
    assert [p.name for p in out.parent.iterdir()] == ["report.md"]

    stderr = run.stderr
    assert re.search(r"^cost: \$\d+\.\d{4} · ", stderr, re.M), stderr
    assert f"partial report written to {out}" in stderr
    assert re.search(rf"^tech-writer: sections not written: .*{re.escape(second)}", stderr, re.M)
    assert stderr.rstrip().splitlines()[-1] == f"tech-writer: error: {message}"

    roots = [s for s in spans if s.parent_span_id is None]
    assert [s.name for s in roots] == ["invoke_agent tech_writer"], [s.name for s in spans]
    assert roots[0].attributes[attrs.RUN_OUTCOME] == outcome
    assert roots[0].attributes[attrs.ROLLUP_COST_USD] == pytest.approx(
        document["cost"]["total_cost_usd"], abs=1e-9)


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["SIGINT", "SIGTERM"])
def test_signal_cuts_a_hanging_request_short(sample_repo, prompt_file, tmp_path, signum, code):
    """A section request that would hang for a minute must not hold the exit: the run stops
    within a few seconds and still writes the sections finished so far."""
    out = tmp_path / "out" / "report.md"
    stall = Stall(at=2)  # holds section 2's first request for STALL_S unless released
    with FakeOpenRouter(PhaseRouter(before=stall), api_key=KEY) as server:
        run = LiveCli(*command(server, sample_repo, prompt_file, "-o", out), env=ENV)
        try:
            assert stall.reached.wait(60), run.stderr
            time.sleep(0.3)  # let the client settle into waiting for the answer
            returncode, elapsed = wait_bounded(run, run.signal(signum))
        finally:
            stall.release.set()
            run.kill()
    assert returncode == code, run.stderr
    assert elapsed < EXIT_BOUND_S, f"took {elapsed:.1f}s to stop"
    assert "Traceback" not in run.stderr + run.stdout
    assert f"## {stall.titles[0]}" in out.read_text(encoding="utf-8")
    assert re.search(r"^cost: \$", run.stderr, re.M)


def queue_after_section_one(server_box: list[FakeOpenRouter], *faults: Fault):
    """A `before` hook: on section 2's first request, queue ``faults`` for the requests after it."""
    titles: list[str] = []

    def hook(phase: str, number: int, request: dict[str, Any]) -> None:
        if phase != "sections":
            return
        title = section_title_of(request) or ""
        if title not in titles:
            titles.append(title)
            if len(titles) == 2:
                for fault in faults:
                    server_box[0].faults.add(fault)
    return hook, titles


@pytest.mark.parametrize("faults, extra, expected", [
    ([Fault(status=402)], [], "(402)"),
    ([Fault(status=502, retry_after=0.05)] * 2, ["--max-retries", "1"],
     "gave up after 2 attempts"),
], ids=["402-no-credit", "5xx-beyond-retries"])
def test_fatal_api_error_mid_run_exits_1_with_partial_report_and_cost(
        sample_repo, prompt_file, tmp_path, faults, extra, expected):
    out = tmp_path / "partial.md"
    box: list[FakeOpenRouter] = []
    hook, titles = queue_after_section_one(box, *faults)
    with FakeOpenRouter(PhaseRouter(before=hook), api_key=KEY) as server:
        box.append(server)
        started = time.monotonic()
        result = run_cli(*command(server, sample_repo, prompt_file, "--eval-json", "-o", out,
                                  *extra), env=ENV)
        elapsed = time.monotonic() - started
        billed, ledger = server.billed_total_usd(), server.ledger
        chats = chat_bodies(server)

    assert result.returncode == 1, result.stderr
    assert_no_traceback(result)
    assert elapsed < 30
    # From the failure on, nothing new was started: the only unbilled requests are the faulted.
    assert len(chats) == len(ledger) + len(faults)
    document = json.loads(result.stdout)
    assert expected in document["error"]
    assert document["cost"]["total_cost_usd"] == pytest.approx(billed, abs=1e-12)
    report = document["report"]
    assert report is not None and out.read_text(encoding="utf-8") == report
    assert f"\n## {titles[0]}\n" in report and f"## {titles[1]}" not in report
    assert "Incomplete report" in report
    assert re.search(r"^cost: \$\d+\.\d{4} · ", result.stderr, re.M)
    assert f"partial report written to {out}" in result.stderr
    assert re.search(rf"^tech-writer: error: .*{re.escape(expected)}", result.stderr, re.M)


# --- atomic output ---------------------------------------------------------------------------
OLD_REPORT = "# An earlier report\n\n" + "Kept until a new report replaces it whole.\n" * 3000


def test_run_failing_before_any_section_leaves_the_existing_report_intact(
        sample_repo, prompt_file, tmp_path):
    out = tmp_path / "out" / "report.md"
    out.parent.mkdir()
    out.write_text(OLD_REPORT, encoding="utf-8")
    def no_outline(phase: str, number: int, request: dict[str, Any]) -> None:
        # (an unusable outline no longer fails a run: the fallback outline is written)
        if phase == "outline":
            raise RuntimeError("the outline call fails")  # a 500, not retried below

    with FakeOpenRouter(PhaseRouter(before=no_outline), api_key=KEY) as server:
        result = run_cli(*command(server, sample_repo, prompt_file, "-o", out, "--max-retries",
                                  "0"), env=ENV)
    assert result.returncode == 1, result.stderr
    assert_no_traceback(result)
    assert out.read_text(encoding="utf-8") == OLD_REPORT
    assert [p.name for p in out.parent.iterdir()] == ["report.md"]


def test_interrupt_during_exploration_leaves_the_existing_report_intact(
        sample_repo, prompt_file, tmp_path):
    out = tmp_path / "out" / "report.md"
    out.parent.mkdir()
    out.write_text(OLD_REPORT, encoding="utf-8")
    stall = Stall(at=2, phase="exploration")
    with FakeOpenRouter(PhaseRouter(before=stall), api_key=KEY) as server:
        run = LiveCli(*command(server, sample_repo, prompt_file, "-o", out), env=ENV)
        try:
            assert stall.reached.wait(60), run.stderr
            returncode, elapsed = wait_bounded(run, run.signal(signal.SIGINT))
        finally:
            stall.release.set()
            run.kill()
    assert returncode == 130, run.stderr
    assert elapsed < EXIT_BOUND_S
    assert "Traceback" not in run.stderr + run.stdout
    assert re.search(r"^cost: \$", run.stderr, re.M)
    assert out.read_text(encoding="utf-8") == OLD_REPORT
    assert [p.name for p in out.parent.iterdir()] == ["report.md"]


def test_success_replaces_the_existing_report_whole(sample_repo, prompt_file, tmp_path):
    out = tmp_path / "out" / "report.md"
    out.parent.mkdir()
    out.write_text(OLD_REPORT, encoding="utf-8")  # longer than the new report: no stale tail
    with FakeOpenRouter(DemoModel(), api_key=KEY) as server:
        result = run_cli(*command(server, sample_repo, prompt_file, "-o", out, "--eval-json",
                                  "--max-sections", "2"), env=ENV)
    assert result.returncode == 0, result.stderr
    new = out.read_text(encoding="utf-8")
    assert new == json.loads(result.stdout)["report"]
    assert "An earlier report" not in new and len(new) < len(OLD_REPORT)
    assert [p.name for p in out.parent.iterdir()] == ["report.md"]


# --- issue 14: stopped after the outline, before any section was finished ---------------------
def outline_only_report_checks(report: str, titles: list[str]) -> None:
    """The partial report is the outline: its title, and every section named as not written."""
    assert report.startswith("# ") and "\n## " not in report
    note = re.search(r"^> \*\*Incomplete report\*\*: the run stopped before writing: (.+)\.$",
                     report, re.M)
    assert note is not None, report
    assert titles and titles[0] in note.group(1).split("; ")


def test_interrupt_before_any_section_finished_writes_the_outline(sample_repo, prompt_file,
                                                                  tmp_path):
    out = tmp_path / "out" / "report.md"
    stall = Stall(at=1)  # section 1's first request, held until the signal
    with FakeOpenRouter(PhaseRouter(before=stall), api_key=KEY) as server:
        run = LiveCli(*command(server, sample_repo, prompt_file, "--eval-json", "-o", out),
                      env=ENV)
        try:
            assert stall.reached.wait(60), run.stderr
            returncode, _ = wait_bounded(run, run.signal(signal.SIGINT))
        finally:
            stall.release.set()
            run.kill()
    assert returncode == 130, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    document = run.json()
    report = document["report"]
    assert report is not None and out.read_text(encoding="utf-8") == report
    outline_only_report_checks(report, stall.titles)
    assert document["cost"]["total_calls"] >= 2  # the exploration and the outline, paid for
    assert f"partial report written to {out}" in run.stderr
    assert re.search(r"^cost: \$\d+\.\d{4} · ", run.stderr, re.M)


def test_failure_before_any_section_finished_writes_the_outline(sample_repo, prompt_file,
                                                                tmp_path):
    out = tmp_path / "partial.md"
    box: list[FakeOpenRouter] = []
    titles: list[str] = []

    def no_credit_from_the_first_section(phase: str, number: int, request: dict[str, Any]) -> None:
        if phase == "outline" and number == 1:
            box[0].faults.add(Fault(status=402), count=4)  # every section's first request

    with FakeOpenRouter(PhaseRouter(before=no_credit_from_the_first_section),
                        api_key=KEY) as server:
        box.append(server)
        result = run_cli(*command(server, sample_repo, prompt_file, "--eval-json", "-o", out),
                         env=ENV)
        billed = server.billed_total_usd()
        titles = [section_title_of(b) or "" for b in chat_bodies(server)
                  if section_title_of(b)]
    assert result.returncode == 1, result.stderr
    assert_no_traceback(result)
    document = json.loads(result.stdout)
    assert "(402)" in document["error"]
    assert document["cost"]["total_cost_usd"] == pytest.approx(billed, abs=1e-12) and billed > 0
    report = document["report"]
    assert report is not None and out.read_text(encoding="utf-8") == report
    outline_only_report_checks(report, titles)
    assert re.search(r"^tech-writer: sections not written: ", result.stderr, re.M)
