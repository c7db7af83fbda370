"""A capable real model's report, measured: Qwen2.5-Coder-1.5B on llama.cpp's ``llama-server``.

The model, the server and the repository (the released source of ``itsdangerous`` 2.2.0) are
prepared once, outside the repository, by ``python -m tests.real_llm.prepare`` (see
:mod:`bench.local_server`). Until then, and in ``--quick`` mode (a report takes minutes), every
figure of the group says why it has no value.

One run of ``tech-writer --provider local`` with the architecture prompt, ``--max-sections 6``
and ``--eval-json --eval``; the figures are what ``eval`` says of the report it wrote (the grounding gate's promise
is that every kept claim is cited, every citation verifies and every name exists: those three have
a target of 1) plus the gate's own counts and the wall time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from bench.figure import Figure, measured, unavailable
from bench.local_server import (
    ServerNotReady,
    llama_server_command,
    llama_server_installation,
    served,
)

__all__ = ["run"]

PREPARE = "python -m tests.real_llm.prepare"
_CHECKOUT = Path(__file__).resolve().parents[1]
_RUN_TIMEOUT_S = 3600
MAX_SECTIONS = 6  # as the local_llm test runs it: the architecture prompt's six aspects
_SHARES = ("citation_coverage", "citation_validity", "entity_existence")


def run(quick: bool) -> list[Figure]:
    found = llama_server_installation()
    if found is None:
        return _not_measured(f"no llama-server and Qwen model prepared (run `{PREPARE}`)")
    if quick:
        return _not_measured("--quick mode (one report takes minutes)")
    with tempfile.TemporaryDirectory(prefix="tw-bench-real-") as folder:
        try:
            with served(partial(llama_server_command, found), Path(folder) / "server.log") as url:
                started = time.monotonic()
                result = subprocess.run(
                    [sys.executable, "-m", "tech_writer", "--prompt", "architecture", "--repo",
                     found.sample_repo, "--provider", "local", "--base-url", url,
                     "--model", found.model_name, "--request-timeout", "900",
                     "--max-sections", str(MAX_SECTIONS),
                     "--eval-json", "--eval", "-o", str(Path(folder) / "report.md")],
                    cwd=_CHECKOUT, capture_output=True, text=True, timeout=_RUN_TIMEOUT_S,
                    stdin=subprocess.DEVNULL, check=False)
                wall_s = time.monotonic() - started
        except ServerNotReady as exc:
            return _not_measured(f"llama-server did not start: {str(exc).splitlines()[0]}")
    return _figures(result, wall_s, Path(found.sample_repo).name)


def _not_measured(reason: str) -> list[Figure]:
    """Every figure of the group, each saying why it has no value (none is made up)."""
    print(f"real_model: not measured: {reason}")
    return [unavailable(f"real_model.{name}", reason, unit="share", target=1.0,
                        target_of="value", comparison="==") for name in _SHARES] + [
        unavailable(f"real_model.{name}", reason, unit=unit, target=None)
        for name, unit in (("claims", "claims"), ("claims_removed", "claims"), ("wall_time", "s"))]


def _figures(result: subprocess.CompletedProcess[str], wall_s: float, repo: str) -> list[Figure]:
    try:
        document = json.loads(result.stdout)
    except ValueError:
        document = {}
    metrics = (document.get("eval") or {}).get("metrics")
    grounding = document.get("grounding") or {}
    where = f"Qwen2.5-Coder-1.5B Q4_K_M on llama-server, architecture prompt, {repo}"
    if metrics is None:
        reason = (document.get("error") or result.stderr.strip().splitlines()[-1:] or ["no output"])
        why = reason if isinstance(reason, str) else reason[0]
        return [unavailable(f"real_model.{name}", f"the run ended with exit {result.returncode}: "
                            f"{why}", unit="share", target=1.0, target_of="value", comparison="==")
                for name in _SHARES] + [
            measured("real_model.wall_time", wall_s, None, unit="s", notes=where)]
    claims, entities = metrics["claims"], metrics["entities"]
    notes = (f"{where}; {claims['cited']} of {claims['total']} claims cited, "
             f"{entities['found']} of {entities['total']} names exist; gate: "
             f"{grounding.get('claims_kept')} kept ({grounding.get('anchored_by_tool')} anchored "
             f"by the tool), {grounding.get('removed')} removed")
    figures = [measured(f"real_model.{name}", float(metrics[name]), None, unit="share",
                        target=1.0, target_of="value", comparison="==", notes=notes)
               for name in _SHARES if metrics.get(name) is not None]
    figures += [
        measured("real_model.claims", float(claims["total"]), None, unit="claims", notes=notes),
        measured("real_model.claims_removed", float(grounding.get("removed") or 0), None,
                 unit="claims", notes="claims the gate took out (no citation that verifies, or "
                                      "an invented name)"),
        measured("real_model.wall_time", wall_s, None, unit="s", notes=where),
    ]
    return figures
