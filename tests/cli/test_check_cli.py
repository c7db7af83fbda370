"""``tech-writer check`` as a user runs it: verdicts, --json's shape, --fix in place, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import assert_no_traceback, run_cli
from history_helpers import code_report, git

from tech_writer.report.provenance import split_report

APP = "".join(f"def step{n}(x):\n    return x + {n}\n\n\n" for n in range(1, 6))


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, Path]:
    repo = tmp_path / "repo"
    (repo / "src/itsdangerous").mkdir(parents=True)
    (repo / "src/itsdangerous/app.py").write_text(APP)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    report = repo / "docs" / "REPORT.md"
    report.parent.mkdir()
    report.write_text(code_report(repo))
    return repo, report


def test_an_unchanged_repository_exits_0(written: tuple[Path, Path]) -> None:
    repo, report = written
    result = run_cli("check", report, "--repo", repo)
    assert result.returncode == 0, result.stderr
    assert "5 citations (5 holds, 0 moved, 0 stale, 0 gone)" in result.stdout
    assert "no section covers" not in result.stdout  # the report itself is not an uncovered file


def test_json_shape_and_exit_1_then_fix_in_place(written: tuple[Path, Path]) -> None:
    repo, report = written
    (repo / "src/itsdangerous/app.py").write_text("import os\n" + APP.replace("x + 5", "x - 5"))
    (repo / "src/itsdangerous/new.py").write_text("N = 1\n")
    result = run_cli("check", report, "--repo", repo, "--json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"citations", "sections", "uncovered_files", "summary"}
    first = document["citations"][0]
    assert {k: first[k] for k in ("section", "path", "start", "end", "status", "new_start", "new_end")} == {
        "section": "app.py", "path": "src/itsdangerous/app.py", "start": 1, "end": 2, "status": "moved",
        "new_start": 2, "new_end": 3}
    assert [c["status"] for c in document["citations"]] == ["moved"] * 4 + ["stale"]
    assert document["sections"] == [{"title": "app.py", "status": "stale", "files": ["src/itsdangerous/app.py"]}]
    assert document["uncovered_files"] == ["src/itsdangerous/new.py"]
    before = report.read_text()
    fixed = run_cli("check", report, "--repo", repo, "--fix")
    assert fixed.returncode == 1  # the stale one is still stale
    assert "--fix re-anchored 4" in fixed.stdout
    after = report.read_text()
    assert split_report(after)[0] == split_report(before)[0].replace(":1-2]", ":2-3]").replace(
        ":5-6]", ":6-7]").replace(":9-10]", ":10-11]").replace(":13-14]", ":14-15]")
    again = json.loads(run_cli("check", report, "--repo", repo, "--json").stdout)
    assert again["summary"]["holds"] == 4 and again["summary"]["moved"] == 0


def test_fix_with_only_moves_exits_0(written: tuple[Path, Path]) -> None:
    repo, report = written
    (repo / "src/itsdangerous/app.py").write_text("\n\n" + APP)
    assert run_cli("check", report, "--repo", repo, "--fix").returncode == 0
    assert run_cli("check", report, "--repo", repo).returncode == 0


def test_strict_fails_on_a_change_outside_the_cited_lines(written: tuple[Path, Path]) -> None:
    repo, report = written
    (repo / "src/itsdangerous/app.py").write_text(APP + "# a trailing comment\n")
    assert run_cli("check", report, "--repo", repo).returncode == 0
    strict = run_cli("check", report, "--repo", repo, "--strict")
    assert strict.returncode == 1 and "stale section: app.py (src/itsdangerous/app.py)" in strict.stdout


@pytest.mark.parametrize("args, message", [
    (["missing.md"], "REPORT missing.md: no such file"),
    (["REPORT", "--repo", "/nonexistent-dir"], "--repo /nonexistent-dir: not a directory"),
    (["BROKEN"], "its provenance comment is unreadable"),
    ([], "Missing argument 'REPORT'"),
])
def test_usage_errors_are_one_line_and_exit_2(written: tuple[Path, Path], args: list[str], message: str) -> None:
    repo, report = written
    broken = report.with_name("broken.md")
    broken.write_text(report.read_text().replace('"sha": "', '"sha": "zz', 1))
    args = [str(report) if a == "REPORT" else str(broken) if a == "BROKEN" else a for a in args]
    result = run_cli("check", *args, *([] if "--repo" in args else ["--repo", str(repo)]))
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) <= 2
    assert_no_traceback(result)


def test_a_report_without_provenance_is_checked_by_existence(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    report = tmp_path / "hand.md"
    report.write_text("# Notes\n\n## A\n\nx is one [a.py:1], y is [a.py:2].\n")
    result = run_cli("check", report, "--repo", tmp_path)
    assert result.returncode == 1
    assert "gone   a.py:2-2  (A)" in result.stdout and "by existence only" in result.stdout
