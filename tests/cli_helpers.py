"""Helpers shared by the end-to-end tests: run the real command, check citations independently."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

KEY = "sk-or-e2e-RECOGNISABLE-9f8e7d6c5b4a"


def run_cli(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 120
            ) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("OTEL_", "OPENROUTER_", "OPENAI_"))}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "tech_writer", *map(str, args)],
                          capture_output=True, text=True, env=full_env, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def independent_citation_check(report: str, repo: Path) -> tuple[int, int]:
    """(total, valid), computed without tech_writer's code."""
    total = valid = 0
    for path, start, end in re.findall(r"\[([^\[\]\s:]+):(\d+)(?:-(\d+))?\]", report):
        total += 1
        first, last = int(start), int(end or start)
        file = (repo / path).resolve()
        if not file.is_relative_to(repo.resolve()) or not file.is_file():
            continue
        lines = len(file.read_text(encoding="utf-8").splitlines())
        valid += 1 <= first <= last <= lines
    return total, valid


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
