"""The peer instrumentations, measured beside tech_writer's own telemetry.

* :mod:`bench.peers.pins` — which peers, and the pinned requirements each one's venv is built from
  (the one place to change a version);
* :mod:`bench.peers.venvs` — building those venvs once, under a cache directory, and reusing them;
* :mod:`bench.peers.client` — the script each venv runs: the same OpenRouter calls, timed in CPU;
* :mod:`bench.peers.recorded` — what a peer's spans record (tokens, cached, reasoning, cost)
  against what the fake server billed;
* :mod:`bench.peers.compare` — per-call CPU added by each instrumentation, and the tables.

The group that runs them is :mod:`bench.telemetry_peers` (``python -m bench --only peers``).
"""
