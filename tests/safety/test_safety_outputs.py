"""Issue 26, findings 1 and 3: ``-o`` puts the report where the path points, is refused before
anything is paid when it cannot work, and ``compare`` gives every run its own file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cli_helpers import KEY, assert_no_traceback, run_cli
from safety_helpers import chat_bodies

from tech_writer.demo import DemoModel, FakeOpenRouter

ENV = {"OPENROUTER_API_KEY": KEY}


def run_against_fake(sample_repo: Path, prompt: Path, output: Path):
    with FakeOpenRouter(DemoModel(), api_key=KEY) as server:
        result = run_cli("--prompt", prompt, "--repo", sample_repo, "--provider", "openrouter",
                         "--base-url", server.base_url, "-o", output, env=ENV)
        return result, chat_bodies(server)


def test_the_prompt_file_as_output_is_refused_before_any_call(sample_repo, prompt_file):
    before = prompt_file.read_text()
    result, calls = run_against_fake(sample_repo, prompt_file, prompt_file)
    assert_no_traceback(result)
    assert result.returncode == 2 and calls == []
    assert "prompt" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert prompt_file.read_text() == before


@pytest.mark.parametrize("kind", ["directory", "file-as-folder"])
def test_an_output_that_cannot_be_written_is_refused_before_any_call(sample_repo, prompt_file,
                                                                     tmp_path, kind):
    if kind == "directory":
        output = tmp_path / "a-dir"
        output.mkdir()
    else:
        (tmp_path / "plain").write_text("x")
        output = tmp_path / "plain" / "report.md"
    result, calls = run_against_fake(sample_repo, prompt_file, output)
    assert_no_traceback(result)
    assert result.returncode == 2 and calls == []
    assert "-o" in result.stderr or "--output" in result.stderr


def test_a_symlink_output_is_written_through(sample_repo, prompt_file, tmp_path):
    real = tmp_path / "real.md"
    real.write_text("old")
    real.chmod(0o644)
    link = tmp_path / "link.md"
    link.symlink_to(real)
    result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "demo",
                     "-o", link)
    assert result.returncode == 0, result.stderr[-2000:]
    assert link.is_symlink() and real.read_text().startswith("# ")
    assert stat.S_IMODE(real.stat().st_mode) == 0o644


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_a_device_node_output_stays_a_device(sample_repo, prompt_file, tmp_path):
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private /dev/null
    result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "demo",
                     "-o", null)
    assert result.returncode == 0, result.stderr[-2000:]
    assert stat.S_ISCHR(null.stat().st_mode)


def test_compare_gives_every_model_its_own_report(sample_repo, prompt_file, tmp_path):
    models = ["demo/a/b", "demo/a_b", "demo/a b", "demo/" + "x" * 5_000]
    out = tmp_path / "cmp"
    result = run_cli("compare", "--prompt", prompt_file, "--repo", sample_repo, "--provider",
                     "demo", "--models", ",".join(models), "-o", out, timeout=300)
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr[-3000:]
    document = json.loads((out / "compare.json").read_text())
    runs = document["runs"]
    assert sorted(run["model"] for run in runs) == sorted(models)
    files = [run["report"] for run in runs]
    assert len(set(files)) == len(models)
    for name in files:
        path = out / name
        assert path.is_file() and len(path.name) < 100
