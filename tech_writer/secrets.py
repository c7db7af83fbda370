"""The one place that knows which strings are secrets and masks them.

Used wherever text leaves the process or reaches the model: log records (:mod:`logsetup`),
provider error messages (:mod:`wire`) and repository tool results (:mod:`tools`) — a repository
often holds the very key the run uses (a ``.env`` beside the code); the model never sees it, so
it cannot copy it into the report, the cache or telemetry.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

__all__ = ["KEY_VARIABLES", "MASK", "SecretMask", "known_secrets", "mask_url_credentials"]

_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")

KEY_VARIABLES = ("OPENROUTER_API_KEY", "OPENAI_API_KEY", "LOCAL_API_KEY")
MASK = "***"
MIN_SECRET_LENGTH = 8  # shorter strings would mask innocent text; real keys are long


def known_secrets(*explicit: str | None, environ: Mapping[str, str] | None = None) -> list[str]:
    """The keys given explicitly plus those in the environment's key variables."""
    environ = os.environ if environ is None else environ
    values = [*explicit, *(environ.get(name) for name in KEY_VARIABLES)]
    return [v.strip() for v in values if v and len(v.strip()) >= MIN_SECRET_LENGTH]


class SecretMask:
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a key that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH},
                              key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self.secrets)


def mask_url_credentials(text: str) -> str:
    """``https://user:token@host/x`` -> ``https://***@host/x``, anywhere in ``text``."""
    return _URL_CREDENTIALS.sub(MASK + "@", text)
