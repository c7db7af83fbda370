"""``--repo`` given as a git URL: a shallow clone in the cache directory, reused and refreshed.

Only ``https://``, ``ssh://``, ``git://`` and scp-like ``user@host:path`` URLs are accepted, a
URL can never be read as a git option (it may not start with ``-`` and always follows ``--``),
git never prompts for credentials, and every git command is bounded in time. Git and its
helpers run in a process group of their own that a timeout or an interruption ends whole
(:mod:`tech_writer.repository.gitrun`), and a clone that did not finish leaves no folder behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

from tech_writer.errors import RepositoryError, UsageError
from tech_writer.repository.gitrun import run_bounded
from tech_writer.secrets import mask_url_credentials

__all__ = ["CLONE_TIMEOUT_S", "clone_or_update", "is_git_url"]

log = logging.getLogger("tech_writer.remote")

CLONE_TIMEOUT_S = 300.0
_URL = re.compile(r"^(?:https://|ssh://|git://)[^\s]+$")
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$")


def is_git_url(value: str) -> bool:
    return bool(_URL.match(value) or _SCP_LIKE.match(value))


def clone_or_update(url: str, cache_dir: Path, *, timeout_s: float = CLONE_TIMEOUT_S,
                    allow_file_urls: bool = False) -> Path:
    """Return a work tree of ``url``'s default branch, cloning or refreshing it as needed.

    ``allow_file_urls`` admits ``file://`` URLs (a local clone through the same code path); the
    command line never sets it: a local repository is given as a directory instead.
    """
    local = allow_file_urls and url.startswith("file://")
    if url.startswith("-") or not (local or is_git_url(url)):
        raise UsageError(f"--repo {mask_url_credentials(url)!r} is neither a directory nor an "
                         "https/ssh/git URL")
    target = cache_dir / "repos" / hashlib.sha256(url.encode()).hexdigest()[:16]
    if (target / ".git").is_dir():
        try:
            _refresh(target, timeout_s)
            return target
        except RepositoryError as exc:
            log.warning("could not refresh the cached clone (%s); cloning again", exc.message)
            shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        _git(["clone", "--depth", "1", "--quiet", "--", url, str(partial)], None, timeout_s)
        partial.rename(target)  # a half-finished clone is never mistaken for a good one
    except BaseException:  # failed, timed out or interrupted: nothing half-cloned stays
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return target


def _refresh(target: Path, timeout_s: float) -> None:
    _git(["fetch", "--depth", "1", "--quiet", "origin"], target, timeout_s)
    head = _git(["rev-parse", "HEAD"], target, timeout_s)
    fetched = _git(["rev-parse", "FETCH_HEAD"], target, timeout_s)
    if head != fetched:
        log.info("the remote moved (%s → %s); updating the cached clone", head[:8], fetched[:8])
        _git(["reset", "--hard", "--quiet", "FETCH_HEAD"], target, timeout_s)


def _git(args: list[str], cwd: Path | None, timeout_s: float) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true",
           "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")}
    try:
        done = run_bounded(["git", *args], cwd=cwd, env=env, timeout_s=timeout_s)
    except FileNotFoundError:
        raise RepositoryError("git is not installed: install git to use a repository URL") from None
    except subprocess.TimeoutExpired:
        raise RepositoryError(f"git {args[0]} took longer than {timeout_s:.0f}s; "
                              "check the URL and your network") from None
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace")
        detail = mask_url_credentials((stderr.strip().splitlines() or ["no message"])[-1])
        raise RepositoryError(f"git {args[0]} failed: {detail}")
    return done.stdout.decode("utf-8", "replace").strip()
