r"""The one place that knows which strings are secrets and masks them.

A secret is masked as written and in the encodings a key commonly travels in: percent-encoded
(``sk%2Dor%2D…``, any mix of encoded and plain characters, either hex case) and JSON-escaped
(``sk\u002dor…``, ``\-``, ``\/``), so an error message or a model's answer cannot slip it past.

Two ways in:

* :class:`SecretMask` for the secrets a component was given (the log formatter, the provider's
  error messages, the repository tools — a repository often holds the very key the run uses);
* the **process mask**, :func:`mask_text` / :func:`mask_data`, which every writer applies to what
  it writes (the report file, the JSON on stdout, the cache, spans, logs): it always covers the
  key variables of the environment and whatever :func:`register_secrets` added (a key given by
  flag), so an output added later is masked by using a writer, not by remembering to.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["KEY_VARIABLES", "MASK", "SecretMask", "known_secrets", "mask_data", "mask_text",
           "mask_url_credentials", "process_mask", "register_secrets"]

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
    """Masks the given secrets, as written and encoded (see the module docstring)."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a key that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH},
                              key=len, reverse=True)
        self._pattern = (re.compile("|".join(_encoded_forms(secret) for secret in self.secrets))
                         if self.secrets else None)

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        if "%" not in text and "\\" not in text:  # the common case: only the plain form
            for secret in self.secrets:
                if secret in text:
                    text = text.replace(secret, MASK)
            return text
        return self._pattern.sub(MASK, text)

    def data(self, value: Any) -> Any:
        """``value`` with every string in it masked (dict keys and values, lists, tuples):
        for a document about to be written as JSON."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self.data(key): self.data(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(item) for item in value]
        return value

    def __bool__(self) -> bool:
        return bool(self.secrets)


def _encoded_forms(secret: str) -> str:
    """A pattern for ``secret`` where each character may be plain, percent-encoded (its UTF-8
    bytes) or JSON-escaped (``\\uXXXX``; ``\\c`` for punctuation)."""
    parts = []
    for char in secret:
        forms = [re.escape(char)]
        encoded = "".join(f"%{byte:02x}" for byte in char.encode("utf-8"))
        forms.append(f"(?i:{re.escape(encoded)})")
        if ord(char) <= 0xFFFF:
            forms.append(f"(?i:\\\\u{ord(char):04x})")
        if not char.isalnum():
            forms.append("\\\\" + re.escape(char))
        parts.append("(?:" + "|".join(forms) + ")")
    return "".join(parts)


# --- the process mask -------------------------------------------------------------------------
_registered: set[str] = set()
_process_lock = threading.Lock()
_process_cache: tuple[tuple[str, ...], SecretMask] | None = None


def register_secrets(*values: str | None) -> None:
    """Add secrets (a key given by flag) to the process mask, for the rest of the process."""
    with _process_lock:
        _registered.update(v.strip() for v in values if v and len(v.strip()) >= MIN_SECRET_LENGTH)


def process_mask() -> SecretMask:
    """The mask every writer applies: the environment's key variables as they are now, plus
    the registered secrets (rebuilt only when one of them changes)."""
    global _process_cache
    with _process_lock:
        secrets = tuple(sorted({*known_secrets(), *_registered}))
        if _process_cache is None or _process_cache[0] != secrets:
            _process_cache = (secrets, SecretMask(secrets))
        return _process_cache[1]


def mask_text(text: str) -> str:
    """``text`` with every known secret masked (the process mask)."""
    return process_mask()(text)


def mask_data(value: Any) -> Any:
    """A JSON-ready document with every string in it masked (the process mask)."""
    return process_mask().data(value)


def mask_url_credentials(text: str) -> str:
    """``https://user:token@host/x`` -> ``https://***@host/x``, anywhere in ``text``."""
    return _URL_CREDENTIALS.sub(MASK + "@", text)
