"""Progress a person can follow on stderr: the phase, the step, the section being written.

Separate from logging on purpose: progress is for people and shows at the default log level;
logs are for diagnosis. Both go to stderr so ``--eval-json`` keeps stdout clean.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True,
                 sink: Callable[[str], None] | None = None) -> None:
        self._stream = stream
        self._enabled = enabled
        self._sink = sink
        self._lock = threading.Lock()

    @classmethod
    def silent(cls) -> Progress:
        return cls(enabled=False)

    def say(self, text: str) -> None:
        if not self._enabled:
            return
        with self._lock:
            if self._sink is not None:
                self._sink(text)
                return
            stream = self._stream or sys.stderr
            stream.write(text + "\n")
            stream.flush()

    def phase(self, name: str, detail: str = "") -> None:
        self.say(f"» {name}" + (f": {detail}" if detail else ""))

    def step(self, phase: str, text: str) -> None:
        self.say(f"  [{phase}] {text}")
