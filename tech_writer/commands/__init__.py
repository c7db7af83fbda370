"""The subcommands beside the report-writing command: ``eval`` (score a report) and ``compare``
(the same request on several models). :func:`tech_writer.cli.main` hands them ``sys.argv`` when
its first argument names one; every other invocation is the run command, unchanged.

Imports: like :mod:`tech_writer.cli`, the top: anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click

__all__ = ["SUBCOMMAND_NAMES", "subcommand"]

SUBCOMMAND_NAMES = ("eval", "compare", "check")


def subcommand(name: str) -> click.Command:
    """The click command of a subcommand, imported only when it is run."""
    if name == "eval":
        from tech_writer.commands.evaluate import eval_command

        return eval_command
    if name == "check":
        from tech_writer.commands.check import check_command

        return check_command
    from tech_writer.commands.compare import compare_command

    return compare_command
