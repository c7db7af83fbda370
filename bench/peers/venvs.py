"""Each peer's venv: built once from its pinned list under a cache directory, reused afterwards.

The cache is ``$TECH_WRITER_BENCH_CACHE/peers/<peer>`` (default ``~/.cache/tech-writer-bench``).
A venv is reused while the requirement list it was built from (kept inside it) is unchanged;
otherwise it is rebuilt. A build goes to a temporary directory that is renamed into place only
once ``pip install`` succeeded, so a half-built venv is never used. A build that fails (offline,
no resolution) gives the reason, which the tables show as "not installed: <reason>".
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.peers.pins import PeerSpec

__all__ = ["CACHE_ENV", "PeerVenv", "cache_root", "find_venv", "prepare_venv"]

CACHE_ENV = "TECH_WRITER_BENCH_CACHE"
_BUILT_FROM = "bench-requirements.txt"
_PIP_TIMEOUT_S = 900.0
_REASON_CHARS = 160


@dataclass(frozen=True)
class PeerVenv:
    """``python`` is the venv's interpreter when it is usable; otherwise ``reason`` says why not."""

    peer: PeerSpec
    python: Path | None
    reason: str = ""
    built_now: bool = False


def cache_root(environ: dict[str, str] | None = None) -> Path:
    environ = dict(os.environ) if environ is None else environ
    base = environ.get(CACHE_ENV) or str(Path.home() / ".cache" / "tech-writer-bench")
    return Path(base) / "peers"


def find_venv(peer: PeerSpec, root: Path) -> PeerVenv:
    """The cached venv if it was built from ``peer``'s current list; never builds."""
    venv = root / peer.name
    python = _python_of(venv)
    built_from = venv / _BUILT_FROM
    if python.exists() and built_from.exists() \
            and built_from.read_text(encoding="utf-8") == peer.requirement_text():
        return PeerVenv(peer, python)
    return PeerVenv(peer, None, "no venv built yet (the full `python -m bench` builds it)")


def prepare_venv(peer: PeerSpec, root: Path) -> PeerVenv:
    """The cached venv, or a new one built now; a failure is returned, not raised."""
    found = find_venv(peer, root)
    if found.python is not None:
        return found
    venv, building = root / peer.name, root / f".{peer.name}.building"
    shutil.rmtree(building, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    try:
        # The base interpreter, not this venv's: the peer must see none of tech_writer's packages.
        subprocess.run([_base_python(), "-m", "venv", str(building)], check=True,
                       capture_output=True, text=True, timeout=120)
        install = subprocess.run(
            [str(_python_of(building)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--retries", "1", "--timeout", "30", *peer.pip_options, *peer.requirements],
            capture_output=True, text=True, timeout=_PIP_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(building, ignore_errors=True)
        return PeerVenv(peer, None, f"venv not created: {type(exc).__name__}: {exc}"[:_REASON_CHARS])
    if install.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        return PeerVenv(peer, None, "pip install failed: " + pip_error(install.stderr))
    (building / _BUILT_FROM).write_text(peer.requirement_text(), encoding="utf-8")
    shutil.rmtree(venv, ignore_errors=True)
    building.rename(venv)  # the interpreter finds its venv from pyvenv.cfg beside it: renaming is safe
    return PeerVenv(peer, _python_of(venv), built_now=True)


def pip_error(stderr: str) -> str:
    """The line of pip's output that says what went wrong (its ERROR lines, the first of them)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    chosen = errors[0] if errors else (lines[-1] if lines else "no output")
    return chosen.removeprefix("ERROR: ")[:_REASON_CHARS]


def _python_of(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _base_python() -> str:
    base = getattr(sys, "_base_executable", None) or sys.executable
    return str(base)
