"""The real command, in a subprocess, against the fake OpenRouter on loopback."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys

import pytest
from cli_helpers import KEY, assert_no_traceback, independent_citation_check, run_cli

from tech_writer.demo import DemoModel, FakeOpenRouter, FakeOptions, Fault, ModelProfile

FLAGS = ["--prompt", "--repo", "--output", "--provider", "--model", "--base-url",
         "--openrouter-key", "--no-track-cost", "--eval-json", "--log-level", "--max-exploration",
         "--max-sections", "--persist-cache", "--cache-path", "--version", "--stream", "--cache-dir"]


def test_help_lists_every_flag_both_ways():
    for command in ([sys.executable, "-m", "tech_writer", "--help"], ["tech-writer", "--help"]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        for flag in FLAGS:
            assert flag in result.stdout, flag
        assert "demo" in result.stdout and "Exit codes" in result.stdout
    version = run_cli("--version")
    assert version.returncode == 0 and "0.1.0" in version.stdout


def test_demo_eval_json_needs_no_key_and_prints_only_json(sample_repo, prompt_file):
    result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "demo",
                     "--eval-json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # stdout is exactly one JSON document
    assert set(document) >= {"report", "citations", "cost"}
    report = document["report"]
    assert report.startswith("# ") and report.count("\n## ") >= 3
    assert "Demo run" in report and document["simulated"] is True
    assert document["cost"]["simulated"] is True and document["cost"]["provider"] == "demo"
    total, valid = independent_citation_check(report, sample_repo)
    assert total > 0
    assert document["citations"] == {"total": total, "valid": valid, "invalid": total - valid}
    assert "build/generated.py" not in report  # .gitignore honoured
    assert "simulated" in result.stderr and re.search(r"^cost: \$\d+\.\d{4} · [\d,]+ tokens · "
                                                       r"\d+ calls", result.stderr, re.M)
    assert "» exploration" in result.stderr and "writing 1/" in result.stderr


def test_openrouter_run_cost_equals_billed_sum_and_invalid_citations_count(sample_repo,
                                                                          prompt_file):
    model = DemoModel(citation_mode="keep_invalid")
    with FakeOpenRouter(model, api_key=KEY) as server:
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "openrouter",
                         "--model", "anthropic/claude-sonnet-4", "--base-url", server.base_url,
                         "--eval-json", env={"OPENROUTER_API_KEY": KEY})
        ledger = server.ledger
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    cost = document["cost"]
    assert cost["total_cost_usd"] == pytest.approx(math.fsum(c.cost_usd for c in ledger), abs=1e-9)
    assert cost["total_calls"] == len(ledger) and cost["complete"] is True
    assert cost["prompt_tokens"] == sum(c.prompt_tokens for c in ledger)
    assert cost["completion_tokens"] == sum(c.completion_tokens for c in ledger)
    phases = cost["phases"]
    assert set(phases) == {"exploration", "outline", "sections"}
    assert math.fsum(p["cost_usd"] for p in phases.values()) == pytest.approx(
        cost["total_cost_usd"], abs=1e-9)
    assert sum(p["calls"] for p in phases.values()) == cost["total_calls"]
    assert all(p["calls"] > 0 for p in phases.values())
    total, valid = independent_citation_check(document["report"], sample_repo)
    assert document["citations"] == {"total": total, "valid": valid, "invalid": total - valid}
    # The model keeps a citation past the end of a file: the grounding gate removes its claim,
    # so it never reaches the report, and counts it (issue 24).
    assert document["citations"]["invalid"] == 0
    assert document["grounding"]["removed"] >= 1
    assert KEY not in result.stdout + result.stderr


def test_cost_stays_exact_with_generation_lookups_and_retries(sample_repo, prompt_file):
    with FakeOpenRouter(DemoModel(), api_key=KEY,
                        options=FakeOptions(inline_cost=False, generation_404s=2)) as server:
        server.faults.add(Fault(status=429, retry_after=0.05))
        server.faults.add(Fault(status=502))
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "openrouter",
                         "--base-url", server.base_url, "--eval-json", "--max-sections", "2",
                         env={"OPENROUTER_API_KEY": KEY})
        ledger = server.ledger
    assert result.returncode == 0, result.stderr
    cost = json.loads(result.stdout)["cost"]
    assert cost["complete"] is True and cost["calls_without_cost"] == 0
    assert cost["total_calls"] == len(ledger)
    assert cost["total_cost_usd"] == pytest.approx(math.fsum(c.cost_usd for c in ledger), abs=1e-9)
    assert "retrying" in result.stderr


def test_no_track_cost_prints_null_and_sends_no_usage_field(sample_repo, prompt_file):
    with FakeOpenRouter(DemoModel(), api_key=KEY) as server:
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "openrouter",
                         "--base-url", server.base_url, "--eval-json", "--no-track-cost",
                         "--max-sections", "1", env={"OPENROUTER_API_KEY": KEY})
        requests = server.requests
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["cost"] is None
    chats = [r for r in requests if r.path.endswith("/chat/completions")]
    assert chats and all("usage" not in r.json for r in chats)
    assert not [r for r in requests if r.path.endswith("/generation")]
    assert "cost: not tracked" in result.stderr


def test_output_file_is_written_and_stdout_stays_empty(sample_repo, prompt_file, tmp_path):
    out = tmp_path / "out" / "report.md"
    result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "demo",
                     "-o", out, "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert out.read_text(encoding="utf-8").startswith("# ")
    assert [p.name for p in out.parent.iterdir()] == ["report.md"]  # no temp file left behind


@pytest.mark.parametrize("args, env, message", [
    (["--prompt", "missing.md"], {}, "--prompt missing.md: no such file"),
    (["--repo", "/nonexistent/dir"], {}, "no such directory"),
    (["--provider", "openrouter"], {}, "OPENROUTER_API_KEY or pass --openrouter-key"),
    (["--provider", "openai"], {}, "no OpenAI API key"),
    (["--provider", "openrouter", "--model", "gpt-5.1"], {"OPENROUTER_API_KEY": KEY},
     "not an OpenRouter model id"),
    # click's own words, which moved between versions ("No such option: --x", "No such option '--x'")
    (["--bogus-flag"], {}, ("No such option", "--bogus-flag")),
    (["--max-sections", "zero"], {}, "--max-sections"),
])
def test_usage_errors_are_one_line_and_exit_2(args, env, message, prompt_file, sample_repo):
    base = {"--prompt": str(prompt_file), "--repo": str(sample_repo)}
    for i in range(0, len(args) - 1):
        if args[i] in base:
            base.pop(args[i])
    full = [x for pair in base.items() for x in pair] + args
    result = run_cli(*full, env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    needles = message if isinstance(message, tuple) else (message,)
    assert len(lines) == 1 and all(needle in lines[0] for needle in needles), result.stderr
    assert lines[0].startswith("tech-writer: error: ")
    assert result.stdout == ""


def test_rejected_key_exits_1_with_one_clear_line(sample_repo, prompt_file):
    with FakeOpenRouter(DemoModel(), api_key="a-different-key-0000") as server:
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "openrouter",
                         "--base-url", server.base_url, env={"OPENROUTER_API_KEY": KEY})
    assert result.returncode == 1
    assert_no_traceback(result)
    assert ("tech-writer: error: OpenRouter rejected the API key (401): check OPENROUTER_API_KEY "
            "or --openrouter-key") in result.stderr
    assert KEY not in result.stderr


def test_out_of_credit_mid_run_keeps_the_partial_report_and_cost(sample_repo, prompt_file,
                                                                tmp_path):
    out = tmp_path / "partial.md"
    # Enough credit for the exploration, the outline and some sections, not for all of them.
    with FakeOpenRouter(DemoModel(), api_key=KEY) as probe:
        full = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "openrouter",
                       "--base-url", probe.base_url, "--eval-json", env={"OPENROUTER_API_KEY": KEY})
        full_cost = json.loads(full.stdout)["cost"]["total_cost_usd"]
    # The model answers at most 1,500 tokens (top_provider), and OpenRouter refuses a call whose
    # worst case exceeds the credit left: a credit of exactly the full run's bill pays for the
    # exploration and the outline, then runs out mid-sections, when what is left no longer
    # covers a section's worst case.
    profiles = {"openai/gpt-5.1": ModelProfile(max_completion_tokens=1500)}
    with FakeOpenRouter(DemoModel(), api_key=KEY, options=FakeOptions(
            credit_usd=full_cost, profiles=profiles)) as server:
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "openrouter",
                         "--base-url", server.base_url, "--eval-json", "-o", out,
                         "--concurrency", "1",  # sections finish one by one before credit ends
                         env={"OPENROUTER_API_KEY": KEY})
        billed = math.fsum(c.cost_usd for c in server.ledger)
    assert result.returncode == 1, result.stderr
    assert_no_traceback(result)
    assert "(402)" in result.stderr
    document = json.loads(result.stdout)
    assert document["error"] and "402" in document["error"]
    assert document["cost"]["total_cost_usd"] == pytest.approx(billed, abs=1e-9)
    assert out.exists(), result.stderr
    partial = out.read_text(encoding="utf-8")
    assert partial == document["report"] and "Incomplete report" in partial
    assert "## " in partial  # some sections were paid for and kept
    assert re.search(r"^cost: \$", result.stderr, re.M)


def test_unwritable_output_keeps_the_report_on_stdout(sample_repo, prompt_file, tmp_path):
    # An output checked writable before the run (issue 26: a path that cannot work is refused
    # before any call) can still fail at the end: here the disk is full for the child (no file
    # may grow past 512 bytes), so the report cannot be written where asked.
    import resource
    import signal

    def full_disk() -> None:  # pragma: no cover - runs in the child before exec
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))

    output = tmp_path / "report.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENROUTER_"))}
    result = subprocess.run(
        [sys.executable, "-m", "tech_writer", "--prompt", str(prompt_file), "--repo",
         str(sample_repo), "--provider", "demo", "--quiet", "--max-sections", "1", "-o",
         str(output)], capture_output=True, text=True, env=env, timeout=120,
        stdin=subprocess.DEVNULL, preexec_fn=full_disk)
    assert result.returncode == 1
    assert_no_traceback(result)
    assert f"cannot write --output {output}" in result.stderr
    assert result.stdout.startswith("# ")  # the paid-for report is not lost
    assert re.search(r"^cost: \$", result.stderr, re.M)


def test_an_output_that_cannot_work_is_refused_before_any_call(sample_repo, prompt_file):
    result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "demo",
                     "--quiet", "--max-sections", "1", "-o", "/proc/no-such-dir/report.md")
    assert result.returncode == 2
    assert_no_traceback(result)
    assert result.stderr.startswith("tech-writer: error: -o /proc/no-such-dir/report.md")
    assert result.stdout == ""


def test_unopenable_cache_is_one_line_usage_error(sample_repo, prompt_file):
    result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "demo",
                     "--persist-cache", "--cache-path", "/proc/no-such-dir/cache.sqlite3")
    assert result.returncode == 2
    assert_no_traceback(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tech-writer: error: --cache-path /proc/no-such-dir/cache.sqlite3")
