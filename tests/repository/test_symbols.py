"""Symbols and imports: Python through ast, other languages through tree-sitter grammars."""

from __future__ import annotations

import importlib.util
import textwrap

import pytest

from tech_writer.repository.symbols import (
    ImportRef,
    SourceParseError,
    Symbol,
    UnsupportedLanguage,
    extract_imports,
    extract_symbols,
    language_for,
    supported_extensions,
)


def _needs(module: str) -> pytest.MarkDecorator:
    missing = importlib.util.find_spec("tree_sitter") is None or importlib.util.find_spec(module) is None
    return pytest.mark.skipif(missing, reason=f"{module} is not installed")


def _outline(path: str, source: str) -> list[tuple[str, str, int, int, int]]:
    table = extract_symbols(path, textwrap.dedent(source))
    return [(s.kind, s.name, s.start, s.end, s.depth) for s in table.symbols]


PYTHON_SOURCE = '''\
"""Module."""
import os, sys as system
from . import sibling
from ..pkg.mod import (a, b as c)

@decorator
@other(1)
class Service(Base, metaclass=Meta):
    limit = 3

    def run(self, job: str, *, retries: int = 2) -> bool:
        def helper():  # nested in a function: not listed
            pass
        return True

    async def stream(self):
        import json
        yield 1

    class Config:
        def load(self): ...

if TYPE_CHECKING:
    def typed() -> None: ...
try:
    import fast
except ImportError:
    def fallback(): pass
'''


def test_python_symbols_with_ranges_signatures_and_nesting() -> None:
    table = extract_symbols("pkg/service.py", PYTHON_SOURCE)
    assert table.language == "python" and not table.parse_errors
    assert table.symbols == [
        Symbol("class", "Service", 6, 21, "class Service(Base, metaclass=Meta)", 0),
        Symbol("method", "Service.run", 11, 14, "def run(self, job: str, *, retries: int=2) -> bool", 1),
        Symbol("async method", "Service.stream", 16, 18, "async def stream(self)", 1),
        Symbol("class", "Service.Config", 20, 21, "class Config", 1),
        Symbol("method", "Service.Config.load", 21, 21, "def load(self)", 2),
        Symbol("function", "typed", 24, 24, "def typed() -> None", 0),
        Symbol("function", "fallback", 28, 28, "def fallback()", 0),
    ]


def test_python_imports_including_relative_and_nested() -> None:
    assert extract_imports("pkg/service.py", PYTHON_SOURCE) == [
        ImportRef(2, "os, sys", "import os, sys as system"),
        ImportRef(3, ".", "from . import sibling"),
        ImportRef(4, "..pkg.mod", "from ..pkg.mod import a, b as c"),
        ImportRef(17, "json", "import json"),
        ImportRef(26, "fast", "import fast"),
    ]


def test_python_syntax_error_is_reported_with_its_line() -> None:
    with pytest.raises(SourceParseError, match=r"could not parse bad.py as Python: .* at line 2"):
        extract_symbols("bad.py", "x = 1\ndef broken(:\n")


def test_symbol_round_trips_through_dicts() -> None:
    symbol = Symbol("function", "f", 1, 2, "def f()", 0)
    assert Symbol.from_dict(symbol.to_dict()) == symbol
    ref = ImportRef(3, "os", "import os")
    assert ImportRef.from_dict(ref.to_dict()) == ref


def test_unsupported_extensions_name_the_supported_ones() -> None:
    with pytest.raises(UnsupportedLanguage) as caught:
        extract_symbols("notes.xyz", "whatever")
    assert str(caught.value).startswith("not supported for .xyz files (supported: .py, .pyi")
    with pytest.raises(UnsupportedLanguage, match="extension-less"):
        extract_imports("Makefile", "all:\n")
    assert language_for("README.md") is None
    assert language_for("a/B.PY") == "python"
    assert supported_extensions()[:2] == (".py", ".pyi")


@_needs("tree_sitter_javascript")
def test_javascript_symbols_and_imports() -> None:
    source = """\
    import React, { useState } from "react";
    const fs = require('fs');
    export function render(node, target) {
      return 1;
    }
    export default class Widget extends Base {
      constructor(props) { super(props); }
      async load() {}
    }
    const double = (x) => x * 2;
    export { helper } from "./helper.js";
    const lazy = () => import("./lazy.js");
    """
    assert language_for("app.mjs") == "javascript"
    assert _outline("app.js", source) == [
        ("function", "render", 3, 5, 0),
        ("class", "Widget", 6, 9, 0),
        ("method", "Widget.constructor", 7, 7, 1),
        ("method", "Widget.load", 8, 8, 1),
        ("function", "double", 10, 10, 0),
        ("function", "lazy", 12, 12, 0),
    ]
    imports = extract_imports("app.js", textwrap.dedent(source))
    assert [(ref.line, ref.module) for ref in imports] == [
        (1, "react"), (2, "fs"), (11, "./helper.js"), (12, "./lazy.js")
    ]
    assert imports[0].text == 'import React, { useState } from "react";'


