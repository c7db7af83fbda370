"""A new user's first ten minutes (issue 27): refused before spending, said in one line, and the
small things a newcomer trips on. Every run here is the real command."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import KEY, assert_no_traceback, run_cli

from tech_writer.demo import DemoModel, FakeOpenRouter

ENV = {"OPENROUTER_API_KEY": KEY}
ERROR = re.compile(r"^tech-writer: error: (.+)$", re.MULTILINE)


def _one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert_no_traceback(result)
    errors = ERROR.findall(result.stderr)
    assert len(errors) == 1, result.stderr
    return str(errors[0])


def _via_fake(*args: str | Path) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The command against the fake OpenRouter; what it asked of the model (request paths)."""
    with FakeOpenRouter(DemoModel(), api_key=KEY) as server:
        result = run_cli(*args, "--provider", "openrouter", "--base-url", server.base_url,
                         env=ENV)
        chats = [r.path for r in server.requests if r.path.endswith("/chat/completions")]
    return result, chats


# --- refused before spending ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["empty", "bare", "ignored", "binary", "excluded"])
def test_nothing_to_document_is_one_line_exit_2_and_no_call(tmp_path: Path, kind: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    extra: list[str] = []
    if kind == "bare":
        subprocess.run(["git", "init", "--bare", "-q", str(repo)], check=True)
    elif kind == "ignored":
        (repo / ".gitignore").write_text("*\n", encoding="utf-8")
        (repo / "app.py").write_text("print('hi')\n", encoding="utf-8")
    elif kind == "binary":
        (repo / "logo.png").write_bytes(b"\x89PNG\x00\x00")
    elif kind == "excluded":
        (repo / "app.py").write_text("print('hi')\n", encoding="utf-8")
        extra = ["--exclude", "*.py"]
    result, chats = _via_fake("--prompt", "architecture", "--repo", repo, *extra)
    assert result.returncode == 2, result.stderr
    assert _one_error(result).startswith(f"nothing to document in {repo.resolve()}: ")
    assert chats == [] and "cost:" not in result.stderr


@pytest.mark.parametrize("where", ["under-a-file", "deep-under-a-file"])
def test_an_output_that_cannot_be_written_is_refused_before_any_call(sample_repo, tmp_path: Path,
                                                                     where: str) -> None:
    (tmp_path / "plain").write_text("x", encoding="utf-8")
    output = {"under-a-file": tmp_path / "plain" / "report.md",
              "deep-under-a-file": tmp_path / "plain" / "a" / "b" / "report.md"}[where]
    result, chats = _via_fake("--prompt", "architecture", "--repo", sample_repo, "-o", output)
    assert result.returncode == 2, result.stderr
    assert _one_error(result).startswith(f"-o {output}: ")
    assert chats == []


def test_unwritable_folders_are_refused(tmp_path: Path) -> None:
    import os

    from tech_writer.errors import UsageError
    from tech_writer.repository.files import check_writable

    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    check_writable(tmp_path / "new" / "deeper" / "report.md")  # created when written: fine
    if os.access(locked, os.W_OK):
        pytest.skip("running as a user whom permissions do not stop (root)")
    with pytest.raises(UsageError, match="permission denied"):
        check_writable(locked / "sub" / "report.md")


def test_a_local_server_that_is_not_running_is_named_at_once(sample_repo) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    result = run_cli("--prompt", "architecture", "--repo", sample_repo, "--provider", "local",
                     "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "smollm2")
    assert time.monotonic() - started < 20  # no back-off over the retries
    assert result.returncode == 1, result.stderr
    assert _one_error(result).startswith(f"nothing is listening at http://127.0.0.1:{port}/v1")
    assert "unknown cost" not in result.stderr and "retry" not in result.stderr.lower()


def test_a_cache_path_without_persist_cache_is_refused(sample_repo, tmp_path: Path) -> None:
    result = run_cli("--prompt", "architecture", "--repo", sample_repo, "--provider", "demo",
                     "--cache-path", tmp_path / "x.sqlite")
    assert result.returncode == 2
    assert _one_error(result) == (f"--cache-path {tmp_path / 'x.sqlite'} needs --persist-cache: "
                                  "without it the cache lives in memory and the file would go "
                                  "unused")
    assert not (tmp_path / "x.sqlite").exists()


def test_max_sections_below_the_prompts_aspects_says_what_it_drops(sample_repo) -> None:
    result, _ = _via_fake("--prompt", "onboarding", "--repo", sample_repo, "--max-sections", "2",
                          "--max-exploration", "1", "-q")
    assert result.returncode == 0, result.stderr
    (note,) = re.findall(r"^WARNING tech_writer: (the prompt asks .+)$", result.stderr,
                         re.MULTILINE)
    assert note.startswith("the prompt asks for 6 aspects and the report has room for 2 sections "
                           "(--max-sections): it covers the first and drops: The core concepts")
    assert len(re.findall(r"^## ", result.stdout, re.MULTILINE)) <= 2


def test_the_exploration_line_counts_its_steps_in_words(sample_repo) -> None:
    result, _ = _via_fake("--prompt", "architecture", "--repo", sample_repo,
                          "--max-exploration", "1", "--max-sections", "1")
    assert "» exploration: up to 1 step\n" in result.stderr, result.stderr


def test_include_and_exclude_shape_what_the_run_reads(sample_repo) -> None:
    result, _ = _via_fake("--prompt", "architecture", "--repo", sample_repo, "--eval-json",
                          "--exclude", "README.md", "--max-sections", "2")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["report"]
    assert "[README.md:" not in report and "[inventory/" in report


def test_eval_scores_the_partial_report_of_a_failed_run(sample_repo, tmp_path: Path) -> None:
    from safety_helpers import PhaseRouter  # the same hook the safety tests use

    from tech_writer.demo import Fault

    box: list[FakeOpenRouter] = []

    def stop_in_sections(phase: str, number: int, request: dict[str, object]) -> None:
        if phase == "sections" and number == 3:  # section 1 is written, then no more credit
            box[0].faults.add(Fault(status=402), count=20)

    with FakeOpenRouter(PhaseRouter(before=stop_in_sections), api_key=KEY) as server:
        box.append(server)
        result = run_cli("--prompt", "architecture", "--repo", sample_repo, "--provider",
                         "openrouter", "--base-url", server.base_url, "--concurrency", "1",
                         "--eval", "--eval-json", env=ENV)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["error"] and "Incomplete report" in document["report"]
    assert document["eval"]["metrics"]["citations"]["total"] > 0


# --- eval and compare ----------------------------------------------------------------------------
REPORT = "# Notes\n\n## Main\n\nThe entry point is `main` [app.py:1-2]. Also [app.py:90-99].\n"


def _scored_report(tmp_path: Path) -> tuple[Path, Path]:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("def main():\n    return 0\n", encoding="utf-8")
    report = tmp_path / "report.md"
    report.write_text(REPORT, encoding="utf-8")
    return repo, report


def test_eval_fail_under_gates_ci_and_global_options_go_first(tmp_path: Path) -> None:
    repo, report = _scored_report(tmp_path)  # one of its two citations resolves: 50 %
    passing = run_cli("-q", "eval", "--report", report, "--repo", repo, "--fail-under", "50%")
    assert passing.returncode == 0, passing.stderr
    failing = run_cli("-q", "--log-level", "ERROR", "eval", "--report", report, "--repo", repo,
                      "--fail-under", "0.9", "--fail-under", "citation_coverage=0.5")
    assert failing.returncode == 1
    assert failing.stderr.splitlines() == [
        "tech-writer: eval: citation validity 50% is under --fail-under 90%"]
    assert "citation validity     50%" in failing.stdout
    bad = run_cli("eval", "--report", report, "--repo", repo, "--fail-under", "speed=1")
    assert bad.returncode == 2 and "'speed' is not a score" in _one_error(bad)


def test_eval_help_documents_its_own_exit_codes_only() -> None:
    text = run_cli("eval", "--help").stdout
    assert "--fail-under" in text and "0 scored" in text
    assert "3 --max-cost" not in text and "partial report" not in text


def test_every_compare_option_has_help_and_the_runs_default_provider() -> None:
    from tech_writer.cli import cli
    from tech_writer.commands.compare import compare_command

    missing = [p.name for p in compare_command.params
               if isinstance(p, __import__("click").Option) and not p.help]
    assert missing == []
    provider = {p.name: p.default for p in compare_command.params}["provider"]
    assert provider == {p.name: p.default for p in cli.params}["provider"] == "openai"


def test_the_documented_demo_judge_is_listed(tmp_path: Path) -> None:
    repo, report = _scored_report(tmp_path)
    result = run_cli("eval", "--report", report, "--repo", repo, "--provider", "demo",
                     "--judge", "demo/judge")
    assert result.returncode == 0, result.stderr
    assert "not listed" not in result.stderr and "citation precision" in result.stdout


def test_help_lists_the_bundled_prompts_and_trace() -> None:
    text = subprocess.run([sys.executable, "-m", "tech_writer", "--help"], capture_output=True,
                          text=True, timeout=60, check=True).stdout
    assert "architecture, onboarding, api-reference" in " ".join(text.split())
    assert "TRACE" in text


def test_a_model_that_never_calls_a_tool_is_named(sample_repo) -> None:
    # What a local server whose chat template hides the tools looks like from here.
    from safety_helpers import PhaseRouter

    from tech_writer.demo import ModelTurn

    silent = {("exploration", n): ModelTurn(content="The repository is an inventory app.")
              for n in range(1, 40)}
    with FakeOpenRouter(PhaseRouter(replace=silent), api_key=KEY) as server:
        result = run_cli("--prompt", "architecture", "--repo", sample_repo, "--provider",
                         "openrouter", "--base-url", server.base_url, "--max-sections", "2",
                         "-q", env=ENV)
    assert_no_traceback(result)
    assert "the model read no file: it answered without calling a tool" in result.stderr, \
        result.stderr
