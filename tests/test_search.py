"""Literal smart-case search: one semantics, and engines that agree on it exactly."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from tech_writer.repo import Repository, ToolCaps
from tech_writer.search import (
    ENGINE_PYTHON,
    ENGINE_RIPGREP,
    MAX_MATCH_TEXT_CHARS,
    InvalidQuery,
    Match,
    available_engines,
    search_text,
)

HAS_RG = shutil.which("rg") is not None


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("search")
    _write(
        root,
        {
            "src/app.py": "import os\ndef Parse_Config(path):\n    return parse_config(path)  # parse_config\n",
            "src/util.py": "def helper():\n    pass\n\n\nCONFIG = {'a.b': 1}\n",
            "docs/guide.md": "Parse the config.\r\nCafé CONFIG and café config\r\nno newline at end config",
            "docs/regex.txt": "a.b*c (x) [y] \\d+ a.b\n",
            "data/blob.bin": b"config\x00\x01\x02 config",
            "data/late_nul.txt": b"config line\n" + b"x" * 9000 + b"\x00config after nul\n",
            "ignored/out.txt": "config but ignored\n",
            ".gitignore": "ignored/\n",
            "long.txt": "   " + "config " + "y" * 500 + "\n",
            "bom.txt": "\ufeffconfig with bom\n",
            "latin1.txt": b"caf\xe9 config\n",
        },
    )
    return root


def _search(root: Path, query: str, glob: str = "*", engine: str = ENGINE_PYTHON, **caps: int):  # type: ignore[no-untyped-def]
    return search_text(Repository(root), query, glob, replace(ToolCaps(), **caps), engine=engine)


def test_smart_case_lowercase_query_ignores_case(corpus: Path) -> None:
    result = _search(corpus, "parse_config")
    assert [(m.path, m.line) for m in result.matches] == [("src/app.py", 2), ("src/app.py", 3)]
    assert result.engine == ENGINE_PYTHON and not result.truncated


def test_smart_case_capital_letter_means_case_sensitive(corpus: Path) -> None:
    assert [(m.path, m.line) for m in _search(corpus, "Parse_Config").matches] == [("src/app.py", 2)]
    assert [(m.path, m.line) for m in _search(corpus, "CONFIG", "*.py").matches] == [("src/util.py", 5)]


def test_query_is_literal_not_a_regex(corpus: Path) -> None:
    assert [m.line for m in _search(corpus, "a.b*c (x) [y] \\d+", "*.txt").matches] == [1]
    assert [m.path for m in _search(corpus, "a.b").matches] == ["docs/regex.txt", "src/util.py"]


def test_one_match_per_line_ordered_by_path_then_line_and_text_stripped(corpus: Path) -> None:
    result = _search(corpus, "config", "docs/*")
    assert result.matches == [
        Match("docs/guide.md", 1, "Parse the config."),  # CRLF: the \r is not part of the text
        Match("docs/guide.md", 2, "Café CONFIG and café config"),
        Match("docs/guide.md", 3, "no newline at end config"),
    ]


def test_non_ascii_case_folding_and_undecodable_bytes(corpus: Path) -> None:
    assert [m.line for m in _search(corpus, "café", "docs/*").matches] == [2]
    assert [m.text for m in _search(corpus, "config", "latin1.txt").matches] == ["caf\ufffd config"]
    assert [m.text for m in _search(corpus, "config with", "bom.txt").matches] == ["\ufeffconfig with bom"]


def test_long_lines_are_cut(corpus: Path) -> None:
    (match,) = _search(corpus, "config", "long.txt").matches
    assert len(match.text) == MAX_MATCH_TEXT_CHARS and match.text.startswith("config y") and match.text.endswith("…")


def test_binary_ignored_and_large_files_are_skipped(corpus: Path) -> None:
    result = _search(corpus, "config")
    paths = {m.path for m in result.matches}
    assert "data/blob.bin" not in paths and "ignored/out.txt" not in paths
    assert "data/late_nul.txt" in paths  # a NUL after the first 8 KiB does not make a file binary
    assert result.skipped_binary == 1
    small = _search(corpus, "config", max_file_bytes=100)
    assert "long.txt" not in {m.path for m in small.matches} and small.skipped_large >= 2


def test_cap_marks_truncation(corpus: Path) -> None:
    result = _search(corpus, "config", max_matches=3)
    assert len(result.matches) == 3 and result.truncated
    assert result.matches == _search(corpus, "config").matches[:3]


def test_byte_budget_stops_the_scan(corpus: Path) -> None:
    result = _search(corpus, "config", max_search_bytes=150)
    assert result.budget_exhausted
    assert result.files_searched < _search(corpus, "config").files_searched


@pytest.mark.parametrize("query", ["", "two\nlines", "cr\r", "nul\x00"])
def test_invalid_queries(corpus: Path, query: str) -> None:
    with pytest.raises(InvalidQuery):
        _search(corpus, query)


def test_unknown_engine_is_a_programming_error(corpus: Path) -> None:
    with pytest.raises(ValueError, match="unknown search engine"):
        _search(corpus, "x", engine="grep")
    assert available_engines()[0] == ENGINE_PYTHON


AGREEMENT_QUERIES = ["config", "CONFIG", "parse_config", "Parse", "café", "a.b", "(x)", "-d", "--help", "nul", " "]


@pytest.mark.skipif(not HAS_RG, reason="ripgrep (rg) is not on PATH")
@pytest.mark.parametrize("query", AGREEMENT_QUERIES)
@pytest.mark.parametrize("glob", ["*", "*.py", "docs/**"])
def test_ripgrep_and_python_engines_agree(corpus: Path, query: str, glob: str) -> None:
    python = _search(corpus, query, glob)
    ripgrep = _search(corpus, query, glob, engine=ENGINE_RIPGREP)
    assert ripgrep.engine == ENGINE_RIPGREP
    assert (ripgrep.matches, ripgrep.truncated, ripgrep.files_searched) == (
        python.matches, python.truncated, python.files_searched
    )


@pytest.mark.skipif(not HAS_RG, reason="ripgrep (rg) is not on PATH")
def test_engines_agree_when_capped_across_many_files(tmp_path: Path) -> None:
    _write(tmp_path, {f"d{n % 7}/f{n:03}.txt": "hit\nmiss\nHIT hit\n" for n in range(600)})
    python = _search(tmp_path, "hit", max_matches=700)
    ripgrep = _search(tmp_path, "hit", engine=ENGINE_RIPGREP, max_matches=700)
    assert python.truncated and ripgrep.truncated
    assert ripgrep.matches == python.matches
