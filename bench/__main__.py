"""``python -m bench``: run the figures, print them against their baselines, write the JSON.

Exit status: 0 when every figure with a target meets it; 1 when one fails, cannot be measured
(a feature not there yet), or its group crashed; 2 for bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.figure import Figure, format_figure

__all__ = ["DEFAULT_JSON", "GROUPS", "main", "run_groups"]

# Group name -> module with ``run(quick: bool) -> list[Figure]``, in running order (cheap first).
GROUPS = {
    "startup": "bench.startup",
    "cost_lookup": "bench.cost_lookup",
    "tokens": "bench.token_efficiency",
    "telemetry": "bench.telemetry_overhead",
    "peers": "bench.telemetry_peers",
    "concurrency": "bench.concurrency",
    "search": "bench.search_speed",
    "progress": "bench.live_progress",
    "freshness": "bench.freshness",
    "eval": "bench.eval_scaling",
    # Minutes: a real model's report (skipped when it is not prepared, and in --quick mode).
    "real_model": "bench.real_model",
}
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"
SCHEMA_VERSION = 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="tech_writer's benchmarks: each figure against its baseline, measured side "
                    "by side in this run.")
    parser.add_argument("--quick", action="store_true",
                        help="every figure at tiny sizes (seconds): checks the suite runs, "
                             "its numbers mean little")
    parser.add_argument("--only", action="append", choices=list(GROUPS), metavar="NAME",
                        help=f"run only this group (repeatable): {', '.join(GROUPS)}")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH",
                        help="where to write the results (default: bench/results/latest.json)")
    args = parser.parse_args(argv)
    groups = [name for name in GROUPS if not args.only or name in args.only]
    document = run_groups(groups, quick=args.quick)
    _write_json(args.json, document)
    print(f"\n{'PASSED' if document['passed'] else 'FAILED'}: "
          f"{len(document['figures'])} figures in {document['duration_s']:.1f} s"
          + (f"; failing: {', '.join(document['failed'])}" if document["failed"] else "")
          + f"\nresults: {args.json}")
    return 0 if document["passed"] else 1


def run_groups(groups: Sequence[str], *, quick: bool) -> dict[str, Any]:
    """Run the groups in order, printing each figure as it comes; return the JSON document."""
    started_at = datetime.now(timezone.utc)
    started = time.perf_counter()
    load_before = _load_average()
    print(f"tech_writer benchmarks ({'quick' if quick else 'full'}): {', '.join(groups)} "
          f"on {os.cpu_count()} CPU(s), Python {platform.python_version()}, load average "
          f"{load_before}", flush=True)
    figures: list[Figure] = []
    group_info: dict[str, dict[str, Any]] = {}
    for name in groups:
        print(f"\n== {name}", flush=True)
        group_started = time.perf_counter()
        error = None
        try:
            produced = importlib.import_module(GROUPS[name]).run(quick)
        except Exception as exc:  # noqa: BLE001 - one broken group must not hide the others
            error = f"{type(exc).__name__}: {exc}"
            print(f"[FAIL] {name}: crashed: {error}", flush=True)
            traceback.print_exc()
            produced = []
        for figure in produced:
            print(format_figure(figure), flush=True)
        figures += produced
        group_info[name] = {"duration_s": round(time.perf_counter() - group_started, 3),
                            "figures": [figure.name for figure in produced], "error": error}
    failed = [figure.name for figure in figures if figure.passed is False]
    failed += [f"{name} (crashed)" for name, info in group_info.items() if info["error"]]
    return {
        "schema_version": SCHEMA_VERSION,
        "suite": "tech_writer",
        "quick": quick,
        "started_at": started_at.isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - started, 3),
        # A loaded machine (other processes on the same cores) makes every figure noisier.
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_average_before": load_before,
                    "load_average_after": _load_average()},
        "groups": group_info,
        "figures": [figure.to_json() for figure in figures],
        "failed": failed,
        "passed": not failed,
    }


def _load_average() -> float | None:
    """The 1-minute load average (None where the platform has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _write_json(path: Path, document: dict[str, Any]) -> None:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".bench-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=2, ensure_ascii=False)
            out.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


if __name__ == "__main__":
    sys.exit(main())
