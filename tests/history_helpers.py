"""Real and generated git histories for the freshness tests, and a report citing real code.

``clone_history`` clones ``tests/data/itsdangerous-history.bundle`` (eleven consecutive
itsdangerous commits, ``src/itsdangerous/*.py`` only; see ``tests/data/make_history_bundle.py``).
``code_report`` writes what a report about a checkout looks like to ``check``: one section per
module citing every top-level class and function, with its provenance, at the checked-out commit.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

from tech_writer.report.provenance import SectionInput, attach, build_provenance
from tech_writer.repository.gitinfo import head_commit
from tech_writer.repository.repo import Repository

BUNDLE = Path(__file__).resolve().parent / "data" / "itsdangerous-history.bundle"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent"}


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env=GIT_ENV).stdout.strip()


def clone_history(dest: Path) -> list[str]:
    """Clone the bundle into ``dest``; its commits, oldest first (the first is checked out)."""
    subprocess.run(["git", "clone", "-q", str(BUNDLE), str(dest)], check=True, capture_output=True, env=GIT_ENV)
    commits = git(dest, "rev-list", "--reverse", "HEAD").split()
    git(dest, "checkout", "-q", commits[0])
    return commits


def code_report(root: Path, package: str = "src/itsdangerous") -> str:
    """A report on the checkout: a section per module, a citation per top-level definition."""
    repo = Repository(root)
    parts, sections = ["# The itsdangerous package", ""], []
    for path in sorted(p for p in repo.list_files() if p.startswith(package) and p.endswith(".py")):
        tree = ast.parse((root / path).read_text(encoding="utf-8"))
        cites = [f"`{node.name}` [{path}:{node.lineno}-{node.end_lineno}]" for node in tree.body
                 if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
        if not cites:
            continue
        text = f"{Path(path).name} defines " + ", ".join(cites) + "."
        parts += [f"## {Path(path).name}", "", text, ""]
        sections.append(SectionInput(Path(path).name, f"what {path} defines", (path,), text, (path,)))
    provenance = build_provenance(repo, provider="demo", model="openai/gpt-5.1", commit=head_commit(root),
                                  prompt="Describe each module.", title="The itsdangerous package",
                                  understanding="", sections=sections)
    return attach("\n".join(parts), provenance)
