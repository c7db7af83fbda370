"""Rebuild ``itsdangerous-history.bundle``: eleven consecutive first-parent commits of pallets/
itsdangerous (6ebe1ac, 2023-01-19, to 31f46a3, 2025-05-28: every commit on the main line that
touched ``src/itsdangerous``), keeping only ``src/itsdangerous/*.py`` and each commit's author,
date and message. The tests and ``python -m bench`` check reports against this real history.

    python tests/data/make_history_bundle.py /path/to/itsdangerous/.git
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

COMMITS = ["6ebe1ac", "05c805f", "1e9550e", "bc88e94", "385c0eb", "135eb23", "2f69e84", "d408c5e",
           "117218e", "4dffa19", "31f46a3"]
SUBSET = "src/itsdangerous"
BUNDLE = Path(__file__).with_name("itsdangerous-history.bundle")


def git(*args: str, cwd: str | None = None, env: dict[str, str] | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


def main(source: str) -> None:
    with tempfile.TemporaryDirectory() as target:
        git("init", "-q", "-b", "main", target)
        for commit in COMMITS:
            author, email, date, message = git("--git-dir", source, "log", "-1", "--format=%an%x00%ae%x00%aI%x00%B",
                                               commit).split("\0", 3)
            for old in Path(target, SUBSET).glob("*.py"):
                old.unlink()
            names = git("--git-dir", source, "ls-tree", "--name-only", f"{commit}:{SUBSET}").split()
            Path(target, SUBSET).mkdir(parents=True, exist_ok=True)
            for name in (n for n in names if n.endswith(".py")):
                Path(target, SUBSET, name).write_text(git("--git-dir", source, "show", f"{commit}:{SUBSET}/{name}"))
            env = {**os.environ, "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date,
                   "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": email, "GIT_COMMITTER_DATE": date}
            git("add", "-A", cwd=target)
            git("commit", "-q", "--allow-empty", "-m", f"{message.strip()}\n\n(itsdangerous {commit})", cwd=target,
                env=env)
        git("bundle", "create", str(BUNDLE), "HEAD", "main", cwd=target)
    print(f"{BUNDLE.name}: {BUNDLE.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
