"""The tools the model can call to explore the repository, and their OpenAI function schemas.

:meth:`RepoTools.execute` never raises for a model's mistake: bad JSON, unknown tool, wrong or
missing parameters, a path outside the repository, a missing, binary or huge file all come back as
``ToolResult(text="Error: …", is_error=True)`` telling the model what to do instead (a failing
tool is a message to the model, not a crash). Results are plain text, valid UTF-8, at most
``caps.max_result_bytes``, and every cut says so on a last line starting with ``[truncated:``.

``read_file`` output is parsed by other components and must keep this exact shape::

    <path>: lines <start>-<end> of <total>
    <n>\\t<text of line n>
    ...
    [truncated: …]          (only when cut)

A source line longer than ``caps.max_line_chars`` is shown cut, ending with ``… [line cut: N chars]``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tech_writer.repository.paths import (
    PathOutsideRepo,
    display_path,
    glob_matches,
    normalize_rel_path,
    resolve_in_repo,
)
from tech_writer.repository.repo import BinaryFile, FileText, NotARegularFile, Repository, ToolCaps
from tech_writer.repository.search.text import InvalidQuery, is_case_sensitive, search_text
from tech_writer.repository.symbols import (
    MAX_NESTING,
    ImportRef,
    SourceParseError,
    Symbol,
    UnsupportedLanguage,
    extract_imports,
    extract_symbols,
    language_for,
)
from tech_writer.secrets import SecretMask

__all__ = ["TRUNCATED_PREFIX", "RepoTools", "ToolCaps", "ToolResult"]

TRUNCATED_PREFIX = "[truncated:"
_STRUCTURE_FILES_PER_DIR = 20  # files named per directory in get_structure; the rest are counted
_TRAILER_RESERVE_BYTES = 300  # room kept for the [truncated: …] line
_IMPORTS_NAMESPACE = "imports.v1"


@dataclass(frozen=True)
class ToolResult:
    text: str
    is_error: bool = False
    truncated: bool = False


def _error(message: str) -> ToolResult:
    return ToolResult(text=f"Error: {message}", is_error=True)


@dataclass(frozen=True)
class _Param:
    name: str
    json_type: str  # "string" | "integer"
    description: str
    required: bool = False
    default: Any = None
    nullable: bool = False

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": [self.json_type, "null"] if self.nullable else self.json_type,
            "description": self.description,
        }
        if not self.required and self.default is not None:
            schema["default"] = self.default
        if self.json_type == "integer" and self.name.endswith("_line"):
            schema["minimum"] = 1
        return schema


@dataclass(frozen=True)
class _ToolSpec:
    name: str
    description: str
    params: tuple[_Param, ...]

    def schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": {
                    "type": "object",
                    "properties": {param.name: param.schema() for param in self.params},
                    "required": [param.name for param in self.params if param.required],
                    "additionalProperties": False,
                },
            },
        }


class _BadArguments(Exception):
    """A model mistake in the arguments; the message is sent back to it."""


class _LineBudget:
    """Collects output lines until a line count or byte limit, keeping room for a trailer."""

    def __init__(self, max_bytes: int, max_lines: int | None = None) -> None:
        self.lines: list[str] = []
        self._bytes_left = max_bytes - _TRAILER_RESERVE_BYTES
        self._lines_left = max_lines

    def add(self, line: str, force: bool = False) -> bool:
        """Append ``line`` if it fits (``force`` always appends); False when full."""
        size = len(line.encode("utf-8", "replace")) + 1
        full = size > self._bytes_left or self._lines_left == 0
        if full and not force:
            return False
        self.lines.append(line)
        self._bytes_left -= size
        if self._lines_left is not None:
            self._lines_left -= 1
        return True


class RepoTools:
    """Tool schemas for the model and their execution against one :class:`Repository`."""

    names: tuple[str, ...] = (
        "list_files",
        "read_file",
        "search_text",
        "get_symbols",
        "get_imports",
        "get_structure",
    )

    def __init__(self, repo: Repository, caps: ToolCaps | None = None, *,
                 secrets: Iterable[str] = ()) -> None:
        # Keys found in the repository (a .env) are masked before the model sees them.
        self._mask = SecretMask(secrets)
        self.repo = repo
        self.caps = caps or repo.caps
        self._specs = {spec.name: spec for spec in self._build_specs()}
        self._schemas = {name: spec.schema() for name, spec in self._specs.items()}
        self._handlers: dict[str, Callable[..., ToolResult]] = {
            "list_files": self._list_files,
            "read_file": self._read_file,
            "search_text": self._search_text,
            "get_symbols": self._get_symbols,
            "get_imports": self._get_imports,
            "get_structure": self._get_structure,
        }

    # --- schemas ------------------------------------------------------------------------------
    def schemas(self, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Function-calling schemas in the fixed order of ``names``; identical bytes on every call
        (prompt caching depends on it). Fresh copies: callers may mutate them."""
        wanted = set(self.names if names is None else names)
        unknown = wanted - set(self.names)
        if unknown:
            raise ValueError(f"unknown tool names: {sorted(unknown)}; available: {list(self.names)}")
        return [copy.deepcopy(self._schemas[name]) for name in self.names if name in wanted]

    def _build_specs(self) -> list[_ToolSpec]:
        return [spec(self.caps) for spec in _SPECS]

    def masked(self, text: str) -> str:
        """``text`` from the repository with every known secret masked, as a tool result would be
        (for repository text the model reads outside a tool call: ``update``'s diffs)."""
        return self._mask(text) if self._mask else text

    # --- execution ----------------------------------------------------------------------------
    def execute(self, name: str, arguments: str | dict[str, Any] | None) -> ToolResult:
        """Run one tool call; every mistake of the model becomes an ``Error:`` result."""
        spec = self._specs.get(name)
        if spec is None:
            return _error(f"unknown tool {name!r}. Available tools: {', '.join(self.names)}.")
        try:
            kwargs = self._validated(spec, arguments)
        except _BadArguments as exc:
            return _error(f"{exc} (tool {name}). Expected parameters: {_describe_params(spec)}.")
        try:
            result = self._handlers[name](**kwargs)
        except (PathOutsideRepo, OSError, BinaryFile, NotARegularFile) as exc:
            result = self._file_error(kwargs.get("path", ""), exc)
        if self._mask:
            result = dataclasses.replace(result, text=self._mask(result.text))
        return _finalise(result, self.caps.max_result_bytes)

    def _validated(self, spec: _ToolSpec, arguments: str | dict[str, Any] | None) -> dict[str, Any]:
        values = _decode_arguments(arguments)
        allowed = {param.name for param in spec.params}
        extra = sorted(set(values) - allowed)
        if extra:
            raise _BadArguments(f"unexpected parameter(s) {', '.join(map(repr, extra))}")
        validated = {}
        for param in spec.params:
            if param.name not in values or (values[param.name] is None and not param.required):
                if param.required:
                    raise _BadArguments(f"missing required parameter {param.name!r}")
                validated[param.name] = param.default
                continue
            validated[param.name] = _coerce(param, values[param.name])
        return validated

    def _file_error(self, user_path: str, exc: BaseException) -> ToolResult:
        shown = display_path(normalize_rel_path(user_path)) if user_path else "."
        if isinstance(exc, PathOutsideRepo):
            return _error(f"{display_path(user_path)!r} is refused: {exc.reason}.{self._absolute_hint(user_path)}")
        if isinstance(exc, FileNotFoundError):
            return _error(f"{shown} does not exist.{self._did_you_mean(user_path)} Use list_files to see the files.")
        if isinstance(exc, BinaryFile):
            return _error(f"{shown} is a binary file; only text files can be read.")
        if isinstance(exc, NotARegularFile):
            if exc.kind == "a directory":
                return _error(f"{shown} is a directory; use list_files with path={shown!r} to see its files.")
            return _error(f"{shown} is {exc.kind}, not a regular file; it cannot be read.")
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        return _error(f"{shown} could not be read ({reason}).")

    def _absolute_hint(self, user_path: str) -> str:
        if os.path.isabs(user_path):
            try:
                relative = os.path.relpath(os.path.realpath(user_path), self.repo.root)
            except ValueError:
                return ""
            if not relative.startswith(".."):
                return f" Use the relative path {display_path(relative)!r}."
        return ""

    def _did_you_mean(self, user_path: str) -> str:
        basename = posixpath.basename(normalize_rel_path(user_path))
        similar = [path for path in self.repo.list_files() if posixpath.basename(path) == basename][:5]
        return f" Files with that name: {', '.join(display_path(path) for path in similar)}." if similar else ""

    # --- list_files ---------------------------------------------------------------------------
    def _list_files(self, pattern: str, path: str) -> ToolResult:
        directory = self._directory(path)
        if isinstance(directory, ToolResult):
            return directory
        prefix = "" if directory == "." else directory + "/"
        matching = [
            rel
            for rel in self.repo.list_files()
            if rel.startswith(prefix) and (glob_matches(pattern, rel) or glob_matches(pattern, rel[len(prefix) :]))
        ]
        if not matching:
            return ToolResult(f"(no files match pattern {pattern!r} under {display_path(directory)!r})")
        budget = _LineBudget(self.caps.max_result_bytes, self.caps.max_listed)
        for rel in matching:
            if not budget.add(display_path(rel)):
                break
        shown = len(budget.lines)
        trailer = None
        if shown < len(matching):
            trailer = (
                f"{TRUNCATED_PREFIX} showing {shown} of {len(matching)} files; narrow the listing with "
                "pattern or path]"
            )
        elif self.repo.files_capped:
            trailer = (
                f"{TRUNCATED_PREFIX} the repository has more than {self.caps.max_listed_files} files; "
                "only the first ones in sorted order are known]"
            )
        return _with_trailer(budget.lines, trailer)

    def _directory(self, path: str) -> str | ToolResult:
        """Normalised directory path, or an error result when it is not a directory of the repository."""
        directory = normalize_rel_path(path)
        real = resolve_in_repo(self.repo.root, path)
        if not real.exists():
            raise FileNotFoundError(2, "No such file or directory", path)
        if not real.is_dir():
            return _error(f"{display_path(directory)} is a file, not a directory; use read_file to read it.")
        return directory

    # --- read_file ----------------------------------------------------------------------------
    def _read_file(self, path: str, start_line: int, end_line: int | None) -> ToolResult:
        rel = normalize_rel_path(path)
        file = self.repo.read_text(path)
        if self.repo.cache is not None:
            self.repo.cache.record_file(rel, file.content_hash, file.total_lines, file.size)
        shown_path, total = display_path(rel), file.total_lines
        if total == 0:
            return ToolResult(f"{shown_path}: lines 0-0 of 0")
        start = max(1, start_line)
        if start > total:
            return _error(f"start_line {start} is past the end of {shown_path}, which has {total} lines.")
        if end_line is not None and end_line < start:
            return _error(f"end_line {end_line} is before start_line {start}.")
        readable = len(file.lines)  # fewer than total when the file is over the read limit
        if start > readable:
            return _error(
                f"{shown_path} is larger than the {_mib(self.caps.max_file_bytes)} read limit; only lines "
                f"1-{readable} of {total} can be read."
            )
        wanted_end = total if end_line is None else min(end_line, total)
        last = min(wanted_end, readable, start + self.caps.max_lines_per_read - 1)
        return self._render_lines(file, shown_path, start, last, wanted_end)

    def _render_lines(self, file: FileText, shown_path: str, start: int, last: int, wanted_end: int) -> ToolResult:
        budget = _LineBudget(self.caps.max_result_bytes - len(shown_path) - 40)
        any_line_cut = False
        for number in range(start, last + 1):
            text, cut = _clip_line(file.lines[number - 1], self.caps.max_line_chars)
            if not budget.add(f"{number}\t{text}", force=number == start):
                break
            any_line_cut |= cut
        shown_end = start + len(budget.lines) - 1
        header = f"{shown_path}: lines {start}-{shown_end} of {file.total_lines}"
        trailer = None
        if shown_end < wanted_end:
            if shown_end < len(file.lines):
                trailer = (
                    f"{TRUNCATED_PREFIX} showing lines {start}-{shown_end} of {file.total_lines}; "
                    f"call read_file with start_line={shown_end + 1} to continue]"
                )
            else:
                trailer = (
                    f"{TRUNCATED_PREFIX} lines after {shown_end} are beyond the "
                    f"{_mib(self.caps.max_file_bytes)} read limit for this file]"
                )
        if not file.lines_complete:  # a file past caps.max_scan_bytes: its total is a lower bound
            note = (
                f"the file has {file.size} bytes and only its first {_mib(self.caps.max_scan_bytes)} were "
                f"counted, so it has at least {file.total_lines} lines"
            )
            trailer = f"{trailer[:-1]}; {note}]" if trailer else f"{TRUNCATED_PREFIX} {note}]"
        result = _with_trailer([header, *budget.lines], trailer)
        return ToolResult(result.text, truncated=result.truncated or any_line_cut)

    # --- search_text --------------------------------------------------------------------------
    def _search_text(self, query: str, path_glob: str) -> ToolResult:
        try:
            found = search_text(self.repo, query, path_glob, self.caps)
        except InvalidQuery as exc:
            return _error(f"{exc}. Search for a short literal string such as a function name.")
        mode = "case-sensitive" if is_case_sensitive(query) else "case-insensitive"
        skipped = _skipped_note(found.skipped_large, found.skipped_binary, self.caps.max_file_bytes)
        if not found.matches:
            searched = _plural(found.files_searched, "file")
            summary = f"(no matches for {query!r}, {mode}, in {searched} matching {path_glob!r}{skipped})"
            return ToolResult(summary, truncated=found.budget_exhausted)
        budget = _LineBudget(self.caps.max_result_bytes)
        if found.truncated:  # the scan stopped early: file counts would be partial
            budget.add(f"First matches for {query!r} ({mode}):")
        else:
            budget.add(f"Matches for {query!r} ({mode}) in {_plural(found.files_searched, 'file')}{skipped}:")
        for match in found.matches:
            if not budget.add(f"{display_path(match.path)}:{match.line}: {match.text}"):
                break
        shown = len(budget.lines) - 1
        trailer = None
        if shown < len(found.matches) or found.truncated:
            more = "more than " if found.truncated else ""
            trailer = (
                f"{TRUNCATED_PREFIX} showing {shown} of {more}{len(found.matches)} matching lines; narrow the "
                "search with path_glob or a longer query]"
            )
        elif found.budget_exhausted:
            trailer = (
                f"{TRUNCATED_PREFIX} stopped after reading {_mib(self.caps.max_search_bytes)}; narrow the "
                "search with path_glob]"
            )
        return _with_trailer(budget.lines, trailer)

    # --- get_symbols / get_imports ------------------------------------------------------------
    def _get_symbols(self, path: str) -> ToolResult:
        rel = normalize_rel_path(path)
        file = self.repo.read_text(path)
        try:
            symbols, language, parse_errors = self._symbols(rel, file)
        except UnsupportedLanguage as exc:
            return _error(f"symbols {exc}.")
        except SourceParseError as exc:
            return _error(f"{exc}. Use read_file to read it instead.")
        shown_path = display_path(rel)
        deep = any(symbol.depth >= MAX_NESTING for symbol in symbols)
        notes = _file_notes(file, self.caps, parse_errors, deep)
        if not symbols:
            return ToolResult(f"{shown_path}: no classes or functions found ({language}){notes}")
        lines = [f"{shown_path}: {_plural(len(symbols), 'symbol')} ({language}; line ranges first){notes}"]
        lines += [f"{s.start}-{s.end}\t{'  ' * s.depth}{s.signature}" for s in symbols]
        return self._budgeted(lines, len(symbols), "symbols")

    def _symbols(self, rel: str, file: FileText) -> tuple[list[Symbol], str, bool]:
        cache = self.repo.cache
        if cache is not None:
            cached = cache.get_symbols(rel, file.content_hash)
            if cached is not None:
                return [Symbol.from_dict(item) for item in cached], _language_name(rel), False
        table = extract_symbols(rel, file.text)
        if cache is not None and not table.parse_errors and not file.truncated:
            records = [symbol.to_dict() for symbol in table.symbols]
            if self._mask:  # signatures can hold literals: a key in the code stays out of the cache
                records = json.loads(self._mask(json.dumps(records)))
            cache.put_symbols(rel, file.content_hash, records)
        return table.symbols, table.language, table.parse_errors

    def _get_imports(self, path: str) -> ToolResult:
        rel = normalize_rel_path(path)
        file = self.repo.read_text(path)
        try:
            imports = self._imports(rel, file)
        except UnsupportedLanguage as exc:
            return _error(f"imports {exc}.")
        except SourceParseError as exc:
            return _error(f"{exc}. Use read_file to read it instead.")
        shown_path = display_path(rel)
        notes = _file_notes(file, self.caps, False)
        if not imports:
            return ToolResult(f"{shown_path}: no imports found{notes}")
        lines = [f"{shown_path}: {_plural(len(imports), 'import')} (line numbers first){notes}"]
        lines += [f"{ref.line}\t{ref.text}" for ref in imports]
        return self._budgeted(lines, len(imports), "imports")

    def _imports(self, rel: str, file: FileText) -> list[ImportRef]:
        cache = self.repo.cache
        key = f"{rel}\x00{file.content_hash}"
        if cache is not None:
            cached = cache.get(_IMPORTS_NAMESPACE, key)
            if cached is not None:
                return [ImportRef.from_dict(item) for item in json.loads(cached)]
        imports = extract_imports(rel, file.text)
        if cache is not None and not file.truncated:
            cache.put(_IMPORTS_NAMESPACE, key, json.dumps([ref.to_dict() for ref in imports]))
        return imports

    def _budgeted(self, lines: list[str], count: int, noun: str) -> ToolResult:
        budget = _LineBudget(self.caps.max_result_bytes)
        for line in lines:
            if not budget.add(line):
                break
        shown = len(budget.lines) - 1
        trailer = None
        if shown < count:
            trailer = f"{TRUNCATED_PREFIX} showing {shown} of {count} {noun}; use read_file for the rest]"
        return _with_trailer(budget.lines, trailer)

    # --- get_structure ------------------------------------------------------------------------
    def _get_structure(self, path: str) -> ToolResult:
        directory = self._directory(path)
        if isinstance(directory, ToolResult):
            return directory
        prefix = "" if directory == "." else directory + "/"
        tree = _DirNode()
        for rel in self.repo.list_files():
            if rel.startswith(prefix):
                tree.add(rel[len(prefix) :].split("/"))
        lines: list[str] = [f"{display_path(directory)}/ ({_plural(tree.count, 'file')})"]
        # The top level's own files (README, pyproject.toml) are kept room for: a long first
        # subdirectory must not push them past the cap.
        complete = tree.render(lines, 1, self.caps.structure_depth, self.caps.structure_max_entries + 1,
                               reserve=tree.file_lines())
        trailer = None
        if not complete:
            trailer = (
                f"{TRUNCATED_PREFIX} showing {self.caps.structure_max_entries} entries; call "
                "get_structure with the path of a subdirectory for more]"
            )
        return _with_trailer(lines, trailer)


