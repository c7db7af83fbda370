"""--prompt: a file, a bundled prompt by name, or standard input; the prompts ship in the wheel."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from tech_writer.errors import UsageError
from tech_writer.examples import NAMES, bundled_prompt, prompt_path, read_prompt

ROOT = Path(__file__).resolve().parents[2]


class _Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_package_data_globs_match_the_bundled_prompts() -> None:
    # (tomllib is 3.11+; the project runs on 3.10) the one line of [tool.setuptools.package-data]
    line = re.search(r"^tech_writer = \[(.*)\]$", (ROOT / "pyproject.toml").read_text(
        encoding="utf-8"), re.MULTILINE)
    assert line
    globs = re.findall(r'"([^"]+)"', line[1])
    shipped = {p.name for g in globs for p in (ROOT / "tech_writer").glob(g)}
    assert {f"{name}.md" for name in NAMES} <= shipped


@pytest.mark.parametrize("name", [*NAMES, "architecture.md"])
def test_a_bundled_name_reads_the_shipped_prompt(name: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no such file here: the name means the bundled prompt
    text = read_prompt(name, _Pipe())
    assert text == (bundled_prompt(name) or Path()).read_text(encoding="utf-8")
    assert text.startswith("# ")


def test_a_file_of_that_name_wins_over_the_bundled_prompt(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("architecture").write_text("My own request.\n", encoding="utf-8")
    assert prompt_path("architecture") == Path("architecture")
    assert read_prompt("architecture", _Pipe()) == "My own request.\n"


def test_dash_reads_standard_input() -> None:
    assert read_prompt("-", _Pipe("Describe the cache.\n")) == "Describe the cache.\n"


@pytest.mark.parametrize(("spec", "stdin", "words"), [
    ("-", _Pipe(""), "standard input is empty"),
    ("-", _Terminal(""), "standard input is a terminal"),
    ("archtecture", _Pipe(), "bundled prompt: architecture, onboarding, api-reference"),
])
def test_nothing_to_read_is_one_usage_line(spec: str, stdin: io.StringIO, words: str,
                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as raised:
        read_prompt(spec, stdin)
    assert words in raised.value.message and "\n" not in raised.value.message
