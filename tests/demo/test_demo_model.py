"""The scripted models: QueueModel, and DemoModel driven through a pretend pipeline.

The pipeline itself is not imported: a small stand-in executes the model's tool calls against a
real temporary repository and answers in the documented tool-result formats (read_file:
``<path>: lines <start>-<end> of <total>`` then ``<n>\\t<text>`` lines).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tech_writer.demo as demo
from tech_writer.demo import (
    DemoModel,
    FakeOpenRouter,
    ModelTurn,
    QueueModel,
    ScriptExhausted,
    ToolCall,
)
from tech_writer.demo._conversation import FileView
from tech_writer.demo._facts import extract_facts
from tech_writer.repository.repo import Repository
from tech_writer.repository.tools import RepoTools

TOOL_NAMES = (
    "list_files",
    "read_file",
    "search_text",
    "get_symbols",
    "get_imports",
    "get_structure",
)
EXPLORATION_TOOLS = (*TOOL_NAMES, "finish_exploration")
CITATION = re.compile(r"\[([^\[\]\s]+):(\d+)-(\d+)\]")
OUTLINE_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "outline", "strict": True, "schema": {}},
}

README = """# Widget Forge

Widget Forge builds configurable widgets from YAML recipes.

## Installation

```bash
pip install widget-forge
```

## Usage

Run `forge build recipe.yaml` to produce a widget.
"""
PYPROJECT = """[project]
name = "widget-forge"
version = "1.2.0"
description = "Build configurable widgets from YAML recipes."
dependencies = [
    "pyyaml>=6",
    "click>=8",
]

[project.scripts]
forge = "forge.cli:main"
"""
CLI = '''"""Command line entry point for Widget Forge."""

from __future__ import annotations

import click

from .core import build_widget


@click.command()
@click.argument("recipe")
def main(recipe: str) -> None:
    """Build the widget described by RECIPE."""
    widget = build_widget(recipe)
    click.echo(widget.describe())


if __name__ == "__main__":
    main()
'''
CORE = '''"""Recipe loading and widget assembly."""

from __future__ import annotations

import yaml


class Widget:
    """A finished widget with its named parts."""

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts

    def describe(self) -> str:
        return ", ".join(self.parts)


def load_recipe(path: str) -> dict:
    """Read a YAML recipe from disk."""
    with open(path) as handle:
        return yaml.safe_load(handle)


def build_widget(path: str) -> Widget:
    """Assemble a widget from the recipe at PATH."""
    recipe = load_recipe(path)
    return Widget(list(recipe["parts"]))
'''
TEST_CORE = """from forge.core import Widget


def test_describe():
    assert Widget(["a"]).describe() == "a"
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    files = {
        "README.md": README,
        "pyproject.toml": PYPROJECT,
        "forge/__init__.py": "",
        "forge/cli.py": CLI,
        "forge/core.py": CORE,
        "tests/test_core.py": TEST_CORE,
        "docs/notes.md": "# Notes\n\nDesign notes.\n",
    }
    for relative, text in files.items():
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return tmp_path


class PretendTools:
    """Executes tool calls on a real directory, answering in the documented formats."""

    def __init__(self, root: Path, failing: frozenset[str] = frozenset()) -> None:
        self.root = root
        self.failing = failing  # paths whose reads answer with an error result
        self.tools = RepoTools(Repository(root))

    def files(self) -> list[str]:
        return sorted(
            p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()
        )

    def run(self, name: str, arguments: dict[str, Any]) -> str:
        """The real repository tools answer, except reads of the ``failing`` paths."""
        if name == "read_file" and arguments.get("path") in self.failing:
            return f"Error: cannot read {arguments['path']}: no such file"
        return self.tools.execute(name, arguments).text

    def read(self, path: str, start: int = 1, end: int | None = None) -> str:
        target = self.root / path
        if path in self.failing or not target.is_file():
            return f"Error: cannot read {path}: no such file"
        lines = target.read_text().splitlines()
        end = min(end or len(lines), len(lines))
        body = [f"{n}\t{lines[n - 1]}" for n in range(start, end + 1)]
        return "\n".join([f"{path}: lines {start}-{end} of {len(lines)}", *body])


def tool_schemas(names: tuple[str, ...]) -> list[dict[str, Any]]:
    schemas = []
    for name in names:
        parameter = "understanding" if name == "finish_exploration" else "path"
        parameters = {"type": "object", "properties": {parameter: {"type": "string"}}}
        schemas.append({"type": "function", "function": {"name": name, "parameters": parameters}})
    return schemas


