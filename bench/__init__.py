"""tech_writer's benchmark suite: each figure measured against its baseline in the same run.

Run it from the repository root::

    python -m bench                 # every figure, full sizes (a few minutes on 2 cores)
    python -m bench --quick         # every figure at tiny sizes (seconds): a smoke run
    python -m bench --only search   # one group (repeatable)

Each group is a module with ``run(quick: bool) -> list[Figure]``; see :mod:`bench.figure` for
what a figure holds and :mod:`bench.__main__` for the command.
"""

from __future__ import annotations

from bench.figure import Figure

__all__ = ["Figure"]
