"""Which files of a repository matter most, judged from what the repository tools answered.

A careful reader starts from the root README and the packaging metadata, then the entry points
(console scripts, ``__main__``, ``if __name__ == "__main__"``, ``func main``), then the modules
the rest of the code imports most (``get_imports`` on a sample of files), then the largest public
classes and functions (``get_symbols``). Everything here reads tool results
(:class:`.toolresults.ToolEvidence`: the demo model's conversation, or a pipeline's
:class:`.toolresults.Transcript`); nothing touches the disk, so a choice made from the ranking
rests only on what the tools showed.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .filekinds import ENTRY_STEMS, file_role, is_front_door, is_readme, language_of
from .toolresults import FileView, ToolEvidence

__all__ = [
    "MAIN_MARKERS",
    "FileRank",
    "SymbolInfo",
    "front_door",
    "front_door_entries",
    "imported_by",
    "is_noise",
    "is_root",
    "listed_paths",
    "main_marker_hits",
    "rank",
    "script_targets",
    "symbols_of",
]

# Searches that find where a program starts, by language (query, path glob).
MAIN_MARKERS: dict[str, tuple[str, str]] = {
    "python": ('if __name__ == "__main__"', "*.py"),
    "go": ("func main()", "*.go"),
}
_NOISE_DIRS = frozenset({
    "docs", "doc", "examples", "example", "scripts", "benchmarks", "bench", "vendor",
    "third_party", "node_modules", "build", "dist", "migrations", "fixtures", ".github",
    "test", "tests", "testing", "__tests__", "spec", "specs", "idlelib", "site-packages",
})
_IMPORTS_HEADER = re.compile(r"^(?P<path>.+?): \d+ imports? \(line numbers first\)")
_SYMBOLS_HEADER = re.compile(r"^(?P<path>.+?): \d+ symbols? \(")
_SYMBOL_LINE = re.compile(r"^(\d+)-(\d+)\t( *)(.*)$")
_NUMBERED = re.compile(r"^(\d+)\t(.*)$")
_HIT = re.compile(r"^(.+?):(\d+): (.*)$")
_DEFINED_NAME = re.compile(
    r"\b(?:class|def|function|func|fn|struct|interface|trait|enum|type|impl)\s+"
    r"(?:\([^)]*\)\s*)?([A-Za-z_]\w*)")
_PY_FROM = re.compile(r"^\s*from\s+(\.*)([\w.]*)\s+import\s+(.+)$")
_PY_IMPORT = re.compile(r"^\s*import\s+(.+)$")
_QUOTED_MODULE = re.compile(r"""["']([^"']+)["']""")
_TOML_SCRIPT = re.compile(r'^\s*"?([\w.-]+)"?\s*=\s*"([\w.]+):(\w+)')
_PATH_TOOLS = frozenset({"get_imports", "get_symbols", "read_file"})
_SIZEABLE_TYPE = 12  # lines: a class this long holds state worth describing
_FLOW_MAX_IMPORTERS = 3  # a module more widely imported is shared plumbing, not a step of a flow
_JS_EXTENSIONS = ("", ".js", ".ts", ".jsx", ".tsx", ".mjs", ".cjs", "/index.js", "/index.ts")


def is_root(path: str) -> bool:
    return "/" not in path


@functools.lru_cache(maxsize=65536)
def is_noise(path: str) -> bool:
    """Tests, docs, examples, vendored and generated code: read last, if at all."""
    parts = PurePosixPath(path).parts
    return any(part in _NOISE_DIRS for part in parts[:-1]) or file_role(path) == "test"


def listed_paths(conv: ToolEvidence) -> list[str]:
    """Paths from successful list_files results, in listed order, without notes or headers."""
    paths: dict[str, None] = {}
    for call in conv.calls_to("list_files"):
        if call.failed:
            continue
        for line in (call.result or "").splitlines():
            candidate = line.strip()
            if candidate and not candidate.startswith(("[", "(")) and ": " not in candidate:
                paths[candidate.removeprefix("./")] = None
    return list(paths)


# --- entry points -------------------------------------------------------------------------------
def main_marker_hits(conv: ToolEvidence) -> dict[str, int]:
    """path -> line of its ``if __name__ == "__main__"`` / ``func main()``, from search results."""
    queries = {query for query, _ in MAIN_MARKERS.values()}
    hits: dict[str, int] = {}
    for call in conv.calls_to("search_text"):
        if call.failed or call.arguments.get("query") not in queries:
            continue
        for line in (call.result or "").splitlines():
            match = _HIT.match(line)
            # The marker must open the line: a quote of it inside a string is not an entry point.
            if match and match[3].lstrip().startswith(("if __name__", "func main()")):
                hits.setdefault(match[1].removeprefix("./"), int(match[2]))
    return hits


def script_targets(views: Iterable[FileView], known: Iterable[str]) -> dict[str, str]:
    """path -> command name, for the console scripts a root manifest installs."""
    index = _module_index(known)
    found: dict[str, str] = {}
    for view in views:
        name = PurePosixPath(view.path).name
        if not is_root(view.path) or name not in ("pyproject.toml", "setup.cfg", "package.json"):
            continue
        in_scripts = False
        for number in sorted(view.lines):
            text = view.lines[number]
            if text.strip().startswith("["):
                in_scripts = text.strip() in ("[project.scripts]", "[tool.poetry.scripts]",
                                              "[options.entry_points]")
                continue
            if in_scripts and (script := _TOML_SCRIPT.match(text)):
                target = _resolve_dotted(index, script[2])
                if target:
                    found.setdefault(target, script[1])
    return found


# --- imports ------------------------------------------------------------------------------------
def imported_by(conv: ToolEvidence, known: Iterable[str]) -> dict[str, dict[str, int]]:
    """target path -> {importing path: line of the import}, from every get_imports result."""
    known_list = list(known)
    index = _module_index(known_list)
    known_set = set(known_list)
    graph: dict[str, dict[str, int]] = defaultdict(dict)
    for call in conv.calls_to("get_imports"):
        if call.failed:
            continue
        lines = (call.result or "").splitlines()
        header = _IMPORTS_HEADER.match(lines[0]) if lines else None
        if header is None:
            continue
        importer = header["path"].removeprefix("./")
        for line in lines[1:]:
            numbered = _NUMBERED.match(line)
            if numbered is None:
                continue
            for target in _import_targets(importer, numbered[2], index, known_set):
                if target != importer:
                    graph[target].setdefault(importer, int(numbered[1]))
    return dict(graph)


def _module_index(paths: Iterable[str]) -> dict[str, str]:
    """Dotted module name (and every dotted suffix of it) -> path; the shallowest path wins."""
    index: dict[str, str] = {}
    for path in sorted(paths, key=lambda p: (p.count("/"), p)):
        pure = PurePosixPath(path)
        if pure.suffix not in (".py", ".pyi"):
            continue
        parts = list(pure.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        for start in range(len(parts)):
            index.setdefault(".".join(parts[start:]), path)
    return index


def _resolve_dotted(index: dict[str, str], dotted: str) -> str | None:
    parts = dotted.split(".")
    while parts:  # "pkg.mod.func" -> pkg.mod.func, then pkg.mod
        found = index.get(".".join(parts))
        if found:
            return found
        parts.pop()
    return None


def _import_targets(importer: str, text: str, index: dict[str, str],
                    known: set[str]) -> list[str]:
    language = language_of(importer)
    if language == "python":
        return _python_targets(importer, text, index)
    modules = _QUOTED_MODULE.findall(text)
    directory = PurePosixPath(importer).parent
    targets: list[str] = []
    for module in modules:
        if module.startswith("."):  # relative JavaScript/TypeScript import
            base = posixpath_normal(str(directory / module))
            targets += [base + ext for ext in _JS_EXTENSIONS if base + ext in known][:1]
        elif language == "go":  # a package: its files all count as one target, the first
            suffix = "/".join(module.split("/")[-2:])
            in_dir = sorted(p for p in known if str(PurePosixPath(p).parent).endswith(suffix))
            targets += in_dir[:1]
    return targets


def posixpath_normal(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def _python_targets(importer: str, text: str, index: dict[str, str]) -> list[str]:
    relative = _PY_FROM.match(text)
    if relative:
        dots, module, names = relative[1], relative[2], relative[3]
        if dots:
            package = list(PurePosixPath(importer).parent.parts)
            package = package[:len(package) - (len(dots) - 1)] if len(dots) > 1 else package
            base = ".".join([*package, module] if module else package)
        else:
            base = module
        wanted = [f"{base}.{name.strip().split(' ')[0]}" for name in
                  names.strip("() \\").split(",") if name.strip()]
        found = [index[name] for name in wanted if name in index]
        if found:
            return list(dict.fromkeys(found))
        target = _resolve_dotted(index, base) if base else None
        return [target] if target else []
    plain = _PY_IMPORT.match(text)
    if plain is None:
        return []
    targets = []
    for item in plain[1].split(","):
        target = _resolve_dotted(index, item.strip().split(" ")[0])
        if target:
            targets.append(target)
    return targets


def front_door_entries(conv: ToolEvidence, front: str | None, known: Iterable[str]
                       ) -> dict[str, list[str]]:
    """path -> the functions the package's front door re-exports from it (``from .api import
    get, post``; a JavaScript front door's relative ``require``): a library's entry points."""
    if front is None:
        return {}
    known_list = list(known)
    index = _module_index(known_list)
    # Where get_symbols was asked, a lower-case name must be a function there (not `codes`).
    defined_functions = {path: {s.name for s in symbols if not s.is_type}
                         for path, symbols in symbols_of(conv).items()}
    found: dict[str, list[str]] = {}
    for call in conv.calls_to("get_imports"):
        lines = (call.result or "").splitlines()
        header = _IMPORTS_HEADER.match(lines[0]) if lines and not call.failed else None
        if header is None or header["path"].removeprefix("./") != front:
            continue
        for line in lines[1:]:
            numbered = _NUMBERED.match(line)
            if numbered is None:
                continue
            if language_of(front) != "python":
                for target in _import_targets(front, numbered[2], index, set(known_list)):
                    found.setdefault(target, [])
                continue
            relative = _PY_FROM.match(numbered[2])
            if relative is None or not relative[1]:
                continue
            names = [n.strip().split(" ")[0] for n in relative[3].strip("() \\").split(",")]
            functions = [n for n in names if n[:1].islower() and not n.startswith("_")]
            for target in _python_targets(front, numbered[2], index):
                defined = defined_functions.get(target)
                named = [n for n in functions if defined is None or n in defined]
                if target != front and PurePosixPath(target).stem not in names and named:
                    found.setdefault(target, []).extend(named)
    return found


def _flow(entries: Iterable[str], graph: dict[str, dict[str, int]]) -> dict[str, int]:
    """path -> depth: the modules a request travels through from the entry modules — what they
    import that few others do (the specific work, not the shared utilities), two steps deep."""
    imports: dict[str, list[str]] = defaultdict(list)
    for target, importers in graph.items():
        for importer in importers:
            imports[importer].append(target)
    depth: dict[str, int] = {}
    frontier = list(entries)
    for step in (1, 2):
        following = []
        for module in frontier:
            for target in sorted(imports.get(module, ())):
                users = [p for p in graph.get(target, {}) if not is_noise(p)]
                if target not in depth and len(users) <= _FLOW_MAX_IMPORTERS and not is_noise(target):
                    depth[target] = step
                    following.append(target)
        frontier = following
    return depth


# --- symbols ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SymbolInfo:
    name: str
    signature: str
    start: int
    end: int

    @property
    def lines(self) -> int:
        return self.end - self.start + 1

    @property
    def is_type(self) -> bool:
        return self.signature.lstrip().startswith(("class ", "struct ", "interface ", "type ",
                                                   "trait ", "enum "))


def symbols_of(conv: ToolEvidence) -> dict[str, list[SymbolInfo]]:
    """path -> its top-level public symbols, largest first, from get_symbols results."""
    found: dict[str, list[SymbolInfo]] = {}
    for call in conv.calls_to("get_symbols"):
        if call.failed:
            continue
        lines = (call.result or "").splitlines()
        header = _SYMBOLS_HEADER.match(lines[0]) if lines else None
        if header is None:
            continue
        symbols = []
        for line in lines[1:]:
            match = _SYMBOL_LINE.match(line)
            if match is None or match[3]:  # nested (indented): methods belong to their class
                continue
            name = _DEFINED_NAME.search(match[4])
            if name and not name[1].startswith("_"):
                symbols.append(SymbolInfo(name[1], match[4].strip(), int(match[1]),
                                          int(match[2])))
        found[header["path"].removeprefix("./")] = sorted(
            symbols, key=lambda s: (-s.lines, s.start))
    return found


def _manifest_main(views: Iterable[FileView], known: Iterable[str]) -> str | None:
    """The file a root package.json names as ``main`` (lodash's ``lodash.js``)."""
    known_set = set(known)
    for view in views:
        if view.path != "package.json":
            continue
        match = re.search(r'"main"\s*:\s*"([^"]+)"', view.text())
        if match:
            target = posixpath_normal(match[1])
            found = [target + ext for ext in _JS_EXTENSIONS if target + ext in known_set]
            # A listing cut short may not show it; the manifest still names it.
            return found[0] if found else target if PurePosixPath(target).suffix else None
    return None


def front_door(paths: Iterable[str]) -> str | None:
    """The package's ``__init__.py`` / ``index.js`` / ``lib.rs``: at the root, or the one
    top-level package (``src/`` aside) when there is just one; None when that is unclear."""
    doors = [p for p in paths if is_front_door(p) and not is_noise(p)
             and not any(part.startswith("_") for part in PurePosixPath(p).parts[:-1])]
    if any(is_root(p) for p in doors):
        return min(p for p in doors if is_root(p))
    top = [p for p in doors if len(PurePosixPath(p.removeprefix("src/")).parts) == 2]
    return top[0] if len(top) == 1 else None


# --- the ranking --------------------------------------------------------------------------------
@dataclass
class FileRank:
    """Why a file matters; ``role`` is its strongest reason."""

    path: str
    score: float = 0.0
    roles: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def role(self) -> str:
        return self.roles[0] if self.roles else "source"

    def add(self, role: str, score: float, reason: str) -> None:
        self.score += score
        if role not in self.roles:
            self.roles.append(role)
        if reason and reason not in self.reasons:
            self.reasons.append(reason)


_Of = Callable[[str], FileRank]  # the rank of a path, made on first use


def rank(conv: ToolEvidence, extra_paths: Iterable[str] = (), *,
         views: dict[str, FileView] | None = None, with_symbols: bool = True) -> list[FileRank]:
    """Every file the tool results name, most important first (ties: shallow, then by path).

    ``views`` (default: every file read) and ``with_symbols`` let a caller rank on part of the
    evidence, so that a choice made from the ranking does not change once its results arrive."""
    views = conv.file_views() if views is None else views
    listed = listed_paths(conv)
    # Paths named in calls stay known when their listing was elided from a long history.
    asked = [str(c.arguments.get("path")) for c in conv.calls if c.name in _PATH_TOOLS
             and not c.failed]
    known = list(dict.fromkeys([*listed, *extra_paths, *views, *asked]))
    ranks: dict[str, FileRank] = {}

    def of(path: str) -> FileRank:
        return ranks.setdefault(path, FileRank(path))

    for path in known:
        if is_root(path) and is_readme(path):
            of(path).add("overview", 300, "the repository's README")
        elif is_root(path) and file_role(path) == "manifest":
            of(path).add("packaging", 200, "packaging metadata")
    entries = _rank_entries(conv, views, known, of)
    graph = imported_by(conv, known)
    for path, step in _flow(entries, graph).items():
        of(path).add("flow", 12 - 2 * step, "a step from the entry points into the work")
    for path, importers in graph.items():
        users = [p for p in importers if not is_noise(p)] or list(importers)
        of(path).add("core", 8 * len(users), f"imported by {len(users)} file(s)")
    if with_symbols:
        _rank_definitions(conv, of)
    for path in known:
        if file_role(path) == "source" and not is_noise(path):
            stem = PurePosixPath(path).stem
            bonus = 3 if stem in ENTRY_STEMS else 1
            of(path).add("source", bonus - path.count("/") * 0.5, "")
    return sorted(ranks.values(), key=lambda r: (-r.score, r.path.count("/"), r.path))


def _rank_entries(conv: ToolEvidence, views: dict[str, FileView], known: list[str],
                  of: _Of) -> dict[str, list[str]]:
    """Where execution or use starts: console scripts, ``__main__``, package.json's ``main``,
    the front door and what it re-exports, programs; returns the front door's entry modules."""
    for path, command in script_targets(views.values(), known).items():
        of(path).add("entry", 60, f"runs the console script `{command}`")
    for path in known:
        if PurePosixPath(path).name == "__main__.py" and not is_noise(path):
            of(path).add("entry", 30, "`python -m` runs it")
    main = _manifest_main(views.values(), known)
    front = main or front_door(known)
    if main:
        of(main).add("entry", 30, "package.json names it `main`: what requiring the package runs")
    if front:
        of(front).add("package", 25, "the package's front door: what importing it runs")
    entries = front_door_entries(conv, front, known)
    for path, line in main_marker_hits(conv).items():
        if not is_noise(path):  # in a library whose front door re-exports functions, a module
            # that also runs as a program is a side door (requests' help.py), not the way in
            role, score = ("script", 10) if entries and path not in entries else ("entry", 40)
            of(path).add(role, score, f'runs as a program (line {line})')
    for path, functions in entries.items():
        shown = ", ".join(f"`{name}`" for name in functions[:3])
        of(path).add("entry", 20, f"the front door re-exports its functions {shown}" if shown
                     else "the front door loads it")
    return entries


def _rank_definitions(conv: ToolEvidence, of: _Of) -> None:
    """The largest public definitions, and the classes that hold the data."""
    for path, symbols in symbols_of(conv).items():
        if symbols and not is_noise(path):
            biggest = symbols[0]
            kind = "class " if biggest.is_type else ""
            of(path).add("api", min(30, biggest.lines / 4),
                         f"defines {kind}`{biggest.name}` ({biggest.lines} lines)")
            types = [s for s in symbols if s.is_type and s.lines >= _SIZEABLE_TYPE]
            if types:  # where the data lives: the key data structures of a report
                of(path).add("types", 0, f"defines class `{types[0].name}` "
                                         f"({types[0].lines} lines)" if types[0] is not biggest
                             else "")
