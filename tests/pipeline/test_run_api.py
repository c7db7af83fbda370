"""The run's API: one RunSettings in (validated once, in the domain's words), one typed RunResult
out, and the seed's ``run_pipeline`` / ``LLMClient`` interface pinned over it."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import pytest

from tech_writer.commands.common import setting_message
from tech_writer.errors import SettingError, UsageError
from tech_writer.llm.client import LLMClient
from tech_writer.pipeline.run import RunFailed, run_pipeline, run_report
from tech_writer.pipeline.settings import RunSettings
from tech_writer.repository.cache import CacheStore

ROOT = Path(__file__).resolve().parents[2]

SEED_RUN_PIPELINE = [
    ("prompt", inspect.Parameter.empty), ("repo_path", inspect.Parameter.empty),
    ("model", None), ("provider", "openai"), ("api_key", None), ("base_url", None),
    ("track_cost", None), ("max_exploration", 30), ("max_sections", 8),
    ("persist_cache", False), ("cache_path", None), ("resume", False), ("concurrency", None),
    ("max_cost_usd", None), ("stream", False), ("telemetry", None), ("llm", None),
    ("progress", None), ("prompt_name", None), ("environ", None), ("retry", None),
    ("lookup", None), ("request_timeout_s", 180.0), ("history", None), ("reasoning", None),
    ("structured_output", True), ("parallel_tools", True),
]
SEED_COST_KEYS = {"total_cost_usd", "total_tokens", "prompt_tokens", "completion_tokens",
                  "total_calls", "calls_without_cost", "complete", "simulated", "provider",
                  "model", "phases", "reused"}


def test_run_pipeline_keeps_the_seeds_keywords_and_defaults() -> None:
    signature = inspect.signature(run_pipeline)
    assert [(p.name, p.default) for p in signature.parameters.values()] == SEED_RUN_PIPELINE
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY
               for p in list(signature.parameters.values())[2:])
    client = inspect.signature(LLMClient)
    assert list(client.parameters)[:7] == ["model", "provider", "api_key", "base_url",
                                           "track_cost", "app_name", "app_url"]


def test_run_pipeline_returns_report_cache_store_and_cost_stats(sample_repo, prompt_file) -> None:
    report, store, cost_stats = run_pipeline(prompt_file.read_text(), sample_repo,
                                             provider="demo", max_exploration=4, max_sections=2,
                                             environ={})
    assert report.startswith("# ") and isinstance(store, CacheStore)
    assert SEED_COST_KEYS <= set(cost_stats) and cost_stats["total_cost_usd"] > 0
    assert cost_stats["simulated"] is True and cost_stats["total_calls"] > 0


def test_run_report_returns_a_typed_result_whose_json_is_the_seeds_cost(sample_repo,
                                                                        prompt_file) -> None:
    settings = RunSettings(provider="demo", max_exploration=4, max_sections=2)
    result = run_report(prompt_file.read_text(), sample_repo, settings, environ={})
    assert result.failure is None and result.report and result.files_read
    assert result.cost_summary is not None and result.cost_summary.total.calls > 0
    document = result.cost_document()
    assert document is not None and SEED_COST_KEYS <= set(document)
    assert document["total_cost_usd"] == result.cost_summary.total.cost_usd
    assert (result.provider, result.model, result.simulated) == ("demo", "openai/gpt-5.1", True)


def test_a_failed_run_is_a_result_for_run_report_and_run_failed_for_the_facade(
        sample_repo, prompt_file) -> None:
    settings = RunSettings(provider="demo", max_exploration=4, max_sections=2,
                           max_cost_usd=0.0001)
    result = run_report(prompt_file.read_text(), sample_repo, settings, environ={})
    assert result.failure is not None and result.failure.budget_exhausted
    assert result.failure.exit_code == 3 and result.cost_summary is not None
    with pytest.raises(RunFailed) as failed:
        run_pipeline(prompt_file.read_text(), sample_repo, provider="demo", max_exploration=4,
                     max_sections=2, max_cost_usd=0.0001, environ={})
    assert failed.value.budget_exhausted and failed.value.exit_code == 3
    assert failed.value.cost_stats is not None and SEED_COST_KEYS <= set(failed.value.cost_stats)


@pytest.mark.parametrize("settings, setting, flag_words", [
    ({"provider": "openrouter", "max_cost_usd": 0.0}, "max_cost_usd", "--max-cost 0.0: must be"),
    ({"provider": "openrouter", "max_cost_usd": float("nan")}, "max_cost_usd", "--max-cost nan"),
    ({"provider": "openai", "max_cost_usd": 1.0}, "max_cost_usd", "--max-cost needs cost tracking"),
    ({"resume": True}, "resume", "--resume needs --persist-cache"),
    ({"max_sections": 0}, "max_sections", "--max-sections: max sections must be at least 1"),
    ({"provider": "local"}, "base_url", "--provider local needs --base-url"),
    ({"provider": "openrouter", "model": "gpt-5.1"}, "model", "not an OpenRouter model id"),
    ({"reasoning": "extreme"}, "reasoning", "--reasoning: reasoning effort must be one of"),
])
def test_settings_are_refused_in_the_domains_words_and_the_cli_words_them_as_flags(
        settings, setting, flag_words) -> None:
    with pytest.raises(SettingError) as refused:
        RunSettings(**settings)
    assert refused.value.setting == setting and isinstance(refused.value, UsageError)
    assert "--" not in refused.value.message
    assert setting_message(refused.value).startswith(flag_words) or \
        flag_words in setting_message(refused.value)


def test_run_settings_are_frozen_keyword_only_and_derive_the_client_settings() -> None:
    settings = RunSettings(provider="openrouter", concurrency=2, max_cost_usd=0.5,
                           request_timeout_s=30.0, reasoning="low")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.max_sections = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        RunSettings("openrouter")  # type: ignore[misc]
    client = settings.client
    assert (client.provider, client.max_in_flight, client.max_cost_usd, client.timeout_s,
            client.reasoning) == ("openrouter", 2, 0.5, 30.0, "low")
    assert settings.model_name == "openai/gpt-5.1" and settings.tracks_cost


def test_a_local_server_gets_one_job_at_a_time_unless_asked_for_more() -> None:
    url = "http://127.0.0.1:8080/v1"
    # A local server serves simultaneous requests from one shared context (llama-server's 16k
    # overflowed with three sections in flight): one at a time by default, as many as asked.
    assert RunSettings(provider="openrouter").jobs == 4
    assert RunSettings(provider="local", base_url=url, model="qwen").jobs == 1
    local_four = RunSettings(provider="local", base_url=url, model="qwen", concurrency=4)
    assert local_four.jobs == local_four.client.max_in_flight == 4


def test_library_errors_do_not_speak_cli_flags() -> None:
    """A raise in llm/ or pipeline/ never words its message as a flag: the CLI maps settings to
    flags (tech_writer.commands.common)."""
    found = []
    for folder in ("llm", "pipeline"):
        for path in sorted((ROOT / "tech_writer" / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Raise) and node.exc is not None:
                    for part in ast.walk(node.exc):
                        if isinstance(part, ast.Constant) and isinstance(part.value, str) \
                                and part.value.lstrip().startswith("--"):
                            found.append(f"{path.name}:{node.lineno} {part.value!r}")
    assert not found, found
