"""Running git (and other helpers) as subprocesses on an untrusted repository: an environment that
cannot point git at another repository, and several commands run side by side within one deadline.

Every command runs in a process group of its own, and is ended with that group: git starts
helpers (``git-remote-https``, ``ssh``, ``git index-pack``) that would outlive git itself if only
git were killed, and would not see a Ctrl-C that the terminal sends to our group alone. A
timeout, a Ctrl-C or a SIGTERM (both arrive as ``KeyboardInterrupt``) ends the whole group.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["GIT_REDIRECT_VARS", "end_group", "git_environment", "run_bounded", "run_together"]

_GRACE_S = 1.0  # between SIGTERM and SIGKILL for a group being ended

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
                start_new_session=True,
            )
        except OSError as exc:
            logger.debug("%s failed to start: %s", os.path.basename(command[0]), exc)
            process = None
        started.append((process, ok_codes))
    try:
        return _collect(started, time.monotonic() + timeout_s)
    except BaseException:  # Ctrl-C, SIGTERM: none of them may outlive us
        for process, _ in started:
            if process is not None and process.returncode is None:
                end_group(process)
        raise


def _collect(started: list[tuple[subprocess.Popen[bytes] | None, tuple[int, ...]]],
             deadline: float) -> list[bytes | None]:
    outputs: list[bytes | None] = []
    for process, ok_codes in started:
        if process is None:
            outputs.append(None)
            continue
        try:
            output, _ = process.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            end_group(process)
            outputs.append(None)
            continue
        outputs.append(output if process.returncode in ok_codes else None)
    return outputs


def run_bounded(command: Sequence[str], *, cwd: Path | None, env: dict[str, str],
                timeout_s: float) -> subprocess.CompletedProcess[bytes]:
    """Run ``command`` in its own process group, capturing stdout and stderr; on a timeout
    (``subprocess.TimeoutExpired`` is raised) or an interruption, the whole group is ended first."""
    process = subprocess.Popen(
        [os.fsencode(part) for part in command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except BaseException:
        end_group(process)
        raise
    return subprocess.CompletedProcess(list(command), process.returncode, stdout, stderr)


def end_group(process: subprocess.Popen[bytes]) -> None:
    """End ``process`` and every process of its group (it leads one: ``start_new_session``):
    SIGTERM, a moment to exit, then SIGKILL for what is left, then reap and close the pipes."""
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=_GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(process.pid, signal.SIGKILL)  # helpers that ignored SIGTERM, or outlived git
    try:
        process.communicate(timeout=_GRACE_S)  # reaps; a pipe held by an escaped helper: give up
    except (subprocess.TimeoutExpired, ValueError, OSError):
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        process.wait()


def _signal_group(group: int, number: int) -> None:
    try:
        os.killpg(group, number)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone already
