"""--log-level: the tool's own lines at DEBUG; the libraries' debug lines only at TRACE."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tech_writer.logsetup import TRACE, configure_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    names = ("", "tech_writer", "telemetry", "httpcore", "httpx", "openai", "urllib3")
    saved = {name: logging.getLogger(name).level for name in names}
    yield
    logging.getLogger().handlers.clear()
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def _emit() -> None:
    logging.getLogger("tech_writer.outline").debug("own debug line")
    logging.getLogger("telemetry.export").debug("telemetry debug line")
    logging.getLogger("httpcore.connection").debug("connect_tcp.started")
    logging.getLogger("httpx").info("HTTP Request: POST")
    logging.getLogger("urllib3").debug("third-party debug")
    logging.getLogger("urllib3").warning("third-party warning")


def test_debug_shows_the_tools_own_lines_and_no_library_debug(
        capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG")
    _emit()
    err = capsys.readouterr().err
    assert "own debug line" in err and "telemetry debug line" in err
    assert "connect_tcp" not in err and "HTTP Request" not in err and "third-party debug" not in err
    assert "third-party warning" in err


def test_trace_shows_everything(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("TRACE")
    _emit()
    logging.getLogger("tech_writer").log(TRACE, "trace line")
    err = capsys.readouterr().err
    for line in ("own debug line", "connect_tcp.started", "HTTP Request", "third-party debug",
                 "TRACE tech_writer: trace line"):
        assert line in err


def test_info_shows_neither_debug_nor_library_info(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    _emit()
    logging.getLogger("tech_writer.sections").info("own info line")
    err = capsys.readouterr().err
    assert "own info line" in err and "own debug line" not in err and "HTTP Request" not in err