@_needs("tree_sitter_typescript")
def test_typescript_symbols() -> None:
    source = """\
    import type { T } from "./types";
    export interface Shape { area(): number }
    export type Id = string;
    enum Color { Red }
    export abstract class Base {
      abstract size(): number;
      describe(prefix: string): string { return prefix; }
    }
    namespace Util { export function clamp(x: number): number { return x; } }
    """
    assert _outline("shape.ts", source) == [
        ("interface", "Shape", 2, 2, 0),
        ("method", "Shape.area", 2, 2, 1),
        ("type", "Id", 3, 3, 0),
        ("enum", "Color", 4, 4, 0),
        ("class", "Base", 5, 8, 0),
        ("method", "Base.size", 6, 6, 1),
        ("method", "Base.describe", 7, 7, 1),
        ("namespace", "Util", 9, 9, 0),
        ("function", "Util.clamp", 9, 9, 1),
    ]
    table = extract_symbols("shape.ts", textwrap.dedent(source))
    assert table.symbols[6].signature == "describe(prefix: string): string"
    assert _outline("view.tsx", "export function View() { return <div/>; }\n") == [("function", "View", 1, 1, 0)]


@_needs("tree_sitter_go")
def test_go_symbols_and_imports() -> None:
    source = """\
    package main

    import (
        f "fmt"
        "strings"
    )

    type Server struct { Port int }
    type Handler interface { Serve() }

    func (s *Server) Start(port int) error {
        return nil
    }

    func main() {}
    """
    assert _outline("main.go", source) == [
        ("struct", "Server", 8, 8, 0),
        ("interface", "Handler", 9, 9, 0),
        ("method", "Server.Start", 11, 13, 0),
        ("func", "main", 15, 15, 0),
    ]
    table = extract_symbols("main.go", textwrap.dedent(source))
    assert table.symbols[2].signature == "func (s *Server) Start(port int) error"
    assert extract_imports("main.go", textwrap.dedent(source)) == [
        ImportRef(4, "fmt", 'import f "fmt"'), ImportRef(5, "strings", 'import "strings"')
    ]


@_needs("tree_sitter_rust")
def test_rust_symbols_and_imports() -> None:
    source = """\
    use std::io::{self, Read};
    mod config;
    pub struct Server { port: u16 }
    pub trait Handler { fn handle(&self); }
    impl Handler for Server {
        fn handle(&self) {}
    }
    impl Server {
        pub fn new(port: u16) -> Self { Server { port } }
    }
    mod util { pub fn helper() {} }
    """
    assert _outline("lib.rs", source) == [
        ("struct", "Server", 3, 3, 0),
        ("trait", "Handler", 4, 4, 0),
        ("fn", "Handler.handle", 4, 4, 1),
        ("impl", "Handler for Server", 5, 7, 0),
        ("fn", "Server.handle", 6, 6, 1),
        ("impl", "Server", 8, 10, 0),
        ("fn", "Server.new", 9, 9, 1),
        ("mod", "util", 11, 11, 0),
        ("fn", "util.helper", 11, 11, 1),
    ]
    assert [(ref.line, ref.module) for ref in extract_imports("lib.rs", textwrap.dedent(source))] == [
        (1, "std::io::{self, Read}"), (2, "config")
    ]


@_needs("tree_sitter_javascript")
def test_tree_sitter_recovers_from_syntax_errors_and_says_so() -> None:
    table = extract_symbols("broken.js", "function ok() {}\nfunction broken( {\n")
    assert table.parse_errors
    assert table.symbols[0].name == "ok"


@_needs("tree_sitter_javascript")
def test_deeply_nested_code_does_not_overflow() -> None:
    source = "const x = " + "[" * 3000 + "]" * 3000 + ";\nfunction after() {}\n"
    assert extract_imports("deep.js", source) == []
    assert [s.name for s in extract_symbols("deep.js", source).symbols] == ["after"]


def test_python_parsing_is_safe_from_several_threads() -> None:
    """CPython 3.11/3.12 raise a spurious SystemError ("AST constructor recursion depth
    mismatch") when two threads build ASTs at once and the collector switches threads mid-way;
    explorers and section writers parse in threads. Without the parse lock this fails here."""
    import gc
    import sys
    import threading
    import time
    from pathlib import Path

    from tech_writer.repository.symbols import extract_symbols

    text = (Path(__file__).resolve().parents[2] / "tech_writer" / "pipeline" / "run.py").read_text(
        encoding="utf-8")
    errors: list[BaseException] = []
    stop = time.monotonic() + 2.5

    class Finalised:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the collector frees it

        def __del__(self) -> None:
            sum(range(50))  # Python code inside a collection: the eval loop may switch threads

    def parse() -> None:
        while time.monotonic() < stop:
            try:
                extract_symbols("x.py", text)
            except SystemError as exc:
                errors.append(exc)

    def litter() -> None:
        while time.monotonic() < stop:
            for _ in range(200):
                Finalised()

    old_switch, old_thresholds = sys.getswitchinterval(), gc.get_threshold()
    sys.setswitchinterval(1e-6)
    gc.set_threshold(5)
    try:
        threads = [threading.Thread(target=parse) for _ in range(6)]
        threads.append(threading.Thread(target=litter))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(old_switch)
        gc.set_threshold(*old_thresholds)
    assert errors == []
