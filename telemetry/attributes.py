"""Every span/metric attribute and instrument name the project emits, in one place.

GenAI semantic-convention names come from ``opentelemetry-semantic-conventions`` (the incubating
GenAI module); the conventions define no cost attribute, so cost uses the de-facto names that
backends read (``gen_ai.usage.cost`` for OpenLIT/Langfuse, ``llm.cost.total`` for Phoenix).
Project-specific names are namespaced ``tech_writer.*``.

Roll-ups on run and phase spans deliberately use ``tech_writer.*`` names rather than
``gen_ai.usage.*``: backends that sum ``gen_ai.usage.cost`` over a trace would otherwise count
every call twice.
"""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as _gen_ai
from opentelemetry.semconv._incubating.attributes import session_attributes as _session
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics as _gen_ai_metrics
from opentelemetry.semconv.attributes import error_attributes as _error
from opentelemetry.semconv.attributes import server_attributes as _server

# --- GenAI semantic conventions -------------------------------------------------------------
GEN_AI_OPERATION_NAME = _gen_ai.GEN_AI_OPERATION_NAME
GEN_AI_PROVIDER_NAME = _gen_ai.GEN_AI_PROVIDER_NAME
GEN_AI_REQUEST_MODEL = _gen_ai.GEN_AI_REQUEST_MODEL
GEN_AI_RESPONSE_MODEL = _gen_ai.GEN_AI_RESPONSE_MODEL
GEN_AI_RESPONSE_ID = _gen_ai.GEN_AI_RESPONSE_ID
GEN_AI_RESPONSE_FINISH_REASONS = _gen_ai.GEN_AI_RESPONSE_FINISH_REASONS
GEN_AI_USAGE_INPUT_TOKENS = _gen_ai.GEN_AI_USAGE_INPUT_TOKENS
GEN_AI_USAGE_OUTPUT_TOKENS = _gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = _gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = _gen_ai.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = _gen_ai.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS
GEN_AI_AGENT_NAME = _gen_ai.GEN_AI_AGENT_NAME
GEN_AI_CONVERSATION_ID = _gen_ai.GEN_AI_CONVERSATION_ID
# What Phoenix (OpenInference) and Langfuse group a session's traces by.
SESSION_ID = _session.SESSION_ID
GEN_AI_TOOL_NAME = _gen_ai.GEN_AI_TOOL_NAME
GEN_AI_TOOL_CALL_ID = _gen_ai.GEN_AI_TOOL_CALL_ID
GEN_AI_TOOL_TYPE = _gen_ai.GEN_AI_TOOL_TYPE
GEN_AI_TOKEN_TYPE = _gen_ai.GEN_AI_TOKEN_TYPE
GEN_AI_INPUT_MESSAGES = _gen_ai.GEN_AI_INPUT_MESSAGES
GEN_AI_OUTPUT_MESSAGES = _gen_ai.GEN_AI_OUTPUT_MESSAGES
GEN_AI_TOOL_CALL_ARGUMENTS = _gen_ai.GEN_AI_TOOL_CALL_ARGUMENTS
GEN_AI_TOOL_CALL_RESULT = _gen_ai.GEN_AI_TOOL_CALL_RESULT

ERROR_TYPE = _error.ERROR_TYPE
SERVER_ADDRESS = _server.SERVER_ADDRESS
SERVER_PORT = _server.SERVER_PORT

OPERATION_CHAT = _gen_ai.GenAiOperationNameValues.CHAT.value  # "chat"
OPERATION_EXECUTE_TOOL = _gen_ai.GenAiOperationNameValues.EXECUTE_TOOL.value  # "execute_tool"
OPERATION_INVOKE_AGENT = _gen_ai.GenAiOperationNameValues.INVOKE_AGENT.value  # "invoke_agent"
TOKEN_TYPE_INPUT = _gen_ai.GenAiTokenTypeValues.INPUT.value  # "input"
TOKEN_TYPE_OUTPUT = _gen_ai.GenAiTokenTypeValues.OUTPUT.value  # "output"

