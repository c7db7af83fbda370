"""Issue 6, spend control: ``--max-cost`` and ``--dry-run``, checked against the fake's ledger."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from cli_helpers import KEY, assert_no_traceback, run_cli
from conftest import make_repo

from tech_writer.demo import DemoModel, FakeOpenRouter, FakeOptions

ENV = {"OPENROUTER_API_KEY": KEY}
ESTIMATE = re.compile(r"^Estimated cost: \$(\d+\.\d+) – \$(\d+\.\d+)\.", re.M)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("budget") / "inventory")


@pytest.fixture(scope="module")
def prompt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("prompt") / "architecture.md"
    path.write_text("Write an architecture overview of this repository. Cite the code.\n",
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def full_cost(repo: Path, prompt: Path) -> float:
    """What the whole report costs without a budget (the scale the budgets below are set on)."""
    with FakeOpenRouter(DemoModel(), api_key=KEY) as server:
        result = run_cli("--prompt", prompt, "--repo", repo, "--provider", "openrouter",
                         "--base-url", server.base_url, "--eval-json", env=ENV)
        billed = server.billed_total_usd()
    assert result.returncode == 0, result.stderr
    assert billed > 0
    return billed


def run_with_budget(server: FakeOpenRouter, repo: Path, prompt: Path, budget: float,
                    *extra: str | Path):
    return run_cli("--prompt", prompt, "--repo", repo, "--provider", "openrouter",
                   "--base-url", server.base_url, "--eval-json", "--max-cost", repr(budget),
                   *extra, env=ENV)


def test_max_cost_stops_new_calls_and_finishes_with_what_exists(repo, prompt, full_cost,
                                                                tmp_path):
    out = tmp_path / "report.md"
    # Enough for the exploration, the outline and some sections, not for the whole report: the
    # guard reserves a conservative estimate for the next call (several times what a call here
    # really costs), so it stops well before the real total.
    budget = full_cost * 1.1
    with FakeOpenRouter(DemoModel(), api_key=KEY) as server:
        result = run_with_budget(server, repo, prompt, budget, "-o", out)
        billed = server.billed_total_usd()
        chats = [r for r in server.requests if r.path.endswith("/chat/completions")]
        ledger = server.ledger

    assert result.returncode == 3, result.stderr
    assert_no_traceback(result)
    document = json.loads(result.stdout)
    assert document["budget_exhausted"] is True
    assert document["error"].startswith("budget of $")
    # Never over the budget, and the JSON's cost is exactly what was billed.
    assert billed <= budget
    assert len(chats) == len(ledger)  # a refused call never reached the wire
    assert document["cost"]["total_cost_usd"] == pytest.approx(billed, abs=1e-12)
    assert document["cost"]["total_calls"] == len(ledger)

    # The report keeps what was written and says what was not.
    report = document["report"]
    assert report is not None and out.read_text(encoding="utf-8") == report
    written = re.findall(r"^## (.+)$", report, re.M)
    assert written, "the budget should have bought at least one section"
    match = re.search(r"^tech-writer: sections not written: (.+)$", result.stderr, re.M)
    assert match, result.stderr
    missing = match.group(1).split("; ")
    assert missing and not set(missing) & set(written)
    note = re.search(r"^> \*\*Incomplete report\*\*: the run stopped before writing: (.+)\.$",
                     report, re.M)
    assert note and note.group(1).split("; ") == missing
    assert re.search(r"^cost: \$\d+\.\d{4} · ", result.stderr, re.M)
    assert re.search(r"^tech-writer: stopped: budget of \$", result.stderr, re.M)
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


@pytest.mark.parametrize("fraction, inline_cost", [
    (0.02, True),  # not even the first call fits
    (0.5, True),  # runs out during the exploration
    (0.9, True),  # runs out during the sections
    (0.9, False),  # costs arrive later through /generation: pending calls stay reserved
    (2.0, True),  # enough: the run finishes normally
], ids=["first-call", "exploration", "sections", "sections-generation-lookups", "enough"])
def test_total_billed_never_exceeds_the_budget(repo, prompt, full_cost, fraction, inline_cost):
    budget = full_cost * fraction
    with FakeOpenRouter(DemoModel(), api_key=KEY,
                        options=FakeOptions(inline_cost=inline_cost)) as server:
        result = run_with_budget(server, repo, prompt, budget)
        billed = server.billed_total_usd()
    assert_no_traceback(result)
    assert billed <= budget
    document = json.loads(result.stdout)
    assert document["cost"]["total_cost_usd"] == pytest.approx(billed, abs=1e-12)
    assert document["cost"]["complete"] is True
    exhausted = fraction < 1
    assert result.returncode == (3 if exhausted else 0), result.stderr
    assert document["budget_exhausted"] is exhausted
    if fraction == 0.02:
        assert billed == 0 and document["report"] is None


def test_dry_run_calls_no_model_and_prints_a_cost_range(repo, prompt, full_cost):
    with FakeOpenRouter(DemoModel(), api_key=KEY) as server:
        result = run_cli("--prompt", prompt, "--repo", repo, "--provider", "openrouter",
                         "--base-url", server.base_url, "--dry-run", env=ENV)
        requests = server.requests
        ledger = server.ledger
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    assert not [r for r in requests if r.path.endswith("/chat/completions")]
    assert not ledger
    assert {(r.method, r.path) for r in requests} <= {("GET", "/api/v1/models")}
    match = ESTIMATE.search(result.stdout)
    assert match, result.stdout
    low, high = float(match.group(1)), float(match.group(2))
    assert 0 < low <= high
    # The high end assumes every cap is reached: a real run with the same caps costs no more.
    assert full_cost <= high


def test_dry_run_with_the_demo_provider_needs_no_server(repo, prompt):
    result = run_cli("--prompt", prompt, "--repo", repo, "--provider", "demo", "--dry-run")
    assert result.returncode == 0, result.stderr
    match = ESTIMATE.search(result.stdout)
    assert match and float(match.group(1)) <= float(match.group(2))


def test_dry_run_eval_json_shape(repo, prompt):
    with FakeOpenRouter(DemoModel(), api_key=KEY) as server:
        result = run_cli("--prompt", prompt, "--repo", repo, "--provider", "openrouter",
                         "--base-url", server.base_url, "--dry-run", "--eval-json",
                         "--max-exploration", "10", "--max-sections", "5", env=ENV)
        chats = [r for r in server.requests if r.path.endswith("/chat/completions")]
    assert result.returncode == 0, result.stderr
    assert not chats
    document = json.loads(result.stdout)  # stdout is exactly one JSON document
    assert set(document) == {"dry_run"}
    plan = document["dry_run"]
    assert set(plan) >= {"repo", "model", "provider", "stats", "low", "high", "price_source"}
    assert plan["repo"] == repo.name and plan["provider"] == "openrouter"
    assert plan["model"] == "openai/gpt-5.1"
    # Repository size, counted independently: every file but .git and the ignored build/.
    files = [p for p in repo.rglob("*") if p.is_file()
             and not {".git", "build"} & set(p.relative_to(repo).parts)]
    assert plan["stats"]["files"] == len(files)
    assert plan["stats"]["text_bytes"] == sum(p.stat().st_size for p in files)
    scenario_keys = {"exploration_steps", "sections", "calls", "prompt_tokens",
                     "completion_tokens", "cost_usd"}
    low, high = plan["low"], plan["high"]
    assert set(low) >= scenario_keys and set(high) >= scenario_keys
    assert high["exploration_steps"] == 10 and high["sections"] == 5
    for key in ("exploration_steps", "sections", "calls", "prompt_tokens", "completion_tokens"):
        assert 0 < low[key] <= high[key], key
    assert isinstance(low["cost_usd"], float) and isinstance(high["cost_usd"], float)
    assert 0 < low["cost_usd"] <= high["cost_usd"]
    assert math.isfinite(high["cost_usd"])
