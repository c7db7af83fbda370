"""Shared fixtures: a small real repository to document, and the CLI run in-process."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

SAMPLE_FILES = {
    "README.md": """\
        # inventory

        A tiny inventory service: it stores items in SQLite and serves them over a JSON API.

        ## Usage

        Run `python -m inventory serve` and open http://localhost:8000/items.
        """,
    "pyproject.toml": """\
        [project]
        name = "inventory"
        version = "1.2.0"
        dependencies = ["flask>=3"]

        [project.scripts]
        inventory = "inventory.cli:main"
        """,
    "inventory/__init__.py": '''\
        """Inventory: items, storage and the HTTP API."""

        from inventory.store import Store

        __all__ = ["Store"]
        ''',
    "inventory/store.py": '''\
        """SQLite-backed item storage."""

        import sqlite3


        class Store:
            """Keeps items in one SQLite table."""

            def __init__(self, path: str = ":memory:") -> None:
                self.db = sqlite3.connect(path)
                self.db.execute("create table if not exists items (name text, qty int)")

            def add(self, name: str, qty: int) -> None:
                self.db.execute("insert into items values (?, ?)", (name, qty))

            def all(self) -> list[tuple[str, int]]:
                return list(self.db.execute("select name, qty from items"))
        ''',
    "inventory/cli.py": '''\
        """Command line entry point."""

        import argparse

        from inventory.store import Store


        def main(argv=None) -> int:
            parser = argparse.ArgumentParser(prog="inventory")
            parser.add_argument("command", choices=["serve", "list"])
            args = parser.parse_args(argv)
            store = Store()
            if args.command == "list":
                for name, qty in store.all():
                    print(name, qty)
            return 0
        ''',
    ".gitignore": "build/\n*.log\n",
    "build/generated.py": "SHOULD_NOT_BE_SEEN = True\n",
}


def make_repo(root: Path, files: dict[str, str] | None = None, *, git: bool = True) -> Path:
    for rel, text in (files or SAMPLE_FILES).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    if git:
        def run(*args: str) -> None:
            subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                           cwd=root, check=True, capture_output=True)
        run("init", "-q")
        run("add", "-A")
        run("commit", "-qm", "initial")
    return root


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "inventory-repo")


@pytest.fixture
def prompt_file(tmp_path: Path) -> Path:
    path = tmp_path / "architecture.md"
    path.write_text("Write an architecture overview of this repository: components, data flow, "
                    "storage. Cite the code.\n", encoding="utf-8")
    return path
