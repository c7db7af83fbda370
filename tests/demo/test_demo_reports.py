"""The demo's report reads like a careful reader's, on real repositories of different kinds.

Properties, not text: the title names the repository (from its root README or its own name,
never a nested file), the files that matter are cited, no bullet appears twice, each section
draws on its own files, and every citation checks out on disk. Three repositories: this one,
click 8.5.1's released source (a Python package without README or manifest) and a small generated
JavaScript project.
"""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

import pytest

from tech_writer.demo import DemoModel, FakeOpenRouter
from tech_writer.llm.client import LLMClient
from tech_writer.pipeline.run import run_pipeline
from tech_writer.report.citations import verify_citations
from tech_writer.repository.repo import Repository

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = (ROOT / "tech_writer" / "examples" / "architecture.md").read_text()
ONBOARDING = (ROOT / "tech_writer" / "examples" / "onboarding.md").read_text()
KEY = "sk-or-demo-reports"
CITATION = re.compile(r"\[([^\]\s:]+):(\d+)(?:-(\d+))?\]")

JS_FILES = {
    "README.md": "# Parcel Router\n\nRoutes parcels between depots, cheapest path first.\n\n"
                 "## Usage\n\n```\nnpx parcel-router plan depots.json\n```\n",
    "package.json": json.dumps({
        "name": "parcel-router", "description": "Routes parcels between depots.",
        "main": "src/index.js", "bin": {"parcel-router": "bin/cli.js"},
        "dependencies": {"commander": "^12.0.0"}}, indent=2) + "\n",
    "bin/cli.js": "#!/usr/bin/env node\nconst { plan } = require('../src/index');\n\n"
                  "/** Parse the command line and print the plan. */\nfunction main(argv) {\n"
                  "  console.log(plan(argv[2]));\n}\n\nmain(process.argv);\n",
    "src/index.js": "const { Router } = require('./router');\nconst { loadDepots } = "
                    "require('./depot');\n\n/** Plan the routes for the depots in a file. */\n"
                    "function plan(path) {\n  return new Router(loadDepots(path)).plan();\n}\n\n"
                    "module.exports = { plan };\n",
    "src/router.js": "const { Depot } = require('./depot');\nconst { cheapest } = "
                     "require('./util');\n\n/** Finds the cheapest path between depots. */\n"
                     "class Router {\n  constructor(depots) {\n    this.depots = depots;\n  }\n\n"
                     "  plan() {\n    return cheapest(this.depots.map((d) => d.name));\n  }\n}\n\n"
                     "module.exports = { Router };\n",
    "src/depot.js": "const { readJson } = require('./util');\n\n/** A place parcels wait. */\n"
                    "class Depot {\n  constructor(name) {\n    this.name = name;\n  }\n}\n\n"
                    "/** Read depots from a JSON file. */\nfunction loadDepots(path) {\n"
                    "  return readJson(path).map((name) => new Depot(name));\n}\n\n"
                    "module.exports = { Depot, loadDepots };\n",
    "src/util.js": "const fs = require('fs');\n\n/** Parse a JSON file. */\n"
                   "function readJson(path) {\n  return JSON.parse(fs.readFileSync(path, 'utf8'));"
                   "\n}\n\n/** The names sorted, cheapest first. */\nfunction cheapest(names) {\n"
                   "  return [...names].sort();\n}\n\nmodule.exports = { readJson, cheapest };\n",
    "test/router.test.js": "const { Router } = require('../src/router');\n\n"
                           "test('plans', () => { new Router([]).plan(); });\n",
    "docs/deep/README.md": "# Nested notes\n\nNot the project's title.\n",
}


def write_report(repo: Path, prompt: str = ARCHITECTURE) -> str:
    with FakeOpenRouter(DemoModel(), api_key=KEY) as server:
        llm = LLMClient("openai/gpt-5.1", "openrouter", KEY, server.base_url)
        with llm:
            report, _store, _cost = run_pipeline(prompt, repo, llm=llm)
    return report


def sections_of(report: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", report, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def check_report(report: str, repo: Path, title: str, must_cite: set[str]) -> None:
    assert report.splitlines()[0] == f"# Architecture overview: {title}"
    checks = verify_citations(report, Repository(repo))
    assert checks.checks and checks.invalid == 0
    cited = {path for path, _, _ in CITATION.findall(report)}
    assert must_cite <= cited, must_cite - cited
    bullets = [line.strip() for line in report.splitlines() if line.startswith("- ")]
    assert len(bullets) == len(set(bullets)), "a bullet is repeated"
    first_citations = [CITATION.search(b)[0] for b in bullets if CITATION.search(b)]
    assert len(first_citations) == len(set(first_citations)), "a claim is cited twice"
    sections = sections_of(report)
    assert len(sections) >= 3
    drawn = [set(re.findall(r"`([^`]+)`", body.split("What follows is drawn from", 1)[1]
                            .split("\n", 1)[0])) for body in sections.values()]
    for index, files in enumerate(drawn):  # every section has files of its own
        assert files and not files & set().union(*drawn[:index], *drawn[index + 1:])


@pytest.fixture(scope="module")
def this_repo_report() -> str:
    return write_report(ROOT)


def test_this_repository(this_repo_report: str) -> None:
    check_report(this_repo_report, ROOT, "tech_writer",
                 {"README.md", "pyproject.toml", "tech_writer/cli.py"})
    sections = list(sections_of(this_repo_report))
    assert sections[:3] == ["What the project does and for whom",
                            "The main components and the responsibility of each",
                            "How a typical request or run flows through the components"]
    assert "console script" in this_repo_report or "`tech-writer`" in this_repo_report
    assert re.search(r"is (imported|used) (by|in) `", this_repo_report)


def test_a_python_package_without_readme(tmp_path: Path) -> None:
    # click 8.5.1's package as released (its wheel's click/*.py), not whichever click is
    # installed: the report must not change with the resolution the tests run under.
    with tarfile.open(Path(__file__).with_name("realsrc") / "click-8.5.1-package.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    repo = tmp_path / "click"
    report = write_report(repo)
    # No README or manifest: the repository's own name, and the package's front door first.
    check_report(report, repo, "click", {"__init__.py", "core.py"})
    first = next(iter(sections_of(report).values()))
    assert "`__init__.py`" in first


def test_a_javascript_project(tmp_path: Path) -> None:
    for relative, text in JS_FILES.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    report = write_report(tmp_path)
    check_report(report, tmp_path, "Parcel Router",
                 {"README.md", "package.json", "bin/cli.js", "src/util.js"})
    assert "Nested notes" not in report.splitlines()[0]
    assert "test/router.test.js" not in report


def test_onboarding_sections_follow_the_prompt(tmp_path: Path) -> None:
    for relative, text in JS_FILES.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    report = write_report(tmp_path, ONBOARDING)
    assert report.splitlines()[0] == "# Onboarding guide: Parcel Router"
    titles = list(sections_of(report))
    assert titles[0] == "How to install"
    assert all(title.lower() in ONBOARDING.lower() for title in titles)
