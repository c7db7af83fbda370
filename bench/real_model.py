"""A capable real model's report, measured: Qwen2.5-Coder-1.5B on llama.cpp's ``llama-server``.

The model, the server and the repository (the released source of ``itsdangerous`` 2.2.0) are
prepared once, outside the repository, by ``python -m tests.real_llm.prepare``, which records them
in ``llama-server.json`` in its cache folder (``$TECH_WRITER_LLM_CACHE``, default
``~/.cache/tech-writer-llm``). Until then, and in ``--quick`` mode (a report takes minutes), the
group says so in one line and measures nothing.

One run of ``tech-writer --provider local`` with the architecture prompt and ``--eval-json
--eval``; the figures are what ``eval`` says of the report it wrote (the grounding gate's promise
is that every kept claim is cited, every citation verifies and every name exists: those three have
a target of 1) plus the gate's own counts and the wall time.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.figure import Figure, measured, unavailable

__all__ = ["MANIFEST", "run"]

MANIFEST = "llama-server.json"
PREPARE = "python -m tests.real_llm.prepare"
_CHECKOUT = Path(__file__).resolve().parents[1]
_PROMPT = _CHECKOUT / "examples" / "architecture.md"
_START_TIMEOUT_S = 180
_RUN_TIMEOUT_S = 3600


def run(quick: bool) -> list[Figure]:
    prepared = _prepared()
    if prepared is None:
        print(f"real_model: skipped: no llama-server and Qwen model prepared (run `{PREPARE}`)")
        return []
    if quick:
        print("real_model: skipped in --quick mode (one report takes minutes)")
        return []
    with tempfile.TemporaryDirectory(prefix="tw-bench-real-") as folder:
        with _Server(prepared, Path(folder) / "server.log") as base_url:
            started = time.monotonic()
            result = subprocess.run(
                [sys.executable, "-m", "tech_writer", "--prompt", str(_PROMPT), "--repo",
                 prepared["sample_repo"], "--provider", "local", "--base-url", base_url,
                 "--model", prepared["model_name"], "--request-timeout", "900",
                 "--eval-json", "--eval", "-o", str(Path(folder) / "report.md")],
                cwd=_CHECKOUT, capture_output=True, text=True, timeout=_RUN_TIMEOUT_S,
                stdin=subprocess.DEVNULL, check=False)
            wall_s = time.monotonic() - started
    return _figures(result, wall_s, Path(prepared["sample_repo"]).name)


def _prepared() -> dict[str, Any] | None:
    configured = os.environ.get("TECH_WRITER_LLM_CACHE")
    cache = Path(configured).expanduser() if configured else Path.home() / ".cache" / "tech-writer-llm"
    try:
        found: dict[str, Any] = json.loads((cache / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    paths = [found.get(key) for key in ("server", "model_path", "sample_repo")]
    return found if all(isinstance(p, str) and Path(p).exists() for p in paths) else None


class _Server:
    """``llama-server`` on a free loopback port for the duration of the run."""

    def __init__(self, prepared: dict[str, Any], log: Path) -> None:
        self.prepared, self.log = prepared, log

    def __enter__(self) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        p = self.prepared
        # As tests/real_llm/llama_server.server_command starts it: the model's own chat template
        # (--jinja: tools in, tool calls parsed out), its context, one thread (two stall on a
        # busy 2-core machine).
        command = [p["server"], "-m", p["model_path"], "--alias", p["model_name"], "--jinja",
                   "-c", str(p["context_tokens"]), "-t", "1", "--host", "127.0.0.1",
                   "--port", str(port)]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        base_url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    return base_url
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"llama-server did not start: {self.log.read_text(errors='replace')[-500:]}")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)


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
                for name in ("citation_coverage", "citation_validity", "entity_existence")] + [
            measured("real_model.wall_time", wall_s, None, unit="s", notes=where)]
    claims, entities = metrics["claims"], metrics["entities"]
    notes = (f"{where}; {claims['cited']} of {claims['total']} claims cited, "
             f"{entities['found']} of {entities['total']} names exist; gate: "
             f"{grounding.get('claims_kept')} kept ({grounding.get('anchored_by_tool')} anchored "
             f"by the tool), {grounding.get('removed')} removed")
    figures = [measured(f"real_model.{name}", float(metrics[name]), None, unit="share",
                        target=1.0, target_of="value", comparison="==", notes=notes)
               for name in ("citation_coverage", "citation_validity", "entity_existence")
               if metrics.get(name) is not None]
    figures += [
        measured("real_model.claims", float(claims["total"]), None, unit="claims", notes=notes),
        measured("real_model.claims_removed", float(grounding.get("removed") or 0), None,
                 unit="claims", notes="claims the gate took out (no citation that verifies, or "
                                      "an invented name)"),
        measured("real_model.wall_time", wall_s, None, unit="s", notes=where),
    ]
    return figures
