"""--dry-run's last line recommends --max-cost only where the provider accepts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tech_writer.llm.pricing import ModelPricing
from tech_writer.pipeline.planner import ModelFacts, format_plan, make_plan
from tech_writer.repository.repo import Repository


@pytest.mark.parametrize(("provider", "pricing", "advice"), [
    ("openrouter", ModelPricing("openai/gpt-5.1", 1e-6, 1e-5), "Cap it with --max-cost."),
    ("demo", ModelPricing("openai/gpt-5.1", 1e-6, 1e-5), "Cap it with --max-cost."),
    ("openai", None, "--max-cost cannot cap it here; --provider openrouter can."),
    ("local", ModelPricing("smollm2", 0.0, 0.0), "A local server bills nothing: no cap needed."),
])
def test_the_last_line_fits_the_provider(tmp_path: Path, provider: str,
                                         pricing: ModelPricing | None, advice: str) -> None:
    (tmp_path / "app.py").write_text("print('hi')\n", encoding="utf-8")
    plan = make_plan(Repository(tmp_path), "Describe it.", model="m", provider=provider,
                     facts=ModelFacts(pricing), max_exploration=8, max_sections=4)
    last = format_plan(plan).rstrip("\n").splitlines()[-1]
    assert last.startswith("Estimated cost: ") and last.endswith(advice), last
    if provider in ("openai", "local"):
        assert "Cap it with --max-cost" not in format_plan(plan)
