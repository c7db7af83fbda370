"""Issue 6, ``--resume``: finished phases and sections are reused, not paid for again, exactly when
the prompt's content, the repository's content and the model are unchanged."""

from __future__ import annotations

import json
import math
import re
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import KEY, assert_no_traceback, run_cli
from conftest import make_repo
from safety_helpers import (
    LiveCli,
    PhaseRouter,
    chat_bodies,
    section_title_of,
    wait_until_billed,
)

from tech_writer.demo import FakeOpenRouter, FakeOptions, ModelTurn, ToolCall

ENV = {"OPENROUTER_API_KEY": KEY}
RESUMED_NOTE = re.compile(r"^> \*\*Resumed\*\*: reused from an earlier run: (.+)$", re.M)


def run_report(server: FakeOpenRouter, repo: Path, prompt: Path, cache: Path, *extra: str,
               resume: bool = False) -> dict[str, Any]:
    result = run_cli("--prompt", prompt, "--repo", repo, "--provider", "openrouter",
                     "--base-url", server.base_url, "--eval-json", "--concurrency", "1",
                     "--persist-cache", "--cache-path", cache, *(["--resume"] if resume else []),
                     *extra, env=ENV)
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    document = json.loads(result.stdout)
    document["_stderr"] = result.stderr
    return document


def sections_of(report: str) -> dict[str, str]:
    """Section title -> body, in report order (notes after the last section excluded)."""
    parts = re.split(r"^## (.+)$", report, flags=re.M)[1:]
    return {title: body.split("\n> **", 1)[0].strip()
            for title, body in zip(parts[::2], parts[1::2], strict=True)}


def billed_by_phase(router: PhaseRouter, server: FakeOpenRouter
                    ) -> list[tuple[str, str | None, float]]:
    """(phase, section title, cost) per billed call; with --concurrency 1 the fake bills calls in
    the order the model answered them."""
    ledger = server.ledger
    assert len(ledger) == len(router.answered)
    return [(phase, section_title_of(request), call.cost_usd)
            for (phase, _, request), call in zip(router.answered, ledger, strict=True)]


@pytest.mark.parametrize("inline_cost", [True, False], ids=["inline-cost", "generation-lookup"])
def test_resume_reuses_everything_and_pays_nothing_when_nothing_changed(sample_repo, tmp_path,
                                                                        inline_cost):
    cache = tmp_path / "cache" / "tw.sqlite3"
    first_prompt = tmp_path / "a" / "architecture.md"
    moved_prompt = tmp_path / "b" / "renamed-prompt.md"  # same content, another path and name
    for path in (first_prompt, moved_prompt):
        path.parent.mkdir()
        path.write_text("Write an architecture overview. Cite the code.\n", encoding="utf-8")

    # Without inline cost, every cost arrives later through /generation: what the resumed run
    # reports as not spent again must still be the whole first bill.
    with FakeOpenRouter(PhaseRouter(), api_key=KEY,
                        options=FakeOptions(inline_cost=inline_cost)) as server:
        first = run_report(server, sample_repo, first_prompt, cache)
        first_bill = server.billed_total_usd()
    assert first_bill > 0 and first["cost"]["reused"]["sections"] == 0

    router = PhaseRouter()
    with FakeOpenRouter(router, api_key=KEY) as server:
        second = run_report(server, sample_repo, moved_prompt, cache, resume=True)
        chats, ledger = chat_bodies(server), server.ledger

    assert chats == [] and ledger == []
    cost = second["cost"]
    assert cost["total_cost_usd"] == 0 and cost["total_calls"] == 0
    reused = cost["reused"]
    titles = list(sections_of(first["report"]))
    assert reused["exploration"] is True and reused["outline"] is True
    assert reused["sections"] == len(titles) and reused["section_titles"] == titles
    assert reused["cost_usd"] == pytest.approx(first_bill, abs=1e-9)
    # Same sections, same words; the report says what was reused.
    assert sections_of(second["report"]) == sections_of(first["report"])
    note = RESUMED_NOTE.search(second["report"])
    assert note and "exploration" in note.group(1) and "outline" in note.group(1)
    assert f"{len(titles)} section(s)" in note.group(1)
    assert "reused from an earlier run (--resume)" in second["_stderr"]


def test_without_resume_a_persisted_cache_reuses_nothing(sample_repo, prompt_file, tmp_path):
    cache = tmp_path / "tw.sqlite3"
    with FakeOpenRouter(PhaseRouter(), api_key=KEY) as server:
        run_report(server, sample_repo, prompt_file, cache)
    router = PhaseRouter()
    with FakeOpenRouter(router, api_key=KEY) as server:
        again = run_report(server, sample_repo, prompt_file, cache)
    assert router.counts["exploration"] > 0 and router.counts["outline"] == 1
    assert again["cost"]["reused"]["sections"] == 0
    assert not RESUMED_NOTE.search(again["report"])


