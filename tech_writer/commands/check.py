"""``tech-writer check``: does the report still stand on the code? No model, no key, $0.

Stdout carries the verdicts (or, with ``--json``, one JSON document); exit 0 when every citation
holds (after ``--fix``, moved ones do; with ``--strict``, every section is fresh too), 1 when one
is moved, stale or gone, 2 on a usage error.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tech_writer.commands.common import CONTEXT, OneLineErrors, global_options, global_settings, run_guarded
from tech_writer.errors import UsageError

if TYPE_CHECKING:
    from tech_writer.report.freshness import CheckResult

__all__ = ["CHECK_EXIT_HELP", "check_command", "format_check", "run_check"]

CHECK_EXIT_HELP = """\b
Exit codes: 0 every citation holds (after --fix, moved ones do; with --strict, every section is
fresh too) · 1 a citation moved, went stale or is gone · 2 bad usage."""


@click.command("check", cls=OneLineErrors, epilog=CHECK_EXIT_HELP, context_settings=CONTEXT)
@click.argument("report_file", metavar="REPORT", type=click.Path(path_type=Path))
@click.option("--repo", "repo", default=".", show_default=True, metavar="DIR",
              help="The repository the report is about, as it is now.")
@click.option("--json", "as_json", is_flag=True,
              help='Print one JSON document: {"citations", "sections", "uncovered_files", "summary"}.')
@click.option("--fix", is_flag=True, help="Rewrite moved citations to their new lines, in place (atomically); "
                                          "nothing else in the report changes.")
@click.option("--strict", is_flag=True, help="A section is also stale when any file it read or cited "
                                             "changed at all, even outside the lines it cites.")
@global_options
def check_command(**options: Any) -> None:
    """Check a report against the code: every citation holds, moved (with its new lines), went
    stale or is gone; every section fresh or stale; files added since that no section covers.
    No model, no key, no cost.

    \b
    Example:
      tech-writer check docs/ARCHITECTURE.md --repo . --fix
    """
    globals_ = global_settings(options.pop("quiet"), options.pop("log_level"))
    run_guarded(functools.partial(_check, **options), log_level=globals_.log_level)


def _check(*, report_file: Path, repo: str, as_json: bool, fix: bool, strict: bool) -> int:
    repo_path = Path(repo)
    if not repo_path.is_dir():
        raise UsageError(f"--repo {repo}: not a directory")
    return run_check(report_file=report_file, repo_path=repo_path, strict=strict, fix=fix, as_json=as_json)


def run_check(*, report_file: Path, repo_path: Path, strict: bool, fix: bool, as_json: bool) -> int:
    """Classify the report against the repository, print the verdicts, rewrite moved citations
    with ``fix``; the exit code."""
    from tech_writer.report.freshness import apply_fixes, check_report
    from tech_writer.report.provenance import ProvenanceError
    from tech_writer.repository.files import write_atomic
    from tech_writer.repository.repo import Repository

    text = _read_report(report_file)
    try:
        result = check_report(text, Repository(repo_path), strict=strict,
                              exclude=_inside(report_file, repo_path))
    except ProvenanceError as exc:
        raise UsageError(f"{report_file}: its provenance comment is unreadable ({exc}); restore it "
                         "from version control, or delete the comment to check by existence only") from None
    if fix and result.count("moved"):
        fixed_text, result = apply_fixes(text, result)
        try:
            write_atomic(report_file, fixed_text)
        except OSError as exc:
            raise UsageError(f"--fix: cannot write {report_file} ({exc.strerror or exc})") from None
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        click.echo(format_check(result, report_file), nl=False)
    return result.exit_code


def _read_report(report_file: Path) -> str:
    if not report_file.is_file():
        raise UsageError(f"REPORT {report_file}: no such file")
    data = report_file.read_bytes()
    if b"\0" in data[:8192]:
        raise UsageError(f"REPORT {report_file}: a binary file, not a Markdown report")
    return data.decode("utf-8", errors="replace")


def _inside(report_file: Path, repo_path: Path) -> frozenset[str]:
    try:
        return frozenset({report_file.resolve().relative_to(repo_path.resolve()).as_posix()})
    except ValueError:
        return frozenset()


def format_check(result: CheckResult, report_file: Path) -> str:
    """The verdicts for a person: what is wrong first, then one summary line."""
    lines = []
    for verdict in result.citations:
        c = verdict.citation
        where = f"  ({verdict.section})" if verdict.section else ""
        if verdict.status == "moved":
            lines.append(f"moved  {c.path}:{c.start}-{c.end} -> {verdict.new_start}-{verdict.new_end}{where}")
        elif verdict.status != "holds":
            lines.append(f"{verdict.status:<6} {c.path}:{c.start}-{c.end}{where}")
    for section in result.stale_sections():
        lines.append(f"stale section: {section.title} ({', '.join(section.files)})")
    if result.uncovered_files:
        shown = result.uncovered_files[:20]
        more = len(result.uncovered_files) - len(shown)
        lines.append("files added since that no section covers: " + ", ".join(shown)
                     + (f" (+{more} more)" if more else ""))
    summary = result.summary()
    counts = ", ".join(f"{summary[s]} {s}" for s in ("holds", "moved", "stale", "gone"))
    basis = ("by content, against its provenance" if result.provenance
             else "by existence only: the report has no provenance")
    fixed = f"; --fix re-anchored {result.fixed}" if result.fixed else ""
    lines.append(f"{report_file}: {summary['citations']} citations ({counts}{fixed}); "
                 f"{summary['sections_stale']} of {len(result.sections)} sections stale; checked {basis}")
    return "\n".join(lines) + "\n"
