"""The benchmark suite runs end to end (quick mode) and writes a well-formed result file.

Only the shape is checked, never the numbers: quick mode measures tiny sizes, and whether a
target holds is the full run's business (``python -m bench``).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
FIGURE_KEYS = {"name", "value", "baseline", "ratio", "target", "unit", "passed", "notes",
               "target_of", "comparison", "available"}
GROUPS = {"startup", "cost_lookup", "tokens", "telemetry", "peers", "concurrency", "search",
          "progress", "freshness", "eval", "real_model"}


def run_bench(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENROUTER_"))}
    return subprocess.run([sys.executable, "-m", "bench", *map(str, args)], cwd=CHECKOUT,
                          env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)


def test_quick_run_prints_every_figure_and_writes_its_json(tmp_path):
    out = tmp_path / "nested" / "results.json"
    result = run_bench("--quick", "--json", out)

    # 0: every target held; 1: some did not (quick sizes prove nothing). Never a crash.
    assert result.returncode in (0, 1), result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["schema_version"] == 1 and document["quick"] is True
    assert set(document["groups"]) == GROUPS
    assert all(info["error"] is None for info in document["groups"].values()), document["groups"]
    figures = document["figures"]
    names = [figure["name"] for figure in figures]
    assert len(names) == len(set(names)) >= len(GROUPS)
    for group in GROUPS:
        assert document["groups"][group]["figures"], f"{group} produced no figure"
    for figure in figures:
        assert set(figure) == FIGURE_KEYS, figure["name"]
        assert figure["passed"] in (True, False, None)
        if figure["value"] is None:
            # Not measurable (a feature not there yet): said so, and never a made-up number.
            assert figure["available"] is False and figure["notes"].startswith("not available")
            continue
        assert isinstance(figure["value"], (int, float)) and math.isfinite(figure["value"])
        if figure["baseline"]:
            assert figure["ratio"] == figure["value"] / figure["baseline"]
        if figure["target"] is None:
            assert figure["passed"] in (None, False)
        else:
            assert isinstance(figure["passed"], bool)
        # Every figure is printed, with its verdict.
        assert figure["name"] in result.stdout
    failing = [f["name"] for f in figures if f["passed"] is False]
    assert document["failed"] == failing
    assert document["passed"] is (not failing)
    assert (result.returncode == 0) is document["passed"]
    assert str(out) in result.stdout


def test_only_runs_the_named_group_and_rejects_unknown_names(tmp_path):
    out = tmp_path / "startup.json"
    result = run_bench("--quick", "--only", "startup", "--json", out)
    assert result.returncode in (0, 1), result.stderr[-3000:]
    document = json.loads(out.read_text(encoding="utf-8"))
    assert list(document["groups"]) == ["startup"]
    assert [f["name"] for f in document["figures"]] == ["startup.help_wall_time"]

    unknown = run_bench("--only", "nonsense", "--json", tmp_path / "never.json")
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr
    assert not (tmp_path / "never.json").exists()
