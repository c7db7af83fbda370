"""File names for the reports of ``compare``: one per model, safe, short and unique.

A model id becomes a file-name stem: characters other than letters, digits, ``.``, ``_`` and
``-`` turn into ``_``, leading dots go (no hidden files, no ``..``), and the stem is cut to
:data:`MAX_STEM` characters. Two models whose stems would be equal — ignoring case, for the file
systems that do — or a stem that had to be cut, get a short hash of the model id appended, so
``demo/a/b``, ``demo/a_b`` and ``demo/a b`` never share a file. The original id stays in
``compare.json``; only the file name is derived.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

__all__ = ["MAX_STEM", "report_stems"]

MAX_STEM = 60
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_HASH_LENGTH = 10


def report_stems(models: Sequence[str]) -> dict[str, str]:
    """Each distinct model id -> its file-name stem (see the module docstring)."""
    plain = {model: _slug(model) for model in dict.fromkeys(models)}
    counts: dict[str, int] = {}
    for stem in plain.values():
        counts[stem.lower()] = counts.get(stem.lower(), 0) + 1
    stems = {}
    for model, stem in plain.items():
        cut = len(stem) > MAX_STEM
        if cut or counts[stem.lower()] > 1:
            digest = hashlib.sha256(model.encode("utf-8", "surrogatepass")).hexdigest()
            stem = f"{stem[:MAX_STEM - _HASH_LENGTH - 1]}-{digest[:_HASH_LENGTH]}"
        stems[model] = stem
    return stems


def _slug(model: str) -> str:
    return _UNSAFE.sub("_", model).lstrip(".") or "model"
