"""Figures 7 and 8: what the live status costs, and how the demo run grows with the repository.

* Wall time of an 8-section report against a zero-latency fake with the live status drawn on a
  pseudo-terminal (:class:`~tech_writer.pipeline.live.LiveProgress`, redrawn up to 4 times a
  second, every section and phase line printed above it) vs the plain progress lines to the same
  terminal. Target <= 1.05x: the display adds no measurable time.
* The demo report (``--provider demo``'s scripted model, the whole pipeline) on a generated
  50,000-file repository vs the same run on a 500-file one: seconds, and the peak memory of the
  process that ran it. Informational: the model samples the repository (a listing capped at 500
  paths, imports of 30 files, a few reads), so what grows is the repository tools' own listing.
"""

from __future__ import annotations

import math
import os
import pty
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bench.figure import Figure, measured
from bench.models import WideOutlineModel
from bench.pipeline import run_report
from bench.sample_repo import make_sample_repo
from bench.timing import interleaved, median, ms_list, ratio_interval, timed

__all__ = ["LIVE_TARGET", "run"]

LIVE_TARGET = 1.05
_BUDGET_S = 25.0
_MIN_ROUNDS, _MAX_ROUNDS = 7, 41
_SHM = "/dev/shm"
_FILES_PER_DIR = 100
_RUN_TIMEOUT_S = 600.0


def run(quick: bool) -> list[Figure]:
    return [_live_overhead(quick), _big_repository(quick)]


class _Terminal:
    """A pseudo-terminal whose output is read and thrown away, as a terminal would show it."""

    def __init__(self) -> None:
        self.master, slave = pty.openpty()
        self.stream = os.fdopen(slave, "w", encoding="utf-8", buffering=1)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                if not os.read(self.master, 65536):
                    return
            except OSError:
                return

    def close(self) -> None:
        self.stream.close()
        os.close(self.master)
        self._reader.join(timeout=5)


def _live_overhead(quick: bool) -> Figure:
    from tech_writer.demo import FakeOpenRouter
    from tech_writer.pipeline.live import LiveProgress
    from tech_writer.pipeline.progress import Progress

    sections = 1 if quick else 8
    terminal = _Terminal()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp, \
                FakeOpenRouter(WideOutlineModel(sections)) as server:
            repo = make_sample_repo(Path(tmp) / "parcel")

            def live() -> None:
                with LiveProgress(terminal.stream) as progress:
                    run_report(server, repo, environ={}, max_sections=sections,
                               progress=progress)

            def plain() -> None:
                run_report(server, repo, environ={}, max_sections=sections,
                           progress=Progress(terminal.stream))

            pair_s = timed(live) + timed(plain)  # warm-up: imports (rich) happen once
            rounds = 1 if quick else min(_MAX_ROUNDS,
                                         max(_MIN_ROUNDS, math.ceil(_BUDGET_S / pair_s)))
            samples = interleaved(rounds, {"live": live, "plain": plain})
    finally:
        terminal.close()
    on, off = median(samples["live"]), median(samples["plain"])
    low, high = ratio_interval(samples["live"], samples["plain"])
    notes = (f"median of {rounds} interleaved runs each ({sections} sections, zero-latency fake, "
             f"output to a pseudo-terminal); 95 % bootstrap interval of the ratio: "
             f"{low:.3f}-{high:.3f}\nlive: {ms_list(samples['live'])}; "
             f"plain: {ms_list(samples['plain'])}")
    return measured("progress.live_display_wall_time (live/plain)", on, off, unit="s",
                    target=LIVE_TARGET, notes=notes)