# --- Cost (no standard name exists) ---------------------------------------------------------
GEN_AI_USAGE_COST = "gen_ai.usage.cost"  # USD; OpenLIT writes it, Langfuse/lmnr read it
LLM_COST_TOTAL = "llm.cost.total"  # USD; OpenInference name, read by Phoenix
COST_SOURCE = "tech_writer.cost.source"  # "inline" (in the completion) | "generation" (looked up)
# On a chat span whose cost is looked up after the answer: True until the look-up settles (the
# span waits for it), False once it has; still True if telemetry shut down first.
COST_PENDING = "tech_writer.cost.pending"
COST_UPSTREAM_USD = "tech_writer.cost.upstream_usd"  # BYOK: billed by the provider directly
COST_IS_BYOK = "tech_writer.cost.is_byok"
# True when the costs come from the demo model (its fake OpenRouter bills simulated dollars).
# On chat spans: present only when true. On every metric point: always present, true or false,
# so that a Prometheus query can select real spend (`tech_writer_cost_simulated="false"`).
COST_SIMULATED = "tech_writer.cost.simulated"
# True on a settle_cost span carrying a late cost whose chat span had already been ended.
COST_SETTLEMENT = "tech_writer.cost.settlement"
COST_LOOKUP_ATTEMPTS = "tech_writer.cost.lookup_attempts"
# True on a failed chat span whose request had been sent when it was cut off (Ctrl-C, abort):
# the provider may have billed it, so the run's total is a lower bound.
COST_MAYBE_BILLED = "tech_writer.cost.maybe_billed"
# On a chat span: failed attempts before the final one that may have been billed (a timeout, a
# connection cut mid-answer): each is a call of unknown cost.
COST_MAYBE_BILLED_ATTEMPTS = "tech_writer.cost.maybe_billed_attempts"

COST_SOURCE_INLINE = "inline"
COST_SOURCE_GENERATION = "generation"
COST_SOURCE_FREE = "free"  # a provider that bills nothing (a local server): $0, known

# --- Cost as the open GenAI proposal names it (semantic-conventions-genai PR #443) ----------
# Not in the conventions yet; written beside the de-facto names above, and only when the cost
# is known. ``amount`` is the provider's figure unmodified (no rounding, no split).
GEN_AI_USAGE_COST_AMOUNT = "gen_ai.usage.cost.amount"
GEN_AI_USAGE_COST_CURRENCY = "gen_ai.usage.cost.currency"  # ISO 4217
GEN_AI_USAGE_COST_SOURCE = "gen_ai.usage.cost.source"  # "provider" | "local"
COST_CURRENCY_USD = "USD"  # OpenRouter bills in credits, one credit = one US dollar
COST_ORIGIN_PROVIDER = "provider"  # billed by the provider (the answer's usage or /generation)
COST_ORIGIN_LOCAL = "local"  # worked out here (a local server's $0: nothing was billed)
# tech_writer.cost.source -> gen_ai.usage.cost.source
COST_ORIGIN_BY_SOURCE = {
    COST_SOURCE_INLINE: COST_ORIGIN_PROVIDER,
    COST_SOURCE_GENERATION: COST_ORIGIN_PROVIDER,
    COST_SOURCE_FREE: COST_ORIGIN_LOCAL,
}
# True on a chat span whose answer carried no ``usage``: its token counts are unknown (absent from
# the span), never guessed.
USAGE_MISSING = "tech_writer.usage.missing"

# --- Cost as each backend reads it (see docs/telemetry-backends.md) ------------------------
# The bill is one total; these split it into input and output with the model's list prices,
# scaled to add up to the bill (telemetry.cost.split_billed_cost): the split is derived.
LLM_COST_PROMPT = "llm.cost.prompt"  # USD; OpenInference (Phoenix): the input share
LLM_COST_COMPLETION = "llm.cost.completion"  # USD; OpenInference (Phoenix): the output share
# MLflow: a JSON object {"input_cost", "output_cost", "total_cost"} (USD), the shape MLflow
# writes itself; when a chat span lacks it, MLflow prices the call from its own table instead.
MLFLOW_LLM_COST = "mlflow.llm.cost"
MLFLOW_COST_INPUT = "input_cost"
MLFLOW_COST_OUTPUT = "output_cost"
MLFLOW_COST_TOTAL = "total_cost"

