"""The classifier behind ``tech-writer check``: holds / moved / stale / gone, sections, ``--fix``.

The property tests apply a random edit script to a file and compare every citation's verdict with
an independent oracle: difflib's matching of the old and new lines (insertions, deletions,
replacements), and the lines' identities carried through the script (with block moves too)."""

from __future__ import annotations

import difflib
import itertools
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tech_writer.report.freshness import apply_fixes, check_report, classify_lines, report_sections
from tech_writer.report.provenance import SectionInput, attach, build_provenance, lines_sha, split_report
from tech_writer.repository.repo import Repository

PROPERTY = settings(max_examples=300, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
_fresh = itertools.count()


def _new_line() -> str:
    return f"new line {next(_fresh)}"


# --- edit scripts ----------------------------------------------------------------------------
edit = st.tuples(st.sampled_from(["insert", "delete", "replace", "move"]),
                 st.integers(0, 60), st.integers(1, 6), st.integers(0, 60))


def _apply(lines: list[str], script: list[tuple[str, int, int, int]], moves: bool) -> list[str]:
    lines = list(lines)
    for op, at, count, to in script:
        at = min(at, len(lines))
        if op == "insert":
            lines[at:at] = [_new_line() for _ in range(count)]
        elif op == "delete":
            del lines[at:at + count]
        elif op == "replace":
            lines[at:at + count] = [_new_line() for _ in lines[at:at + count]]
        elif moves:
            block = lines[at:at + count]
            del lines[at:at + count]
            target = min(to, len(lines))
            lines[target:target] = block
    return lines


def _diff_oracle(old: list[str], new: list[str], start: int, end: int) -> tuple[str, int | None]:
    """What difflib says happened to old lines start..end: all matched, contiguously (holds at the
    same place, else moved), or not (stale while the range is still inside the file, else gone)."""
    matched: dict[int, int] = {}
    for block in difflib.SequenceMatcher(None, old, new, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            matched[block.a + k] = block.b + k
    targets = [matched.get(i) for i in range(start - 1, end)]
    if None not in targets and targets == list(range(targets[0], targets[0] + len(targets))):  # type: ignore[operator]
        first = targets[0] + 1  # type: ignore[operator]
        return ("holds", None) if first == start else ("moved", first)
    return ("gone" if end > len(new) else "stale"), None


def _identity_oracle(old: list[str], new: list[str], start: int, end: int) -> tuple[str, int | None]:
    """Every line is unique, so a cited block survives exactly when its lines are still adjacent."""
    block = old[start - 1:end]
    where = [i + 1 for i in range(len(new) - len(block) + 1) if new[i:i + len(block)] == block]
    if where:
        return ("holds", None) if start in where else ("moved", where[0])
    return ("gone" if end > len(new) else "stale"), None


ranges = st.lists(st.tuples(st.integers(1, 40), st.integers(0, 8)), min_size=1, max_size=8)


@PROPERTY
@given(st.integers(1, 40), ranges, st.lists(edit, max_size=6))
def test_every_citation_is_classified_as_difflib_says(size: int, cited: list[tuple[int, int]],
                                                      script: list[tuple[str, int, int, int]]) -> None:
    old = [f"line {n}" for n in range(1, size + 1)]
    new = _apply(old, script, moves=False)
    for first, extra in cited:
        start, end = min(first, size), min(first + extra, size)
        status, new_start, new_end = classify_lines(new, start, end, lines_sha(old[start - 1:end]))
        expected, expected_start = _diff_oracle(old, new, start, end)
        assert (status, new_start) == (expected, expected_start)
        if status == "moved":
            assert new_end == new_start + end - start  # type: ignore[operator]
            assert new[new_start - 1:new_end] == old[start - 1:end]  # type: ignore[operator]


@PROPERTY
@given(st.integers(1, 40), ranges, st.lists(edit, max_size=6))
def test_block_moves_are_found_where_the_lines_went(size: int, cited: list[tuple[int, int]],
                                                    script: list[tuple[str, int, int, int]]) -> None:
    old = [f"line {n}" for n in range(1, size + 1)]
    new = _apply(old, script, moves=True)
    for first, extra in cited:
        start, end = min(first, size), min(first + extra, size)
        status, new_start, _ = classify_lines(new, start, end, lines_sha(old[start - 1:end]))
        assert (status, new_start) == _identity_oracle(old, new, start, end)


# --- units -----------------------------------------------------------------------------------
def test_repeated_text_moves_to_the_nearest_copy_earlier_on_a_tie() -> None:
    sha = lines_sha(["pass"])
    lines = ["pass", "x", "y", "z", "pass", "w", "pass"]
    assert classify_lines(lines, 3, 3, sha) == ("moved", 1, 1)
    assert classify_lines(lines, 6, 6, sha) == ("moved", 5, 5)  # 5 and 7 are as near: the earlier
    assert classify_lines(lines, 1, 1, sha) == ("holds", None, None)


def test_unreadable_files_and_ranges_past_the_end_are_gone() -> None:
    assert classify_lines(None, 1, 1, lines_sha(["a"])) == ("gone", None, None)
    assert classify_lines(["b"], 2, 3, lines_sha(["a", "a"])) == ("gone", None, None)
    assert classify_lines(["b", "c"], 1, 1, lines_sha(["a"])) == ("stale", None, None)


def test_without_a_hash_only_existence_is_checked() -> None:
    assert classify_lines(["a", "b"], 1, 2, None) == ("holds", None, None)
    assert classify_lines(["a", "b"], 2, 3, None) == ("gone", None, None)


def test_headings_inside_code_fences_are_not_sections() -> None:
    body = "# T\n\n## One\n\ntext\n\n```md\n## not a section\n```\n\n## Two ##\n\n## One\n\n## C#\n"
    assert [(s.title, s.occurrence) for s in report_sections(body)] == [("One", 0), ("Two", 0), ("One", 1),
                                                                        ("C#", 0)]


# --- a report on disk ------------------------------------------------------------------------
SOURCE = {"app.py": "".join(f"def f{n}():\n    return {n}\n" for n in range(1, 21)),
          "db.py": "import sqlite3\n\nclass DB:\n    pass\n", "util.py": "X = 1\n"}
BODY = ("# Report\n\n## App\n\nf3 returns 3 [app.py:5-6]; f10 returns 10 [app.py:19-20, db.py:3].\n\n"
        "## Storage\n\nThe DB class [db.py:3-4].\n\n## Hand written\n\nSee [util.py:1].\n")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
                               "GIT_COMMITTER_EMAIL": "t@e", "PATH": "/usr/bin:/bin"}).stdout.strip()


