"""The ranking of a repository's files, judged from the real tools' answers (no demo model)."""

from __future__ import annotations

from pathlib import Path

from tech_writer.repository.ranking import rank
from tech_writer.repository.repo import Repository
from tech_writer.repository.toolresults import ToolCallRecord, Transcript
from tech_writer.repository.tools import RepoTools


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _transcript(root: Path, calls: list[tuple[str, dict[str, object]]]) -> Transcript:
    tools = RepoTools(Repository(root))
    return Transcript(tuple(ToolCallRecord(name, arguments, tools.execute(name, arguments).text)
                            for name, arguments in calls))


def test_the_readme_manifest_entry_point_and_most_imported_module_come_first(
        tmp_path: Path) -> None:
    _write(tmp_path, {
        "README.md": "# pkg\n\nA package.\n",
        "pyproject.toml": '[project]\nname = "pkg"\n\n[project.scripts]\npkg = "pkg.cli:main"\n',
        "pkg/__init__.py": "from .core import Engine\n",
        "pkg/cli.py": "from .core import Engine\n\n\ndef main():\n    Engine().run()\n",
        "pkg/util.py": "from .core import Engine\n",
        "pkg/core.py": "class Engine:\n" + "".join(f"    def m{i}(self):\n        return {i}\n"
                                                for i in range(10)),
        "tests/test_core.py": "from pkg.core import Engine\n",
    })
    paths = ["pkg/__init__.py", "pkg/cli.py", "pkg/util.py", "pkg/core.py", "tests/test_core.py"]
    calls: list[tuple[str, dict[str, object]]] = [
        ("list_files", {}), ("read_file", {"path": "pyproject.toml"}),
        *[("get_imports", {"path": p}) for p in paths],
        ("get_symbols", {"path": "pkg/core.py"}),
    ]
    ranked = rank(_transcript(tmp_path, calls))
    order = [r.path for r in ranked]
    assert order[:2] == ["README.md", "pyproject.toml"]
    by_path = {r.path: r for r in ranked}
    assert "runs the console script `pkg`" in by_path["pkg/cli.py"].reasons
    assert by_path["pkg/core.py"].role == "core"
    assert "imported by 3 file(s)" in by_path["pkg/core.py"].reasons  # the test does not count
    assert order.index("pkg/core.py") < order.index("pkg/util.py")
    assert "tests/test_core.py" not in order  # tests earn no rank: read last, if at all


def test_a_failed_call_is_no_evidence(tmp_path: Path) -> None:
    _write(tmp_path, {"README.md": "# x\n"})
    transcript = _transcript(tmp_path, [("read_file", {"path": "missing.py"}), ("list_files", {})])
    assert transcript.calls[0].failed
    assert transcript.file_views() == {}
    assert [r.path for r in rank(transcript)] == ["README.md"]


def test_a_library_is_entered_through_what_its_front_door_re_exports(tmp_path: Path) -> None:
    # requests' shape: __init__ re-exports functions from api.py; help.py also runs as a program
    _write(tmp_path, {
        "src/lib/__init__.py": "from . import util\nfrom .api import get, post\n"
                               "from .sessions import Session, session\n",
        "src/lib/api.py": "from . import sessions\n\n\ndef get():\n    return sessions.Session()\n",
        "src/lib/sessions.py": "from .adapters import Adapter\n\n\nclass Session:\n    pass\n",
        "src/lib/adapters.py": "class Adapter:\n    pass\n",
        "src/lib/util.py": "X = 1\n",
        "src/lib/help.py": 'def main():\n    pass\n\n\nif __name__ == "__main__":\n    main()\n',
    })
    sources = ["src/lib/__init__.py", "src/lib/api.py", "src/lib/sessions.py"]
    calls: list[tuple[str, dict[str, object]]] = [
        ("list_files", {}), *[("get_imports", {"path": p}) for p in sources],
        ("search_text", {"query": 'if __name__ == "__main__"', "path_glob": "*.py"}),
    ]
    by_path = {r.path: r for r in rank(_transcript(tmp_path, calls))}
    assert by_path["src/lib/api.py"].role == "entry"
    assert "the front door re-exports its functions `get`, `post`" in by_path["src/lib/api.py"].reasons
    assert "entry" in by_path["src/lib/sessions.py"].roles  # `session`, a function
    assert "entry" not in by_path["src/lib/__init__.py"].roles  # `from . import util`: a module
    assert "flow" in by_path["src/lib/adapters.py"].roles  # sessions.py hands the work on to it
    assert by_path["src/lib/help.py"].roles[0] == "script"  # a side door, not the way in


def test_package_json_main_is_the_entry_point(tmp_path: Path) -> None:
    _write(tmp_path, {"package.json": '{"name": "lodash", "main": "lodash.js"}\n',
                      "lodash.js": "module.exports = {};\n", "_root.js": "var x = 1;\n"})
    ranked = rank(_transcript(tmp_path, [("list_files", {}),
                                         ("read_file", {"path": "package.json"})]))
    by_path = {r.path: r for r in ranked}
    assert by_path["lodash.js"].role == "entry"
    assert [r.path for r in ranked].index("lodash.js") < [r.path for r in ranked].index("_root.js")