class _DirNode:
    """A directory in the file list: its subdirectories, its own files and its total file count."""

    def __init__(self) -> None:
        self.dirs: dict[str, _DirNode] = {}
        self.files: list[str] = []
        self.count = 0

    def add(self, parts: list[str]) -> None:
        node = self
        for part in parts[:-1]:
            node.count += 1
            node = node.dirs.setdefault(part, _DirNode())
        node.count += 1
        node.files.append(parts[-1])

    def file_lines(self) -> int:
        """How many lines this directory's own files take when rendered."""
        return min(len(self.files), _STRUCTURE_FILES_PER_DIR) + (len(self.files) > _STRUCTURE_FILES_PER_DIR)

    def render(self, lines: list[str], level: int, max_depth: int, max_lines: int,
               reserve: int = 0) -> bool:
        """Append indented entries (subdirectories first, then files); False when ``max_lines`` cut
        it. ``reserve``: lines kept for this directory's own files while its subdirectories render."""
        indent = "  " * level
        complete = True
        for name in sorted(self.dirs):
            if len(lines) >= max_lines - reserve:
                complete = False
                break
            child = self.dirs[name]
            lines.append(f"{indent}{display_path(name)}/ ({_plural(child.count, 'file')})")
            if level < max_depth and not child.render(lines, level + 1, max_depth, max_lines - reserve):
                complete = False
                break
        if not complete and not reserve:
            return False
        files = sorted(self.files)
        for name in files[:_STRUCTURE_FILES_PER_DIR]:
            if len(lines) >= max_lines:
                return False
            lines.append(f"{indent}{display_path(name)}")
        if len(files) > _STRUCTURE_FILES_PER_DIR:
            lines.append(f"{indent}… and {len(files) - _STRUCTURE_FILES_PER_DIR} more files")
        return complete