def _written(root: Path, *, git: bool = True) -> str:
    for name, text in SOURCE.items():
        (root / name).write_text(text)
    commit = None
    if git:
        _git(root, "init", "-q")
        _git(root, "add", ".")
        _git(root, "commit", "-qm", "code")
        commit = _git(root, "rev-parse", "HEAD")
    repo = Repository(root)
    sections = [SectionInput("App", "", ("app.py",), BODY.split("## App")[1].split("## Storage")[0],
                             ("app.py", "db.py", "util.py")),
                SectionInput("Storage", "", ("db.py",), "The DB class [db.py:3-4].", ("db.py",))]
    provenance = build_provenance(repo, provider="demo", model="m", commit=commit, prompt="p", title="Report",
                                  understanding="u", sections=sections)
    return attach(BODY, provenance)


def _statuses(report: str, root: Path, **options: bool) -> list[tuple[str, int, str, int | None]]:
    result = check_report(report, Repository(root), **options)
    return [(v.citation.path, v.citation.start, v.status, v.new_start) for v in result.citations]


def test_an_untouched_repository_holds_everywhere(tmp_path: Path) -> None:
    report = _written(tmp_path)
    result = check_report(report, Repository(tmp_path))
    assert {v.status for v in result.citations} == {"holds"} and result.exit_code == 0
    assert [(s.title, s.status) for s in result.sections] == [("App", "fresh"), ("Storage", "fresh"),
                                                              ("Hand written", "fresh")]
    assert result.uncovered_files == ()
    # The hand-written section has no record: existence only.
    assert [v.by_content for v in result.citations] == [True, True, True, True, False]


