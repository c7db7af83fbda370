"""Logging to stderr, with every known secret masked in every record, whatever its level.

Each line passes the secrets handed in and the process mask (:func:`tech_writer.secrets.mask_text`),
in their common encodings too.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any

from tech_writer.secrets import SecretMask, mask_text

__all__ = ["RedactingFormatter", "configure_logging"]


class RedactingFormatter(logging.Formatter):
    """Masks secrets in the whole formatted record: message, traceback and stack alike
    (covers the SDKs' DEBUG HTTP logs and exception texts too)."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self.mask = SecretMask(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(self.mask(super().format(record)))

    def formatException(self, ei: Any) -> str:
        """One line, never a traceback: some SDK versions log every retried HTTP error at DEBUG
        with ``exc_info`` (openai 1.x does), and the retry is already reported on its own line."""
        exc = ei[1]
        if exc is None:
            return ""
        kind = type(exc)
        name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        text = " ".join(str(exc).split())
        return f"  ({name}: {text})" if text else f"  ({name})"


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    if level.upper() != "DEBUG":
        # The SDKs' INFO lines ("HTTP Request: POST ...") are noise at the default levels.
        for noisy in ("httpx", "httpcore", "httpx2", "httpcore2", "openai"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
