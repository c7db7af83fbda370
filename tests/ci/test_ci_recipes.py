"""The CI recipes shipped at the repository's root, run for real: the pre-commit hook through
``pre-commit try-repo`` (offline: the hook that uses the installed tech-writer), and the GitHub
Actions composite action's steps in bash, with GitHub's files ($GITHUB_OUTPUT, the step summary)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from history_helpers import GIT_ENV, code_report, git

CHECKOUT = Path(__file__).resolve().parents[2]
APP = "".join(f"def step{n}(x):\n    return x + {n}\n\n\n" for n in range(1, 6))
BIN = str(Path(sys.executable).parent)  # where this environment's tech-writer is


def _project(root: Path) -> Path:
    """A project with its report at docs/ARCHITECTURE.md, committed."""
    (root / "src/itsdangerous").mkdir(parents=True)
    (root / "src/itsdangerous/app.py").write_text(APP)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "code")
    (root / "docs").mkdir()
    (root / "docs/ARCHITECTURE.md").write_text(code_report(root))
    git(root, "add", ".")
    git(root, "commit", "-qm", "report")
    return root


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**GIT_ENV, "PATH": f"{BIN}:{GIT_ENV['PATH']}", "HOME": str(tmp_path),
            "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), **extra}


# --- pre-commit -----------------------------------------------------------------------------------
def test_hooks_file_declares_both_hooks() -> None:
    hooks = yaml.safe_load((CHECKOUT / ".pre-commit-hooks.yaml").read_text())
    assert {hook["id"]: hook["language"] for hook in hooks} == {"tech-writer-check": "python",
                                                                "tech-writer-check-system": "system"}
    assert all(hook["entry"].startswith("tech-writer check") and hook["pass_filenames"] is False for hook in hooks)


@pytest.mark.skipif(shutil.which("pre-commit", path=BIN) is None, reason="pre-commit is in the [test] extra")
def test_pre_commit_try_repo_passes_then_fails_on_a_stale_citation(tmp_path: Path) -> None:
    hook_repo = tmp_path / "hooks"
    hook_repo.mkdir()
    shutil.copy(CHECKOUT / ".pre-commit-hooks.yaml", hook_repo)
    git(hook_repo, "init", "-q")
    git(hook_repo, "add", ".")
    git(hook_repo, "commit", "-qm", "hooks")
    project = _project(tmp_path / "project")
    command = [str(Path(BIN) / "pre-commit"), "try-repo", str(hook_repo), "tech-writer-check-system", "--all-files"]

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=project, env=_env(tmp_path), capture_output=True, text=True, timeout=120)

    passed = run()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert re.search(r"tech-writer check.*Passed", passed.stdout)
    (project / "src/itsdangerous/app.py").write_text(APP.replace("x + 3", "x * 3"))
    failed = run()
    assert failed.returncode == 1
    assert re.search(r"tech-writer check.*Failed", failed.stdout)
    assert "stale  src/itsdangerous/app.py:9-10  (app.py)" in failed.stdout


# --- the composite action --------------------------------------------------------------------------
def _run_action(project: Path, tmp_path: Path, inputs: dict[str, str]) -> tuple[int, dict[str, str], str]:
    """Every step of action.yml in bash, as the runner would: inputs (with their defaults) through
    each step's env; returns (exit code of the first failing step or 0, outputs, step summary)."""
    action: dict[str, Any] = yaml.safe_load((CHECKOUT / "action.yml").read_text())
    values = {name: spec.get("default", "") for name, spec in action["inputs"].items()} | inputs
    output_file, summary_file = tmp_path / "github_output", tmp_path / "step_summary"
    output_file.write_text("")
    summary_file.write_text("")
    for step in action["runs"]["steps"]:
        env = {name: re.sub(r"\$\{\{ inputs\.([\w-]+) \}\}", lambda m: values[m.group(1)], value)
               for name, value in step.get("env", {}).items()}
        result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=project, capture_output=True, text=True,
                                timeout=120, env=_env(tmp_path, GITHUB_OUTPUT=str(output_file),
                                                      GITHUB_STEP_SUMMARY=str(summary_file), **env))
        if result.returncode:
            break
    outputs = dict(line.split("=", 1) for line in output_file.read_text().splitlines())
    return result.returncode, outputs, summary_file.read_text()


def test_action_check_passes_on_a_fresh_report(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    code, outputs, summary = _run_action(project, tmp_path, {"report": "docs/ARCHITECTURE.md", "package": ""})
    assert (code, outputs) == (0, {"exit-code": "0"})
    assert summary.startswith("### tech-writer check docs/ARCHITECTURE.md") and "5 holds" in summary
    assert git(project, "status", "--porcelain") == ""  # nothing left behind in the workspace


def test_action_check_fails_the_job_and_fix_re_anchors(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    (project / "src/itsdangerous/app.py").write_text("import os\n" + APP)
    code, outputs, summary = _run_action(project, tmp_path, {"report": "docs/ARCHITECTURE.md", "package": ""})
    assert (code, outputs["exit-code"]) == (1, "1") and "5 moved" in summary
    code, outputs, _ = _run_action(project, tmp_path, {"report": "docs/ARCHITECTURE.md", "package": "",
                                                       "args": "--fix"})
    assert code == 0 and "docs/ARCHITECTURE.md" in git(project, "status", "--porcelain")


def test_action_inputs_cannot_inject_commands(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    code, _, _ = _run_action(project, tmp_path, {"report": "docs/ARCHITECTURE.md; touch pwned", "package": "",
                                                 "args": "$(touch pwned2) ; touch pwned3"})
    assert code == 2
    assert not any((project / name).exists() for name in ("pwned", "pwned2", "pwned3"))


def test_action_update_writes_the_stale_section_again_then_check_passes(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    (project / "src/itsdangerous/app.py").write_text(APP.replace("x + 3", "x * 3"))
    inputs = {"report": "docs/ARCHITECTURE.md", "package": ""}
    code, outputs, summary = _run_action(project, tmp_path, {**inputs, "command": "update", "args": "--provider demo"})
    assert (code, outputs["exit-code"]) == (0, "0"), summary
    assert summary.startswith("### tech-writer update docs/ARCHITECTURE.md") and "1 section(s) written again" in summary
    assert "docs/ARCHITECTURE.md" in git(project, "status", "--porcelain")
    code, outputs, summary = _run_action(project, tmp_path, inputs)
    assert (code, outputs["exit-code"]) == (0, "0"), summary