# --- invalidation: a scripted run whose dependencies are known exactly -----------------------
PROJECT = {
    "README.md": "# twin\n\nTwo modules, alpha and beta.\n",
    "alpha.py": '"""Alpha: counts things."""\n\n\ndef count(items):\n    return len(items)\n',
    "beta.py": '"""Beta: greets people."""\n\n\ndef greet(name):\n    return f"hello {name}"\n',
}
OUTLINE = {"title": "Twin", "sections": [
    {"title": "Alpha", "focus": "What alpha.py does.", "relevant_files": ["alpha.py"]},
    {"title": "Beta", "focus": "What beta.py does.", "relevant_files": ["beta.py"]},
]}


def scripted() -> PhaseRouter:
    """Exploration (no plan: one explorer) reads README.md only; the outline gives each module its
    own section; the demo model writes each section from its one relevant file."""
    return PhaseRouter(replace={
        ("plan", 1): ModelTurn(content="One explorer is enough here."),
        ("exploration", 1): ModelTurn(tool_calls=[ToolCall("read_file", {"path": "README.md"})]),
        ("exploration", 2): ModelTurn(tool_calls=[ToolCall(
            "finish_exploration", {"understanding": "twin has two modules: alpha and beta."})]),
        ("outline", 1): ModelTurn(content=json.dumps(OUTLINE)),
    })


@pytest.fixture
def twin(tmp_path: Path) -> tuple[Path, Path, Path]:
    repo = make_repo(tmp_path / "twin", PROJECT)
    prompt = tmp_path / "prompt.md"
    prompt.write_text("Describe each module. Cite the code.\n", encoding="utf-8")
    return repo, prompt, tmp_path / "cache.sqlite3"


def test_a_changed_source_file_invalidates_exactly_the_sections_depending_on_it(twin):
    repo, prompt, cache = twin
    first_router = scripted()
    with FakeOpenRouter(first_router, api_key=KEY) as server:
        first = run_report(server, repo, prompt, cache)
        first_calls = billed_by_phase(first_router, server)
    assert list(sections_of(first["report"])) == ["Alpha", "Beta"]
    assert "[beta.py:" in sections_of(first["report"])["Beta"]

    (repo / "beta.py").write_text(
        '"""Beta: waves goodbye."""\n\n\ndef farewell(name):\n    return f"bye {name}"\n',
        encoding="utf-8")
    router = scripted()
    with FakeOpenRouter(router, api_key=KEY) as server:
        second = run_report(server, repo, prompt, cache, resume=True)
        billed = server.billed_total_usd()

    # Only Beta was written again: no exploration, no outline, no Alpha request.
    assert router.counts["exploration"] == 0 and router.counts["outline"] == 0
    assert router.counts["plan"] == 0
    assert {section_title_of(r) for r in router.requests_of("sections")} == {"Beta"}
    sections = sections_of(second["report"])
    assert sections["Alpha"] == sections_of(first["report"])["Alpha"]
    assert "waves goodbye" in sections["Beta"] or "farewell" in sections["Beta"]
    cost = second["cost"]
    assert cost["total_cost_usd"] == pytest.approx(billed, abs=1e-12) and billed > 0
    reused = cost["reused"]
    assert (reused["exploration"], reused["outline"], reused["section_titles"]) == (
        True, True, ["Alpha"])
    kept = math.fsum(c for phase, title, c in first_calls
                     if phase != "sections" or title == "Alpha")
    assert reused["cost_usd"] == pytest.approx(kept, abs=1e-9)
    note = RESUMED_NOTE.search(second["report"])
    assert note and "1 section(s): Alpha" in note.group(1)


@pytest.mark.parametrize("change", ["model", "prompt"])
def test_a_different_model_or_prompt_reuses_nothing(twin, change):
    repo, prompt, cache = twin
    with FakeOpenRouter(scripted(), api_key=KEY) as server:
        run_report(server, repo, prompt, cache)
    extra: list[str] = []
    if change == "model":
        extra = ["--model", "anthropic/claude-sonnet-4"]
    else:
        prompt.write_text("Describe each module briefly. Cite the code.\n", encoding="utf-8")
    router = scripted()
    with FakeOpenRouter(router, api_key=KEY) as server:
        second = run_report(server, repo, prompt, cache, *extra, resume=True)
        billed = server.billed_total_usd()
    assert router.counts["exploration"] == 2 and router.counts["outline"] == 1
    assert {section_title_of(r) for r in router.requests_of("sections")} == {"Alpha", "Beta"}
    reused = second["cost"]["reused"]
    assert reused == {"exploration": False, "outline": False, "sections": 0,
                      "section_titles": [], "cost_usd": 0.0}
    assert second["cost"]["total_cost_usd"] == pytest.approx(billed, abs=1e-12)
    assert not RESUMED_NOTE.search(second["report"])


