"""Figure: ``tech-writer check`` on a 10,000-file repository (1,000 with --quick) with a report of
50 citations over 25 files, after commits that move 10 cited ranges, change 5, delete a cited
file and add 3 files no section covers.

* ``freshness.check_in_process``: :func:`check_report` (read the report's provenance, hash the
  cited files' lines, list the repository for uncovered files, ``git ls-tree`` at the report's
  commit), median of interleaved rounds. Target: under 1 s. Baseline: ``git status
  --porcelain`` on the same tree, the cheapest "what changed" a CI job could ask for.
* ``freshness.check_command``: the whole ``tech-writer check --json`` process (interpreter start
  included), informational; its verdicts are compared with the planted edits.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
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
    files = 1_000 if quick else 10_000
    rounds = 3 if quick else 7
    with tempfile.TemporaryDirectory(prefix="bench-freshness-") as tmp:
        root = make_corpus(Path(tmp) / "corpus", files).root
        report = Path(tmp) / "REPORT.md"
        report.write_text(_write_report(root), encoding="utf-8")
        _edit(root)
        return _figures(root, report, files, rounds)


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
