"""Symbols (classes, functions, methods, types) and imports of one source file.

Python uses the standard library's ``ast``. JavaScript, TypeScript/TSX, Go and Rust use tree-sitter
when the ``tree_sitter`` package and that language's grammar wheel are installed (the ``languages``
extra); a language whose grammar is missing is reported as unsupported, never as a crash.

Line numbers are 1-based and inclusive; a symbol's range starts at its first decorator, so citing
it covers the whole definition. Functions nested inside functions are not listed (they are
implementation detail); classes, impls, traits, interfaces and namespaces list their members.
"""

from __future__ import annotations

import ast
import functools
import importlib
import posixpath
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "MAX_NESTING",
    "ImportRef",
    "SourceParseError",
    "Symbol",
    "SymbolTable",
    "UnsupportedLanguage",
    "extract_imports",
    "extract_symbols",
    "language_for",
    "supported_extensions",
]

MAX_SIGNATURE_CHARS = 200
# Members of containers nested deeper than this are not listed: a hostile file nesting thousands of
# namespaces must not exhaust the stack, and no reader needs a listing that deep.
MAX_NESTING = 32

_PYTHON = "python"
# extension -> (language name, grammar module, function in that module returning the language)
_TREE_SITTER_GRAMMARS: dict[str, tuple[str, str, str]] = {
    ".js": ("javascript", "tree_sitter_javascript", "language"),
    ".mjs": ("javascript", "tree_sitter_javascript", "language"),
    ".cjs": ("javascript", "tree_sitter_javascript", "language"),
    ".jsx": ("javascript", "tree_sitter_javascript", "language"),
    ".ts": ("typescript", "tree_sitter_typescript", "language_typescript"),
    ".mts": ("typescript", "tree_sitter_typescript", "language_typescript"),
    ".cts": ("typescript", "tree_sitter_typescript", "language_typescript"),
    ".tsx": ("tsx", "tree_sitter_typescript", "language_tsx"),
    ".go": ("go", "tree_sitter_go", "language"),
    ".rs": ("rust", "tree_sitter_rust", "language"),
}
_PYTHON_EXTENSIONS = (".py", ".pyi")


class UnsupportedLanguage(ValueError):
    """No parser for this file's extension (or its tree-sitter grammar is not installed)."""

    def __init__(self, extension: str, supported: tuple[str, ...]) -> None:
        self.extension = extension
        self.supported = supported
        shown = extension or "extension-less"
        super().__init__(f"not supported for {shown} files (supported: {', '.join(supported)})")


class SourceParseError(ValueError):
    """The file is not valid source for its language (Python only: tree-sitter always yields a tree)."""


@dataclass(frozen=True)
class Symbol:
    """One definition. ``name`` is qualified with its container (``Class.method``); ``depth`` is the
    nesting level (0 for top level), used to indent listings."""

    kind: str
    name: str
    start: int
    end: int
    signature: str
    depth: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Symbol:
        return cls(**data)


@dataclass(frozen=True)
class ImportRef:
    """One import statement: where, what module, and its text on one line."""

    line: int
    module: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportRef:
        return cls(**data)


@dataclass(frozen=True)
class SymbolTable:
    """Symbols of a file; ``parse_errors`` is True when tree-sitter recovered from syntax errors
    (the listing may then miss definitions)."""

    language: str
    symbols: list[Symbol]
    parse_errors: bool = False


# --- languages ------------------------------------------------------------------------------
def _extension(path: str) -> str:
    return posixpath.splitext(posixpath.basename(path))[1].lower()


@functools.cache
def _tree_sitter_language(extension: str) -> Any | None:
    """The tree-sitter Language for an extension, or None when the grammar is not installed."""
    grammar = _TREE_SITTER_GRAMMARS.get(extension)
    if grammar is None:
        return None
    try:
        tree_sitter = importlib.import_module("tree_sitter")
        module = importlib.import_module(grammar[1])
        return tree_sitter.Language(getattr(module, grammar[2])())
    except (ImportError, AttributeError, TypeError, ValueError):
        return None


def supported_extensions() -> tuple[str, ...]:
    """Extensions this installation can parse: Python always, the others when their grammar is installed."""
    available = [ext for ext in _TREE_SITTER_GRAMMARS if _tree_sitter_language(ext) is not None]
    return _PYTHON_EXTENSIONS + tuple(available)


def language_for(path: str) -> str | None:
    """Language name for a path ("python", "javascript", "typescript", "tsx", "go", "rust") or None."""
    extension = _extension(path)
    if extension in _PYTHON_EXTENSIONS:
        return _PYTHON
    if _tree_sitter_language(extension) is not None:
        return _TREE_SITTER_GRAMMARS[extension][0]
    return None


