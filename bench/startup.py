"""Figure 3: how long ``tech-writer --help`` takes, next to a bare ``python -c pass``.

Both run as fresh subprocesses of this interpreter, interleaved, median of several. The console
script is the one installed beside this interpreter (not a version-manager shim, whose own start
would be measured too); it runs with this checkout first on ``PYTHONPATH`` so the code measured
is the code in this tree whatever an editable install points at. Target: under 0.3 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from bench.figure import Figure, measured
from bench.timing import interleaved, median, ms_list

__all__ = ["HELP_TARGET_S", "run"]

HELP_TARGET_S = 0.3
_CHECKOUT = Path(__file__).resolve().parents[1]
_TIMEOUT_S = 60.0


def run(quick: bool) -> list[Figure]:
    rounds = 2 if quick else 9
    command, how = _help_command()
    env = _environment()
    _run(command, env)  # warm the OS file cache for both: the first start of all is an outlier
    _run([sys.executable, "-c", "pass"], env)
    samples = interleaved(rounds, {
        "help": lambda: _run(command, env),
        "bare": lambda: _run([sys.executable, "-c", "pass"], env),
    })
    help_s, bare_s = median(samples["help"]), median(samples["bare"])
    notes = (f"{how}; median of {rounds} interleaved starts each; "
             f"help: {ms_list(samples['help'])}; python -c pass: {ms_list(samples['bare'])}")
    return [measured("startup.help_wall_time", help_s, bare_s, unit="s", target=HELP_TARGET_S,
                     target_of="value", comparison="<", notes=notes)]


def _help_command() -> tuple[list[str], str]:
    script = Path(sysconfig.get_path("scripts")) / "tech-writer"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script), "--help"], f"`{script} --help`"
    found = shutil.which("tech-writer")
    if found:
        return [found, "--help"], f"`{found} --help` (from PATH)"
    return [sys.executable, "-m", "tech_writer", "--help"], "`python -m tech_writer --help`"


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_CHECKOUT), env.get("PYTHONPATH")]))
    return env


def _run(command: list[str], env: dict[str, str]) -> None:
    completed = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=_TIMEOUT_S, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{command[0]} exited {completed.returncode}: "
                           f"{completed.stderr.decode(errors='replace')[-300:]}")
