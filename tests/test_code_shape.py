"""Functions that fit a screen: none over 60 lines in ``tech_writer/`` and ``telemetry/``, and more
than 8 parameters only on the public facade (``run_pipeline``, ``LLMClient.__init__``) and click
callbacks (whose parameters are the command's flags)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tech_writer", "telemetry")
MAX_LINES = 60
MAX_PARAMETERS = 8
# (path relative to the repository, function name): the facade the seed documents.
FACADE = {("tech_writer/pipeline/run.py", "run_pipeline"), ("tech_writer/llm/client.py", "__init__")}

Function = ast.FunctionDef | ast.AsyncFunctionDef


def functions(source: str) -> Iterator[Function]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def length(function: Function) -> int:
    assert function.end_lineno is not None
    return function.end_lineno - function.lineno + 1


def parameters(function: Function) -> list[str]:
    arguments = function.args
    names = [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
    names += [a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None]
    return [name for name in names if name not in ("self", "cls")]


def is_click_callback(function: Function) -> bool:
    """Decorated as a click command or group (``@click.command``, ``@click.group``, ``@x.command``)."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr in ("command", "group"):
            return True
    return False


def shape_problems(relative: str, source: str) -> list[str]:
    problems = []
    for function in functions(source):
        where = f"{relative}:{function.lineno} {function.name}"
        if length(function) > MAX_LINES:
            problems.append(f"{where}: {length(function)} lines (at most {MAX_LINES})")
        count = len(parameters(function))
        allowed = (relative, function.name) in FACADE or is_click_callback(function)
        if count > MAX_PARAMETERS and not allowed:
            problems.append(f"{where}: {count} parameters (at most {MAX_PARAMETERS})")
    return problems


def test_every_function_fits_a_screen() -> None:
    problems = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            problems += shape_problems(relative, path.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


def test_the_measure_sees_a_long_function_and_a_long_signature() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    source = (f"def long():\n{body}\n\n"
              "def wide(a, b, c, d, e, f, g, h, i):\n    pass\n\n"
              "class C:\n    def ok(self, a, b, c, d, e, f, g, h):\n        pass\n\n"
              "@click.command()\ndef callback(a, b, c, d, e, f, g, h, i):\n    pass\n")
    problems = shape_problems("tech_writer/x.py", source)
    assert [p.split(": ", 1)[1] for p in problems] == ["61 lines (at most 60)",
                                                      "9 parameters (at most 8)"]
    assert shape_problems("tech_writer/pipeline/run.py",
                          "def run_pipeline(a, b, c, d, e, f, g, h, i):\n    pass\n") == []