def _require_language(path: str) -> str:
    language = language_for(path)
    if language is None:
        raise UnsupportedLanguage(_extension(path), supported_extensions())
    return language


def _one_line(text: str, limit: int = MAX_SIGNATURE_CHARS) -> str:
    collapsed = " ".join(text.split())
    return collapsed if len(collapsed) <= limit else collapsed[: limit - 1] + "…"


# --- public entry points --------------------------------------------------------------------
def extract_symbols(path: str, text: str) -> SymbolTable:
    """Definitions in ``text`` (the content of ``path``; the extension picks the language)."""
    language = _require_language(path)
    try:
        if language == _PYTHON:
            return SymbolTable(language, list(_python_symbols(_parse_python(path, text))))
        root = _parse_tree_sitter(path, text)
        collector = _TS_SYMBOLS[language]
        return SymbolTable(language, list(collector(root, 0, "")), parse_errors=bool(root.has_error))
    except RecursionError as exc:  # ast.unparse of an absurdly nested signature, say
        raise SourceParseError(f"could not list the symbols of {path}: it nests too deeply") from exc


def extract_imports(path: str, text: str) -> list[ImportRef]:
    """Import statements in ``text``, in line order."""
    language = _require_language(path)
    if language == _PYTHON:
        refs = _python_imports(_parse_python(path, text))
    else:
        refs = _TS_IMPORTS[language](_parse_tree_sitter(path, text))
    return sorted(refs, key=lambda ref: (ref.line, ref.text))


# --- Python ---------------------------------------------------------------------------------
# CPython 3.11 and 3.12 keep the AST constructor's recursion depth in interpreter-wide state, so
# two threads building ASTs at once can fail with "SystemError: AST constructor recursion depth
# mismatch" (python/cpython#106905). Explorers and section writers run in threads: one at a time.
_AST_LOCK = threading.Lock()


def _parse_python(path: str, text: str) -> ast.Module:
    try:
        with _AST_LOCK:
            return ast.parse(text, filename=path)
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        raise SourceParseError(f"could not parse {path} as Python: {exc.msg}{where}") from exc
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        raise SourceParseError(f"could not parse {path} as Python: {type(exc).__name__}") from exc


def _python_symbols(node: ast.AST, depth: int = 0, prefix: str = "", in_class: bool = False) -> Iterator[Symbol]:
    for child in _python_block_statements(node):
        if isinstance(child, ast.ClassDef):
            name = prefix + child.name
            yield Symbol("class", name, _python_start(child), _python_end(child), _class_signature(child), depth)
            if depth < MAX_NESTING:
                yield from _python_symbols(child, depth + 1, name + ".", in_class=True)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            kind = "method" if in_class else "function"
            if isinstance(child, ast.AsyncFunctionDef):
                kind = "async " + kind
            signature = _function_signature(child)
            yield Symbol(kind, prefix + child.name, _python_start(child), _python_end(child), signature, depth)


def _python_block_statements(node: ast.AST) -> Iterator[ast.stmt]:
    """Statements of a module/class body, looking inside if/try/with blocks at the same level
    (``if TYPE_CHECKING:``, ``try: import x except ImportError: def fallback()``)."""
    pending: list[ast.stmt] = list(getattr(node, "body", []))
    pending.reverse()
    while pending:
        statement = pending.pop()
        nested: list[ast.stmt] = []
        if isinstance(statement, ast.If):
            nested = statement.body + statement.orelse
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            nested = statement.body
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            handlers = getattr(statement, "handlers", [])
            nested = statement.body + [s for h in handlers for s in h.body]  # type: ignore[attr-defined]
            nested += statement.orelse + statement.finalbody  # type: ignore[attr-defined]
        if nested:
            pending.extend(reversed(nested))
        else:
            yield statement


