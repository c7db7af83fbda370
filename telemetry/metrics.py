"""GenAI client metrics: token usage and operation duration (semantic conventions) plus cost.

Bucket boundaries are passed as advice: the semconv helpers give none, and the SDK's default
buckets (0…10000) fit neither token counts nor seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from opentelemetry.metrics import Meter
from opentelemetry.util.types import AttributeValue

from telemetry import attributes as attrs

__all__ = ["ChatMetrics"]

_logger = logging.getLogger(__name__)


class ChatMetrics:
    """The instruments, created once per meter, and how a chat call is recorded on them."""

    def __init__(self, meter: Meter) -> None:
        self.token_usage = meter.create_histogram(
            attrs.METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used per LLM call",
            explicit_bucket_boundaries_advisory=list(attrs.TOKEN_USAGE_BUCKETS),
        )
        self.duration = meter.create_histogram(
            attrs.METRIC_OPERATION_DURATION,
            unit="s",
            description="Duration of LLM calls, retries included",
            explicit_bucket_boundaries_advisory=list(attrs.DURATION_BUCKETS),
        )
        self.cost = meter.create_counter(
            attrs.METRIC_COST,
            unit="USD",
            description="Cost of LLM calls as billed by the provider",
        )

    def record_call(self, base: Mapping[str, AttributeValue], *, duration_s: float,
                    response_model: str | None = None, input_tokens: int | None = None,
                    output_tokens: int | None = None, error_type: str | None = None) -> None:
        """``base``: operation, provider, request model and phase of the call."""
        common = dict(base)
        if response_model:
            common[attrs.GEN_AI_RESPONSE_MODEL] = response_model
        duration_attributes = dict(common)
        if error_type:
            duration_attributes[attrs.ERROR_TYPE] = error_type
        self.duration.record(max(duration_s, 0.0), duration_attributes)
        for token_type, count in ((attrs.TOKEN_TYPE_INPUT, input_tokens),
                                  (attrs.TOKEN_TYPE_OUTPUT, output_tokens)):
            if count is not None and count >= 0:
                self.token_usage.record(count, {**common, attrs.GEN_AI_TOKEN_TYPE: token_type})

    def record_cost(self, base: Mapping[str, AttributeValue], cost_usd: float) -> None:
        if cost_usd < 0:  # a counter only goes up; a negative charge would be a provider bug
            _logger.debug("not counting negative cost %r", cost_usd)
            return
        self.cost.add(cost_usd, dict(base))
