"""``RunSettings``: everything one run is configured with, built and validated once, at the edge.

The command line (or a library caller, through :func:`~tech_writer.pipeline.run.run_pipeline`)
builds one; from then on the run passes it whole and never checks a setting again. The client's
part of it is a :class:`~tech_writer.llm.settings.ClientSettings`, derived (and so validated)
when the run settings are built. A setting that cannot work raises
:class:`~tech_writer.errors.SettingError` in the domain's words; the command line alone knows
which flag it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tech_writer.errors import SettingError
from tech_writer.llm.cost_lookup import LookupPolicy
from tech_writer.llm.retry import RetryPolicy
from tech_writer.llm.settings import DEFAULT_MAX_IN_FLIGHT, DEFAULT_TIMEOUT_S, ClientSettings
from tech_writer.repository.listing import PathFilter

__all__ = ["DEFAULT_MAX_EXPLORATION", "DEFAULT_MAX_SECTIONS", "RunSettings"]

DEFAULT_MAX_EXPLORATION = 30
DEFAULT_MAX_SECTIONS = 8
LOCAL_CONCURRENCY = 1


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """How one report is written: who answers, how far the run may go, what it may spend, what
    it may reuse. Every field has the default of ``tech-writer`` without flags."""

    # Who answers (see ClientSettings): provider, model, key, address, cost tracking.
    provider: str = "openai"
    model: str | None = None
    api_key: str | None = None
    base_url: str | None = None
    track_cost: bool | None = None
    # How far the run goes.
    max_exploration: int = DEFAULT_MAX_EXPLORATION
    max_sections: int = DEFAULT_MAX_SECTIONS
    # Jobs (exploration areas, sections) worked on at once; None: the provider's default (see
    # :attr:`jobs`).
    concurrency: int | None = None
    max_cost_usd: float | None = None  # the budget; None: no limit
    # What is kept and reused between runs.
    persist_cache: bool = False
    cache_path: Path | None = None  # None: one file per repository in the user cache dir
    resume: bool = False
    # How each request is sent.
    stream: bool = False
    reasoning: str | None = None
    structured_output: bool = True
    parallel_tools: bool = True
    request_timeout_s: float = DEFAULT_TIMEOUT_S
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    lookup: LookupPolicy | None = None
    # What the grounding gate does with a claim it cannot ground: remove it (the default), or
    # keep it in a blockquote marked **Unverified**.
    keep_unverified: bool = False
    # The prompt file's name, for the trace (the prompt itself is the run's input, not a setting).
    prompt_name: str | None = None
    # Which files of the repository the run may see (.gitignore syntax); none: every file.
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    client: ClientSettings = field(init=False, repr=False, compare=False)
    path_filter: PathFilter = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, value in (("max_exploration", self.max_exploration),
                            ("max_sections", self.max_sections), ("concurrency", self.jobs)):
            if value < 1:
                raise SettingError(name, f"{name.replace('_', ' ')} must be at least 1",
                                   reason="limit_below_one")
        if self.resume and not self.persist_cache:
            raise SettingError("resume", "resuming needs the persistent cache: that is where "
                               "finished work is kept", reason="resume_without_cache")
        if self.cache_path is not None and not self.persist_cache:
            # Without persistence the cache lives in memory: a path named for it would be
            # silently unused.
            raise SettingError("cache_path", "a cache file is only used by the persistent cache",
                               reason="cache_path_without_persist", path=str(self.cache_path))
        if self.cache_path is not None:
            object.__setattr__(self, "cache_path", Path(self.cache_path))
        for name in ("include", "exclude"):  # each checked alone: the error names its setting
            try:
                PathFilter(**{name: tuple(getattr(self, name))})
            except ValueError as exc:
                raise SettingError(name, str(exc), reason="bad_glob") from None
        object.__setattr__(self, "path_filter", PathFilter(tuple(self.include),
                                                           tuple(self.exclude)))
        object.__setattr__(self, "client", self._client_settings())  # validates the rest

    def _client_settings(self) -> ClientSettings:
        return ClientSettings(
            provider=self.provider, model=self.model, api_key=self.api_key,
            base_url=self.base_url, track_cost=self.track_cost, retry=self.retry,
            lookup=self.lookup, timeout_s=self.request_timeout_s, stream=self.stream,
            max_in_flight=self.jobs, max_cost_usd=self.max_cost_usd,
            reasoning=self.reasoning, structured_output=self.structured_output,
            parallel_tools=self.parallel_tools)

    @property
    def jobs(self) -> int:
        """``concurrency``, or by default 4 at once; one with a local server, which serves the
        requests it takes at once from one shared context (llama-server's 16k tokens overflowed
        with three sections in flight: "Context size has been exceeded")."""
        if self.concurrency is not None:
            return self.concurrency
        return LOCAL_CONCURRENCY if self.provider == "local" else DEFAULT_MAX_IN_FLIGHT

    @property
    def model_name(self) -> str:
        """The model asked for, or the provider's default."""
        return self.client.model_name

    @property
    def tracks_cost(self) -> bool:
        return self.client.tracks_cost
