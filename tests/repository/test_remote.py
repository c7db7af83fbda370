"""Git URLs: shallow clone into the cache dir, reused, refreshed when the remote moved."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tech_writer.errors import RepositoryError, UsageError
from tech_writer.repository.remote import clone_or_update, is_git_url


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    repo = tmp_path / "origin"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "a.py").write_text("A = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "one")
    return repo


def test_clone_is_shallow_reused_and_refreshed(origin: Path, tmp_path: Path):
    url = f"file://{origin}"
    cache = tmp_path / "cache"
    first = clone_or_update(url, cache, allow_file_urls=True)
    assert (first / "a.py").read_text() == "A = 1\n"
    assert git(first, "rev-parse", "--is-shallow-repository") == "true"
    marker = first / "untracked-marker"
    marker.write_text("kept")  # a reused clone is the same directory, not a new clone
    assert clone_or_update(url, cache, allow_file_urls=True) == first and marker.exists()

    (origin / "b.py").write_text("B = 2\n")
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "two")
    refreshed = clone_or_update(url, cache, allow_file_urls=True)
    assert refreshed == first and (refreshed / "b.py").read_text() == "B = 2\n"
    assert git(refreshed, "rev-parse", "HEAD") == git(origin, "rev-parse", "HEAD")


@pytest.mark.parametrize("url", ["--upload-pack=touch /tmp/pwned", "-oProxyCommand=x",
                                 "file:///etc", "/some/path", "ftp://host/repo.git", ""])
def test_only_https_ssh_git_urls_are_accepted(url: str, tmp_path: Path):
    with pytest.raises(UsageError):
        clone_or_update(url, tmp_path)


def test_url_shapes():
    assert is_git_url("https://github.com/pallets/click")
    assert is_git_url("ssh://git@github.com/pallets/click.git")
    assert is_git_url("git@github.com:pallets/click.git")
    assert not is_git_url("-https://x") and not is_git_url("https://has space/x")


def test_a_failed_clone_is_one_clear_error_and_leaves_nothing(tmp_path: Path):
    with pytest.raises(RepositoryError, match="git clone failed"):
        clone_or_update(f"file://{tmp_path / 'missing'}", tmp_path / "cache",
                        allow_file_urls=True, timeout_s=30)
    assert not any((tmp_path / "cache" / "repos").iterdir())
