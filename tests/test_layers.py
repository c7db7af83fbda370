"""The layout is the architecture: each layer imports only the layers below it.

Every import statement of the shipped code is read (module level, function level and
``TYPE_CHECKING`` blocks alike: a lazy import is still a dependency), so a new upward import fails
here before it reaches a review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# What each part of the code may import from the project (besides itself and the stdlib/third parties).
FOUNDATION = {"tech_writer.errors", "tech_writer.secrets"}
ALLOWED: dict[str, set[str]] = {
    "telemetry": set(),
    # The demo model judges files by the repository tools' answers, with the product's ranking;
    # it never reads the disk itself (no Repository, no tools).
    "tech_writer.demo": {"tech_writer.repository.ranking", "tech_writer.repository.filekinds",
                         "tech_writer.repository.toolresults"},
    "tech_writer.errors": set(),
    "tech_writer.secrets": set(),
    "tech_writer.repository": FOUNDATION,
    # The prompts shipped in the wheel; read with the one reader of the user's text files.
    "tech_writer.examples": FOUNDATION | {"tech_writer.repository.files"},
    "tech_writer.llm": FOUNDATION | {"tech_writer.demo", "telemetry"},
    "tech_writer.report": FOUNDATION | {"tech_writer.repository"},
    "tech_writer.pipeline": FOUNDATION | {"tech_writer.llm", "tech_writer.repository",
                                          "tech_writer.report", "telemetry"},
    "tech_writer.logsetup": {"tech_writer.secrets"},
    "tech_writer.cli": {"tech_writer", "telemetry"},  # the top: anything
    "tech_writer.commands": {"tech_writer", "telemetry"},  # eval and compare: the top too
    "tech_writer.__main__": {"tech_writer.cli"},
    "tech_writer": {"tech_writer.llm", "tech_writer.pipeline"},  # the package root's lazy re-exports
    "bench": {"tech_writer", "telemetry"},
}
PROJECT_PACKAGES = ("tech_writer", "telemetry", "bench")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    """The most specific entry of ALLOWED that contains ``module``."""
    candidates = [name for name in ALLOWED if module == name or module.startswith(name + ".")]
    return max(candidates, key=len)


def import_statements(tree: ast.AST, path: Path, module: str
                      ) -> list[tuple[str, list[str]]]:
    """Every import of ``tree`` as (the module named, the names taken from it): ``import a.b``
    is ``("a.b", [])``; a relative ``from`` is resolved against ``module``'s package."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    statements: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            statements += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            statements.append((target, [alias.name for alias in node.names]))
    return statements


def imported_modules(path: Path, module: str) -> set[str]:
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for target, names in import_statements(tree, path, module):
        found.add(target)
        # `from tech_writer import cli` names a module too
        found.update(f"{target}.{name}" for name in names)
    return {name for name in found if name.split(".")[0] in PROJECT_PACKAGES}


def is_allowed(source_layer: str, target: str) -> bool:
    if target == source_layer or target.startswith(source_layer + "."):
        return True
    allowed = ALLOWED[source_layer]
    if source_layer != "tech_writer" and target == "tech_writer":
        return True  # `from tech_writer import __version__`: the root re-exports only
    return any(target == name or target.startswith(name + ".") for name in allowed)


