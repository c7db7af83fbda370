"""Citations the tool writes itself: a sentence that names a definition, anchored to its lines.

Small models often write accurate sentences about the code they were shown and cite nothing
(Qwen2.5-Coder-1.5B, given 80 numbered lines of a module and asked for cited bullets: five true
bullets, not one citation). When such a sentence names a definition the repository has in exactly
one place — in inline code (``Signer``, ``Signer.sign``, ``_lazy_sha1()``), bare when the word
can only be code (``TimestampSigner``, ``want_bytes``, ``HMACAlgorithm``), or in bold as a list
item's subject (``**Signer**: ...``) — the symbol
index knows where it is: the sentence gets a citation of that definition's lines, marked with
:data:`ANCHOR_MARK` so a reader sees which citations the tool wrote. An anchored citation is then
checked exactly like the model's own (:mod:`~tech_writer.report.gate`): it must verify, and the
sentence's names must exist.

A name defined in several places is anchored only when one of them is in the files the section
is about; otherwise it stays uncited (the tool does not guess between two ``dumps``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from tech_writer.report.citations import format_citation
from tech_writer.report.claims import Claim
from tech_writer.report.grounding import RepoIndex
from tech_writer.repository.filekinds import file_role

__all__ = ["ANCHOR_MARK", "Definition", "DefinitionIndex", "anchor_claims"]

ANCHOR_MARK = "†"  # follows a citation the tool anchored; the report's grounding line says so
MAX_ANCHORS_PER_CLAIM = 2
_CLOSING = ".!?:;"
_CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)
# CamelCase with two capitals or more (an acronym first too: HMACAlgorithm), or snake_case:
# shapes an English word does not have.
_CODE_LIKE = re.compile(r"(?<![\w.])(?:[A-Z][A-Z0-9]*[a-z][a-z0-9]*(?:[A-Z][A-Za-z0-9]*)+"
                        r"|[A-Z]{2,}[a-z][A-Za-z0-9]*|[a-z][a-z0-9]*_[a-z0-9_]+)(?![\w])")
# A name set in bold, as small models set the thing a list item is about: **Signer**: ...
_BOLD_NAME = re.compile(r"(\*\*|__)([A-Za-z_][A-Za-z0-9_]*)(?:\(\))?\1")


@dataclass(frozen=True)
class Definition:
    """Where one definition is: ``name`` as the symbol extractor gives it (``Signer.sign``)."""

    path: str
    name: str
    start: int
    end: int

    @property
    def citation(self) -> str:
        return format_citation(self.path, self.start, self.end)


class DefinitionIndex:
    """Every definition of the repository's source files, by full and by last name."""

    def __init__(self, definitions: Iterable[Definition]) -> None:
        self._by_name: dict[str, list[Definition]] = defaultdict(list)
        self._by_last: dict[str, list[Definition]] = defaultdict(list)
        for definition in definitions:
            self._by_name[definition.name].append(definition)
            self._by_last[definition.name.rsplit(".", 1)[-1]].append(definition)

    @classmethod
    def of(cls, index: RepoIndex) -> DefinitionIndex:
        """The definitions the repository index parsed (one read of the repository for both)."""
        return cls(Definition(path, symbol.name, symbol.start, symbol.end)
                   for path, symbols in index.symbols.items() for symbol in symbols)

    def find(self, name: str, prefer: frozenset[str] = frozenset()) -> Definition | None:
        """The one definition ``name`` means, or None when there is none or no telling which.
        A definition in a test file counts only when the section is about that file: a report
        sentence naming ``test_signer`` means the module under test, not the test function."""
        candidates = self._by_name.get(name) or self._by_last.get(name.rsplit(".", 1)[-1], [])
        candidates = [c for c in candidates if c.path in prefer or file_role(c.path) != "test"]
        if len(candidates) > 1 and prefer:
            candidates = [c for c in candidates if c.path in prefer] or candidates
        unique = {(c.path, c.start, c.end): c for c in candidates}
        return next(iter(unique.values())) if len(unique) == 1 else None


def anchor_claims(markdown: str, claims: Iterable[Claim], index: RepoIndex,
                  definitions: DefinitionIndex, prefer: frozenset[str] = frozenset()
                  ) -> tuple[str, int]:
    """``markdown`` with a marked citation added to each uncited claim that names a definition
    the repository has in one place (see the module docstring); and how many claims got one.
    A claim that also names something the repository lacks is left as it is: it fails anyway."""
    insertions: list[tuple[int, str]] = []
    for claim in claims:
        if claim.citations:
            continue
        found = _definitions_named(claim, index, definitions, prefer)
        if found:
            text = " " + ", ".join(d.citation + ANCHOR_MARK for d in found)
            insertions.append((_insertion_point(markdown, claim), text))
    for offset, text in sorted(insertions, reverse=True):
        markdown = markdown[:offset] + text + markdown[offset:]
    return markdown, len(insertions)


def _definitions_named(claim: Claim, index: RepoIndex, definitions: DefinitionIndex,
                       prefer: frozenset[str]) -> list[Definition]:
    found: dict[tuple[str, int, int], Definition] = {}
    for code in [*claim.code_names, *_bare_code_words(claim, index)]:
        entity = index.parse(code)
        if entity is None:
            continue
        known = index.lookup(entity)
        if known is None:
            return []  # an invented name: anchoring would lend it a citation it does not earn
        if known != "symbol" or len(found) >= MAX_ANCHORS_PER_CLAIM:
            continue
        definition = definitions.find(entity.name, prefer)
        if definition is not None:
            found.setdefault((definition.path, definition.start, definition.end), definition)
    return list(found.values())


def _bare_code_words(claim: Claim, index: RepoIndex) -> list[str]:
    """Names written without backticks that the repository defines and that can only be code
    (``TimestampSigner``, ``load_payload``) or are set in bold as the item's subject
    (``**Signer**``): small models often write them so."""
    prose = _CODE_SPAN.sub(" ", claim.text)
    for citation in claim.citations:
        prose = prose.replace(citation.text, " ")
    words = [match.group(2) for match in _BOLD_NAME.finditer(prose)] + _CODE_LIKE.findall(prose)
    return [word for word in dict.fromkeys(words) if word in index.simple_symbols]


def _insertion_point(markdown: str, claim: Claim) -> int:
    """Inside the claim, before its closing punctuation (or a table row's last ``|``)."""
    end = claim.start + len(markdown[claim.start:claim.end].rstrip())
    if markdown[claim.start:end].lstrip().startswith("|") and markdown[end - 1] == "|":
        end -= 1
        while end > claim.start and markdown[end - 1] == " ":
            end -= 1
        return end
    while end > claim.start and markdown[end - 1] in _CLOSING:
        end -= 1
    return end