# --- Roll-ups on run / phase / section spans ------------------------------------------------
ROLLUP_COST_USD = "tech_writer.cost_usd"
ROLLUP_COST_COMPLETE = "tech_writer.cost.complete"
ROLLUP_INPUT_TOKENS = "tech_writer.usage.input_tokens"
ROLLUP_OUTPUT_TOKENS = "tech_writer.usage.output_tokens"
ROLLUP_CALLS = "tech_writer.llm_calls"
ROLLUP_CALLS_WITHOUT_COST = "tech_writer.llm_calls_without_cost"

# --- Run structure --------------------------------------------------------------------------
PHASE = "tech_writer.phase"  # "exploration" | "outline" | "sections" | "update"
SECTION_TITLE = "tech_writer.section.title"
SECTION_INDEX = "tech_writer.section.index"
EXPLORATION_AREA_TITLE = "tech_writer.pipeline.exploration.area.title"
EXPLORATION_AREA_INDEX = "tech_writer.pipeline.exploration.area.index"
# The exploration read too little (or ended with a tool call as text): the tool read for itself.
EXPLORATION_SELF_READ = "tech_writer.pipeline.exploration.self_read"
# The grounding gate's figures (on the sections phase span, each section's span, and the run's):
# claims kept (every one cited), of them anchored by the tool; removed or kept as unverified;
# the names checked, and of them missing from the repository.
GROUNDING_CLAIMS_KEPT = "tech_writer.grounding.claims_kept"
GROUNDING_CLAIMS_ANCHORED = "tech_writer.grounding.claims_anchored"
GROUNDING_CLAIMS_REMOVED = "tech_writer.grounding.claims_removed"
GROUNDING_CLAIMS_UNVERIFIED = "tech_writer.grounding.claims_unverified"
GROUNDING_NAMES_CHECKED = "tech_writer.grounding.names_checked"
GROUNDING_NAMES_MISSING = "tech_writer.grounding.names_missing"
RUN_REPO = "tech_writer.repository.repo"
RUN_PROMPT_FILE = "tech_writer.prompt.file"
RUN_OUTCOME = "tech_writer.outcome"
RUN_COMMAND = "tech_writer.command"  # "update" on an update's root span (a run has none)
UPDATE_REASON = "tech_writer.update.reason"  # why a rewritten section was stale

# --- Retries and tools ----------------------------------------------------------------------
RETRY_EVENT = "gen_ai.client.attempt"  # one event per HTTP attempt on a chat span
RETRY_ATTEMPT = "tech_writer.attempt"
RETRY_STATUS_CODE = "http.response.status_code"
RETRY_WAIT_S = "tech_writer.llm.retry.wait_s"
TOOL_RESULT_BYTES = "tech_writer.tool.result.bytes"
TOOL_RESULT_TRUNCATED = "tech_writer.tool.result.truncated"

# --- Evaluation (tech-writer eval / compare) ------------------------------------------------
# One event per score, as the GenAI conventions define it; the package names the attributes but
# has no constant for the event name.
GEN_AI_EVALUATION_RESULT = "gen_ai.evaluation.result"
GEN_AI_EVALUATION_NAME = _gen_ai.GEN_AI_EVALUATION_NAME
GEN_AI_EVALUATION_SCORE_VALUE = _gen_ai.GEN_AI_EVALUATION_SCORE_VALUE
GEN_AI_EVALUATION_SCORE_LABEL = _gen_ai.GEN_AI_EVALUATION_SCORE_LABEL
GEN_AI_EVALUATION_EXPLANATION = _gen_ai.GEN_AI_EVALUATION_EXPLANATION
PHASE_EVALUATE = "evaluate"  # the phase of the judge's calls, costed apart from the report's
EVAL_JUDGE_MODEL = "tech_writer.eval.judge.model"
EVAL_REPORT_MODEL = "tech_writer.eval.report.model"  # the model that wrote the report judged
COMPARE_ID = "tech_writer.compare.id"  # shared by every trace of one `tech-writer compare`
COMPARE_RUN = "tech_writer.compare.run"  # "<model>#<n>": which run of the comparison

# --- Metric instruments ---------------------------------------------------------------------
METRIC_TOKEN_USAGE = _gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE  # "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION = _gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION
METRIC_COST = "gen_ai.client.cost"  # counter, USD
TOKEN_USAGE_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)
DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)
