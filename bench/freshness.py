"""Figure: ``tech-writer check`` on a 10,000-file repository (500 with --quick) with a report of
50 citations over 25 files, after commits that move 10 cited ranges, change 5, delete a cited
file and add 3 files no section covers.

* ``freshness.check_in_process``: :func:`check_report` (read the report's provenance, hash the
  cited files' lines, list the repository for uncovered files, ``git ls-tree`` at the report's
  commit), median of interleaved rounds. Target: under 1 s. Baseline: ``git status
  --porcelain`` on the same tree, the cheapest "what changed" a CI job could ask for.
* ``freshness.check_command``: the whole ``tech-writer check --json`` process (interpreter start
  included), informational; its verdicts are compared with the planted edits.

Then real history: the demo model writes a report on the first of eleven consecutive itsdangerous
commits (``tests/data/itsdangerous-history.bundle``), and for each following commit (2 with
--quick, 10 in full) ``check`` classifies it and ``update`` refreshes it in place, as a scheduled
CI job would:

* ``freshness.history.<n>``, one per commit: the update's cost as a ratio of the full run's, with
  the citations per status, the sections written again, the update's calls and ``check``'s time;
* ``freshness.history_update_cost``: the whole sequence's update cost against a full run at
  every commit (the ratio); target: under 0.5;
* ``freshness.history_check_max``: the slowest ``check`` of the sequence; target: under 1 s.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.corpus import commit_all, make_corpus
from bench.figure import Figure, measured
from bench.timing import interleaved, median

if TYPE_CHECKING:
    from tech_writer.report.freshness import CheckResult
    from tech_writer.repository.repo import Repository

__all__ = ["CHECK_TARGET_S", "run"]

CHECK_TARGET_S = 1.0
_CITATIONS = 50
_CITED_FILES = 25
_TIMEOUT_S = 120.0
_EXPECTED = {"holds": 32, "moved": 10, "stale": 5, "gone": 3}


def run(quick: bool) -> list[Figure]:
    files = 500 if quick else 10_000
    rounds = 2 if quick else 7
    with tempfile.TemporaryDirectory(prefix="bench-freshness-") as tmp:
        root = make_corpus(Path(tmp) / "corpus", files).root
        report = Path(tmp) / "REPORT.md"
        report.write_text(_write_report(root), encoding="utf-8")
        _edit(root)
        figures = _figures(root, report, files, rounds)
        return figures + _history_figures(Path(tmp) / "history", 2 if quick else 10)


def _write_report(root: Path) -> str:
    """A report of 5 sections, 50 citations of 3-line ranges in 25 files, with its provenance."""
    from tech_writer.report.provenance import SectionInput, attach, build_provenance
    from tech_writer.repository.gitinfo import head_commit
    from tech_writer.repository.repo import Repository

    repo = Repository(root)
    cited = _cited_files(repo)
    parts, sections = ["# A big repository", ""], []
    for number in range(5):
        paths = cited[number * 5:(number + 1) * 5]
        text = " ".join(f"Claim [{path}:{line}-{line + 2}]." for path in paths for line in (2, 12))
        parts += [f"## Part {number + 1}", "", text, ""]
        sections.append(SectionInput(f"Part {number + 1}", "", tuple(paths), text, tuple(paths)))
    provenance = build_provenance(repo, provider="demo", model="openai/gpt-5.1", commit=head_commit(root),
                                  prompt="Describe it.", title="A big repository", understanding="",
                                  sections=sections)
    return attach("\n".join(parts), provenance)


def _cited_files(repo: Repository) -> list[str]:
    return [path for path in repo.list_files() if path.endswith((".py", ".txt", ".go"))][::11][:_CITED_FILES]


def _edit(root: Path) -> None:
    """10 moved (two lines inserted above both citations of 5 files), 5 stale (one cited line
    changed in 5 other files), 3 gone (a file with two citations deleted; one range past the end
    of a cut file), 3 new files; then a commit."""
    from tech_writer.repository.repo import Repository

    cited = _cited_files(Repository(root))
    for path in cited[:5]:
        _rewrite(root / path, lambda lines: ["inserted one", "inserted two", *lines])
    for path in cited[5:10]:
        _rewrite(root / path, lambda lines: [*lines[:2], lines[2] + " (changed)", *lines[3:]])
    (root / cited[10]).unlink()
    _rewrite(root / cited[11], lambda lines: [*lines[:10], lines[10] + " (changed)"])
    for index in range(3):
        (root / f"added_{index}.txt").write_text(f"new file {index}\n", encoding="utf-8")
    rng = random.Random(7)
    for path in rng.sample(cited[12:], 3):  # edits outside the cited lines: still hold
        _rewrite(root / path, lambda lines: [*lines, "appended"])
    commit_all(root, "edits after the report")


def _rewrite(path: Path, change: object) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(change(lines)) + "\n", encoding="utf-8")  # type: ignore[operator]


def _figures(root: Path, report: Path, files: int, rounds: int) -> list[Figure]:
    from tech_writer.report.freshness import STATUSES, check_report
    from tech_writer.repository.repo import Repository

    text = report.read_text(encoding="utf-8")
    results: list[CheckResult] = []
    documents: list[dict[str, Any]] = []

    def check() -> None:
        results.append(check_report(text, Repository(root)))

    def git_status() -> None:
        subprocess.run(["git", "-C", str(root), "status", "--porcelain"], check=True, capture_output=True,
                       timeout=_TIMEOUT_S)

    def command() -> None:
        completed = subprocess.run([sys.executable, "-m", "tech_writer", "check", str(report), "--repo",
                                    str(root), "--json"], capture_output=True, text=True, timeout=_TIMEOUT_S)
        documents.append(json.loads(completed.stdout))

    samples = interleaved(rounds, {"check": check, "git": git_status})
    counts = {status: results[-1].count(status) for status in STATUSES}
    uncovered = results[-1].uncovered_files
    right = counts == _EXPECTED and uncovered is not None and len(uncovered) == 3
    notes = (f"{files:,} files, {_CITATIONS} citations: {counts}, {len(uncovered or ())} uncovered"
             + ("" if right else f" (EXPECTED {_EXPECTED} and 3 uncovered)"))
    figures = [measured("freshness.check_in_process", median(samples["check"]), median(samples["git"]),
                        unit="s", target=CHECK_TARGET_S, target_of="value", notes=notes, checks_ok=right)]
    whole = interleaved(max(1, rounds // 2), {"command": command})
    same = {status: documents[-1]["summary"][status] for status in _EXPECTED} == _EXPECTED
    figures.append(measured("freshness.check_command", median(whole["command"]), None, unit="s",
                            notes="tech-writer check --json, a whole process (interpreter start included)",
                            checks_ok=same))
    return figures


# --- real history ----------------------------------------------------------------------------
_BUNDLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "itsdangerous-history.bundle"
_PROMPT = ("Write an architecture overview of this repository: its components, how data flows "
           "between them, and its key design decisions. Cite the code.")
HISTORY_COST_TARGET = 0.5


@dataclass(frozen=True)
class _Step:
    commit: str
    counts: dict[str, int]
    check_s: float
    rewritten: int
    calls: int
    cost_usd: float


def _history_figures(root: Path, commits: int) -> list[Figure]:
    """The demo's report on the first commit, then check + update after each of ``commits``."""
    from tech_writer.pipeline.run import run_report
    from tech_writer.pipeline.settings import RunSettings

    subprocess.run(["git", "clone", "-q", str(_BUNDLE), str(root)], check=True, capture_output=True,
                   timeout=_TIMEOUT_S)
    sequence = _git(root, "rev-list", "--reverse", "HEAD").split()[: commits + 1]
    _git(root, "checkout", "-q", sequence[0])
    full = run_report(_PROMPT, root, RunSettings(provider="demo", concurrency=1))
    if full.failure is not None or full.report is None or full.cost_summary is None:
        raise RuntimeError(f"the demo run failed: {full.failure}")
    full_cost, full_calls = full.cost_summary.total.cost_usd, full.cost_summary.total.calls
    steps, text = [], full.report
    for commit in sequence[1:]:
        _git(root, "checkout", "-q", commit)
        step, text = _step(root, commit, text)
        steps.append(step)
    figures = [measured(f"freshness.history.{index}", step.cost_usd, full_cost, unit="$",
                        notes=(f"{step.commit[:7]}: citations {step.counts}; {step.rewritten} section(s) "
                               f"written again, {step.calls} call(s) (full run: {full_calls}); check "
                               f"{step.check_s * 1000:.0f} ms"))
               for index, step in enumerate(steps, start=1)]
    total = sum(step.cost_usd for step in steps)
    figures.append(measured("freshness.history_update_cost", total, full_cost * len(steps), unit="$",
                            target=HISTORY_COST_TARGET,
                            notes=(f"{len(steps)} consecutive commits: {sum(s.calls for s in steps)} update "
                                   f"calls against {full_calls * len(steps)} for a full run at each (demo "
                                   "model, simulated prices)")))
    slowest = max(step.check_s for step in steps)
    figures.append(measured("freshness.history_check_max", slowest, None, unit="s", target=CHECK_TARGET_S,
                            target_of="value", notes="the slowest check of the sequence (median of 3 each)"))
    return figures


def _step(root: Path, commit: str, text: str) -> tuple[_Step, str]:
    from tech_writer.pipeline.settings import RunSettings
    from tech_writer.pipeline.update import update_report
    from tech_writer.report.freshness import STATUSES, check_report
    from tech_writer.repository.repo import Repository

    def check() -> None:
        check_report(text, Repository(root))

    times = interleaved(3, {"check": check})["check"]
    checked = check_report(text, Repository(root))
    counts: dict[str, int] = {status: checked.count(status) for status in STATUSES}
    result = update_report(text, root, RunSettings(provider="demo", concurrency=1))
    if result.failure is not None:
        raise RuntimeError(f"update at {commit[:7]} failed: {result.failure.message}")
    summary = result.cost_summary
    calls = summary.total.calls if summary else 0
    cost = summary.total.cost_usd if summary else 0.0
    return _Step(commit, counts, median(times), len(result.rewritten), calls, cost), result.report


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          timeout=_TIMEOUT_S).stdout