@pytest.mark.parametrize("provider", ["openrouter", "demo"])
def test_resume_without_persist_cache_is_a_usage_error(sample_repo, prompt_file, provider):
    with FakeOpenRouter(PhaseRouter(), api_key=KEY) as server:
        where = ["--base-url", server.base_url] if provider == "openrouter" else []
        result = run_cli("--prompt", prompt_file, "--repo", sample_repo, "--provider", provider,
                         *where, "--resume", env=ENV)
        chats = chat_bodies(server)
    assert result.returncode == 2, result.stderr
    assert chats == []
    lines = result.stderr.strip().splitlines()
    assert lines == [("tech-writer: error: --resume needs --persist-cache (that is where "
                      "finished work is kept)")], result.stderr
    assert result.stdout == ""


def test_an_interrupted_run_resumes_and_pays_only_for_the_rest(sample_repo, prompt_file,
                                                               tmp_path):
    cache = tmp_path / "tw.sqlite3"
    reached, titles = threading.Event(), []

    def hold_third_section(phase: str, number: int, request: dict[str, Any]) -> None:
        title = section_title_of(request) if phase == "sections" else None
        if title is not None and title not in titles:
            titles.append(title)
            if len(titles) == 3:  # sections 1 and 2 are finished: stop the run here
                reached.set()
                threading.Event().wait(0.5)

    first_router = PhaseRouter(before=hold_third_section)
    with FakeOpenRouter(first_router, api_key=KEY) as server:
        run = LiveCli("--prompt", prompt_file, "--repo", sample_repo, "--provider", "openrouter",
                      "--base-url", server.base_url, "--concurrency", "1", "--persist-cache",
                      "--cache-path", cache, env=ENV)
        try:
            assert reached.wait(60), run.stderr
            run.signal(signal.SIGINT)
            code = run.wait(30)
        except subprocess.TimeoutExpired:
            pytest.fail("the interrupted run did not stop")
        finally:
            run.kill()
        wait_until_billed(server, first_router)
        first_calls = billed_by_phase(first_router, server)
    assert code == 130, run.stderr

    router = PhaseRouter()
    with FakeOpenRouter(router, api_key=KEY) as server:
        resumed = run_report(server, sample_repo, prompt_file, cache, resume=True)
        billed = server.billed_total_usd()

    assert router.counts["exploration"] == 0 and router.counts["outline"] == 0
    written_again = {section_title_of(r) for r in router.requests_of("sections")}
    assert not written_again & set(titles[:2]) and titles[2] in written_again
    report = resumed["report"]
    assert "Incomplete report" not in report
    assert list(sections_of(report))[:3] == titles[:3]
    cost = resumed["cost"]
    assert cost["total_cost_usd"] == pytest.approx(billed, abs=1e-12)
    assert cost["reused"]["section_titles"] == titles[:2]
    kept = math.fsum(c for phase, title, c in first_calls
                     if phase != "sections" or title in titles[:2])
    assert cost["reused"]["cost_usd"] == pytest.approx(kept, abs=1e-9)


def test_a_failed_run_saves_its_sections_settled_costs_for_resume(twin):
    """Costs that arrive later through /generation are saved for the sections a failed run did
    write, so a resumed run reports them as not spent again."""
    from tech_writer.demo import Fault

    repo, prompt, cache = twin
    box: list[FakeOpenRouter] = []

    broken: list[bool] = []

    def break_second_section(phase: str, number: int, request: dict[str, Any]) -> None:
        if phase == "sections" and section_title_of(request) == "Beta" and not broken:
            # Alpha is written (concurrency 1: before Beta starts); Beta's first request keeps
            # failing.
            broken.append(True)
            box[0].faults.add(Fault(status=503), count=10)

    router = scripted()
    router.before = break_second_section
    with FakeOpenRouter(router, api_key=KEY, options=FakeOptions(inline_cost=False)) as server:
        box.append(server)
        failed = run_cli("--prompt", prompt, "--repo", repo, "--provider", "openrouter",
                         "--base-url", server.base_url, "--eval-json", "--concurrency", "1",
                         "--max-retries", "1", "--persist-cache", "--cache-path", cache, env=ENV)
        first_calls = billed_by_phase(router, server)
    assert failed.returncode == 1, failed.stderr
    assert_no_traceback(failed)
    alpha_cost = math.fsum(c for phase, title, c in first_calls
                           if phase == "sections" and title == "Alpha")
    assert alpha_cost > 0

    with FakeOpenRouter(scripted(), api_key=KEY) as server:
        second = run_report(server, repo, prompt, cache, resume=True)
    reused = second["cost"]["reused"]
    assert reused["section_titles"] == ["Alpha"]
    before_sections = math.fsum(c for phase, _, c in first_calls if phase != "sections")
    assert reused["cost_usd"] == pytest.approx(before_sections + alpha_cost, abs=1e-9)
