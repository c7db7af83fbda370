"""Issue 26, storage faults: the cache is a convenience, so a cache file that fills the disk
half-way through a paid run turns the cache off with one warning line and the run goes on; a
later ``--resume`` says what the earlier run could not save."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

from cli_helpers import assert_no_traceback
from conftest import SAMPLE_FILES, make_repo

CACHE_LIMIT = 48 * 1024  # no file of the child may grow past this: a full disk, made for real


def _full_disk() -> None:  # pragma: no cover - runs in the child before exec
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails (EFBIG)
    resource.setrlimit(resource.RLIMIT_FSIZE, (CACHE_LIMIT, CACHE_LIMIT))


def _run(tmp_path: Path, repo: Path, *extra: str, full_disk: bool
         ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENROUTER_"))}
    return subprocess.run(
        [sys.executable, "-m", "tech_writer", "--prompt", str(tmp_path / "prompt.md"),
         "--repo", str(repo), "--provider", "demo", "--concurrency", "1", "--persist-cache",
         "--cache-path", str(tmp_path / "cache.sqlite"), "-o", str(tmp_path / "report.md"),
         *extra], capture_output=True, text=True, env=env, timeout=120,
        stdin=subprocess.DEVNULL, preexec_fn=_full_disk if full_disk else None)


def test_a_full_disk_under_the_cache_does_not_stop_the_run(tmp_path: Path):
    files = dict(SAMPLE_FILES)
    for number in range(12):  # enough source for the cache to outgrow the limit
        files[f"inventory/module_{number}.py"] = "".join(
            f"def handler_{number}_{line}(item):\n    return item * {line}\n\n"
            for line in range(60))
    repo = make_repo(tmp_path / "repo", files)
    (tmp_path / "prompt.md").write_text("Describe the architecture.\n")

    result = _run(tmp_path, repo, full_disk=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert_no_traceback(result)
    assert [line for line in result.stderr.splitlines() if "cannot be written" in line] == [
        next(line for line in result.stderr.splitlines() if "cannot be written" in line)]
    assert "the cache is off for the rest of this run" in result.stderr
    assert (tmp_path / "report.md").read_text().startswith("# ")

    resumed = _run(tmp_path, repo, "--resume", full_disk=False)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "an earlier run could not save to the cache" in resumed.stderr
    assert "not saved: " in resumed.stderr and "section '" in resumed.stderr
    again = _run(tmp_path, repo, "--resume", full_disk=False)
    assert "an earlier run could not save" not in again.stderr  # said once, then forgotten
