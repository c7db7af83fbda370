"""One click group: the report is the default command, ``eval`` and ``compare`` are registered on
it, and the global options (``-q``, ``--log-level``) go before or after a subcommand's name."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import click
from click.testing import CliRunner

from tech_writer.cli import cli
from tech_writer.commands.compare import compare_command
from tech_writer.commands.evaluate import eval_command

ROOT = Path(__file__).resolve().parents[2]
REPORT = "# Notes\n\n## Main\n\nThe entry point is `main` [app.py:1-2].\n"


def report_in(repo: Path) -> Path:
    report = repo.parent / "report.md"
    report.write_text(REPORT, encoding="utf-8")
    return report


def test_eval_and_compare_are_registered_on_the_group() -> None:
    assert isinstance(cli, click.Group)
    assert cli.commands == {"eval": eval_command, "compare": compare_command}


def test_global_options_work_before_the_subcommand(sample_repo) -> None:
    report = report_in(sample_repo)
    for args in (["-q", "eval"], ["eval", "-q"], ["--log-level", "INFO", "eval"]):
        result = CliRunner().invoke(cli, [*args, "--report", str(report), "--repo",
                                          str(sample_repo)])
        assert result.exit_code == 0, (args, result.output)
        assert "citation validity" in result.output


def test_the_log_level_given_before_the_subcommand_is_the_one_used(sample_repo) -> None:
    report = report_in(sample_repo)
    CliRunner().invoke(cli, ["--log-level", "DEBUG", "eval", "--report", str(report),
                             "--repo", str(sample_repo)])
    assert logging.getLogger("tech_writer").getEffectiveLevel() == logging.DEBUG
    CliRunner().invoke(cli, ["--log-level", "DEBUG", "eval", "--log-level", "ERROR",
                             "--report", str(report), "--repo", str(sample_repo)])
    assert logging.getLogger("tech_writer").getEffectiveLevel() == logging.ERROR


def test_a_report_option_before_a_subcommand_is_one_usage_line(sample_repo) -> None:
    result = CliRunner().invoke(cli, ["--max-sections", "3", "eval", "--report", "r.md"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "tech-writer: error: --max-sections is an option of the report, not of 'eval': put it "
        "after the subcommand or leave it out (see tech-writer --help)"]


def test_without_a_subcommand_the_group_writes_the_report(sample_repo, prompt_file) -> None:
    result = CliRunner().invoke(cli, ["--prompt", str(prompt_file), "--repo", str(sample_repo),
                                      "--provider", "demo", "--max-sections", "2",
                                      "--max-exploration", "4", "-q"])
    assert result.exit_code == 0, result.output
    assert "# " in result.output and "cost: $" in result.output
    missing = CliRunner().invoke(cli, [])
    assert missing.exit_code == 2 and "Missing option '--prompt'" in missing.output


def test_no_hand_dispatch_and_no_private_cross_imports() -> None:
    cli_source = (ROOT / "tech_writer" / "cli.py").read_text(encoding="utf-8")
    assert "sys.argv" not in cli_source
    for path in sorted((ROOT / "tech_writer" / "commands").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module != "tech_writer.cli", path.name
                assert not any(alias.name.startswith("_") for alias in node.names
                               if node.module.startswith("tech_writer")), (path.name, node.module)