def assistant_message(turn: ModelTurn, step: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": turn.content}
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{step}_{i}",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json()},
            }
            for i, call in enumerate(turn.tool_calls)
        ]
    return message


def run_loop(
    model: DemoModel,
    tools: PretendTools,
    messages: list[dict[str, Any]],
    offered: tuple[str, ...],
    limit: int = 20,
) -> tuple[ModelTurn, list[dict[str, Any]]]:
    """Answer tool calls until the model finishes (a text answer or finish_exploration)."""
    for step in range(limit):
        turn = model.respond(
            {"model": "demo/scripted", "messages": messages, "tools": tool_schemas(offered)}
        )
        messages.append(assistant_message(turn, step))
        if not turn.tool_calls or any(
            call.name == "finish_exploration" for call in turn.tool_calls
        ):
            return turn, messages
        for index, call in enumerate(turn.tool_calls):
            result = tools.run(call.name, json.loads(call.arguments_json()))
            messages.append(
                {"role": "tool", "tool_call_id": f"call_{step}_{index}", "content": result}
            )
    raise AssertionError("the model did not finish within the step limit")


def called(messages: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (c["function"]["name"], json.loads(c["function"]["arguments"]))
        for m in messages
        for c in m.get("tool_calls") or []
    ]


def explore(
    repo: Path, model: DemoModel | None = None, **kwargs: Any
) -> tuple[str, list[dict[str, Any]]]:
    messages = [
        {"role": "system", "content": "Explore."},
        {"role": "user", "content": "Write an overview."},
    ]
    turn, messages = run_loop(
        model or DemoModel(), PretendTools(repo, **kwargs), messages, EXPLORATION_TOOLS
    )
    (finish,) = turn.tool_calls
    return json.loads(finish.arguments_json())["understanding"], messages


def seen_lines(messages: list[dict[str, Any]]) -> dict[str, set[int]]:
    seen: dict[str, set[int]] = {}
    for message in messages:
        if message.get("role") != "tool":
            continue
        header, *rest = message["content"].split("\n")
        match = re.match(r"^(.+): lines \d+-\d+ of \d+$", header)
        if match:
            seen.setdefault(match[1], set()).update(int(line.split("\t", 1)[0]) for line in rest)
    return seen


# --- QueueModel -------------------------------------------------------------------------------
def test_queue_model_replays_in_order_then_refuses() -> None:
    model = QueueModel(
        [ModelTurn(content="one"), lambda request: ModelTurn(content=request["model"])]
    )
    model.add(ModelTurn(tool_calls=[ToolCall("x", {})]))
    assert model.respond({"model": "a"}).content == "one"
    assert model.respond({"model": "echo"}).content == "echo"
    assert model.respond({"model": "b"}).effective_finish_reason() == "tool_calls"
    with pytest.raises(ScriptExhausted, match="no turn left for request #4"):
        model.respond({"model": "c"})
    assert model.remaining == 0 and len(model.requests) == 4


def test_model_turn_finish_reason_and_billed_text() -> None:
    turn = ModelTurn(content="ab", tool_calls=[ToolCall("f", {"x": 1}), ToolCall("g", "raw")])
    assert turn.effective_finish_reason() == "tool_calls"
    assert turn.billed_text() == 'abf{"x": 1}graw'
    assert ModelTurn(content="cut", finish_reason="length").effective_finish_reason() == "length"


def test_package_exports_are_pinned() -> None:
    assert set(demo.__all__) == {
        "CITATION_MODES",
        "DEFAULT_PRICING",
        "OUTLINE_MODES",
        "BilledCall",
        "DemoModel",
        "FakeOpenRouter",
        "FakeOptions",
        "Fault",
        "FaultPlan",
        "ModelPrice",
        "ModelProfile",
        "ModelTurn",
        "Pricing",
        "QueueModel",
        "RecordedRequest",
        "ScriptExhausted",
        "ScriptedModel",
        "ToolCall",
        "default_error_body",
    }
    assert isinstance(DemoModel(), demo.ScriptedModel) and isinstance(
        QueueModel(), demo.ScriptedModel
    )


