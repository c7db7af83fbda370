"""The deterministic metrics against hand-made reports whose answers are known."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_repo

from tech_writer.report.claims import split_claims
from tech_writer.report.evaluation import evaluate_report
from tech_writer.report.grounding import RepoIndex, parse_entity
from tech_writer.repository.repo import Repository

FILES = {
    "app/store.py": '''\
        """Storage."""

        MAX_ITEMS = 100


        class Store:
            """Keeps items."""

            def add(self, name):
                return name


        def open_store(path):
            return Store()
        ''',
    "README.md": "# app\n\nRun `app serve`.\n",
    "docs/guide.md": "one\ntwo\nthree\n",
}


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    root = make_repo(tmp_path / "repo", FILES, git=False)
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (tmp_path / "secret.py").write_text("x = 1\n")
    return Repository(root)


def test_claims_are_sentences_items_and_rows_not_headings_code_or_the_banner() -> None:
    report = "\n".join([
        "# Title",
        "",
        "> **Demo run** (`--provider demo`): scripted. Use a real model.",
        "",
        "## Storage",
        "",
        "The store keeps items [app/store.py:6-10]. It is small. See e.g. the README.",
        "",
        "- first item [a.py:1]",
        "  continued here.",
        "- second item",
        "",
        "```python",
        "x = 1. Not a claim.",
        "```",
        "",
        "| name | role |",
        "|---|---|",
        "| Store | keeps items [app/store.py:6] |",
        "",
        "`Store.add` returns the name. [app/store.py:9-10]",
        "",
        "---",
        "",
        "<!-- a record, over several lines: not claims",
        "{\"section\": \"Storage\", \"focus\": \"What the store keeps.\"}",
        "-->",
        "<!-- one line --> The store is not a claim here either.",
    ])
    claims = split_claims(report)
    assert [c.text for c in claims] == [
        "The store keeps items [app/store.py:6-10].",
        "It is small.",
        "See e.g. the README.",
        "- first item [a.py:1]\n  continued here.",
        "- second item",
        "| Store | keeps items [app/store.py:6] |",
        "`Store.add` returns the name. [app/store.py:9-10]",
    ]
    assert [len(c.citations) for c in claims] == [1, 0, 0, 1, 0, 1, 1]
    assert {c.section for c in claims} == {"Storage"}
    assert claims[-1].code_names == ["Store.add"]


def test_a_perfect_report_scores_one_everywhere(repo: Repository) -> None:
    report = ("## Storage\n\n`Store` keeps items [app/store.py:6-10]. "
              "`open_store()` builds one [app/store.py:13-14].\n")
    metrics = evaluate_report(report, repo)
    assert (metrics.citation_validity, metrics.citation_coverage) == (1.0, 1.0)
    assert (metrics.entity_existence, metrics.entity_in_cited_span) == (1.0, 1.0)
    assert metrics.missing_entities() == []


def test_hostile_citations_are_invalid_each_for_its_reason(repo: Repository) -> None:
    report = ("The logo [logo.png:1-2]. A secret [../secret.py:1]. Past the end "
              "[docs/guide.md:2-9]. Reversed [docs/guide.md:3-2]. Missing [nope/x.py:1]. "
              "Fine [docs/guide.md:1-3].\n")
    metrics = evaluate_report(report, repo)
    assert (metrics.citations_total, metrics.citations_valid) == (6, 1)
    reasons = [item["reason"] for item in metrics.invalid_citations]
    assert reasons == ["binary file", "outside repository", "end past last line (3 lines)",
                       "reversed range", "file not found"]
    assert metrics.citation_validity == round(1 / 6, 4)
    assert metrics.citation_coverage == 1.0  # every claim carries a citation, valid or not


def test_zero_claims_and_no_citations_give_none_not_a_number(repo: Repository) -> None:
    only_structure = "# Title\n\n## Part\n\n```\ncode [app/store.py:1]\n```\n"
    metrics = evaluate_report(only_structure, repo)
    assert metrics.claims_total == 0 and metrics.citations_total == 0
    assert metrics.citation_validity is None and metrics.citation_coverage is None
    assert metrics.entity_existence is None
    no_citations = "The store keeps items. It is small.\n"
    metrics = evaluate_report(no_citations, repo)
    assert (metrics.claims_total, metrics.claims_cited) == (2, 0)
    assert metrics.citation_coverage == 0.0 and metrics.citation_validity is None
    assert evaluate_report("", repo).as_dict()["claims"] == {"total": 0, "cited": 0}


def test_made_up_names_are_listed_and_real_ones_found_by_kind(repo: Repository) -> None:
    report = ("`Store.add` and `MAX_ITEMS` live in `app/store.py` [app/store.py:1-9]. "
              "`StoreFactory.build()` and `docs/missing.md` do not exist [app/store.py:6]. "
              "Run `app serve --port 1` with `True`.\n")
    metrics = evaluate_report(report, repo)
    found = {check.entity.text: check.found_as for check in metrics.entities}
    assert found == {"Store.add": "symbol", "MAX_ITEMS": "text", "app/store.py": "path",
                     "StoreFactory.build()": None, "docs/missing.md": None}
    assert metrics.missing_entities() == ["StoreFactory.build()", "docs/missing.md"]
    assert metrics.entity_existence == 0.6
    # Store.add (line 9), MAX_ITEMS (line 3) and the cited file itself are in the span.
    assert metrics.entity_in_cited_span == 0.6


def test_a_path_written_from_inside_the_package_is_found(tmp_path: Path) -> None:
    # Qwen wrote `itsdangerous/encoding.py` for src/itsdangerous/encoding.py: a real module.
    root = make_repo(tmp_path / "repo", {"src/pkg/encoding.py": "def encode():\n    pass\n"},
                     git=False)
    report = ("`pkg/encoding.py`, `encoding.py`, `pkg.encoding`, `pkg/` and `src/pkg/encoding.py` "
              "exist [src/pkg/encoding.py:1-2]; `kg/encoding.py` and `other/encoding.py` do not "
              "[src/pkg/encoding.py:1].\n")
    found = {c.entity.text: c.found_as for c in evaluate_report(report, Repository(root)).entities}
    assert found == {"pkg/encoding.py": "path", "encoding.py": "path", "pkg.encoding": "path",
                     "pkg/": "path", "src/pkg/encoding.py": "path", "kg/encoding.py": None,
                     "other/encoding.py": None}


def test_a_name_outside_the_cited_lines_is_found_but_not_in_span(repo: Repository) -> None:
    metrics = evaluate_report("`open_store` builds a store [app/store.py:1-3].\n", repo)
    (check,) = metrics.entities
    assert check.found_as == "symbol" and not check.in_cited_span
    assert metrics.as_dict()["entities"]["found_outside_cited_span"] == ["open_store"]


def test_the_report_file_in_the_repository_does_not_vouch_for_its_own_names(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"a.py": "def real():\n    pass\n"}, git=False)
    report = "`Invented` is real [a.py:1].\n"
    (root / "report.md").write_text(report)
    repo = Repository(root)
    assert evaluate_report(report, repo).missing_entities() == []  # its own words count
    assert evaluate_report(report, repo, exclude=frozenset({"report.md"})).missing_entities() == ["Invented"]


def test_exploration_efficiency_and_cited_files_never_read(repo: Repository) -> None:
    report = "A [app/store.py:1]. B [docs/guide.md:1].\n"
    metrics = evaluate_report(report, repo, files_read=["app/store.py"])
    assert metrics.files_listed == 4 and metrics.files_read == 1
    assert metrics.exploration_efficiency == 0.25
    assert metrics.cited_never_read == ["docs/guide.md"]


@pytest.mark.parametrize(("code", "kind", "name"), [
    ("Foo", "identifier", "Foo"), ("bar()", "identifier", "bar"), ("pkg.mod.Baz", "identifier", "pkg.mod.Baz"),
    ("cli(**options: Any)", "identifier", "cli"), ("a/b.py", "path", "a/b.py"), ("./src/", "path", "src"),
    ("README.md", "path", "README.md"), ("--max-cost", None, None), ("pip install x", None, None),
    ("None", None, None), ("x", None, None), ("../etc/passwd", None, None),
    # An endpoint or a system path is not a file of the repository; a root-relative file is.
    ("/models", None, None), ("/api/v1/chat/completions", None, None), ("/etc/hosts", None, None),
    ("/src/app.py", "path", "src/app.py"),
])
def test_what_counts_as_a_name(code: str, kind: str | None, name: str | None) -> None:
    entity = parse_entity(code, frozenset({"md", "py"}))
    assert (entity.kind, entity.name) == (kind, name) if entity else kind is None


def test_the_index_uses_get_symbols_languages(tmp_path: Path) -> None:
    pytest.importorskip("tree_sitter_javascript")
    root = make_repo(tmp_path / "js", {"web/app.js": "export function renderPage() { return 1; }\n"},
                     git=False)
    index = RepoIndex.build(Repository(root))
    assert "renderPage" in index.simple_symbols


# --- issue 26: impossible numbers, and a cost that grows with the report, not its square ---------
def test_an_impossible_line_number_is_scored_as_an_invalid_citation(repo: Repository) -> None:
    report = f"`Store` keeps items [app/store.py:{'7' * 5_000}]. `Store` adds [app/store.py:6-9].\n"
    metrics = evaluate_report(report, repo)
    assert (metrics.citations_total, metrics.citations_valid) == (2, 1)
    assert metrics.invalid_citations[0]["reason"] == "impossible line number"
    assert len(metrics.invalid_citations[0]["citation"]) <= 200


class CountingRepository(Repository):
    reads = 0

    def read_text(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        CountingRepository.reads += 1
        return super().read_text(*args, **kwargs)


def test_each_cited_file_is_read_once_however_many_claims_cite_it(repo: Repository) -> None:
    claims = [f"`Store` keeps item {n} [app/store.py:{1 + n % 9}-{2 + n % 9}]." for n in range(300)]
    index = RepoIndex.build(repo)
    counting = CountingRepository(repo.root)
    CountingRepository.reads = 0
    metrics = evaluate_report(" ".join(claims) + "\n", counting, index=index)
    assert metrics.claims_total == 300 and metrics.citations_valid == 300
    assert CountingRepository.reads == 1  # was one read per distinct cited range (9 here)


def test_claims_keep_their_own_citations_in_a_long_report() -> None:
    sentences = [f"Item {n} is stored [a/b{n}.py:{n + 1}]." for n in range(2_000)]
    claims = split_claims(" ".join(sentences) + "\n")
    assert len(claims) == 2_000
    assert all(len(claim.citations) == 1 and claim.citations[0].path == f"a/b{n}.py"
               for n, claim in enumerate(claims))


def test_a_paragraph_of_abbreviations_still_splits_right() -> None:
    text = " ".join(f"Use a tool, e.g. Foo{n} does it." for n in range(3)) + "\n"
    assert [claim.text for claim in split_claims(text)] == [
        f"Use a tool, e.g. Foo{n} does it." for n in range(3)]
