"""Running git (and other helpers) as subprocesses on an untrusted repository: an environment that
cannot point git at another repository, and several commands run side by side within one deadline."""

from __future__ import annotations

import logging
import os
import subprocess
import time
from pathlib import Path

__all__ = ["GIT_REDIRECT_VARS", "git_environment", "run_together"]

logger = logging.getLogger("tech_writer.gitrun")

# Variables that would point `git -C root` at some other repository or index than root's own.
GIT_REDIRECT_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY")


def git_environment() -> dict[str, str]:
    """This process's environment without the variables that redirect git."""
    return {name: value for name, value in os.environ.items() if name not in GIT_REDIRECT_VARS}


def run_together(
    commands: list[tuple[list[str], tuple[int, ...]]], cwd: Path, env: dict[str, str], timeout_s: float
) -> list[bytes | None]:
    """Start every command, then collect each one's output (None for a failure: it could not
    start, exited with a code not in its ``ok_codes``, or passed the shared deadline), in order.
    Reading them one after the other cannot deadlock: they do not wait on each other."""
    started: list[tuple[subprocess.Popen[bytes] | None, tuple[int, ...]]] = []
    for command, ok_codes in commands:
        try:
            process = subprocess.Popen(
                [os.fsencode(part) for part in command], cwd=cwd, env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            logger.debug("%s failed to start: %s", os.path.basename(command[0]), exc)
            process = None
        started.append((process, ok_codes))
    deadline = time.monotonic() + timeout_s
    outputs: list[bytes | None] = []
    for process, ok_codes in started:
        if process is None:
            outputs.append(None)
            continue
        try:
            output, _ = process.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            outputs.append(None)
            continue
        outputs.append(output if process.returncode in ok_codes else None)
    return outputs
