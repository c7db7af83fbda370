"""The comparison chart: cost against quality, one point per run, labelled by model.

Drawn with matplotlib (the optional ``[eval]`` extra) as an SVG any browser opens. Without
matplotlib, :func:`write_chart` returns None and says nothing: the caller tells the user once.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ChartPoint", "chart_available", "write_chart"]

# tech-writer is not on PyPI: the hint names the package the [eval] extra brings (installable
# anywhere), and how to take the extra itself from a checkout of this project.
INSTALL_HINT = "pip install 'matplotlib>=3.9', or pip install '.[eval]' in a tech_writer checkout"


@dataclass(frozen=True)
class ChartPoint:
    model: str
    cost_usd: float
    quality: float


def chart_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def write_chart(points: Sequence[ChartPoint], path: Path, *, quality_label: str,
                title: str) -> Path | None:
    """Write the chart to ``path`` (.svg or .png); None when matplotlib is not installed."""
    if not chart_available() or not points:
        return None
    import matplotlib

    matplotlib.use("Agg")  # files only: never a window, never a display needed
    import matplotlib.pyplot as plt

    # Reproducible SVG: no random ids or dates, so the committed picture only changes with the data.
    with matplotlib.rc_context({"svg.hashsalt": "tech_writer", "svg.fonttype": "none",
                                "font.size": 9}):
        figure, axes = plt.subplots(figsize=(6.4, 4.0), dpi=100)
        try:
            models = list(dict.fromkeys(point.model for point in points))
            for index, model in enumerate(models):
                mine = [p for p in points if p.model == model]
                axes.scatter([p.cost_usd for p in mine], [p.quality for p in mine], s=48,
                             color=f"C{index % 10}", label=model, alpha=0.85)
                best = max(mine, key=lambda p: p.quality)
                axes.annotate(model, (best.cost_usd, best.quality), textcoords="offset points",
                              xytext=(6, 6))
            axes.set_xlabel("cost of the report (USD)")
            axes.set_ylabel(quality_label)
            axes.set_ylim(-0.05, 1.05)
            axes.set_xlim(left=0)
            axes.margins(x=0.25)
            axes.grid(True, alpha=0.3)
            axes.set_title(title)
            axes.legend(loc="lower right")
            figure.tight_layout()
            figure.savefig(path, metadata={"Date": None} if path.suffix == ".svg" else None)
        finally:
            plt.close(figure)
    return path
