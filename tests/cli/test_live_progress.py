"""Progress as a person sees it: a live status on a terminal (run under a pseudo-terminal), plain
lines with one per finished section elsewhere; stdout carries the report and nothing else."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import run_cli

from tech_writer.pipeline.live import LiveProgress, make_progress, wants_live
from tech_writer.pipeline.progress import Progress, Spend

ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
FRAME = re.compile(r"sections (\d+)/(\d+) · (\d+) LLM calls · ([\d,]+) tokens · "
                   r"spent \$(\d+\.\d{4}) \(simulated\) · \$(\d+\.\d{4}) of \$1\.00 budget left · "
                   r"\d\d:\d\d")
SECTION_LINE = re.compile(r"^  \[sections\] done (\d+)/(\d+): .+ · \$\d+\.\d{4} \(simulated\)$",
                          re.MULTILINE)
RUN_SECONDS = 120


def run_in_pty(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal: (exit code, terminal output, stdout)."""
    master, slave = pty.openpty()
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("OTEL_", "OPENROUTER_", "OPENAI_")) and k != "NO_COLOR"}
    full_env.update({"TERM": "xterm-256color", "COLUMNS": "160", **env})
    process = subprocess.Popen([sys.executable, "-m", "tech_writer", *args], stdin=slave,
                               stdout=subprocess.PIPE, stderr=slave, env=full_env)
    os.close(slave)
    terminal = b""
    deadline = time.monotonic() + RUN_SECONDS
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                terminal += chunk
            elif process.poll() is not None:
                break
        assert process.stdout is not None
        stdout = process.stdout.read().decode()
        code = process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    return code, terminal.decode(errors="replace"), stdout


def test_a_terminal_shows_the_live_status_with_spend_so_far(sample_repo: Path,
                                                            prompt_file: Path) -> None:
    code, terminal, stdout = run_in_pty(
        ["--prompt", str(prompt_file), "--repo", str(sample_repo), "--provider", "demo",
         "--max-cost", "1", "--log-level", "INFO"], {})
    assert code == 0, terminal
    assert stdout.startswith("# ") and "\x1b" not in stdout and "spent" not in stdout
    frames = FRAME.findall(terminal)
    assert frames, terminal
    spent = [float(frame[4]) for frame in frames]
    assert spent == sorted(spent) and spent[-1] > 0  # the spend only grows
    assert all(float(f[4]) + float(f[5]) == pytest.approx(1.0, abs=1e-4) for f in frames)
    assert frames[-1][0] == frames[-1][1]  # every section done in the last frame
    text = ESCAPE.sub("", terminal)
    lines = [line for line in re.split(r"[\r\n]+", text) if line.strip()]  # \r: redrawn
    final = lines[-1]
    assert final.startswith("cost: $") and "(simulated: demo provider)" in final
    # the last spend drawn is the run's final cost: one source, the cost span processor
    assert final.startswith(f"cost: ${spent[-1]:.4f}")
    assert re.search(r"✓ 1/\d+ .+ · \$\d+\.\d{4} \(simulated\)", text)
    # log records come through the live console whole, on lines of their own
    assert any(re.fullmatch(r"INFO tech_writer: sections: \$\d+\.\d{4} · [\d,]+ tokens · \d+ calls",
                            line) for line in lines)
    assert ("WARNING tech_writer: demo provider: a built-in scripted model writes the report; "
            "costs are simulated") in lines


def test_no_color_on_a_terminal_gets_plain_lines(sample_repo: Path, prompt_file: Path) -> None:
    # (TERM=dumb and --quiet choose the same way: test_which_progress_where)
    code, terminal, stdout = run_in_pty(
        ["--prompt", str(prompt_file), "--repo", str(sample_repo), "--provider", "demo"],
        {"NO_COLOR": "1"})
    assert code == 0 and stdout.startswith("# ")
    assert "\x1b[" not in terminal and not FRAME.search(terminal)
    assert SECTION_LINE.search(terminal.replace("\r", ""))


def test_not_a_terminal_prints_one_line_per_finished_section(sample_repo: Path,
                                                             prompt_file: Path) -> None:
    result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "demo")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stderr and result.stdout.startswith("# ")
    done = SECTION_LINE.findall(result.stderr)
    total = result.stdout.count("\n## ")
    assert [int(n) for n, _ in done] == list(range(1, total + 1))
    assert all(int(of) == total for _, of in done)
    assert result.stderr.rstrip().splitlines()[-1].startswith("cost: $")


def test_which_progress_where() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert wants_live(Terminal(), {}) and not wants_live(io.StringIO(), {})
    assert not wants_live(Terminal(), {"NO_COLOR": ""}) and not wants_live(Terminal(),
                                                                             {"TERM": "dumb"})
    assert isinstance(make_progress(quiet=False, stream=Terminal(), environ={}), LiveProgress)
    plain = make_progress(quiet=False, stream=io.StringIO(), environ={})
    assert type(plain) is Progress
    quiet = make_progress(quiet=True, stream=Terminal(), environ={})
    assert type(quiet) is Progress and not isinstance(quiet, LiveProgress)


def test_the_status_line_states_spend_budget_and_untracked_cost() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    live = LiveProgress(Terminal())
    live.attach(lambda: Spend(0.1234, 5_000, 7), budget_usd=0.5)
    live.phase("sections", "4 in the outline")
    live.sections_planned(4)
    assert live.status_line().startswith(
        "sections 0/4 · 7 LLM calls · 5,000 tokens · spent $0.1234 · "
        "$0.3766 of $0.50 budget left · 00:0")  # not "sections · sections 0/4"
    live.phase("assembly")
    assert live.status_line().startswith("assembly · sections 0/4 · ")
    live.attach(lambda: Spend(0.0, 10, 1), cost_tracked=False)
    line = live.status_line()
    assert "1 LLM call ·" in line and "spent" not in line and "budget" not in line


def test_help_does_not_load_the_live_display() -> None:
    probe = ("import sys; from click.testing import CliRunner; from tech_writer.cli import cli; "
             "CliRunner().invoke(cli, ['--help']); print('rich' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "False"
