"""The demo report on real packages nobody here wrote: its citations say what the cited lines show.

The sources are small parts of released packages, committed as their published archives
(``realsrc/``: requests 2.34.2 and rich 15.0.0 from PyPI's sdists, Apache-2.0 and MIT; express
5.3.0 as ``npm pack`` gives it, MIT). Every check here reads the cited files itself, without
tech_writer's code.
"""

from __future__ import annotations

import ast
import re
import tarfile
from pathlib import Path

import pytest

from tests.cli_helpers import assert_no_traceback, independent_citation_check, run_cli

ROOT = Path(__file__).resolve().parents[2]
ARCHIVES = Path(__file__).with_name("realsrc")
_USED_IN = re.compile(r"^- `(?:class |function )?(?P<name>[A-Za-z_$][\w$]*)[^`]*` in "
                      r"`(?P<defined>[^`]+)`.*?"
                      r"It is used in `[^`]+`(?: and \d+ other file\(s\))? "
                      r"\[(?P<path>[^\]:]+):(?P<line>\d+)\]", re.MULTILINE)
_CLASS_BULLET = re.compile(r"^- `class (?P<name>\w+)[^`]*` in `(?P<path>[^`]+\.py)`.*?"
                           r"\[(?P=path):(?P<start>\d+)-(?P<end>\d+)\]", re.MULTILINE)
_LIST = re.compile(r"(?:include|imports|exports|calls) ((?:`[^`]+`(?:, | and )?)+)")


def _unpack(archive: str, into: Path) -> Path:
    with tarfile.open(ARCHIVES / archive) as tar:
        tar.extractall(into, filter="data")
    (top,) = [p for p in into.iterdir() if p.is_dir()]
    return top


def _report(repo: Path, tmp_path: Path) -> str:
    out = tmp_path / "report.md"
    result = run_cli("--prompt", "architecture", "--repo", repo,
                     "--provider", "demo", "-o", out, timeout=300)
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr[-2000:]
    return out.read_text(encoding="utf-8")


def _code(line: str) -> str:
    """The line without string literals and comments (what a reference must be in)."""
    stripped = line.strip()
    if stripped.startswith(("#", "//", "*", "/*", ">>>")):
        return ""
    line = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`(?:\\.|[^`\\])*`', '""', line)
    return re.split(r"#|//", line, maxsplit=1)[0]


@pytest.fixture(scope="module", params=["requests-2.34.2-subset.tar.gz", "express-5.3.0.tgz",
                                        "rich-15.0.0-subset.tar.gz"])
def demo_report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[Path, str]:
    work = tmp_path_factory.mktemp("realsrc")
    repo = _unpack(request.param, work / "src")
    return repo, _report(repo, work)


def test_every_used_in_line_holds_the_identifier_as_a_reference(demo_report: tuple[Path, str]
                                                                ) -> None:
    repo, report = demo_report
    found = list(_USED_IN.finditer(report))
    assert found, report  # the check below must have something to check
    assert len(found) == report.count("It is used in"), "a 'used in' line this test cannot read"
    for match in found:
        name, path, line = match["name"], match["path"], int(match["line"])
        text = (repo / path).read_text(encoding="utf-8").splitlines()[line - 1]
        module = Path(match["defined"]).stem  # `sessions.Session()` names it by its module
        code = _code(text)
        whole = re.search(rf"(?:(?<![\w$.])|(?<=\b{re.escape(module)}\.)){re.escape(name)}"
                          rf"(?![\w$])", code)
        assert whole, f"{path}:{line} does not refer to {name}: {text!r}"


def test_citations_are_valid_and_classes_are_cited_whole(demo_report: tuple[Path, str]) -> None:
    repo, report = demo_report
    total, valid = independent_citation_check(report, repo)
    assert total and total == valid
    for match in _CLASS_BULLET.finditer(report):
        tree = ast.parse((repo / match["path"]).read_text(encoding="utf-8"))
        (node,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == match["name"]
                   and n.lineno == int(match["start"])]
        assert node.end_lineno == int(match["end"]), match[0]
        methods = [n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                   and not n.name.startswith("_")]
        if len(set(methods)) > 5:
            assert f"and {len(set(methods)) - 5} more" in match[0], match[0]


def test_summaries_hold_no_underlines_duplicates_or_words_cut(demo_report: tuple[Path, str]
                                                               ) -> None:
    repo, report = demo_report
    assert not re.search(r"[~=^]{4,}", report.split("\n", 3)[-1]), report
    for listing in _LIST.finditer(report):
        names = re.findall(r"`([^`]+)`", listing[1])
        assert len(names) == len(set(names)), listing[0]
    for cut in re.finditer(r"`([^`]*?)\.\.\.[)\]]?`[^\[]*\[([^\]:]+):(\d+)", report):
        shown, path, line = cut[1], cut[2], int(cut[3])
        lines = (repo / path).read_text(encoding="utf-8").splitlines()[line - 1:line + 11]
        source = " ".join(" ".join(lines).split())  # a signature may span lines
        body = shown.split(" ", 1)[-1]  # without "class " / "function "
        at = source.replace("( ", "(").find(body)
        source = source.replace("( ", "(")
        assert at >= 0, (shown, source)
        following = source[at + len(body):at + len(body) + 1]
        assert not re.match(r"[\w$]", following), f"cut mid-word: {shown!r} of {source!r}"


def test_sections_do_not_open_by_repeating_the_prompt(demo_report: tuple[Path, str]) -> None:
    _, report = demo_report
    prompt = (ROOT / "tech_writer" / "examples" / "architecture.md").read_text(encoding="utf-8")
    bullets = [b.strip(" -;.") for b in re.findall(r"^- (.+)$", prompt, re.MULTILINE)]
    for paragraph in re.findall(r"^## .+\n\n(.+)$", report, re.MULTILINE):
        assert not any(paragraph.startswith(bullet[:40]) for bullet in bullets), paragraph


def _section(report: str, words: str) -> str:
    (body,) = [b for title, b in re.findall(r"^## (.+)\n((?:(?!^## ).*\n?)*)", report, re.MULTILINE)
               if words in title.lower()]
    return body


@pytest.fixture(scope="module")
def requests_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _unpack("requests-2.34.2-subset.tar.gz", tmp_path_factory.mktemp("requests"))


def test_a_request_flows_from_the_functions_the_front_door_re_exports(
        demo_report: tuple[Path, str]) -> None:
    repo, report = demo_report
    if repo.name != "requests-2.34.2":
        pytest.skip("requests' flow: api.py and sessions.py, not its help.py/certs.py scripts")
    flow = _section(report, "flows")
    assert "[src/requests/api.py:" in flow and "[src/requests/sessions.py:" in flow, flow
    assert "help.py" not in flow and "certs.py" not in flow


def test_onboarding_says_how_to_install_with_the_readme_command(requests_repo: Path,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "onboarding.md"
    result = run_cli("--prompt", "onboarding", "--repo", requests_repo,
                     "--provider", "demo", "-o", out, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    install = _section(out.read_text(encoding="utf-8"), "install")
    assert "`python -m pip install requests`" in install, install
    assert "[README.md:" in install


def test_an_api_reference_has_one_section_per_public_module(requests_repo: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "api.md"
    result = run_cli("--prompt", "api-reference", "--repo", requests_repo,
                     "--provider", "demo", "-o", out, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    titles = re.findall(r"^## (.+)$", out.read_text(encoding="utf-8"), re.MULTILINE)
    assert "The `requests.api` module" in titles and "The `requests.sessions` module" in titles
    assert not {"Overview", "Usage", "Packaging"} & set(titles), titles