# --- exploration ------------------------------------------------------------------------------
def test_exploration_follows_the_plan_and_summarises(repo: Path) -> None:
    understanding, messages = explore(repo)
    calls = called(messages)
    names = [name for name, _ in calls]
    assert names[0] == "list_files" and names[-1] == "finish_exploration"
    # entry points are searched for, imports counted, the top files' symbols listed
    assert {"search_text", "get_imports", "get_symbols"} <= set(names)
    reads = [args["path"] for name, args in calls if name == "read_file"]
    assert {"README.md", "pyproject.toml", "forge/cli.py", "forge/core.py"} <= set(reads)
    assert "tests/test_core.py" not in reads and len(reads) == len(set(reads))
    listed = set(PretendTools(repo).files())
    assert all(
        args["path"] in listed for name, args in calls if "path" in args and args["path"] != "."
    )

    assert understanding.splitlines()[0] == "Project: Widget Forge"
    assert "Widget Forge builds configurable widgets from YAML recipes." in understanding
    key_lines = [line for line in understanding.splitlines() if line.startswith("- ")]
    assert key_lines[0].startswith("- README.md (") and "[overview]" in key_lines[0]
    cli_line = next(line for line in key_lines if line.startswith("- forge/cli.py"))
    assert "entry" in cli_line and "console script `forge`" in cli_line
    core_line = next(line for line in key_lines if line.startswith("- forge/core.py"))
    assert "imported by 1 file(s): forge/cli.py:" in core_line
    (files_line,) = [line for line in understanding.splitlines() if line.startswith("Files read:")]
    counts = {path: len((repo / path).read_text().splitlines()) for path in reads}
    assert set(re.findall(r"(\S+) \(\d+ lines\)", files_line)) == set(reads)
    assert all(f"{path} ({counts[path]} lines)" in files_line for path in reads)
    assert understanding.splitlines()[-1] == files_line


