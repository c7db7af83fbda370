"""One measured figure: a value, the baseline it was measured against in the same run, and the target.

A figure with a target passes or fails; one without (``target=None``) is informational and has
``passed=None``. A figure whose feature does not exist yet is *unavailable*: no value, and it
fails, because its target does not hold (see :func:`unavailable`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["COMPARISONS", "Figure", "format_figure", "measured", "unavailable"]

# How a target bounds its quantity. "==" compares within a relative tolerance of 1e-9.
COMPARISONS = ("<=", "<", "==")


@dataclass(frozen=True)
class Figure:
    """``ratio`` is ``value / baseline``. ``target`` bounds ``ratio`` or ``value`` (``target_of``)
    with ``comparison``. ``passed`` is None for an informational figure (no target)."""

    name: str
    value: float | None
    baseline: float | None
    ratio: float | None
    target: float | None
    unit: str
    passed: bool | None
    notes: str = ""
    target_of: str = "ratio"  # "ratio" | "value"
    comparison: str = "<="
    available: bool = True

    def to_json(self) -> dict[str, Any]:
        return {key: _finite_or_none(value) for key, value in asdict(self).items()}


def measured(name: str, value: float, baseline: float | None, *, unit: str,
             target: float | None = None, target_of: str = "ratio", comparison: str = "<=",
             notes: str = "", checks_ok: bool = True) -> Figure:
    """A measured figure; ``checks_ok=False`` (e.g. results that should be identical are not)
    fails it whatever the numbers say."""
    if comparison not in COMPARISONS:
        raise ValueError(f"comparison must be one of {COMPARISONS}")
    if target_of not in ("ratio", "value"):
        raise ValueError("target_of must be 'ratio' or 'value'")
    ratio = value / baseline if baseline else None
    passed: bool | None = None
    if target is not None:
        bounded = ratio if target_of == "ratio" else value
        passed = checks_ok and bounded is not None and _holds(bounded, comparison, target)
    elif not checks_ok:
        passed = False
    return Figure(name, value, baseline, ratio, target, unit, passed, notes, target_of, comparison)


def unavailable(name: str, reason: str, *, unit: str, target: float | None,
                target_of: str = "ratio", comparison: str = "<=") -> Figure:
    """A figure that could not be measured: no value is made up, and its target does not hold."""
    return Figure(name, None, None, None, target, unit, False if target is not None else None,
                  f"not available: {reason}", target_of, comparison, available=False)


def _holds(quantity: float, comparison: str, target: float) -> bool:
    if comparison == "<=":
        return quantity <= target
    if comparison == "<":
        return quantity < target
    return math.isclose(quantity, target, rel_tol=1e-9)


def _finite_or_none(value: Any) -> Any:
    # JSON has no NaN or infinity; a ratio against a zero baseline is already None.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def format_figure(figure: Figure) -> str:
    """One line (plus indented notes) for the console."""
    status = {True: "PASS", False: "FAIL", None: "info"}[figure.passed]
    if not figure.available:
        status = "N/A "  # counted as failing when it has a target: the target does not hold
    line = f"[{status}] {figure.name:<44} "
    if figure.value is None:
        line += "not available"
    else:
        line += _quantity(figure.value, figure.unit)
        if figure.baseline is not None:
            line += f" vs {_quantity(figure.baseline, figure.unit)} baseline"
        if figure.ratio is not None:
            line += f" = {figure.ratio:.3f}x"
    if figure.target is not None:
        what = "x" if figure.target_of == "ratio" else f" {figure.unit}"
        subject = "ratio" if figure.target_of == "ratio" else "value"
        line += f"  (target: {subject} {figure.comparison} {figure.target:g}{what})"
    notes = "".join(f"\n         {part}" for part in figure.notes.splitlines() if part.strip())
    return line + notes


def _quantity(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.3f} s"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,} {unit}"
    return f"{value:.3f} {unit}"
