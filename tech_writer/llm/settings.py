"""``ClientSettings``: everything an :class:`~tech_writer.llm.client.LLMClient` is configured with.

Who it talks to (provider, model, key, base URL, cost tracking, attribution) and how (timeouts,
retries, streaming, concurrency, budget, session, reasoning, capability overrides): one frozen,
keyword-only value object, validated when it is built, as httpx keeps its timeouts and limits in
``_config``. A run derives it from its :class:`~tech_writer.pipeline.settings.RunSettings`; the
client takes it whole. Errors are :class:`~tech_writer.errors.SettingError` in the domain's
words; the command line maps them to its flags.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tech_writer.errors import SettingError
from tech_writer.llm.capabilities import REASONING_EFFORTS
from tech_writer.llm.cost_lookup import LookupPolicy
from tech_writer.llm.providers import ProviderConfig, get_provider, require_base_url, validate_model
from tech_writer.llm.retry import RetryPolicy

__all__ = [
    "APP_NAME",
    "APP_URL",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_TIMEOUT_S",
    "MAX_SESSION_ID_CHARS",
    "ClientSettings",
    "check_budget",
]

APP_NAME = "tech_writer"
APP_URL = "https://github.com/tech-writer-dev/tech_writer"
DEFAULT_TIMEOUT_S = 180.0
DEFAULT_MAX_IN_FLIGHT = 4
# OpenRouter documents 128 characters at most for a session id (some pages say 256).
MAX_SESSION_ID_CHARS = 128


@dataclass(frozen=True, kw_only=True)
class ClientSettings:
    """Every field has the default a run uses; ``model`` and ``track_cost`` left ``None`` mean
    the provider's defaults (:attr:`model_name`, :attr:`tracks_cost`)."""

    provider: str = "openai"
    model: str | None = None
    api_key: str | None = None  # None: the provider's environment variable
    base_url: str | None = None  # None: the provider's own address
    track_cost: bool | None = None
    app_name: str = APP_NAME
    app_url: str = APP_URL
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    lookup: LookupPolicy | None = None  # None: cost_lookup's own defaults
    timeout_s: float = DEFAULT_TIMEOUT_S
    stream: bool = False
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    max_cost_usd: float | None = None
    # OpenRouter's sticky-routing key (see LLMClient.session_id); None: a fresh one per client.
    session_id: str | None = None
    # none/low/medium/high, sent (as OpenRouter's `reasoning`) only to models that list it;
    # None: the model's default.
    reasoning: str | None = None
    # A local server's capabilities (it has no /models list): off when it cannot do them.
    structured_output: bool = True
    parallel_tools: bool = True

    def __post_init__(self) -> None:
        config = get_provider(self.provider)
        require_base_url(config, self.base_url)
        validate_model(config, self.model or config.default_model)
        if self.session_id is not None and not 0 < len(self.session_id) <= MAX_SESSION_ID_CHARS:
            raise SettingError("session_id", f"session id must be 1 to {MAX_SESSION_ID_CHARS} "
                               "characters")
        if self.reasoning is not None and self.reasoning not in REASONING_EFFORTS:
            raise SettingError("reasoning", "reasoning effort must be one of "
                               f"{', '.join(REASONING_EFFORTS)}")
        if self.max_in_flight < 1:
            raise SettingError("max_in_flight", "at least one request must be allowed in flight")
        check_budget(self.max_cost_usd, config, tracked=self.tracks_cost,
                     turned_off=self.track_cost is False)

    @property
    def config(self) -> ProviderConfig:
        return get_provider(self.provider)

    @property
    def model_name(self) -> str:
        """The model asked for, or the provider's default (checked when the object was built)."""
        return validate_model(self.config, self.model or self.config.default_model)

    @property
    def tracks_cost(self) -> bool:
        return self.config.track_cost_default if self.track_cost is None else self.track_cost

    @classmethod
    def of(cls, settings: ClientSettings | None, options: Mapping[str, Any]) -> ClientSettings:
        """``settings`` (or the defaults) with keyword ``options`` laid over it: the client takes
        both ``settings=ClientSettings(...)`` and the fields as plain keywords."""
        base = settings if settings is not None else cls()
        return replace(base, **options) if options else base


def check_budget(max_cost_usd: float | None, config: ProviderConfig, *, tracked: bool,
                 turned_off: bool = False) -> None:
    """A budget is a positive, finite number of dollars, and only a provider whose calls report
    their cost (OpenRouter's dialect, with tracking on) can keep one."""
    if max_cost_usd is None:
        return
    if not (math.isfinite(max_cost_usd) and max_cost_usd > 0):
        raise SettingError("max_cost_usd", "the budget must be a positive, finite amount of US "
                           "dollars, e.g. 0.50", reason="budget_not_positive",
                           value=str(max_cost_usd))
    if not (tracked and config.openrouter_dialect):
        raise SettingError("max_cost_usd", "a budget needs cost tracking, which only the "
                           "openrouter and demo providers have (with tracking on)",
                           reason="budget_untracked", variant="off" if turned_off else "")
