"""The commands beside the report: ``eval`` (score a report) and ``compare`` (the same request
on several models), registered on the ``tech-writer`` group in :mod:`tech_writer.cli`, and
:mod:`~tech_writer.commands.common`, what every command shares (one-line errors, global options,
the flags' words for a setting error, prompt and repository, the judge's options, the cost line).

Imports: like :mod:`tech_writer.cli`, the top: anything below it; never :mod:`tech_writer.cli`.
"""
