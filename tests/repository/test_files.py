"""-o PATH: the report goes where the path points, the way a shell redirection would put it."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from tech_writer.repository.files import OutputNotWritable, check_writable, write_report

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="mknod and chown need root")


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path: Path):
    real = tmp_path / "real.md"
    real.write_text("old")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    write_report(link, "report")
    assert link.is_symlink() and real.read_text() == "report"


def test_a_dangling_symlink_creates_its_target(tmp_path: Path):
    link = tmp_path / "link.md"
    link.symlink_to(tmp_path / "sub" / "target.md")
    write_report(link, "report")
    assert link.is_symlink() and (tmp_path / "sub" / "target.md").read_text() == "report"


def test_an_existing_file_keeps_its_mode(tmp_path: Path):
    report = tmp_path / "r.md"
    report.write_text("old")
    report.chmod(0o644)
    write_report(report, "new")
    assert stat.S_IMODE(report.stat().st_mode) == 0o644 and report.read_text() == "new"
    report.chmod(0o640)
    write_report(report, "newer")
    assert stat.S_IMODE(report.stat().st_mode) == 0o640


def test_a_new_file_gets_the_umasks_mode(tmp_path: Path):
    previous = os.umask(0o022)
    try:
        write_report(tmp_path / "a.md", "x")
        os.umask(0o027)
        write_report(tmp_path / "b.md", "x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "a.md").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.md").stat().st_mode) == 0o640


def test_hard_links_stay_linked(tmp_path: Path):
    report = tmp_path / "r.md"
    report.write_text("old")
    other = tmp_path / "other.md"
    os.link(report, other)
    write_report(report, "new")
    assert other.read_text() == "new" and report.stat().st_ino == other.stat().st_ino


def test_no_temporary_file_is_left_behind(tmp_path: Path):
    write_report(tmp_path / "r.md", "x")
    write_report(tmp_path / "r.md", "y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.md"]


def test_a_fifo_is_written_not_replaced(tmp_path: Path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_report(fifo, "through the pipe")
    reader.join(timeout=10)
    assert received == [b"through the pipe"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@root_only
def test_a_device_node_is_written_not_replaced(tmp_path: Path):
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private /dev/null
    write_report(null, "gone")
    check_writable(null)
    assert stat.S_ISCHR(null.stat().st_mode)


@root_only
def test_an_existing_file_keeps_its_owner(tmp_path: Path):
    report = tmp_path / "r.md"
    report.write_text("old")
    os.chown(report, 1234, 2345)
    write_report(report, "new")
    info = report.stat()
    assert (info.st_uid, info.st_gid) == (1234, 2345) and report.read_text() == "new"


def test_the_prompt_file_is_refused(tmp_path: Path):
    prompt = tmp_path / "prompt.md"
    prompt.write_text("Describe it")
    with pytest.raises(OutputNotWritable, match="prompt"):
        check_writable(prompt, not_same_as=prompt)
    link = tmp_path / "link.md"
    link.symlink_to(prompt)
    with pytest.raises(OutputNotWritable, match="prompt"):
        check_writable(link, not_same_as=tmp_path / "." / "prompt.md")
    check_writable(tmp_path / "out.md", not_same_as=prompt)


def test_check_refuses_a_directory_and_a_file_as_folder(tmp_path: Path):
    with pytest.raises(OutputNotWritable, match="directory"):
        check_writable(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputNotWritable, match="(?i)not a directory"):
        check_writable(tmp_path / "file" / "r.md")


def test_check_accepts_missing_folders_and_leaves_nothing(tmp_path: Path):
    check_writable(tmp_path / "a" / "b" / "r.md")
    check_writable(tmp_path / "r.md")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_check_refuses_a_closed_folder(tmp_path: Path):
    closed = tmp_path / "closed"
    closed.mkdir()
    closed.chmod(0o500)
    try:
        with pytest.raises(OutputNotWritable, match="cannot create"):
            check_writable(closed / "r.md")
    finally:
        closed.chmod(0o700)
