"""A section's own headings stay below the report's: ``##`` inside a section becomes ``###``."""

from __future__ import annotations

from tech_writer.pipeline.sections import clean_section_text
from tech_writer.report.headings import demote_headings, heading_levels


def test_heading_levels_skip_fenced_code() -> None:
    lines = ["# Title", "text", "```python", "# a comment", "```", "  ### Deep", "#hashtag"]
    assert heading_levels(lines) == [1, 0, 0, 0, 0, 3, 0]


def test_a_section_adds_no_section_of_its_own() -> None:
    # Qwen2.5-Coder-1.5B ended a "Design Decisions" section with "## Main Components": the
    # report then had two sections of that name and an empty one.
    text = ("## Design Decisions\n\nIntro.\n\n## Main Components\n\n### Encoding\n\n"
            "```sh\n# run it\n```\n\n# Risks\n")
    assert clean_section_text(text) == ("Intro.\n\n### Main Components\n\n### Encoding\n\n"
                                        "```sh\n# run it\n```\n\n### Risks")
    assert demote_headings("#### Deeper stays") == "#### Deeper stays"
