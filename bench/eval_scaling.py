"""Figure: ``tech-writer eval`` on reports of 10k, 40k and 80k claims (1k, 2k, 4k with --quick).

The report is generated: sections of prose, lists and tables whose sentences cite line ranges
of a generated repository and name its functions in backticks (some names made up, some
citations past the end of their file), with fenced code blocks in between. Each size is scored
once by :func:`~tech_writer.report.evaluation.evaluate_report` (citations verified on disk,
claims split, every name looked up and searched for in its cited lines), with the repository's
index built beforehand.

The figure is the time per claim at the largest size divided by the time per claim at the
smallest: a linear evaluation stays near 1, a quadratic one grows with the size ratio (8x).
Target: at most 2x (the time per claim may rise a little with the heap, never with the size).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.figure import Figure, measured

__all__ = ["LINEAR_TARGET", "make_report", "run"]

LINEAR_TARGET = 2.0
_FILES = 40
_LINES_PER_FILE = 300
_CLAIMS_PER_SECTION = 200


def run(quick: bool) -> list[Figure]:
    sizes = (1_000, 2_000, 4_000) if quick else (10_000, 40_000, 80_000)
    from tech_writer.report.evaluation import evaluate_report
    from tech_writer.report.grounding import RepoIndex
    from tech_writer.repository.repo import Repository

    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        root = _make_repository(Path(tmp) / "repo")
        # The repository's index is built once, untimed: its cost depends on the repository,
        # not on the report (and the first build pays for importing the symbol extractors).
        index = RepoIndex.build(Repository(root))
        seconds: dict[int, float] = {}
        for claims in sizes:
            report = make_report(claims)
            started = time.perf_counter()
            metrics = evaluate_report(report, Repository(root), index=index)
            seconds[claims] = time.perf_counter() - started
            if metrics.claims_total < claims:
                raise RuntimeError(f"the generated report has {metrics.claims_total} claims, "
                                   f"not {claims}")
    smallest, largest = sizes[0], sizes[-1]
    per_claim_small = seconds[smallest] / smallest
    per_claim_large = seconds[largest] / largest
    times = ", ".join(f"{size:,} claims {seconds[size]:.2f} s" for size in sizes)
    return [
        *(measured(f"eval: {size:,} claims", seconds[size], None, unit="s") for size in sizes),
        measured(f"eval: time per claim, {largest:,} vs {smallest:,} claims", per_claim_large,
                 per_claim_small, unit="s", target=LINEAR_TARGET,
                 notes=f"{times}; linear keeps the ratio near 1, quadratic would be "
                       f"{largest // smallest}x"),
    ]


def _make_repository(root: Path) -> Path:
    for number in range(_FILES):
        path = root / "src" / f"module_{number}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"def handler_{number}_{line}(item):\n    return item\n\n"
                                for line in range(_LINES_PER_FILE // 3)), encoding="utf-8")
    return root


def make_report(claims: int) -> str:
    """A report of ``claims`` claims (see the module docstring)."""
    parts = ["# Generated report\n"]
    for number in range(claims):
        if number % _CLAIMS_PER_SECTION == 0:
            parts.append(f"\n## Section {number // _CLAIMS_PER_SECTION}\n\n")
            if number % (4 * _CLAIMS_PER_SECTION) == 0:
                parts.append("```python\nx = items[a.py:3]\n```\n\n")
        module = number % _FILES
        line = 1 + (number * 7) % (_LINES_PER_FILE - 3)
        end = line + 2 if number % 50 else _LINES_PER_FILE + 10  # some ranges past the end
        name = f"handler_{module}_{(line - 1) // 3}" if number % 20 else f"made_up_{number}"
        citation = f"[src/module_{module}.py:{line}-{end}]"
        sentence = f"The `{name}` function, e.g. for item {number}, returns it {citation}."
        kind = number % 10
        if kind == 0:
            parts.append(f"\n- {sentence}\n")
        elif kind == 1:
            parts.append(f"\n| `{name}` | returns item {number} {citation} |\n")
        else:
            parts.append(f"{sentence} " + ("\n\n" if kind == 9 else ""))
    return "".join(parts) + "\n"
