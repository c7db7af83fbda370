"""The grounding gate: a section keeps only claims that are cited, verify, and name what exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from tech_writer.report.anchors import ANCHOR_MARK, DefinitionIndex
from tech_writer.report.claims import split_claims
from tech_writer.report.evaluation import evaluate_report
from tech_writer.report.gate import (
    GROUNDING_PREFIX,
    UNVERIFIED_PREFIX,
    GroundingFigures,
    GroundingGate,
)
from tech_writer.report.grounding import RepoIndex
from tech_writer.repository.repo import Repository


@pytest.fixture
def gate(sample_repo: Path) -> GroundingGate:
    return GroundingGate.build(Repository(sample_repo))


def test_a_cited_claim_passes_and_an_uncited_one_is_removed(gate: GroundingGate) -> None:
    text = ("Items live in one SQLite table [inventory/store.py:6-11]. "
            "The service scales to millions of users.")
    check = gate.check(text)
    assert [v.grounded for v in check.verdicts] == [True, False]
    assert check.failing[0].problem() == "no citation"
    gated = gate.settle(check)
    assert gated.markdown == "Items live in one SQLite table [inventory/store.py:6-11]."
    assert gated.draft == text
    assert gated.figures == GroundingFigures(claims_kept=1, claims_cited=1, cited_by_model=1,
                                             removed=1, sections=1)


def test_an_invented_name_fails_even_with_a_valid_citation(gate: GroundingGate) -> None:
    check = gate.check("- `Store` is wrapped by `CachingStore` [inventory/store.py:6-17]\n"
                       "- `Store.add` inserts one row [inventory/store.py:13-14]\n")
    assert [v.missing_names for v in check.verdicts] == [("CachingStore",), ()]
    assert "not in this repository: `CachingStore`" in check.failing[0].problem()
    assert "These names do not exist in this repository: `CachingStore`." in check.problems()
    gated = gate.settle(check)
    assert gated.markdown == "- `Store.add` inserts one row [inventory/store.py:13-14]"
    assert gated.figures.names_checked == 3 and gated.figures.names_missing == 1


def test_a_citation_that_does_not_verify_fails(gate: GroundingGate) -> None:
    check = gate.check("Rows are inserted one by one [inventory/store.py:90-95].")
    (verdict,) = check.verdicts
    assert verdict.invalid_citations == ("[inventory/store.py:90-95]",)
    assert gate.settle(check).markdown is None  # nothing grounded: the section is left out


def test_an_uncited_claim_naming_a_definition_is_anchored_to_its_lines(gate: GroundingGate) -> None:
    check = gate.check("`Store.add` inserts one row. `Store` keeps the items.")
    assert check.passed
    assert check.markdown == (f"`Store.add` inserts one row [inventory/store.py:13-14]{ANCHOR_MARK}. "
                              f"`Store` keeps the items [inventory/store.py:6-17]{ANCHOR_MARK}.")
    assert all(v.anchored for v in check.verdicts)
    figures = gate.settle(check).figures
    assert (figures.claims_kept, figures.anchored, figures.cited_by_model) == (2, 2, 0)
    # The anchored citations are checked by eval's own code like any other, and verify.
    metrics = evaluate_report(check.markdown, gate.repo)
    assert metrics.citations_valid == metrics.citations_total == 2
    assert metrics.entity_in_cited_span == 1.0


def test_anchoring_lends_no_citation_to_a_claim_with_an_invented_name(gate: GroundingGate) -> None:
    check = gate.check("`Store` delegates to `ShardRouter`.")
    assert check.markdown == "`Store` delegates to `ShardRouter`."
    assert not check.verdicts[0].grounded


def test_a_name_defined_twice_is_anchored_only_where_the_section_looks(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def run():\n    return 1\n", encoding="utf-8")
    (tmp_path / "b.py").write_text("\n\ndef run():\n    return 2\n", encoding="utf-8")
    gate = GroundingGate.build(Repository(tmp_path))
    assert not gate.check("`run` starts the work.").passed
    check = gate.check("`run` starts the work.", prefer=["b.py"])
    assert check.passed and "[b.py:3-4]" in check.markdown


def test_a_test_function_is_anchored_only_in_a_section_about_the_tests(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_signer.py").write_text("def test_signer():\n    assert 1\n",
                                                       encoding="utf-8")
    gate = GroundingGate.build(Repository(tmp_path))
    # Qwen wrote "**test_signer**: Contains tests for signing URLs" about the module.
    assert not gate.check("- **test_signer**: Contains tests for signing URLs.").passed
    check = gate.check("- **test_signer**: Contains tests for signing URLs.",
                       prefer=["tests/test_signer.py"])
    assert check.passed and "[tests/test_signer.py:1-2]" in check.markdown


def test_a_table_row_is_anchored_before_its_last_bar(gate: GroundingGate) -> None:
    text = "| name | role |\n|---|---|\n| `Store` | storage |\n"
    check = gate.check(text)
    assert check.passed
    assert f"| `Store` | storage [inventory/store.py:6-17]{ANCHOR_MARK} |" in check.markdown


@pytest.mark.parametrize("text, reason", [
    ("", "empty answer"),
    ("functions.get_structure:", "a tool call written as text"),
    ('<tool_call>{"name": "read_file", "arguments": {"path": "a.py"}}</tool_call>',
     "a tool call written as text"),
    ("```python\nprint(1)\n```", "no sentences"),
])
def test_text_that_is_not_prose_is_never_a_section(gate: GroundingGate, text: str,
                                                   reason: str) -> None:
    check = gate.check(text)
    assert check.not_prose == reason and not check.passed
    assert check.problems() == f"Your answer is not a section ({reason})."
    gated = gate.settle(check, keep_unverified=True)
    assert gated.markdown is None and gated.figures.sections == 1


def test_keep_unverified_quotes_what_fails_never_as_plain_text(gate: GroundingGate) -> None:
    text = ("- `Store` keeps items [inventory/store.py:6-17]\n"
            "- It is fast.\n"
            "- Rows go through `RowMapper` [inventory/store.py:13-14]\n"
            "- Reads page past the end [inventory/store.py:80-90]\n")
    gated = gate.settle(gate.check(text), keep_unverified=True)
    assert gated.markdown is not None
    kept, quote = gated.markdown.split("\n\n", 1)
    assert kept == "- `Store` keeps items [inventory/store.py:6-17]"
    assert quote.startswith(UNVERIFIED_PREFIX)
    assert all(line.startswith(">") for line in quote.splitlines())
    assert "> - It is fast. *(no citation)*" in quote
    assert "`RowMapper`" in quote
    # A quoted bad citation is shown in code, so the report holds no citation that fails.
    assert "`[inventory/store.py:80-90]`" in quote
    assert evaluate_report(gated.markdown, gate.repo).citation_validity == 1.0
    assert gated.figures.unverified == 3 and gated.figures.removed == 0


def test_sentences_are_removed_from_their_paragraph_and_lines_tidied(gate: GroundingGate) -> None:
    text = ("It is fast. `Store.all` lists every row [inventory/store.py:16-17]. It never fails.\n"
            "\n\n- Nobody knows.\n\nThe end is near.\n")
    gated = gate.settle(gate.check(text))
    assert gated.markdown == "`Store.all` lists every row [inventory/store.py:16-17]."


def test_a_heading_left_with_nothing_under_it_goes_with_its_claims(gate: GroundingGate) -> None:
    text = ("### Storage\n\n`Store.all` lists every row [inventory/store.py:16-17].\n\n"
            "### Scaling\n\nIt scales to millions.\n\n#### Shards\n\nShards are automatic.\n\n"
            "### Code\n\n```python\n# a comment, not a heading\n```\n\n### Risks\n\nNone at all.\n")
    gated = gate.settle(gate.check(text))
    assert gated.markdown == ("### Storage\n\n`Store.all` lists every row "
                              "[inventory/store.py:16-17].\n\n### Code\n\n```python\n"
                              "# a comment, not a heading\n```")


def test_the_figures_add_up_and_make_the_grounding_line() -> None:
    first = GroundingFigures(claims_kept=3, cited_by_model=2, anchored=1, removed=4,
                             names_checked=5, names_missing=2, sections=1)
    second = GroundingFigures(sections=1, removed=2, sections_left_out=("Storage",))
    total = GroundingFigures.total([first, second])
    assert total.as_dict() == {
        "claims_written": 9, "claims_kept": 3, "claims_cited": 0, "cited_by_model": 2, "anchored_by_tool": 1,
        "removed": 6, "kept_unverified": 0, "names_checked": 5, "names_missing": 2,
        "sections": 2, "sections_left_out": ["Storage"]}
    line = total.header_line()
    assert line.startswith(GROUNDING_PREFIX + ": 3 of 9 claims kept, all cited (2 by the model, "
                           f"1 anchored by the tool to the definition they name, marked {ANCHOR_MARK})")
    assert "6 removed" in line and "5 names checked, 2 not in the repository" in line
    assert line.endswith("left out, nothing in them grounded: Storage.")
    assert not total.nothing_grounded
    assert GroundingFigures(sections=2, removed=5).nothing_grounded
    # The line is the run's account of its claims: eval does not count it as one.
    assert split_claims(f"# T\n\n{line}\n\n## S\n\nA claim.\n")[0].text == "A claim."


def test_definitions_index_finds_full_and_last_names(sample_repo: Path) -> None:
    index = DefinitionIndex.of(RepoIndex.build(Repository(sample_repo)))
    add = index.find("Store.add")
    assert add is not None and (add.path, add.start, add.end) == ("inventory/store.py", 13, 14)
    assert index.find("add") == add
    assert index.find("Nowhere") is None


def test_a_bare_name_that_can_only_be_code_is_anchored_too(tmp_path: Path) -> None:
    (tmp_path / "signer.py").write_text(
        "class TimestampSigner:\n    pass\n\n\ndef want_bytes(s):\n    return s\n", encoding="utf-8")
    gate = GroundingGate.build(Repository(tmp_path))
    check = gate.check("The TimestampSigner class adds a time. Strings go through want_bytes. "
                       "Signing is Safe.")
    assert check.markdown == (f"The TimestampSigner class adds a time [signer.py:1-2]{ANCHOR_MARK}. "
                              f"Strings go through want_bytes [signer.py:5-6]{ANCHOR_MARK}. "
                              "Signing is Safe.")
    assert [v.grounded for v in check.verdicts] == [True, True, False]


def test_a_name_in_bold_or_led_by_an_acronym_is_anchored_too(tmp_path: Path) -> None:
    (tmp_path / "signer.py").write_text(
        "class HMACAlgorithm:\n    pass\n\n\nclass Signer:\n    pass\n", encoding="utf-8")
    gate = GroundingGate.build(Repository(tmp_path))
    # What Qwen2.5-Coder-1.5B writes: the subject of a list item in bold, an acronym-led class.
    check = gate.check("- **Signer**: signs bytes.\n- The HMACAlgorithm signs with HMACs.\n"
                       "- **Signing**: is safe.\n")
    assert check.markdown == (f"- **Signer**: signs bytes [signer.py:5-6]{ANCHOR_MARK}.\n"
                              f"- The HMACAlgorithm signs with HMACs [signer.py:1-2]{ANCHOR_MARK}.\n"
                              "- **Signing**: is safe.\n")
    assert [v.grounded for v in check.verdicts] == [True, True, False]