def _big_repository(quick: bool) -> Figure:
    if quick:  # proves the figure runs: tiny trees, in this process, no memory figure
        return _big_repository_in_process()
    big_files, small_files = 50_000, 500
    scratch = Path(tempfile.mkdtemp(prefix="bench-demo-big-",
                                    dir=_SHM if os.access(_SHM, os.W_OK) else None))
    try:
        big = _make_tree(scratch / "big", big_files)
        small = _make_tree(scratch / "small", small_files)
        _demo_run(small)  # warm the interpreter's file cache
        big_s, big_rss = _demo_run(big)
        small_s, small_rss = _demo_run(small)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    notes = (f"the demo provider's run_pipeline in a fresh process, start-up not counted; "
             f"{big_files:,} files: {big_s:.1f} s, peak RSS {big_rss:.0f} MiB; "
             f"{small_files:,} files: {small_s:.1f} s, peak RSS {small_rss:.0f} MiB")
    return measured(f"demo.report_on_{big_files:,}_files (vs {small_files})", big_s,
                    small_s, unit="s", notes=notes)


def _big_repository_in_process() -> Figure:
    from tech_writer.pipeline.run import run_pipeline

    prompt = (Path(__file__).resolve().parents[1] / "tech_writer" / "examples"
              / "architecture.md").read_text()
    with tempfile.TemporaryDirectory(prefix="bench-demo-quick-") as tmp:
        big, small = _make_tree(Path(tmp) / "big", 300), _make_tree(Path(tmp) / "small", 30)
        big_s = timed(lambda: run_pipeline(prompt, big, provider="demo", environ={}))
        small_s = timed(lambda: run_pipeline(prompt, small, provider="demo", environ={}))
    return measured("demo.report_on_300_files (vs 30)", big_s, small_s, unit="s",
                    notes="quick: in this process, no memory figure")


_CHILD = """
import resource, sys, time
from pathlib import Path
from tech_writer.pipeline.run import run_pipeline
prompt = Path(sys.argv[1]).read_text()
started = time.perf_counter()
run_pipeline(prompt, sys.argv[2], provider="demo", environ={})
elapsed = time.perf_counter() - started
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _demo_run(repo: Path) -> tuple[float, float]:
    """Seconds of one demo ``run_pipeline`` on ``repo`` (the interpreter's start and imports
    left out) and the peak RSS (MiB) of the fresh process that ran it."""
    prompt = Path(__file__).resolve().parents[1] / "tech_writer" / "examples" / "architecture.md"
    output = subprocess.run([sys.executable, "-c", _CHILD, str(prompt), str(repo)],
                            capture_output=True, text=True, timeout=_RUN_TIMEOUT_S, check=True,
                            cwd=Path(__file__).resolve().parents[1]).stdout.split()
    return float(output[0]), int(output[1]) / 1024


def _make_tree(root: Path, files: int) -> Path:
    """``files`` small Python modules, 100 a directory, each importing a neighbour and a shared
    helper module, with a README and a manifest at the root (a plain directory: listed by walk)."""
    root.mkdir(parents=True)
    (root / "README.md").write_text("# Big generated project\n\nMany small modules.\n")
    (root / "pyproject.toml").write_text('[project]\nname = "big"\nversion = "1.0"\n')
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text('"""The generated package."""\n')
    (root / "pkg" / "helpers.py").write_text(
        '"""Shared helpers."""\n\n\ndef helper(value: int) -> int:\n'
        '    """Double the value."""\n    return value * 2\n')
    for number in range(files):
        directory = root / "pkg" / f"d{number // _FILES_PER_DIR:04d}"
        if number % _FILES_PER_DIR == 0:
            directory.mkdir()
            (directory / "__init__.py").write_text("")
        neighbour = f"m{(number + 1) % _FILES_PER_DIR:03d}"
        (directory / f"m{number % _FILES_PER_DIR:03d}.py").write_text(
            f'"""Module {number}."""\n\nfrom pkg.helpers import helper\n\nfrom . import {neighbour}'
            f'\n\n\ndef work_{number}(value: int) -> int:\n    """Work on a value."""\n'
            f"    return helper(value) + {number}\n")
    return root
