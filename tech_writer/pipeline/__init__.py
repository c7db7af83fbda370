"""The run: exploration, then the outline, then the sections, each phase a tool loop over the model.

``settings`` (``RunSettings``: everything a run is configured with, validated once), ``context``
(``RunContext``: what the phases share), ``result`` (``RunResult``, ``RunFailure``), ``run``
(``run_report``: the phases in order, the failure path that keeps what was paid for;
``run_pipeline``, the seed's facade),
``exploration`` (plan, then explorers side by side), ``outline``, ``sections``, ``toolloop`` (one
conversation with tools, bounded), ``history`` (what is re-sent each turn), ``workers`` (jobs side
by side), ``resume`` (reusing what an earlier run paid for), ``planner`` (``--dry-run``),
``prompts`` (every text the model reads), ``progress`` (the lines on stderr).

Imports: :mod:`tech_writer.llm`, :mod:`tech_writer.repository`, :mod:`tech_writer.report`,
:mod:`tech_writer.errors`, :mod:`tech_writer.secrets` and :mod:`telemetry`; never the CLI.
"""
