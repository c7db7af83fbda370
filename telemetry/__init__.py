"""OpenTelemetry for tech_writer: spans, GenAI metrics and the run's exact cost summary.

Independent of the ``tech_writer`` package. Typical use::

    tel = Telemetry.from_env()
    with tel.run_span(attributes={...}), tel.phase_span("exploration"):
        chat = tel.start_chat("openai/gpt-5.1", "openrouter", server_address=..., server_port=...)
        chat.stop(ChatAnswer(UsageStats(...), response_model))  # or chat.fail(exc)
    summary = tel.cost.summary()            # CostSummary: totals and per phase
    tel.shutdown()                          # bounded, idempotent, at most one warning line

Attribute and metric names live in :mod:`telemetry.attributes`.
"""

from __future__ import annotations

from telemetry.config import ContentCapture, TelemetryConfig, load_config
from telemetry.core import ExportWiring, Telemetry
from telemetry.cost import CostSpanProcessor, CostSummary, TokenPrices, UsageTotals
from telemetry.spans import ChatAnswer, ChatInvocation, ChatRequest, ToolInvocation
from telemetry.usage import UsageStats

__all__ = [
    "ChatAnswer",
    "ChatInvocation",
    "ChatRequest",
    "ContentCapture",
    "CostSpanProcessor",
    "CostSummary",
    "ExportWiring",
    "Telemetry",
    "TelemetryConfig",
    "TokenPrices",
    "ToolInvocation",
    "UsageStats",
    "UsageTotals",
    "load_config",
]
