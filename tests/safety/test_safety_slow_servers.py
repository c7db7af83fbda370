"""Issue 26, finding 6: a /generation that answers too slowly cannot hold the run longer than
--cost-lookup-timeout, and Ctrl-C or SIGTERM end it within a few seconds even then, with what
it finished written."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_helpers import KEY
from safety_helpers import LiveCli

from tech_writer.demo import DemoModel, FakeOpenRouter, FakeOptions, Fault

ENV = {"OPENROUTER_API_KEY": KEY}
EXIT_BOUND_S = 5.0


def _wait_for(run: LiveCli, text: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in run.stderr and run.process.poll() is None:
        if time.monotonic() > deadline:
            run.kill()
            pytest.fail(f"never saw {text!r}:\n{run.stderr[-3000:]}")
        time.sleep(0.1)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_costs_are_looked_up_ends_the_run_with_its_report(
        sample_repo: Path, prompt_file: Path, tmp_path: Path, signum: int, code: int):
    out = tmp_path / "report.md"
    # Each answer takes 0.5 s: when "writing 1/2" is seen, that section's call is still in
    # flight, so its cost look-up comes after the fault below (a demo section otherwise takes
    # milliseconds, and on an idle machine the run could finish before the signal).
    with FakeOpenRouter(DemoModel(), api_key=KEY,
                        options=FakeOptions(inline_cost=False, latency_s=0.5)) as server:
        run = LiveCli("--prompt", prompt_file, "--repo", sample_repo, "--provider",
                      "openrouter", "--base-url", server.base_url, "--max-sections", "2",
                      "--concurrency", "1", "--cost-lookup-timeout", "30", "-o", out,
                      "--eval-json", env=ENV)
        _wait_for(run, "writing 1/2", 90)
        # From now on /generation answers too late: the run waits for the sections' costs.
        server.faults.add(Fault(path="generation", delay_s=30.0), count=500)
        time.sleep(2.0)
        sent = run.signal(signum)
        try:
            exit_code = run.wait(EXIT_BOUND_S + 1)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {EXIT_BOUND_S + 1:.0f}s after the signal")
        seconds = time.monotonic() - sent
    assert exit_code == code, run.stderr[-3000:]
    assert seconds <= EXIT_BOUND_S
    assert "Traceback" not in run.stderr
    assert out.read_text().startswith("# ")  # what was finished (the outline at least)
    cost = run.json()["cost"]
    assert cost["complete"] is False and cost["calls_without_cost"] >= 1
