"""Git URLs: shallow clone into the cache dir, reused, refreshed when the remote moved."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
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


# --- issue 26, finding 8: git's helpers end with git, and no half clone stays ------------------


@pytest.fixture
def silent_https() -> Iterator[str]:
    """A loopback server that accepts connections and never says a word: git-remote-https
    waits for the TLS handshake until it is killed."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{listener.getsockname()[1]}/{uuid.uuid4().hex}.git"
    stop.set()
    thread.join(timeout=5)
    for connection in held:
        connection.close()
    listener.close()


def _processes_naming(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    cmdline = handle.read()
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    state = handle.read().rsplit(b")", 1)[1].split()[0]
            except OSError:
                continue
            if token.encode() in cmdline and state != b"Z":
                found.append(int(entry))
    return found


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")


@needs_proc
def test_a_clone_that_times_out_leaves_no_helper_and_no_partial_folder(silent_https: str,
                                                                      tmp_path: Path):
    token = silent_https.rsplit("/", 1)[1]
    started = time.monotonic()
    with pytest.raises(RepositoryError, match="took longer than"):
        clone_or_update(silent_https, tmp_path / "cache", timeout_s=2)
    assert time.monotonic() - started < 10
    assert _processes_naming(token) == []  # git-remote-https was ended with git
    assert not list((tmp_path / "cache" / "repos").glob("*.partial"))


_INTERRUPTED_CHILD = """
import sys
from pathlib import Path
from tech_writer.repository.remote import clone_or_update
try:
    clone_or_update(sys.argv[1], Path(sys.argv[2]), timeout_s=60)
except KeyboardInterrupt:
    sys.exit(130)
"""


@needs_proc
def test_an_interrupted_clone_leaves_no_helper_and_no_partial_folder(silent_https: str,
                                                                    tmp_path: Path):
    token = silent_https.rsplit("/", 1)[1]
    child = subprocess.Popen([sys.executable, "-c", _INTERRUPTED_CHILD, silent_https,
                              str(tmp_path / "cache")])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
                pid != child.pid for pid in _processes_naming(token)):
            time.sleep(0.2)  # until git and its https helper are running
        assert [pid for pid in _processes_naming(token) if pid != child.pid], "git never started"
        assert list((tmp_path / "cache" / "repos").glob("*.partial"))
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=10) == 130
    finally:
        if child.poll() is None:
            child.kill()
    assert _processes_naming(token) == []
    assert not list((tmp_path / "cache" / "repos").glob("*.partial"))
