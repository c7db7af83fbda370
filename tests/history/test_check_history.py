"""``check`` on real history (eleven consecutive itsdangerous commits) and on a generated history
whose commits move, change and delete cited lines, add a file and delete one."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from history_helpers import clone_history, code_report, git

from tech_writer.report.freshness import apply_fixes, check_report
from tech_writer.report.provenance import split_report
from tech_writer.repository.repo import Repository

# (holds, moved, stale, gone) after each commit, against a report written at the first one.
REAL_COUNTS = [(22, 1, 1, 0), (22, 1, 1, 0), (2, 6, 13, 3), (2, 4, 16, 2), (2, 4, 16, 2), (2, 4, 16, 2),
               (2, 4, 16, 2), (2, 4, 16, 2), (2, 4, 16, 2), (2, 4, 16, 2)]


def _oracle(old: list[str], new: list[str], start: int, end: int) -> str | None:
    """difflib's verdict on a block that occurs once in each version (None: not unique, no verdict)."""
    block = old[start - 1:end]
    def count(lines: list[str]) -> int:
        return sum(lines[i:i + len(block)] == block for i in range(len(lines) - len(block) + 1))
    if count(old) != 1 or count(new) > 1:
        return None
    matched = {}
    for m in difflib.SequenceMatcher(None, old, new, autojunk=False).get_matching_blocks():
        matched.update({m.a + k: m.b + k for k in range(m.size)})
    targets = [matched.get(i) for i in range(start - 1, end)]
    if None not in targets and targets == list(range(targets[0], targets[0] + len(targets))):  # type: ignore[arg-type,operator]
        return "holds" if targets[0] == start - 1 else "moved"
    if count(new) == 1:
        return "moved"  # the same lines, moved past others (difflib keeps one order)
    return "gone" if end > len(new) else "stale"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], str]:
    root = tmp_path_factory.mktemp("itsdangerous")
    commits = clone_history(root)
    return root, commits, code_report(root)


def test_every_real_commit_is_classified_as_its_diff_says(history: tuple[Path, list[str], str]) -> None:
    root, commits, report = history
    old = {path: (root / path).read_text().splitlines() for path in git(root, "ls-files").split()}
    counts = []
    try:
        for commit in commits[1:]:
            git(root, "checkout", "-q", commit)
            result = check_report(report, Repository(root))
            counts.append(tuple(result.count(s) for s in ("holds", "moved", "stale", "gone")))
            judged = 0
            for verdict in result.citations:
                c = verdict.citation
                new = (root / c.path).read_text().splitlines() if (root / c.path).exists() else []
                expected = _oracle(old[c.path], new, c.start, c.end)
                if expected is not None:
                    judged += 1
                    assert verdict.status == expected, (commit, c.text)
                if verdict.status == "moved":
                    assert new[verdict.new_start - 1:verdict.new_end] == old[c.path][c.start - 1:c.end]  # type: ignore[operator]
            assert judged >= 20
            assert result.uncovered_files == ()
    finally:
        git(root, "checkout", "-q", commits[0])
    assert counts == REAL_COUNTS


def test_fix_on_real_history_re_anchors_and_leaves_the_prose(history: tuple[Path, list[str], str]) -> None:
    root, commits, report = history
    try:
        git(root, "checkout", "-q", commits[3])  # "improve typing": 6 moved
        result = check_report(report, Repository(root))
        fixed, after = apply_fixes(report, result)
        assert after.fixed == 6
        again = check_report(fixed, Repository(root))
        assert (again.count("holds"), again.count("moved")) == (8, 0)
        before_body, after_body = split_report(report)[0], split_report(fixed)[0]
        assert len(before_body.splitlines()) == len(after_body.splitlines())
    finally:
        git(root, "checkout", "-q", commits[0])


# --- a generated history -----------------------------------------------------------------------
APP = "".join(f"def step{n}(x):\n    y = x + {n}\n    return y\n\n\n" for n in range(1, 9))


def test_a_generated_history_that_moves_changes_and_deletes_cited_lines(tmp_path: Path) -> None:
    from tech_writer.report.provenance import SectionInput, attach, build_provenance
    from tech_writer.repository.gitinfo import head_commit

    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "extra.py").write_text("LIMIT = 10\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "base")
    body = ("# R\n\n## Steps\n\nstep2 adds 2 [app.py:6-8]; step7 adds 7 [app.py:31-33].\n\n"
            "## Limits\n\nThe limit [extra.py:1].\n")
    sections = [SectionInput("Steps", "", ("app.py",), body.split("## Limits")[0], ("app.py",)),
                SectionInput("Limits", "", ("extra.py",), "The limit [extra.py:1].", ("extra.py",))]
    report = attach(body, build_provenance(Repository(tmp_path), provider="demo", model="m",
                                           commit=head_commit(tmp_path), prompt="p", title="R",
                                           understanding="", sections=sections))
    steps = []

    def commit(message: str) -> None:
        git(tmp_path, "add", "-A")
        git(tmp_path, "commit", "-qm", message)
        result = check_report(report, Repository(tmp_path))
        steps.append(([(v.status, v.new_start) for v in result.citations],
                      [s.status for s in result.sections], result.uncovered_files))

    (tmp_path / "app.py").write_text("import os\n\n" + APP)
    commit("two lines above: every citation moves")
    (tmp_path / "app.py").write_text(("import os\n\n" + APP).replace("x + 7", "x + 70"))
    commit("step7 changed")
    (tmp_path / "new_feature.py").write_text("def feature():\n    pass\n")
    commit("a file no section covers")
    (tmp_path / "extra.py").unlink()
    commit("extra.py deleted")
    (tmp_path / "app.py").write_text("import os\n")
    commit("app.py cut to one line")
    assert steps == [
        ([("moved", 8), ("moved", 33), ("holds", None)], ["fresh", "fresh"], ()),
        ([("moved", 8), ("stale", None), ("holds", None)], ["stale", "fresh"], ()),
        ([("moved", 8), ("stale", None), ("holds", None)], ["stale", "fresh"], ("new_feature.py",)),
        ([("moved", 8), ("stale", None), ("gone", None)], ["stale", "stale"], ("new_feature.py",)),
        ([("gone", None), ("gone", None), ("gone", None)], ["stale", "stale"], ("new_feature.py",)),
    ]
