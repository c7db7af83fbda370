"""What is checked of a written report: ``citations`` (every ``[path:start-end]`` parsed and
verified against the files on disk, the one implementation the run and evaluation share).

Imports: :mod:`tech_writer.repository` (to read the files cited); never the model client, the
pipeline or the CLI.
"""
