"""The outline made without the model: the prompt's aspects, the files read shared by topic."""

from __future__ import annotations

from pathlib import Path

from tech_writer.pipeline.aspects import dropped_aspects, prompt_aspects
from tech_writer.pipeline.fallback_outline import fallback_outline

ROOT = Path(__file__).resolve().parents[2]
ONBOARDING = (ROOT / "tech_writer" / "examples" / "onboarding.md").read_text(encoding="utf-8")
NOTES = """Project: forge
Key files (most important first):
- README.md (40 lines) [overview] how to install with pip install forge and run forge build
- pyproject.toml (30 lines) [packaging] dependencies click and rich; console script forge
- src/forge/cli.py (120 lines) [entry] the command line: main() parses flags and starts a build
- src/forge/model.py (200 lines) [types] class Recipe and class Step: the core concepts
- tests/test_build.py (80 lines) [test] pytest tests of the build; conventions for testing
Files read: README.md (40 lines), pyproject.toml (30 lines), src/forge/cli.py (120 lines)
"""
READ = ["README.md", "pyproject.toml", "src/forge/cli.py", "src/forge/model.py",
        "tests/test_build.py"]


def test_the_sections_are_the_prompts_bullets() -> None:
    outline = fallback_outline(ONBOARDING, NOTES, READ, max_sections=10)
    assert outline.title == "Onboarding guide"
    assert [s.title for s in outline.sections] == [title for title, _ in prompt_aspects(ONBOARDING)]
    assert [s.title for s in outline.sections][:2] == ["How to install", "The layout of the repository"]


def test_every_file_read_is_placed_once_and_by_topic() -> None:
    outline = fallback_outline(ONBOARDING, NOTES, READ, max_sections=10)
    placed = [path for section in outline.sections for path in section.relevant_files]
    assert sorted(placed) == sorted(READ)
    by_title = {s.title: s.relevant_files for s in outline.sections}
    assert "README.md" in by_title["How to install"]
    assert "src/forge/model.py" in by_title["The core concepts and vocabulary a newcomer must know"]
    assert "tests/test_build.py" in by_title["Conventions the code follows"]


def test_headings_serve_when_there_are_no_bullets_and_max_sections_caps() -> None:
    prompt = "# Design notes\n\n## Storage\n\nHow data is kept.\n\n## Command line\n\n## Errors\n"
    outline = fallback_outline(prompt, NOTES, READ, max_sections=2)
    assert [s.title for s in outline.sections] == ["Storage", "Command line"]
    assert all(s.relevant_files for s in outline.sections)  # no section left without a file


def test_a_prompt_with_no_aspects_is_one_section() -> None:
    outline = fallback_outline("Explain this repository.", "", ["a.py"], max_sections=6)
    assert outline.title == "Report"
    assert [(s.title, s.relevant_files) for s in outline.sections] == [("Overview", ("a.py",))]


def test_max_sections_below_the_aspects_says_what_it_drops() -> None:
    message = dropped_aspects(ONBOARDING, 1)
    assert message and message.startswith("the prompt asks for 6 aspects and the report has room "
                                           "for 1 section (--max-sections): it covers the first "
                                           "and drops: ")
    assert "The layout of the repository" in message and "How to install" not in message
    assert dropped_aspects(ONBOARDING, 6) is None


def test_a_one_line_prompt_with_a_list_names_its_aspects() -> None:
    prompt = ("Write an architecture overview of this repository: components, data flow, "
              "storage. Cite the code.\n")
    assert [title for title, _ in prompt_aspects(prompt)] == ["Components", "Data flow", "Storage"]
    assert prompt_aspects("Explain it: the whole thing as it is used in practice every day.") == []
