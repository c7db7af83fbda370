"""Helpers for the issue-6 safety tests (tests/test_safety_*.py).

* :class:`PhaseRouter` wraps a scripted model (the demo model by default), numbers the requests of
  each phase, and lets a test replace a chosen turn, rewrite one, or act before answering one
  (queue a fault for the *next* request, stall a request while a signal is sent).
* :class:`LiveCli` runs ``python -m tech_writer`` with :class:`subprocess.Popen`, so a test can
  send it real signals while it is mid-run, reading both pipes on threads (no pipe deadlock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

from tech_writer.demo import DemoModel, ModelTurn, ScriptedModel

__all__ = [
    "LiveCli",
    "PhaseRouter",
    "chat_bodies",
    "cli_env",
    "files_containing",
    "last_user_text",
    "phase_of",
    "section_title_of",
    "text_of",
    "wait_until_billed",
]

FINISH_TOOL = "finish_exploration"
OUTLINE_NAME = "report_outline"

Step: TypeAlias = "ModelTurn | Callable[[dict[str, Any]], ModelTurn]"
Hook: TypeAlias = Callable[[str, int, dict[str, Any]], None]
Rewrite: TypeAlias = Callable[[str, int, dict[str, Any], ModelTurn], ModelTurn]


def phase_of(request: dict[str, Any]) -> str:
    """Which pipeline phase a chat-completions body belongs to (as the demo model reads it); the
    exploration's planning call is "plan", its explorers' calls "exploration"."""
    names = {(tool.get("function") or {}).get("name") for tool in request.get("tools") or []}
    if OUTLINE_NAME in names or (not names and OUTLINE_NAME in first_user_text(request)):
        return "outline"  # asked for as a tool call, or as JSON in the text
    if FINISH_TOOL in names:
        choice = request.get("tool_choice")
        forced = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
        return "plan" if forced == "plan_exploration" else "exploration"
    if isinstance(request.get("response_format"), dict):
        return "outline"
    return "sections" if names else "plain"


def text_of(message: dict[str, Any]) -> str:
    """A message's text, whether its content is a string or a list of parts (as sent to models
    with explicit prompt caching)."""
    content = message.get("content")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content
                       if isinstance(part, dict) and isinstance(part.get("text"), str))
    return content if isinstance(content, str) else ""


def section_title_of(request: dict[str, Any]) -> str | None:
    for message in request.get("messages") or []:
        if message.get("role") != "user":
            continue
        for line in text_of(message).splitlines():
            if line.startswith("Section title: "):
                return line.removeprefix("Section title: ").strip()
    return None


def first_user_text(request: dict[str, Any]) -> str:
    users = [m for m in request.get("messages") or [] if m.get("role") == "user"]
    return text_of(users[0]) if users else ""


def last_user_text(request: dict[str, Any]) -> str:
    users = [m for m in request.get("messages") or [] if m.get("role") == "user"]
    return text_of(users[-1]) if users else ""


class PhaseRouter:
    """A scripted model that counts requests per phase and lets a test intervene.

    ``replace[(phase, n)]`` answers the n-th (1-based) request of ``phase`` instead of the base
    model; ``rewrite(phase, n, request, turn)`` may change any answer of the base model;
    ``before(phase, n, request)`` runs first (it may queue a fault for the next request or block
    until the test releases it). Faulted requests never reach a model, so they are not counted.
    """

    def __init__(self, base: ScriptedModel | None = None, *,
                 replace: dict[tuple[str, int], Step] | None = None,
                 rewrite: Rewrite | None = None, before: Hook | None = None) -> None:
        self.base = base or DemoModel()
        self.replace = dict(replace or {})
        self.rewrite = rewrite
        self.before = before
        self.counts: Counter[str] = Counter()
        self.answered: list[tuple[str, int, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def respond(self, request: dict[str, Any]) -> ModelTurn:
        phase = phase_of(request)
        with self._lock:
            self.counts[phase] += 1
            number = self.counts[phase]
            self.answered.append((phase, number, request))
        if self.before is not None:
            self.before(phase, number, request)
        step = self.replace.get((phase, number))
        if step is not None:
            return step(request) if callable(step) else step
        turn = self.base.respond(request)
        return self.rewrite(phase, number, request, turn) if self.rewrite else turn

    def requests_of(self, phase: str) -> list[dict[str, Any]]:
        with self._lock:
            return [request for p, _, request in self.answered if p == phase]


def wait_until_billed(server: Any, router: PhaseRouter, timeout: float = 10.0) -> None:
    """Wait until every request the model answered has been billed: a request held in flight
    when the client went away is still billed by the fake (as by OpenRouter), a moment later."""
    deadline = time.monotonic() + timeout
    while len(server.ledger) < len(router.answered) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(server.ledger) == len(router.answered), "a held request was never billed"


def chat_bodies(server: Any) -> list[dict[str, Any]]:
    """Every chat-completions body the fake received (faulted ones included), in order."""
    return [r.json for r in server.requests
            if r.path.endswith("/chat/completions") and isinstance(r.json, dict)]


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment without keys or OTLP settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "OPENROUTER_", "OPENAI_"))}
    env.update(extra or {})
    return env


class LiveCli:
    """``python -m tech_writer`` in a subprocess that a test can signal mid-run."""

    def __init__(self, *args: str | Path, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tech_writer", *map(str, args)], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(env))
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._pump, args=(self.process.stdout, self._stdout),
                             daemon=True),
            threading.Thread(target=self._pump, args=(self.process.stderr, self._stderr),
                             daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _pump(stream: Any, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)

    def signal(self, signum: int) -> float:
        """Send ``signum``; return the monotonic time it was sent."""
        self.process.send_signal(signum)
        return time.monotonic()

    def wait(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        for reader in self._readers:
            reader.join(5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    @property
    def stdout(self) -> str:
        return "".join(self._stdout)

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def json(self) -> dict[str, Any]:
        return json.loads(self.stdout)


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every regular file under ``root`` whose bytes contain ``needle`` (UTF-8 or UTF-16)."""
    patterns = [needle.encode("utf-8"), needle.encode("utf-16-le")]
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(pattern in data for pattern in patterns):
                found.append(path)
    return found
