"""Issue 6, bad inputs: each is refused before any model call with one clear line on stderr
and the usage exit code (2). Hostile repositories are tests/test_hostile_repos.py's job."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import KEY, assert_no_traceback, run_cli
from safety_helpers import chat_bodies

from tech_writer.demo import FakeOpenRouter

OPENROUTER = ["--provider", "openrouter"]
DEMO = ["--provider", "demo"]
OPENAI = ["--provider", "openai"]

# (id, provider flags, extra flags, how to break --prompt/--repo, expected part of the message)
CASES = [
    ("prompt-missing", DEMO, [], "prompt:missing", "no such file"),
    ("prompt-is-a-directory", DEMO, [], "prompt:directory", "no such file"),
    ("prompt-empty", DEMO, [], "prompt:empty", "the file is empty"),
    ("prompt-binary", DEMO, [], "prompt:binary", "a binary file, not a text prompt"),
    ("repo-is-a-file", DEMO, [], "repo:file", "not a directory"),
    ("repo-missing", DEMO, [], "repo:missing", "no such directory"),
    ("unknown-provider", ["--provider", "anthropic"], [], None, "Invalid value for '--provider'"),
    ("openrouter-bare-model", OPENROUTER, ["--model", "gpt-5.1"], None,
     "not an OpenRouter model id"),
    ("openrouter-empty-model", OPENROUTER, ["--model", " "], None, "--model is empty"),
    ("openai-openrouter-model", OPENAI, ["--model", "openai/gpt-5.1"], None,
     "looks like an OpenRouter id"),
    ("demo-bare-model", DEMO, ["--model", "gpt-5.1"], None, "not an OpenRouter model id"),
    ("max-cost-not-a-number", OPENROUTER, ["--max-cost", "abc"], None,
     "Invalid value for '--max-cost'"),
    ("max-cost-zero", OPENROUTER, ["--max-cost", "0"], None, "--max-cost"),
    ("max-cost-negative", OPENROUTER, ["--max-cost", "-5"], None, "--max-cost"),
    ("max-cost-nan", OPENROUTER, ["--max-cost", "nan"], None, "--max-cost"),
    ("max-cost-without-cost-tracking", OPENAI, ["--max-cost", "1"], None,
     "--max-cost needs cost tracking"),
    ("max-cost-with-no-track-cost", OPENROUTER, ["--max-cost", "1", "--no-track-cost"], None,
     "--max-cost needs cost tracking"),
    ("max-exploration-not-a-number", DEMO, ["--max-exploration", "many"], None,
     "Invalid value for '--max-exploration'"),
    ("max-sections-zero", DEMO, ["--max-sections", "0"], None,
     "Invalid value for '--max-sections'"),
    ("concurrency-not-a-number", DEMO, ["--concurrency", "lots"], None,
     "Invalid value for '--concurrency'"),
    ("max-retries-not-a-number", DEMO, ["--max-retries", "x"], None,
     "Invalid value for '--max-retries'"),
    ("request-timeout-not-a-number", DEMO, ["--request-timeout", "soon"], None,
     "Invalid value for '--request-timeout'"),
]


def broken(kind: str | None, tmp_path: Path, prompt: Path, repo: Path) -> tuple[Path, Path]:
    if kind is None:
        return prompt, repo
    target, how = kind.split(":")
    if target == "prompt":
        path = tmp_path / "bad-prompt.md"
        if how == "directory":
            path.mkdir()
        elif how == "empty":
            path.write_text(" \n\t\n", encoding="utf-8")
        elif how == "binary":
            path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
        return path, repo
    path = tmp_path / "not-a-repo"
    if how == "file":
        path.write_text("a file, not a directory\n", encoding="utf-8")
    return prompt, path


@pytest.mark.parametrize("provider, extra, breakage, message",
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_one_clear_line_and_exit_2(sample_repo, prompt_file, tmp_path, provider,
                                                extra, breakage, message):
    prompt, repo = broken(breakage, tmp_path, prompt_file, sample_repo)
    out = tmp_path / "out" / "report.md"
    with FakeOpenRouter(api_key=KEY) as server:
        where = [] if provider == DEMO else ["--base-url", (
            server.openai_base_url if provider == OPENAI else server.base_url)]
        result = run_cli("--prompt", prompt, "--repo", repo, *provider, *where, *extra,
                         "-o", out, env={"OPENROUTER_API_KEY": KEY, "OPENAI_API_KEY": KEY})
        chats = chat_bodies(server)
    assert_no_traceback(result)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tech-writer: error: ") and message in lines[0], lines[0]
    assert result.stdout == ""
    assert chats == []  # refused before any model call
    assert not out.exists()
