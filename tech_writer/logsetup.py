"""Logging to stderr, with every known secret masked in every record, whatever its level."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from tech_writer.secrets import SecretMask

__all__ = ["configure_logging", "RedactSecrets"]


class RedactSecrets(logging.Filter):
    """Replaces secrets in the formatted message (covers DEBUG HTTP logs of the SDKs too)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.mask = SecretMask(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.mask:
            return True
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message or record.exc_info:
            record.msg, record.args = masked, None
        return True


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    if level.upper() != "DEBUG":
        # The SDKs' INFO lines ("HTTP Request: POST ...") are noise at the default levels.
        for noisy in ("httpx", "httpcore", "openai"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