def _python_start(node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    return min([node.lineno] + [decorator.lineno for decorator in node.decorator_list])


def _python_end(node: ast.stmt) -> int:
    return node.end_lineno or node.lineno


def _class_signature(node: ast.ClassDef) -> str:
    bases = [ast.unparse(base) for base in node.bases] + [ast.unparse(keyword) for keyword in node.keywords]
    return _one_line(f"class {node.name}" + (f"({', '.join(bases)})" if bases else ""))


def _function_signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return _one_line(f"{prefix} {node.name}({ast.unparse(node.args)}){returns}")


def _python_imports(tree: ast.Module) -> list[ImportRef]:
    refs = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            module = ", ".join(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
        else:
            continue
        refs.append(ImportRef(node.lineno, module, _one_line(ast.unparse(node))))
    return refs


# --- tree-sitter ----------------------------------------------------------------------------
def _parse_tree_sitter(path: str, text: str) -> Any:
    tree_sitter = importlib.import_module("tree_sitter")
    parser = tree_sitter.Parser(_tree_sitter_language(_extension(path)))  # one per call: thread-safe
    return parser.parse(text.encode("utf-8", "surrogatepass")).root_node


def _node_text(node: Any) -> str:
    return bytes(node.text or b"").decode("utf-8", "replace")


def _start_line(node: Any) -> int:
    return int(node.start_point[0]) + 1


def _end_line(node: Any) -> int:
    row, column = node.end_point
    # A node that ends at column 0 ended with the previous line's newline.
    return int(row) if column == 0 and row > node.start_point[0] else int(row) + 1


def _signature(node: Any, body_field: str = "body") -> str:
    """The node's text up to its body (``function f(a, b)``, ``impl T for S``), on one line."""
    body = node.child_by_field_name(body_field)
    raw = bytes(node.text or b"")
    # Without a body (a declaration, a macro) the first line says what it is.
    raw = raw[: body.start_byte - node.start_byte] if body is not None else raw.split(b"\n", 1)[0]
    return _one_line(raw.decode("utf-8", "replace").rstrip(" \t\r\n{=:;"))


def _field_text(node: Any, field: str) -> str:
    child = node.child_by_field_name(field)
    return _node_text(child) if child is not None else ""


def _symbol(node: Any, kind: str, name: str, depth: int, prefix: str) -> Symbol:
    return Symbol(kind, prefix + name, _start_line(node), _end_line(node), _signature(node), depth)


_SymbolCollector = Callable[[Any, int, str], Iterator[Symbol]]

# JavaScript / TypeScript -----------------------------------------------------------------------
_JS_KINDS = {
    "function_declaration": "function",
    "generator_function_declaration": "function",
    "function_signature": "function",
    "class_declaration": "class",
    "abstract_class_declaration": "class",
    "method_definition": "method",
    "abstract_method_signature": "method",
    "method_signature": "method",
    "interface_declaration": "interface",
    "type_alias_declaration": "type",
    "enum_declaration": "enum",
    "internal_module": "namespace",
    "module": "namespace",
}
_JS_CONTAINERS = {"class", "interface", "namespace"}
_JS_PASS_THROUGH = {"export_statement", "ambient_declaration", "expression_statement"}
_JS_DECLARATIONS = {"lexical_declaration", "variable_declaration"}
_JS_FUNCTION_VALUES = {"arrow_function", "function_expression", "function", "generator_function"}


def _js_symbols(node: Any, depth: int, prefix: str) -> Iterator[Symbol]:
    for child in node.named_children:
        kind = _JS_KINDS.get(child.type)
        if kind is not None:
            name = _field_text(child, "name") or "<anonymous>"
            yield _symbol(child, kind, name, depth, prefix)
            body = child.child_by_field_name("body")
            if kind in _JS_CONTAINERS and body is not None and depth < MAX_NESTING:
                yield from _js_symbols(body, depth + 1, prefix + name + ".")
        elif child.type in _JS_PASS_THROUGH:
            yield from _js_symbols(child, depth, prefix)
        elif child.type in _JS_DECLARATIONS:
            yield from _js_variable_symbols(child, depth, prefix)


def _js_variable_symbols(declaration: Any, depth: int, prefix: str) -> Iterator[Symbol]:
    """``const f = () => …`` and ``const C = class …`` define functions and classes too."""
    for declarator in declaration.named_children:
        value = declarator.child_by_field_name("value")
        if declarator.type != "variable_declarator" or value is None:
            continue
        name = _field_text(declarator, "name")
        lines = _start_line(declaration), _end_line(declaration)
        if value.type in _JS_FUNCTION_VALUES:
            yield Symbol("function", prefix + name, *lines, _one_line(f"{name} = {_signature(value)}"), depth)
        elif value.type == "class":
            yield Symbol("class", prefix + name, *lines, _signature(value), depth)
            body = value.child_by_field_name("body")
            if body is not None and depth < MAX_NESTING:
                yield from _js_symbols(body, depth + 1, prefix + name + ".")


def _js_imports(root: Any) -> list[ImportRef]:
    refs = []
    for node in _walk(root):
        if node.type == "import_statement" or (node.type == "export_statement" and node.child_by_field_name("source")):
            module = _string_content(node.child_by_field_name("source"))
            refs.append(ImportRef(_start_line(node), module, _one_line(_node_text(node))))
        elif node.type == "call_expression" and _is_js_import_call(node):
            arguments = node.child_by_field_name("arguments")
            first = arguments.named_children[0] if arguments is not None and arguments.named_children else None
            if first is not None and first.type == "string":
                refs.append(ImportRef(_start_line(node), _string_content(first), _one_line(_node_text(node))))
    return refs


def _is_js_import_call(node: Any) -> bool:
    function = node.child_by_field_name("function")
    return function is not None and (function.type == "import" or _node_text(function) == "require")


def _string_content(node: Any) -> str:
    return _node_text(node).strip("'\"`") if node is not None else ""


# Go --------------------------------------------------------------------------------------------
def _go_symbols(root: Any, depth: int, prefix: str) -> Iterator[Symbol]:
    for child in root.named_children:
        if child.type == "function_declaration":
            yield _symbol(child, "func", _field_text(child, "name"), depth, prefix)
        elif child.type == "method_declaration":
            receiver = _go_receiver_type(child)
            name = f"{receiver}.{_field_text(child, 'name')}" if receiver else _field_text(child, "name")
            yield _symbol(child, "method", name, depth, prefix)
        elif child.type == "type_declaration":
            for spec in child.named_children:
                if spec.type in ("type_spec", "type_alias"):
                    type_node = spec.child_by_field_name("type")
                    kind = {"struct_type": "struct", "interface_type": "interface"}.get(
                        type_node.type if type_node is not None else "", "type"
                    )
                    name = _field_text(spec, "name")
                    signature = _one_line(f"type {name} {kind}")
                    yield Symbol(kind, prefix + name, _start_line(spec), _end_line(spec), signature, depth)


def _go_receiver_type(method: Any) -> str:
    receiver = method.child_by_field_name("receiver")
    if receiver is None:
        return ""
    for parameter in receiver.named_children:
        type_node = parameter.child_by_field_name("type")
        if type_node is not None:
            return re.sub(r"\[.*\]", "", _node_text(type_node)).lstrip("*").strip()
    return ""


def _go_imports(root: Any) -> list[ImportRef]:
    refs = []
    for node in _walk(root):
        if node.type == "import_spec":
            module = _string_content(node.child_by_field_name("path"))
            alias = _field_text(node, "name")
            text = f'import {alias + " " if alias else ""}"{module}"'
            refs.append(ImportRef(_start_line(node), module, text))
    return refs


# Rust ------------------------------------------------------------------------------------------
_RUST_KINDS = {
    "function_item": "fn",
    "function_signature_item": "fn",
    "struct_item": "struct",
    "enum_item": "enum",
    "union_item": "union",
    "trait_item": "trait",
    "type_item": "type",
    "macro_definition": "macro",
    "mod_item": "mod",
}
_RUST_CONTAINERS = {"trait", "mod"}


def _rust_symbols(node: Any, depth: int, prefix: str) -> Iterator[Symbol]:
    for child in node.named_children:
        if child.type == "impl_item":
            self_type = _field_text(child, "type")
            trait = _field_text(child, "trait")
            name = f"{trait} for {self_type}" if trait else self_type
            yield _symbol(child, "impl", name, depth, prefix)
            body = child.child_by_field_name("body")
            if body is not None and depth < MAX_NESTING:
                yield from _rust_symbols(body, depth + 1, prefix + self_type + ".")
            continue
        kind = _RUST_KINDS.get(child.type)
        if kind is None:
            continue
        body = child.child_by_field_name("body")
        if kind == "mod" and body is None:
            continue  # `mod name;` is an import of another file, listed by get_imports
        name = _field_text(child, "name")
        yield _symbol(child, kind, name, depth, prefix)
        if kind in _RUST_CONTAINERS and body is not None and depth < MAX_NESTING:
            yield from _rust_symbols(body, depth + 1, prefix + name + ".")


def _rust_imports(root: Any) -> list[ImportRef]:
    refs = []
    for node in _walk(root):
        if node.type == "use_declaration":
            module = _field_text(node, "argument")
        elif node.type == "extern_crate_declaration" or (
            node.type == "mod_item" and node.child_by_field_name("body") is None  # `mod name;`
        ):
            module = _field_text(node, "name")
        else:
            continue
        refs.append(ImportRef(_start_line(node), module, _one_line(_node_text(node))))
    return refs


def _walk(root: Any) -> Iterator[Any]:
    """Every named node, depth first, without recursion (deeply nested code must not overflow)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.named_children))


_TS_SYMBOLS: dict[str, _SymbolCollector] = {
    "javascript": _js_symbols,
    "typescript": _js_symbols,
    "tsx": _js_symbols,
    "go": _go_symbols,
    "rust": _rust_symbols,
}
_TS_IMPORTS: dict[str, Callable[[Any], list[ImportRef]]] = {
    "javascript": _js_imports,
    "typescript": _js_imports,
    "tsx": _js_imports,
    "go": _go_imports,
    "rust": _rust_imports,
}
