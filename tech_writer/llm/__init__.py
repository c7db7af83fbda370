"""The model client: one :class:`LLMClient` per run sends every chat completion and knows what it cost.

``client`` (the client, its :class:`UsageStats` and ``get_cost_summary()``), ``settings``
(``ClientSettings``: who the client talks to and how, validated when built), ``wire`` (OpenRouter's
answers parsed into usage and cost), ``providers`` (openai / openrouter / demo / local, as
keyword-built rows), ``compat`` (request fixes for local servers), ``retry`` (back-off),
``limiter`` (requests in flight), ``budget`` (the run's budget), ``pricing``
(``/models`` prices), ``cost_lookup`` (``GET /generation`` when a cost is not inline).

Imports: :mod:`tech_writer.errors`, :mod:`tech_writer.secrets`, :mod:`tech_writer.demo` (the
fake OpenRouter the demo provider starts) and :mod:`telemetry`; never the repository, the pipeline,
the report or the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["LLMClient", "UsageStats"]

if TYPE_CHECKING:
    from tech_writer.llm.client import LLMClient, UsageStats


def __getattr__(name: str) -> Any:
    # Lazy, as the package root: importing a settings module must not pay for the openai SDK.
    if name in __all__:
        from tech_writer.llm import client

        return getattr(client, name)
    raise AttributeError(f"module 'tech_writer.llm' has no attribute {name!r}")
