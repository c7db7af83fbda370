"""``tech-writer update`` stopped by Ctrl-C or SIGTERM mid-way: the file on disk is whole (every
section as it was or rewritten, with the provenance to match), the cost is printed, and the
next update carries on with the sections still stale."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from cli_helpers import KEY
from conftest import make_repo
from safety_helpers import LiveCli, PhaseRouter
from test_safety_interrupt import Stall, wait_bounded

from tech_writer.demo import FakeOpenRouter
from tech_writer.pipeline.run import run_report
from tech_writer.pipeline.settings import RunSettings
from tech_writer.report.freshness import check_report, report_sections
from tech_writer.report.provenance import split_report
from tech_writer.repository.repo import Repository

PROMPT = "Write an architecture overview of this repository: components, data flow, storage. Cite the code.\n"


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_update_leaves_a_whole_report_and_the_rest_stale(tmp_path: Path, signum: int,
                                                                        code: int) -> None:
    root = make_repo(tmp_path / "repo")
    written = run_report(PROMPT, root, RunSettings(provider="demo", concurrency=1)).report
    assert written is not None
    path = root / "ARCHITECTURE.md"
    path.write_text(written, encoding="utf-8")
    for name in {v.citation.path for v in check_report(written, Repository(root)).citations}:
        (root / name).write_text((root / name).read_text().replace("\n", " # edited\n"))
    sections = [s.title for s in report_sections(split_report(written)[0])]
    assert len(check_report(written, Repository(root)).stale_sections()) == len(sections) >= 3

    stall = Stall(at=2, hold_s=0.5)  # the first section rewritten, the second's request in flight
    with FakeOpenRouter(PhaseRouter(before=stall), api_key=KEY) as server:
        run = LiveCli("update", path, "--repo", root, "--provider", "openrouter", "--base-url",
                      server.base_url, "--eval-json", env={"OPENROUTER_API_KEY": KEY})
        try:
            assert stall.reached.wait(60), run.stderr
            returncode, _ = wait_bounded(run, run.signal(signum))
        finally:
            stall.release.set()
            run.kill()
    assert returncode == code, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    document = run.json()
    after = path.read_text(encoding="utf-8")
    assert document["report"] == after and document["update"]["sections_rewritten"] == 1
    assert document["cost"]["total_calls"] >= 1
    body, provenance = split_report(after)
    assert provenance is not None and [s.title for s in report_sections(body)] == sections
    checked = check_report(after, Repository(root))
    assert [s.title for s in checked.stale_sections()] == [t for t in sections if t != stall.titles[0]]
    assert [p.name for p in root.iterdir() if p.name.startswith(".ARCHITECTURE")] == []  # no temp file left


def test_the_diff_sent_to_the_model_masks_the_key(tmp_path: Path) -> None:
    """A key in a cited file (a settings module beside the code) reaches the model masked, in the
    old-text-and-diff context as in tool results."""
    from history_helpers import git

    from tech_writer.report.provenance import SectionInput, attach, build_provenance
    from tech_writer.repository.gitinfo import head_commit

    root = make_repo(tmp_path / "repo", {"settings.py": "TIMEOUT = 5\nRETRIES = 2\n"})
    body = "# R\n\n## Settings\n\nThe timeout is five seconds [settings.py:1-2].\n"
    report = attach(body, build_provenance(
        Repository(root), provider="openrouter", model="openai/gpt-5.1", commit=head_commit(root), prompt="p",
        title="R", understanding="", sections=[SectionInput("Settings", "the settings", ("settings.py",),
                                                            body.split("## Settings")[1], ("settings.py",))]))
    path = root / "REPORT.md"
    path.write_text(report)
    (root / "settings.py").write_text(f'TIMEOUT = 5\nRETRIES = 3\nOPENROUTER_API_KEY = "{KEY}"\n')
    git(root, "add", "settings.py")
    with FakeOpenRouter(PhaseRouter(), api_key=KEY) as server:
        run = LiveCli("update", path, "--repo", root, "--provider", "openrouter", "--base-url", server.base_url,
                      "--eval-json", env={"OPENROUTER_API_KEY": KEY})
        code = run.wait(120)
        bodies = [r.json for r in server.requests if r.path.endswith("/chat/completions")]
    assert code == 0, run.stderr
    assert bodies and "RETRIES = 3" in str(bodies[0])  # the change was sent
    assert all(KEY not in str(b) for b in bodies)
    assert KEY not in path.read_text() and KEY not in run.stdout + run.stderr