# --- helpers --------------------------------------------------------------------------------
def _decode_arguments(arguments: str | dict[str, Any] | None) -> dict[str, Any]:
    if arguments is None:
        return {}
    value: Any = arguments
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            # strict=False: a raw newline or tab inside a string (llama.cpp's JSON grammar lets a
            # model write one) is read as what it plainly means, not refused.
            value = json.loads(value, strict=False)
            if isinstance(value, str) and value.lstrip().startswith("{"):  # JSON encoded twice
                value = json.loads(value, strict=False)
        except json.JSONDecodeError as exc:
            raise _BadArguments(f"the arguments are not valid JSON ({exc.msg} at position {exc.pos})") from exc
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _BadArguments(f"the arguments must be a JSON object, not {type(value).__name__}")
    return value


def _coerce(param: _Param, value: Any) -> Any:
    if param.json_type == "string":
        if not isinstance(value, str):
            raise _BadArguments(f"parameter {param.name!r} must be a string, got {_json_type(value)}")
        return value
    if isinstance(value, bool):
        raise _BadArguments(f"parameter {param.name!r} must be an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():  # "12": lenient, the intent is plain
        return int(value.strip())
    raise _BadArguments(f"parameter {param.name!r} must be an integer, got {_json_type(value)} {value!r}")


def _json_type(value: Any) -> str:
    names = {str: "a string", int: "an integer", float: "a number", list: "an array", dict: "an object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _describe_params(spec: _ToolSpec) -> str:
    parts = [f"{p.name} ({p.json_type}{', required' if p.required else ''})" for p in spec.params]
    return ", ".join(parts)


def _clip_line(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    return f"{text[:limit]} … [line cut: {len(text)} chars]", True


def _with_trailer(lines: list[str], trailer: str | None) -> ToolResult:
    if trailer is None:
        return ToolResult("\n".join(lines))
    return ToolResult("\n".join([*lines, trailer]), truncated=True)


def _finalise(result: ToolResult, max_bytes: int) -> ToolResult:
    """Guarantee valid UTF-8 (arguments may smuggle lone surrogates) and the byte cap."""
    data = result.text.encode("utf-8", "replace")
    if len(data) <= max_bytes:
        return ToolResult(data.decode("utf-8"), result.is_error, result.truncated)
    kept = data[: max_bytes - _TRAILER_RESERVE_BYTES]
    kept = kept[: kept.rfind(b"\n")] if b"\n" in kept else kept
    text = kept.decode("utf-8", "ignore") + f"\n{TRUNCATED_PREFIX} result cut at {len(kept)} bytes]"
    return ToolResult(text, result.is_error, True)


def _skipped_note(large: int, binary: int, max_file_bytes: int) -> str:
    parts = []
    if large:
        parts.append(f"{_plural(large, 'file')} over {_mib(max_file_bytes)} skipped")
    if binary:
        parts.append(f"{_plural(binary, 'binary file')} with matches not shown")
    return f"; {', '.join(parts)}" if parts else ""


def _file_notes(file: FileText, caps: ToolCaps, parse_errors: bool, too_deep: bool = False) -> str:
    notes = []
    if file.truncated:
        notes.append(f"only the first {_mib(caps.max_file_bytes)} of the file was parsed")
    if parse_errors:
        notes.append("the file has syntax errors, so the list may be incomplete")
    if too_deep:
        notes.append(f"members nested more than {MAX_NESTING} levels deep are not listed")
    return f" [{'; '.join(notes)}]" if notes else ""


def _language_name(rel: str) -> str:
    return language_for(rel) or "unknown"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


_PATH_PARAM = _Param("path", "string", "File path relative to the repository root, e.g. 'src/app.py'.", True)


def _list_files_spec(caps: ToolCaps) -> _ToolSpec:
    return _ToolSpec(
        "list_files",
        "List repository files (git-tracked, or untracked and not ignored), one path per line, "
        f"sorted, at most {caps.max_listed}. `pattern` is a glob matched against the path and "
        "against the file name: '*.py' finds Python files at any depth, 'src/**/test_*.py' works. "
        "`path` limits the listing to one directory.",
        (
            _Param("pattern", "string", "Glob such as '*.py' or 'docs/**/*.md'. Default '*'.", default="*"),
            _Param("path", "string", "Directory to list, relative to the root. Default '.'.", default="."),
        ),
    )


def _read_file_spec(caps: ToolCaps) -> _ToolSpec:
    return _ToolSpec(
        "read_file",
        "Read lines of a text file. The result starts with '<path>: lines <start>-<end> of "
        "<total>', then one line per source line as '<line number><TAB><text>'. At most "
        f"{caps.max_lines_per_read} lines per call; read further with start_line. Cite code as "
        "[path:start-end] using these line numbers.",
        (
            _PATH_PARAM,
            _Param("start_line", "integer", "First line to read (1-based). Default 1.", default=1),
            _Param("end_line", "integer", "Last line to read (inclusive). Default: the end.", nullable=True),
        ),
    )


def _search_text_spec(caps: ToolCaps) -> _ToolSpec:
    return _ToolSpec(
        "search_text",
        "Search repository text files for a literal string (not a regular expression). Smart "
        "case: an all-lowercase query ignores case; a query with a capital letter is "
        f"case-sensitive. Returns 'path:line: text' per matching line, at most {caps.max_matches}.",
        (
            _Param("query", "string", "The exact text to find, on one line.", True),
            _Param("path_glob", "string", "Only search files matching this glob, e.g. '*.py'.", default="*"),
        ),
    )


def _get_symbols_spec(caps: ToolCaps) -> _ToolSpec:
    return _ToolSpec(
        "get_symbols",
        "List the classes, functions and methods defined in a source file, each with its line "
        "range and signature. Works for Python, and JavaScript, TypeScript, Go and Rust when "
        "their parsers are installed.",
        (_PATH_PARAM,),
    )


def _get_imports_spec(caps: ToolCaps) -> _ToolSpec:
    return _ToolSpec(
        "get_imports",
        "List the import statements of a source file with their line numbers.",
        (_PATH_PARAM,),
    )


def _get_structure_spec(caps: ToolCaps) -> _ToolSpec:
    return _ToolSpec(
        "get_structure",
        f"Summarise the directory tree under a directory: subdirectories with their file counts, "
        f"up to {caps.structure_depth} levels deep, and the files in each.",
        (_Param("path", "string", "Directory relative to the root. Default '.'.", default="."),),
    )


_SPECS = (_list_files_spec, _read_file_spec, _search_text_spec, _get_symbols_spec, _get_imports_spec,
          _get_structure_spec)  # in the order the model sees them
