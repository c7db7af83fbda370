"""``--dry-run``: what a run would do and roughly what it would cost, without calling a model.

The estimate is a range, not a promise. It models each phase as the pipeline runs it: every call
resends the conversation so far (system prompt, tool schemas, request, earlier tool results, up to
the history's compaction watermark), tool results are the size of this repository's typical file
(capped as the tools cap them), and answers have typical lengths. The low end assumes a short
exploration and few sections; the high end assumes every cap is reached and a citation-fix round
per section. Prices are the model's list prices from ``/models`` (the bill may differ by routing);
the high end prices every prompt token as a cache write where the model bills writes above input
(``input_cache_write``). Each call's answer cap (``max_completion_tokens``, the figure every
request is sent with, :mod:`tech_writer.llm.output_cap`) is shown per phase, with what one answer
that long would cost: what OpenRouter reserves credit for before each call.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from tech_writer.llm.output_cap import OutputCaps
from tech_writer.llm.pricing import ModelPricing
from tech_writer.llm.providers import get_provider
from tech_writer.pipeline import prompts
from tech_writer.pipeline.history import HistoryPolicy
from tech_writer.repository.repo import Repository
from tech_writer.repository.tools import RepoTools

__all__ = ["ModelFacts", "Plan", "RepoStats", "Scenario", "format_plan", "make_plan", "repo_stats"]

CHARS_PER_TOKEN = 4.0  # typical, for a central estimate (the budget guard uses a stricter 3)
STEP_ANSWER_CHARS = 400  # a tool call and the model's note about it
UNDERSTANDING_CHARS = 4_000
OUTLINE_ANSWER_CHARS = 1_500
SECTION_ANSWER_CHARS = 3_500


@dataclass(frozen=True)
class ModelFacts:
    """What ``/models`` says of the model that a plan needs: its list prices (None: no price)
    and the answer caps its requests are sent with."""

    pricing: ModelPricing | None
    caps: OutputCaps = OutputCaps()


@dataclass(frozen=True)
class RepoStats:
    files: int
    text_bytes: int
    typical_file_bytes: int  # median size of the listed files


@dataclass(frozen=True)
class Scenario:
    exploration_steps: int
    sections: int
    reads_per_section: int
    fix_rounds_per_section: int
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None


@dataclass(frozen=True)
class Plan:
    repo: str
    model: str
    provider: str
    stats: RepoStats
    low: Scenario
    high: Scenario
    price_source: str
    # max_completion_tokens per phase, and the cost of one answer that long (None: no price).
    output_caps: dict[str, int]
    capped_answer_usd: dict[str, float | None]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def repo_stats(repo: Repository) -> RepoStats:
    sizes = sorted(repo.listing().sizes)  # taken with the listing: no second stat per file
    median = sizes[len(sizes) // 2] if sizes else 0
    return RepoStats(len(sizes), sum(sizes), median)


def make_plan(repo: Repository, prompt: str, *, model: str, provider: str, facts: ModelFacts,
              max_exploration: int, max_sections: int,
              history: HistoryPolicy | None = None) -> Plan:
    stats, pricing = repo_stats(repo), facts.pricing
    tools = RepoTools(repo)
    schema_chars = len(json.dumps(tools.schemas())) + len(json.dumps(
        prompts.FINISH_EXPLORATION_SCHEMA)) + len(json.dumps(prompts.PLAN_EXPLORATION_SCHEMA))
    layout_chars = len(tools.execute("get_structure", {"path": "."}).text)
    read_chars = min(max(stats.typical_file_bytes, 200), tools.caps.max_result_bytes)
    context = _Context(prompt_chars=len(prompt), schema_chars=schema_chars, read_chars=read_chars,
                       layout_chars=layout_chars,
                       ceiling_chars=(history or HistoryPolicy()).high_watermark_chars,
                       pricing=pricing)
    low = context.scenario(min(6, max_exploration), min(3, max_sections), 2, 0)
    high = context.scenario(max_exploration, max_sections, 6, 1, worst_prompt_price=True)
    source = f"{model} list price from /models" if pricing else "no price available"
    output_caps = {phase: facts.caps.for_phase(phase) for phase in _PHASES}
    answer_usd = {phase: (cap * pricing.completion_usd_per_token if pricing else None)
                  for phase, cap in output_caps.items()}
    return Plan(repo.root.name, model, provider, stats, low, high, source, output_caps, answer_usd)


_PHASES = ("exploration", "outline", "sections")


@dataclass(frozen=True)
class _Context:
    prompt_chars: int
    schema_chars: int
    read_chars: int
    layout_chars: int  # the repository layout every exploration call opens with
    ceiling_chars: int
    pricing: ModelPricing | None

    def loop(self, base_chars: int, steps: int) -> tuple[int, int, int]:
        """(calls, prompt chars, answer chars) of a tool loop of ``steps`` calls."""
        prompt = sum(base_chars + min(i * (self.read_chars + STEP_ANSWER_CHARS), self.ceiling_chars)
                     for i in range(steps))
        return steps, prompt, steps * STEP_ANSWER_CHARS

    def scenario(self, steps: int, sections: int, reads: int, fixes: int, *,
                 worst_prompt_price: bool = False) -> Scenario:
        # The explorers' steps are modelled as one loop: several short conversations resend less
        # than one long one, so this stays an upper bound for the steps it counts.
        exploration_base = (len(prompts.EXPLORATION_SYSTEM) + self.prompt_chars + self.schema_chars
                            + self.layout_chars)
        calls, prompt, answer = self.loop(exploration_base, steps)
        answer += UNDERSTANDING_CHARS
        outline_prompt = len(prompts.OUTLINE_SYSTEM) + self.prompt_chars + UNDERSTANDING_CHARS
        calls, prompt, answer = calls + 1, prompt + outline_prompt, answer + OUTLINE_ANSWER_CHARS
        section_base = (len(prompts.SECTION_SYSTEM) + self.prompt_chars + UNDERSTANDING_CHARS
                        + self.schema_chars)
        for _ in range(sections):
            for round_ in range(1 + fixes):
                loop_calls, loop_prompt, loop_answer = self.loop(
                    section_base + round_ * SECTION_ANSWER_CHARS, reads + 1)
                calls += loop_calls
                prompt += loop_prompt
                answer += loop_answer + SECTION_ANSWER_CHARS
        prompt_tokens = round(prompt / CHARS_PER_TOKEN)
        completion_tokens = round(answer / CHARS_PER_TOKEN)
        cost = None
        if self.pricing is not None:
            price = self.pricing.worst_case if worst_prompt_price else self.pricing.estimate
            cost = price(prompt_tokens, completion_tokens)
            cost += self.pricing.request_usd * (calls - 1)  # the estimate adds one request fee
        return Scenario(steps, sections, reads, fixes, calls, prompt_tokens, completion_tokens,
                        cost)


def format_plan(plan: Plan) -> str:
    def money(value: float | None) -> str:
        return "unknown" if value is None else f"${value:.4f}"

    low, high = plan.low, plan.high
    return "\n".join([
        "Dry run: nothing explored, no model called.",
        f"Repository {plan.repo}: {plan.stats.files:,} files, "
        f"{plan.stats.text_bytes / 1e6:.1f} MB, "
        f"typical file {plan.stats.typical_file_bytes:,} bytes.",
        f"Model {plan.model} via {plan.provider} ({plan.price_source}).",
        "Plan: exploration (a planning call, then one tool loop per area, side by side) → "
        "outline (structured output) → sections (one tool loop each) → citation check.",
        f"  low:  {low.exploration_steps} exploration steps, {low.sections} sections, "
        f"{low.calls} calls, ~{low.prompt_tokens + low.completion_tokens:,} tokens, "
        f"{money(low.cost_usd)}",
        f"  high: {high.exploration_steps} exploration steps, {high.sections} sections "
        f"(+{high.fix_rounds_per_section} fix round each), {high.calls} calls, "
        f"~{high.prompt_tokens + high.completion_tokens:,} tokens, {money(high.cost_usd)}",
        "Answers capped (max_completion_tokens): " + ", ".join(
            f"{phase} {cap:,} tokens ({money(plan.capped_answer_usd[phase])} at most)"
            for phase, cap in plan.output_caps.items()) + ".",
        f"Estimated cost: {money(low.cost_usd)} – {money(high.cost_usd)}. "
        + _cap_advice(plan.provider),
    ]) + "\n"


def _cap_advice(provider: str) -> str:
    """How to cap the spend, for this provider: --max-cost only where each call's cost is
    reported (OpenRouter's dialect); the others refuse the flag, so it is not recommended."""
    config = get_provider(provider)
    if config.cost_known_zero:
        return "A local server bills nothing: no cap needed."
    if config.openrouter_dialect:
        return "Cap it with --max-cost."
    return (f"{provider} does not report what a call cost, so --max-cost cannot cap it here; "
            "--provider openrouter can.")
