"""Path resolution: the only gate between a model-supplied string and the file system."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tech_writer.repository.paths import (
    PathOutsideRepo,
    compile_glob,
    display_path,
    glob_matches,
    glob_matches_everything,
    normalize_rel_path,
    relative_posix,
    resolve_in_repo,
)
from tech_writer.repository.repo import Repository

PROPERTY_SETTINGS = settings(
    max_examples=300, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A repository root with inside/outside symlinks, and a secret directory next to it."""
    base = tmp_path_factory.mktemp("paths")
    root, outside = base / "repo", base / "outside"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    (root / "src" / "pkg" / "mod.py").write_text("x = 1\n")
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    os.symlink(outside / "secret.txt", root / "link_file_out")
    os.symlink(outside, root / "link_dir_out")
    os.symlink(root / "src", root / "link_dir_in")
    os.symlink(root / "src" / "pkg" / "mod.py", root / "link_file_in")
    os.symlink(root / ".git", root / "link_git")
    os.symlink("../..", root / "src" / "up_two")
    os.symlink("loop_b", root / "loop_a")
    os.symlink("loop_a", root / "loop_b")
    return root, outside


def _refusal(root: Path, user_path: str) -> str:
    with pytest.raises(PathOutsideRepo) as caught:
        resolve_in_repo(root, user_path)
    return caught.value.reason