def test_moved_stale_gone_and_the_sections_behind_them(tmp_path: Path) -> None:
    report = _written(tmp_path)
    app = SOURCE["app.py"].splitlines(keepends=True)
    (tmp_path / "app.py").write_text("# header\n" + "".join(app[:18]) + "def f10():\n    return 99\n")
    (tmp_path / "db.py").unlink()
    (tmp_path / "new_module.py").write_text("Y = 2\n")
    result = check_report(report, Repository(tmp_path))
    assert [(v.citation.path, v.citation.start, v.status, v.new_start) for v in result.citations] == [
        ("app.py", 5, "moved", 6), ("app.py", 19, "stale", None), ("db.py", 3, "gone", None),
        ("db.py", 3, "gone", None), ("util.py", 1, "holds", None)]
    assert [(s.title, s.status, s.files) for s in result.sections] == [
        ("App", "stale", ("app.py", "db.py")), ("Storage", "stale", ("db.py",)), ("Hand written", "fresh", ())]
    assert result.uncovered_files == ("new_module.py",)
    assert result.exit_code == 1
    assert result.as_dict()["summary"] | {} == {**result.summary()}
    assert result.summary()["moved"] == 1 and result.summary()["gone"] == 2


def test_strict_counts_any_change_in_a_file_a_section_read(tmp_path: Path) -> None:
    report = _written(tmp_path)
    (tmp_path / "util.py").write_text("X = 1\nZ = 3\n")  # read by "App", cited by nobody's records
    assert check_report(report, Repository(tmp_path)).exit_code == 0
    strict = check_report(report, Repository(tmp_path), strict=True)
    assert [(s.title, s.status, s.files) for s in strict.sections][0] == ("App", "stale", ("util.py",))
    assert strict.exit_code == 1


def test_fix_rewrites_moved_citations_and_nothing_else(tmp_path: Path) -> None:
    report = _written(tmp_path)
    (tmp_path / "app.py").write_text("# one\n# two\n" + SOURCE["app.py"])
    (tmp_path / "db.py").write_text("import sqlite3\n\n\nclass DB:\n    pass\n")
    result = check_report(report, Repository(tmp_path))
    fixed, after = apply_fixes(report, result)
    assert after.fixed == 4 and after.exit_code == 0
    body, _ = split_report(fixed)
    assert body == BODY.replace("[app.py:5-6]", "[app.py:7-8]").replace(
        "[app.py:19-20, db.py:3]", "[app.py:21-22, db.py:4]").replace("[db.py:3-4]", "[db.py:4-5]")
    again = check_report(fixed, Repository(tmp_path))
    assert {v.status for v in again.citations} == {"holds"}
    assert all(v.by_content for v in again.citations[:4])  # the provenance moved with them


def test_a_report_without_provenance_is_checked_by_existence(tmp_path: Path) -> None:
    _written(tmp_path, git=False)
    (tmp_path / "db.py").write_text("X\n")
    result = check_report(BODY, Repository(tmp_path))
    assert [v.status for v in result.citations] == ["holds", "holds", "gone", "gone", "holds"]
    assert result.uncovered_files is None and not any(v.by_content for v in result.citations)


@settings(max_examples=40, derandomize=True, database=None, deadline=None)
@given(st.lists(edit, max_size=5))
def test_fix_then_check_holds_exactly_where_the_lines_survived(script: list[tuple[str, int, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        report = _written(root, git=False)
        old = SOURCE["app.py"].splitlines()
        new = _apply(old, script, moves=True)
        (root / "app.py").write_text("".join(line + "\n" for line in new))
        result = check_report(report, Repository(root))
        fixed, after = apply_fixes(report, result)
        assert after.fixed == sum(1 for v in result.citations if v.status == "moved")
        again = check_report(fixed, Repository(root))
        assert [v.status for v in again.citations] == [v.status for v in after.citations]
        assert all(v.status != "moved" for v in again.citations)
