"""The missing-matplotlib hint names something pip can install (tech-writer is not on PyPI)."""

from __future__ import annotations

import re
from pathlib import Path

from tech_writer.report.chart import INSTALL_HINT

ROOT = Path(__file__).resolve().parents[2]


def test_the_hint_installs_what_the_eval_extra_brings() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    extra = re.search(r"^eval = \[(.*?)^\]", pyproject, re.MULTILINE | re.DOTALL)
    assert extra
    requirements = re.findall(r'^\s*"([^"]+)"', extra[1], re.MULTILINE)
    assert requirements and all(f"pip install '{r}'" in INSTALL_HINT for r in requirements)
    assert "tech-writer[" not in INSTALL_HINT and "'.[eval]'" in INSTALL_HINT