def streamed_tool_calls(
    client: openai.OpenAI, messages: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One streamed completion, its tool-call deltas reassembled into wire-format tool calls."""
    stream = client.chat.completions.create(
        model="demo/scripted",
        messages=messages,
        tools=tool_schemas(EXPLORATION_TOOLS),
        stream=True,
    )
    calls: dict[int, dict[str, Any]] = {}
    for chunk in stream:
        deltas = (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []
        for delta in deltas:
            call = calls.setdefault(
                delta.index,
                {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
            )
            call["id"] = delta.id or call["id"]
            if delta.function is not None:
                call["function"]["name"] = delta.function.name or call["function"]["name"]
                call["function"]["arguments"] += delta.function.arguments or ""
    return [calls[index] for index in sorted(calls)]


def test_exploration_through_the_server_with_the_real_sdk(repo: Path) -> None:
    tools = PretendTools(repo)
    messages: list[dict[str, Any]] = [{"role": "user", "content": "An architecture overview."}]
    with FakeOpenRouter() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="demo", max_retries=0)
        turns = 0
        finished = False
        while not finished and turns < 15:
            calls = streamed_tool_calls(client, messages)
            turns += 1
            messages.append({"role": "assistant", "content": None, "tool_calls": calls})
            finished = any(c["function"]["name"] == "finish_exploration" for c in calls)
            for call in [] if finished else calls:
                arguments = json.loads(call["function"]["arguments"])
                result = tools.run(call["function"]["name"], arguments)
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
        ledger = server.ledger
    assert finished and len(ledger) == turns
    assert all(c.streamed and c.model == "demo/scripted" and c.cost_usd > 0 for c in ledger)
    final_arguments = json.loads(messages[-1]["tool_calls"][0]["function"]["arguments"])
    assert "Files read: README.md (" in final_arguments["understanding"]


def test_exploration_uses_only_offered_tools(repo: Path) -> None:
    offered = ("list_files", "read_file", "finish_exploration")
    messages = [{"role": "user", "content": "Overview please."}]
    _, messages = run_loop(DemoModel(max_files=2), PretendTools(repo), messages, offered)
    names = [name for name, _ in called(messages)]
    assert set(names) <= set(offered)
    assert names[0] == "list_files" and names[-1] == "finish_exploration"
    reads = [args["path"] for name, args in called(messages) if name == "read_file"]
    assert reads[:2] == ["README.md", "pyproject.toml"] and len(reads) == 4  # + 2 source files


def test_exploration_moves_on_after_an_error_result(repo: Path) -> None:
    understanding, messages = explore(repo, failing=frozenset({"pyproject.toml"}))
    reads = [args["path"] for name, args in called(messages) if name == "read_file"]
    assert reads.count("pyproject.toml") == 1
    assert "pyproject.toml" not in understanding.splitlines()[-1]
    assert len([r for r in reads if r != "pyproject.toml"]) >= 4


def test_exploration_parallel_reads_in_one_turn(repo: Path) -> None:
    _, messages = explore(repo, DemoModel(parallel_tool_calls=True))
    turns = [m for m in messages if m.get("tool_calls")]
    assert len(turns) <= 4  # survey, imports, close reading, finish
    assert any([c["function"]["name"] for c in turn["tool_calls"]].count("read_file") >= 2
               for turn in turns)


def test_exploration_honours_tool_choice(repo: Path) -> None:
    model = DemoModel()
    base = {
        "model": "m",
        "messages": [{"role": "user", "content": "Go."}],
        "tools": tool_schemas(EXPLORATION_TOOLS),
    }
    forced = model.respond(
        {**base, "tool_choice": {"type": "function", "function": {"name": "finish_exploration"}}}
    )
    assert [call.name for call in forced.tool_calls] == ["finish_exploration"]
    assert "Files read: none" in json.loads(forced.tool_calls[0].arguments_json())["understanding"]
    silent = model.respond({**base, "tool_choice": "none"})
    assert silent.tool_calls == [] and silent.content and silent.content.startswith("Project: ")


def test_demo_model_is_deterministic(repo: Path) -> None:
    first, _ = explore(repo)
    second, _ = explore(repo)
    assert first == second


# --- outline ----------------------------------------------------------------------------------
def outline_request(
    prompt: str, understanding: str, extra: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    messages = [
        {"role": "user", "content": prompt},
        {"role": "user", "content": understanding},
        *(extra or []),
    ]
    return {"model": "demo/scripted", "messages": messages, "response_format": OUTLINE_FORMAT}


def test_outline_is_valid_json_built_from_the_files_read(repo: Path) -> None:
    understanding, _ = explore(repo)
    files_read = re.findall(r"(\S+) \(\d+ lines\)", understanding.splitlines()[-1])
    onboarding = json.loads(
        DemoModel().respond(outline_request("An onboarding guide.", understanding)).content
    )
    architecture = json.loads(
        DemoModel().respond(outline_request("An architecture overview.", understanding)).content
    )
    for outline in (onboarding, architecture):
        assert set(outline) == {"title", "sections"} and "Widget Forge" in outline["title"]
        assert 3 <= len(outline["sections"]) <= 5
        for section in outline["sections"]:
            assert set(section) == {"title", "focus", "relevant_files"}
            assert section["relevant_files"] and set(section["relevant_files"]) <= set(files_read)
    assert [s["title"] for s in onboarding["sections"]] != [
        s["title"] for s in architecture["sections"]
    ]


def test_outline_invalid_once_then_valid_after_feedback(repo: Path) -> None:
    understanding, _ = explore(repo)
    model = DemoModel(outline_mode="invalid_once")
    first = model.respond(outline_request("Overview.", understanding)).content
    with pytest.raises(json.JSONDecodeError):
        json.loads(first)
    retry = [
        {"role": "assistant", "content": first},
        {"role": "user", "content": "That was not valid JSON."},
    ]
    assert json.loads(model.respond(outline_request("Overview.", understanding, retry)).content)[
        "sections"
    ]
    stubborn = DemoModel(outline_mode="always_invalid")
    with pytest.raises(json.JSONDecodeError):
        json.loads(stubborn.respond(outline_request("Overview.", understanding, retry)).content)


def test_demo_model_rejects_unknown_modes() -> None:
    with pytest.raises(ValueError):
        DemoModel(outline_mode="sometimes")
    with pytest.raises(ValueError):
        DemoModel(citation_mode="creative")


# --- sections ---------------------------------------------------------------------------------
def section_messages(title: str, focus: str, files: list[str]) -> list[dict[str, Any]]:
    text = f"Section title: {title}\nFocus: {focus}\nRelevant files: {', '.join(files)}"
    return [{"role": "system", "content": "Write one section."}, {"role": "user", "content": text}]


def write_section(
    repo: Path, model: DemoModel, files: list[str]
) -> tuple[str, list[dict[str, Any]]]:
    messages = section_messages("Key workflows", "How a build runs from the command line.", files)
    turn, messages = run_loop(model, PretendTools(repo), messages, TOOL_NAMES)
    assert turn.content is not None
    return turn.content, messages


def assert_citations_inside_seen_lines(
    markdown: str, messages: list[dict[str, Any]], repo: Path
) -> int:
    seen = seen_lines(messages)
    citations = CITATION.findall(markdown)
    for path, start, end in citations:
        lines = range(int(start), int(end) + 1)
        assert all(n in seen[path] for n in lines), (path, start, end)
        assert int(end) <= len((repo / path).read_text().splitlines())
    return len(citations)


def test_section_reads_relevant_files_then_writes_cited_markdown(repo: Path) -> None:
    markdown, messages = write_section(repo, DemoModel(), ["forge/cli.py", "forge/core.py"])
    calls = called(messages)
    assert calls[:2] == [
        ("read_file", {"path": "forge/cli.py", "start_line": 1, "end_line": 400}),
        ("read_file", {"path": "forge/core.py", "start_line": 1, "end_line": 400}),
    ]
    # The opening sentence cites each source's lines read (2), each bullet its own (2 to 4).
    assert 4 <= assert_citations_inside_seen_lines(markdown, messages, repo) <= 6
    bullets = [line for line in markdown.splitlines() if line.startswith("- ")]
    assert 2 <= len(bullets) <= 4 and all(CITATION.search(line) for line in bullets)
    assert "`main(recipe: str)`" in markdown or "`build_widget(path: str)`" in markdown
    assert "forge/cli.py" in markdown and "forge/core.py" in markdown
    assert not markdown.lstrip().startswith("#")


def test_section_fix_after_feedback(repo: Path) -> None:
    model = DemoModel(citation_mode="fix_after_feedback")
    markdown, messages = write_section(repo, model, ["forge/core.py"])
    total = len(CORE.splitlines())
    past_end = [c for c in CITATION.findall(markdown) if int(c[1]) > total]
    assert len(past_end) == 1
    messages.append(
        {
            "role": "user",
            "content": f"Some citations are invalid:\n- {past_end[0][0]}: file has {total} lines",
        }
    )
    fixed = model.respond({"model": "m", "messages": messages, "tools": tool_schemas(TOOL_NAMES)})
    assert fixed.content and not fixed.tool_calls
    assert assert_citations_inside_seen_lines(fixed.content, messages, repo) >= 2


def test_section_keep_invalid_never_fixes(repo: Path) -> None:
    model = DemoModel(citation_mode="keep_invalid")
    _, messages = write_section(repo, model, ["forge/core.py"])
    messages.append({"role": "user", "content": "Some citations are invalid:\n- fix them"})
    again = model.respond({"model": "m", "messages": messages, "tools": tool_schemas(TOOL_NAMES)})
    total = len(CORE.splitlines())
    assert any(int(start) > total for _, start, _ in CITATION.findall(again.content or ""))


def test_section_with_unreadable_files_makes_no_claims(repo: Path) -> None:
    markdown, _ = write_section(repo, DemoModel(), ["missing.py"])
    assert "could not be read" in markdown and not CITATION.search(markdown)


def test_manifest_and_readme_sections_cite_their_lines(repo: Path) -> None:
    messages = section_messages(
        "Setting up", "How to install and run it.", ["pyproject.toml", "README.md"]
    )
    turn, messages = run_loop(
        DemoModel(parallel_tool_calls=True), PretendTools(repo), messages, TOOL_NAMES
    )
    assert len([m for m in messages if m.get("tool_calls")]) == 1  # both reads in one turn
    assert assert_citations_inside_seen_lines(turn.content or "", messages, repo) >= 2
    assert "`widget-forge`" in (turn.content or "") or "`forge`" in (turn.content or "")


def test_plain_requests_get_a_short_answer() -> None:
    turn = DemoModel().respond({"model": "m", "messages": [{"role": "user", "content": "Hello?"}]})
    assert turn.tool_calls == [] and turn.content and 'You asked: "Hello?"' in turn.content


# --- facts stay inside what was seen ----------------------------------------------------------
SOURCE_LINE = st.sampled_from(
    [
        "def run(x):",
        "    return x",
        "class Thing(Base):",
        '    """Doc line."""',
        "    def method(self):",
        "        pass",
        "",
        "import os",
        "from . import core",
        "# comment",
        "}",
        "{",
        "function f(a) {",
        "export class C {",
        "## Heading",
        "Some prose.",
        "```",
        "__all__ = ['run']",
        'name = "pkg"',
        'if __name__ == "__main__":',
        "    run(1)",
        "func main() {",
        "pub fn go() {",
        "[project]",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(SOURCE_LINE, min_size=1, max_size=40),
    suffix=st.sampled_from([".py", ".ts", ".go", ".rs", ".md", ".toml", ".txt"]),
    first_seen=st.integers(min_value=1, max_value=10),
)
def test_facts_cite_only_seen_runs(lines: list[str], suffix: str, first_seen: int) -> None:
    total = len(lines) + first_seen - 1
    view = FileView(
        f"pkg/file{suffix}", total, {first_seen + i: text for i, text in enumerate(lines)}
    )
    for fact in extract_facts(view):
        assert first_seen <= fact.start <= fact.end <= total
        assert all(n in view.lines for n in range(fact.start, fact.end + 1))
        assert not CITATION.search(fact.sentence)


# --- the lead's message shapes ----------------------------------------------------------------
def test_report_kind_comes_from_the_request_not_the_notes(repo: Path) -> None:
    understanding, _ = explore(repo)
    notes = f"{understanding}\nThe README mentions an architecture overview and an API reference."
    text = (
        "Report request:\n\nAn onboarding guide.\n\n"
        f"Exploration notes:\n\n{notes}\n\nPlan at most 3 sections."
    )
    request = {
        "model": "m",
        "messages": [{"role": "user", "content": text}],
        "response_format": OUTLINE_FORMAT,
    }
    outline = json.loads(DemoModel().respond(request).content or "")
    assert outline["title"] == "Onboarding guide: Widget Forge"
    assert len(outline["sections"]) == 3
    assert "forge/__init__.py" not in {f for s in outline["sections"] for f in s["relevant_files"]}


def test_section_without_listed_files_uses_the_files_read(repo: Path) -> None:
    understanding, _ = explore(repo)
    text = (
        f"Exploration notes:\n\n{understanding}\n\nWrite this section:\nSection title: Overview\n"
        "Focus: What the project is.\nRelevant files: (none listed; find them)"
    )
    turn, messages = run_loop(
        DemoModel(), PretendTools(repo), [{"role": "user", "content": text}], TOOL_NAMES
    )
    reads = [args["path"] for name, args in called(messages) if name == "read_file"]
    assert reads == ["README.md", "pyproject.toml"]
    assert assert_citations_inside_seen_lines(turn.content or "", messages, repo) >= 2


def test_section_themes_pick_different_facts_from_the_same_files(repo: Path) -> None:
    files = ["pyproject.toml", "forge/cli.py", "forge/core.py"]
    texts = {}
    for title, focus in [
        ("Dependencies and configuration", "What it depends on and how it is packaged."),
        ("Core components", "The central classes and functions."),
    ]:
        messages = section_messages(title, focus, files)
        turn, _ = run_loop(DemoModel(), PretendTools(repo), messages, TOOL_NAMES)
        texts[title] = turn.content or ""
    assert "runtime dependencies" in texts["Dependencies and configuration"]
    assert "`class Widget`" in texts["Core components"]
    assert CITATION.findall(texts["Core components"]) != CITATION.findall(
        texts["Dependencies and configuration"]
    )


def test_section_through_the_server_without_streaming(repo: Path) -> None:
    tools = PretendTools(repo)
    messages = section_messages("Key workflows", "How a build runs.", ["forge/cli.py"])
    with FakeOpenRouter() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="demo", max_retries=0)
        for _ in range(5):
            reply = client.chat.completions.create(
                model="demo/scripted", messages=messages, tools=tool_schemas(TOOL_NAMES)
            )
            message = reply.choices[0].message
            messages.append(message.model_dump(exclude_none=True))
            if not message.tool_calls:
                break
            for call in message.tool_calls:
                result = tools.run(call.function.name, json.loads(call.function.arguments))
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        ledger = server.ledger
    reasons = [c.finish_reason for c in ledger]  # reads, a search for callers, the text
    assert reasons[0] == "tool_calls" and reasons[-1] == "stop" and len(reasons) <= 3
    assert not any(c.streamed for c in ledger)
    assert assert_citations_inside_seen_lines(message.content or "", messages, repo) >= 2
