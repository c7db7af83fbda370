"""Issue 26, finding 3: compare gives every model's reports their own file."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tech_writer.pipeline.report_names import MAX_STEM, report_stems

SAFE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def test_models_that_slug_alike_get_different_files() -> None:
    models = ["demo/a/b", "demo/a_b", "demo/a b", "DEMO/A_B"]
    stems = report_stems(models)
    assert len({stem.lower() for stem in stems.values()}) == 4
    assert all(SAFE.fullmatch(stem) for stem in stems.values())


def test_a_plain_model_keeps_a_readable_name() -> None:
    assert report_stems(["openai/gpt-5.1", "demo/careful"]) == {
        "openai/gpt-5.1": "openai_gpt-5.1", "demo/careful": "demo_careful"}


def test_a_5000_character_model_gets_a_short_name() -> None:
    long_a, long_b = "demo/" + "a" * 5_000, "demo/" + "a" * 4_999 + "b"
    stems = report_stems([long_a, long_b])
    assert all(len(stem) <= MAX_STEM for stem in stems.values())
    assert stems[long_a] != stems[long_b]


def test_dots_cannot_climb_or_hide() -> None:
    stems = report_stems(["../../etc/passwd", "..", ".hidden"])
    assert all(not stem.startswith(".") for stem in stems.values())
    assert all("/" not in stem for stem in stems.values())


@settings(max_examples=200, derandomize=True, database=None)
@given(st.lists(st.text(min_size=1, max_size=300), min_size=1, max_size=8, unique=True))
def test_any_models_get_distinct_safe_short_names(models: list[str]) -> None:
    stems = report_stems(models)
    assert set(stems) == set(models)
    assert len({stem.lower() for stem in stems.values()}) == len(models)
    assert all(SAFE.fullmatch(stem) and len(stem) <= MAX_STEM for stem in stems.values())