def test_relative_paths_resolve_inside_the_root(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox
    assert resolve_in_repo(root, "src/pkg/mod.py") == root / "src" / "pkg" / "mod.py"
    assert resolve_in_repo(root, "./src//pkg/./mod.py") == root / "src" / "pkg" / "mod.py"
    assert resolve_in_repo(root, ".") == root
    assert resolve_in_repo(root, "") == root
    assert resolve_in_repo(root, "does/not/exist.py") == root / "does" / "not" / "exist.py"


@pytest.mark.parametrize("user_path", ["/etc/passwd", "//etc", "\\windows", "C:\\x", "C:x", "\\\\server\\share"])
def test_absolute_paths_are_refused(sandbox: tuple[Path, Path], user_path: str) -> None:
    assert "absolute" in _refusal(sandbox[0], user_path)


@pytest.mark.parametrize("user_path", ["..", "../outside/secret.txt", "src/../../x", "src/../src/pkg/mod.py"])
def test_dot_dot_is_refused_even_when_it_would_stay_inside(sandbox: tuple[Path, Path], user_path: str) -> None:
    assert "'..'" in _refusal(sandbox[0], user_path)


@pytest.mark.parametrize("user_path", [".git", ".git/config", "./.GIT/config", "src/.git/x", "link_git/config"])
def test_git_internals_are_refused(sandbox: tuple[Path, Path], user_path: str) -> None:
    assert ".git" in _refusal(sandbox[0], user_path)


def test_nul_bytes_are_refused(sandbox: tuple[Path, Path]) -> None:
    assert "NUL" in _refusal(sandbox[0], "src/pkg/mod.py\x00.txt")


@pytest.mark.parametrize(
    "user_path", ["link_file_out", "link_dir_out/secret.txt", "link_dir_out", "src/up_two/outside"]
)
def test_symlinks_leading_outside_are_refused(sandbox: tuple[Path, Path], user_path: str) -> None:
    assert "outside the repository" in _refusal(sandbox[0], user_path)


def test_symlinks_staying_inside_resolve_to_their_target(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox
    assert resolve_in_repo(root, "link_file_in") == root / "src" / "pkg" / "mod.py"
    assert resolve_in_repo(root, "link_dir_in/pkg/mod.py") == root / "src" / "pkg" / "mod.py"


def test_symlink_loops_do_not_escape_or_crash(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox
    try:
        resolved = resolve_in_repo(root, "loop_a")
    except PathOutsideRepo:
        return
    assert resolved == root or root in resolved.parents


def test_unencodable_names_are_refused_not_crashing(sandbox: tuple[Path, Path]) -> None:
    assert "cannot be resolved" in _refusal(sandbox[0], "bad\ud800name")


def test_non_utf8_names_resolve_and_display(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.txt")  # Latin-1 bytes: not valid UTF-8, decoded with surrogateescape
    try:
        (tmp_path / name).write_text("x\n")
    except (OSError, UnicodeEncodeError):
        pytest.skip("file system refuses non-UTF-8 names")
    assert resolve_in_repo(tmp_path, name) == tmp_path / name
    assert display_path(name) == "caf\\xe9.txt"
    display_path(name).encode("utf-8")  # printable text is valid UTF-8


def test_display_path_escapes_control_characters() -> None:
    assert display_path("a\nb\tc.py") == "a\\x0ab\\x09c.py"
    assert display_path("ok/naïve.py") == "ok/naïve.py"
    assert display_path("lone\ud800") == "lone\\ud800"


def test_relative_posix_and_normalisation(tmp_path: Path) -> None:
    assert relative_posix(tmp_path, tmp_path / "a" / "b.py") == "a/b.py"
    assert relative_posix(tmp_path, tmp_path) == "."
    with pytest.raises(PathOutsideRepo):
        relative_posix(tmp_path / "a", tmp_path / "b")
    assert normalize_rel_path("./a//b/./c/") == "a/b/c"
    assert normalize_rel_path("./") == "."


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*", "a/b/c.py", True),
        ("*.py", "a/b/c.py", True),  # base name match at any depth
        ("*.py", "a/b/c.pyc", False),
        ("src/*.py", "src/a/b.py", True),  # * crosses /
        ("src/*.py", "lib/a.py", False),
        ("**/*.py", "top.py", True),  # **/ may match no directory
        ("src/**/x.py", "src/x.py", True),
        ("src/**/x.py", "src/a/b/x.py", True),
        ("src/", "src/a/b.py", True),
        ("./*.md", "README.md", True),
        ("", "anything", True),
        ("*.PY", "a.py", False),  # case-sensitive everywhere
        ("{a,b}.py", "a.py", False),  # braces are literal
        ("test_*", "tests/test_x.py", True),
    ],
)
def test_glob_matches(pattern: str, path: str, expected: bool) -> None:
    assert glob_matches(pattern, path) is expected


_COMPONENTS = st.sampled_from(
    ["src", "pkg", "mod.py", "link_file_out", "link_dir_out", "link_dir_in", "link_file_in", "link_git",
     "up_two", "loop_a", "..", ".", "", ".git", ".GIT", "secret.txt", "outside", "\\..", "~", "C:", "\x00"]
)


@PROPERTY_SETTINGS
@given(parts=st.lists(_COMPONENTS | st.text(max_size=6), max_size=6), leading_slash=st.booleans())
def test_no_generated_path_escapes_the_root(sandbox: tuple[Path, Path], parts: list[str], leading_slash: bool) -> None:
    root, outside = sandbox
    user_path = ("/" if leading_slash else "") + "/".join(parts)
    try:
        resolved = resolve_in_repo(root, user_path)
    except PathOutsideRepo:
        return
    real_root = Path(os.path.realpath(root))
    assert resolved == real_root or real_root in resolved.parents
    assert ".git" not in [part.casefold() for part in resolved.relative_to(real_root).parts]
    assert outside not in resolved.parents


def test_a_name_shown_escaped_can_be_given_back_escaped(tmp_path: Path) -> None:
    odd = os.fsdecode(b"caf\xe9\nx\x85.py")  # an undecodable byte, a newline, another undecodable byte
    try:
        (tmp_path / odd).write_text("x\n")
    except (OSError, UnicodeEncodeError):
        pytest.skip("file system refuses non-UTF-8 names")
    shown = display_path(odd)
    assert shown == "caf\\xe9\\x0ax\\x85.py"
    assert resolve_in_repo(tmp_path, shown) == tmp_path / odd  # the model can only repeat what it saw
    (tmp_path / "tab\there.txt").write_text("t\n")
    assert resolve_in_repo(tmp_path, "tab\\x09here.txt") == tmp_path / "tab\there.txt"
    (tmp_path / "literal\\x41.txt").write_text("a name with a real backslash\n")
    assert resolve_in_repo(tmp_path, "literal\\x41.txt") == tmp_path / "literal\\x41.txt"  # exact name first
    assert resolve_in_repo(tmp_path, "missing\\x41.txt") == tmp_path / "missing\\x41.txt"  # stays missing


def test_an_entry_with_the_escaped_name_itself_is_never_read_as_another_file(tmp_path: Path) -> None:
    # A broken symlink literally named "a\x62" beside a file "ab": the name is that link, so it
    # must not resolve to "ab" (nor be listed as a readable file with ab's content).
    (tmp_path / "ab").write_text("the content of ab\n")
    try:
        os.symlink("nowhere", tmp_path / "a\\x62")
    except (OSError, NotImplementedError):
        pytest.skip("no symlinks here")
    assert resolve_in_repo(tmp_path, "a\\x62") == tmp_path / "nowhere"
    listing = Repository(tmp_path).listing()
    assert "a\\x62" not in listing.paths and "a\\x62" not in listing.real_paths


def test_escapes_cannot_smuggle_refused_paths(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox
    for shown in ["\\x2e\\x2e/outside/secret.txt", "\\x2egit/config", "src/\\x2e\\x2e/\\x2e\\x2e/x", "\\x00"]:
        try:
            resolved = resolve_in_repo(root, shown)
        except PathOutsideRepo:
            continue
        assert not resolved.exists() and Path(os.path.realpath(root)) in resolved.parents


def _reference_glob(pattern: str, rel_path: str) -> bool:
    """glob_matches's rules written out with fnmatch, pattern by pattern, as the docstring states them."""
    from fnmatch import fnmatchcase

    pattern = pattern.strip()
    while pattern.startswith("./"):
        pattern = pattern[2:]
    if not pattern or pattern == ".":
        pattern = "*"
    if pattern.endswith("/"):
        pattern += "**"
    variants = {pattern}
    if pattern.startswith("**/"):
        variants.add(pattern[3:])
    if "/**/" in pattern:
        variants.add(pattern.replace("/**/", "/"))
    basename = rel_path.rsplit("/", 1)[-1]
    return any(fnmatchcase(rel_path, v) or ("/" not in v and fnmatchcase(basename, v)) for v in variants)


@PROPERTY_SETTINGS
@given(
    pattern=st.sampled_from(["*", "**", "", ".", "./", "*.py", "src/", "src/**/x.py", "**/*.md", "a*/b?.py",
                             "[ab]*.txt", "src/*", "./src/**", "x.py", "**/a/**/b*"]),
    path=st.lists(st.sampled_from(["src", "a", "b", "x.py", "bb.py", "a.txt", "R.md", "ab"]), min_size=1, max_size=4),
)
def test_compiled_globs_follow_the_documented_rules(pattern: str, path: list[str]) -> None:
    rel = "/".join(path)
    assert compile_glob(pattern)(rel) == _reference_glob(pattern, rel)
    assert glob_matches_everything(pattern) == (pattern.strip() in ("*", "**", "", ".", "./"))
