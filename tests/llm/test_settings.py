"""ClientSettings: the client's how-to-send settings as one keyword-only value object."""

from __future__ import annotations

import dataclasses

import pytest

from tech_writer.demo import FakeOpenRouter, ModelTurn, QueueModel
from tech_writer.errors import SettingError, UsageError
from tech_writer.llm.client import LLMClient
from tech_writer.llm.retry import RetryPolicy
from tech_writer.llm.settings import DEFAULT_MAX_IN_FLIGHT, DEFAULT_TIMEOUT_S, ClientSettings

KEY = "sk-or-v1-settings-test-0000000000"


def test_defaults_are_a_runs_defaults_and_the_object_is_frozen_and_keyword_only() -> None:
    settings = ClientSettings()
    assert (settings.timeout_s, settings.max_in_flight, settings.stream) == (
        DEFAULT_TIMEOUT_S, DEFAULT_MAX_IN_FLIGHT, False)
    assert settings.retry == RetryPolicy() and settings.max_cost_usd is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.stream = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        ClientSettings(RetryPolicy())  # type: ignore[misc]


def test_keywords_are_laid_over_the_given_settings() -> None:
    base = ClientSettings(timeout_s=5.0, stream=True)
    merged = ClientSettings.of(base, {"timeout_s": 9.0})
    assert (merged.timeout_s, merged.stream) == (9.0, True)
    assert ClientSettings.of(base, {}) is base
    assert ClientSettings.of(None, {}) == ClientSettings()
    with pytest.raises(TypeError):
        ClientSettings.of(None, {"no_such_setting": 1})
    with pytest.raises(UsageError, match="session id"):
        ClientSettings(session_id="")


def test_who_and_how_are_checked_when_the_settings_are_built() -> None:
    settings = ClientSettings(provider="openrouter")
    assert settings.model_name == "openai/gpt-5.1" and settings.tracks_cost is True
    assert ClientSettings().model_name == "gpt-5.1" and ClientSettings().tracks_cost is False
    with pytest.raises(SettingError) as refused:
        ClientSettings(provider="openrouter", max_cost_usd=0.0)
    assert (refused.value.setting, refused.value.reason) == ("max_cost_usd", "budget_not_positive")
    with pytest.raises(SettingError) as refused:
        ClientSettings(provider="openai", max_cost_usd=1.0)
    assert refused.value.reason == "budget_untracked"
    with pytest.raises(SettingError) as refused:
        ClientSettings(provider="openrouter", track_cost=False, max_cost_usd=1.0)
    assert refused.value.reason == "budget_untracked"
    with pytest.raises(SettingError) as refused:
        ClientSettings(provider="openrouter", model="gpt-5.1")
    assert refused.value.setting == "model"


def test_the_client_uses_settings_given_either_way() -> None:
    model = QueueModel([ModelTurn(content="one"), ModelTurn(content="two")])
    with FakeOpenRouter(model, api_key=KEY) as server:
        chosen = ClientSettings(model="openai/gpt-5.1", provider="openrouter", api_key=KEY,
                                base_url=server.base_url, session_id="by-settings",
                                max_in_flight=2)
        with LLMClient(settings=chosen) as by_object:
            by_object.chat([{"role": "user", "content": "hi"}])
        with LLMClient("openai/gpt-5.1", "openrouter", KEY, server.base_url,
                       session_id="by-keyword") as by_keyword:
            by_keyword.chat([{"role": "user", "content": "hi"}])
    assert [r.json["session_id"] for r in server.requests] == ["by-settings", "by-keyword"]
    assert by_object.settings is chosen and by_keyword.settings.session_id == "by-keyword"