def project_modules() -> list[tuple[Path, str]]:
    files = [p for package in PROJECT_PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    return [(path, module_name(path)) for path in files]


@pytest.mark.parametrize(("path", "module"), project_modules(), ids=lambda value: str(value))
def test_each_module_imports_only_the_layers_below_it(path: Path, module: str) -> None:
    layer = layer_of(module)
    upward = sorted(target for target in imported_modules(path, module)
                    if not is_allowed(layer, target) and _real_module(target))
    assert not upward, f"{module} ({layer}) imports {upward}"


def _real_module(name: str) -> bool:
    """``from tech_writer.llm import LLMClient`` lists ``tech_writer.llm.LLMClient``: keep modules only."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ROOT.joinpath(*parts[:end])
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            return end == len(parts)
    return False


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    # The test above must be able to fail: a repository module importing the pipeline is caught.
    module = "tech_writer.repository.repo"
    source = ROOT / "tech_writer" / "repository" / "repo.py"
    bad = tmp_path / "repo.py"
    bad.write_text(source.read_text(encoding="utf-8")
                   + "\nfrom tech_writer.pipeline.run import run_pipeline\n", encoding="utf-8")
    targets = {t for t in imported_modules(bad, module) if _real_module(t)}
    assert "tech_writer.pipeline.run" in targets
    assert not is_allowed(layer_of(module), "tech_writer.pipeline.run")
    assert is_allowed(layer_of(module), "tech_writer.repository.paths")
    assert not is_allowed("telemetry", "tech_writer.errors")
    assert is_allowed("tech_writer.demo", "tech_writer.repository.ranking")
    assert not is_allowed("tech_writer.demo", "tech_writer.repository.repo")
    assert not is_allowed("tech_writer.demo", "tech_writer.repository.tools")


def test_every_layer_is_a_folder_with_its_map() -> None:
    for package in ("llm", "repository", "pipeline", "report", "demo"):
        init = ROOT / "tech_writer" / package / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and "Imports:" in doc, package
    flat = sorted(p.stem for p in (ROOT / "tech_writer").glob("*.py"))
    assert flat == ["__init__", "__main__", "cli", "errors", "logsetup", "secrets"]


def test_the_public_api_is_importable_where_it_was() -> None:
    import tech_writer
    import tech_writer.llm
    from tech_writer.llm.client import LLMClient, UsageStats
    from tech_writer.pipeline.run import run_pipeline

    assert tech_writer.run_pipeline is run_pipeline
    assert tech_writer.LLMClient is tech_writer.llm.LLMClient is LLMClient
    assert tech_writer.UsageStats is tech_writer.llm.UsageStats is UsageStats
    assert callable(LLMClient.get_cost_summary)


# --- no import circle ---------------------------------------------------------------------------
def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def runtime_imports(path: Path, module: str) -> set[str]:
    """The project modules ``module`` imports when it runs: module level and inside functions
    alike (a lazy import that dodges a circle is still one), ``TYPE_CHECKING`` blocks aside."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            node.body = [ast.Pass()]
    found: set[str] = set()
    for target, names in import_statements(tree, path, module):
        # `from . import _wire` imports the submodule; `from .x import f` imports x.
        submodules = {f"{target}.{name}" for name in names if _real_module(f"{target}.{name}")}
        found.update(submodules)
        if not names or len(submodules) < len(names):
            found.add(target)
    return {name for name in found
            if name.split(".")[0] in PROJECT_PACKAGES and _real_module(name)}


def import_graph(package: str = "tech_writer") -> dict[str, set[str]]:
    """Each module of ``package`` and the modules of ``package`` it imports (itself aside)."""
    graph: dict[str, set[str]] = {}
    for path, module in project_modules():
        if module == package or module.startswith(package + "."):
            graph[module] = {target for target in runtime_imports(path, module)
                             if target != module
                             and (target == package or target.startswith(package + "."))}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (its modules in order, the first repeated at the end), or
    None. Depth-first, colouring modules being visited."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> list[str] | None:
        if module in visiting:
            return [*visiting[visiting.index(module):], module]
        if module in done:
            return None
        visiting.append(module)
        for target in sorted(graph.get(module, ())):
            cycle = visit(target)
            if cycle is not None:
                return cycle
        visiting.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module)
        if cycle is not None:
            return cycle
    return None


def test_no_import_circle_among_tech_writer_modules() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " → ".join(cycle or [])


def test_the_circle_finder_finds_a_circle_and_ignores_type_checking(tmp_path: Path) -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
    lazy = tmp_path / "lazy.py"
    lazy.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                    "    from tech_writer.cli import cli\n"
                    "def f():\n    from tech_writer.pipeline.run import run_pipeline\n",
                    encoding="utf-8")
    assert runtime_imports(lazy, "tech_writer.lazy") == {"tech_writer.pipeline.run"}


def test_a_lazy_import_back_into_the_cli_would_be_a_circle() -> None:
    graph = import_graph()
    assert "tech_writer.commands.common" in graph["tech_writer.cli"]
    graph["tech_writer.commands.common"] = graph["tech_writer.commands.common"] | {"tech_writer.cli"}
    cycle = find_cycle(graph)
    assert cycle is not None and "tech_writer.cli" in cycle
