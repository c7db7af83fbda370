"""CacheStore: reuse only for unchanged content, persistence, recovery from bad files, threads."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tech_writer.repository.cache import SCHEMA_VERSION, CacheStore, FileInfo


@pytest.fixture
def store() -> Iterator[CacheStore]:
    cache = CacheStore()
    yield cache
    cache.close()


def test_records_files_read(store: CacheStore) -> None:
    store.record_file("src/b.py", "h1", 10, 120)
    store.record_file("a.md", "h2", 3, 30)
    store.record_file("src/b.py", "h3", 11, 130)  # read again after a change: latest wins
    assert store.file_info("src/b.py") == FileInfo("src/b.py", "h3", 11, 130)
    assert store.file_info("missing") is None
    assert [info.path for info in store.files()] == ["a.md", "src/b.py"]


def test_symbols_are_reused_only_for_the_same_content(store: CacheStore) -> None:
    symbols = [{"kind": "function", "name": "f", "start": 1, "end": 2}]
    assert store.get_symbols("a.py", "old") is None
    store.put_symbols("a.py", "old", symbols)
    assert store.get_symbols("a.py", "old") == symbols
    assert store.get_symbols("a.py", "new") is None  # the file changed: the stale entry is not reused
    store.put_symbols("a.py", "new", [])
    assert store.get_symbols("a.py", "old") is None  # and it was replaced, not kept beside
    assert store.get_symbols("a.py", "new") == []
    assert store.stats() == {"files": 0, "symbols": 1, "hits": 2, "misses": 3}


def test_text_index_finds_substrings_and_replaces_stale_content(store: CacheStore) -> None:
    store.index_text("a.py", "h1", "def parse_config(path):\n    return 1\n")
    store.index_text("b.py", "h1", "CONFIG = {}\n100% sure_thing\n")
    store.index_text("c.py", "h1", "nothing here\n")
    assert store.search_index("config", 10) == ["a.py", "b.py"]  # case-insensitive
    assert store.search_index("parse_c", 10) == ["a.py"]
    assert store.search_index("re", 1) == ["a.py"]  # short queries work too, limit respected
    assert store.search_index("0%", 10) == ["b.py"]  # LIKE wildcards are literal
    assert store.search_index("e_t", 10) == ["b.py"]
    assert store.search_index('say "hi"', 10) == []
    store.index_text("a.py", "h2", "rewritten\n")
    assert store.search_index("config", 10) == ["b.py"]
    assert store.search_index("rewritten", 10) == ["a.py"]
    assert store.search_index("", 10) == [] and store.search_index("x", 0) == []


def test_generic_key_value(store: CacheStore) -> None:
    assert store.get("resume", "section-1") is None
    store.put("resume", "section-1", "text")
    store.put("other", "section-1", "different namespace")
    store.put("resume", "section-1", "text v2")
    assert store.get("resume", "section-1") == "text v2"
    assert store.get("other", "section-1") == "different namespace"


def test_persists_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "cache.sqlite"
    with CacheStore(path) as first:
        first.record_file("a.py", "h", 1, 2)
        first.put_symbols("a.py", "h", [{"name": "x"}])
        first.put("ns", "k", "v")
    with CacheStore(path) as second:
        assert second.file_info("a.py") == FileInfo("a.py", "h", 1, 2)
        assert second.files() == []  # "files read" means this run's
        assert second.files(include_previous=True) == [FileInfo("a.py", "h", 1, 2)]
        second.record_file("b.py", "h2", 3, 4)
        assert [info.path for info in second.files()] == ["b.py"]
        assert second.get_symbols("a.py", "h") == [{"name": "x"}]
        assert second.get("ns", "k") == "v"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def _assert_recreated(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tech_writer.cache"), CacheStore(path) as store:
        store.put("ns", "k", "v")
        assert store.get("ns", "k") == "v"
    assert (path.parent / f"{path.name}.corrupt-1").exists()
    assert any("unusable" in record.getMessage() for record in caplog.records)


def test_garbage_file_is_moved_aside_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    _assert_recreated(path, caplog)
    assert (tmp_path / "cache.sqlite.corrupt-1").read_bytes().startswith(b"this is not")


def test_other_schema_version_is_moved_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "cache.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    _assert_recreated(path, caplog)


def test_foreign_database_is_moved_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "cache.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE unrelated (x)")
    conn.close()
    _assert_recreated(path, caplog)


def test_second_recovery_picks_a_free_name(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "cache.sqlite"
    (tmp_path / "cache.sqlite.corrupt-1").write_bytes(b"older")
    path.write_bytes(b"garbage" * 100)
    with caplog.at_level(logging.WARNING, logger="tech_writer.cache"), CacheStore(path):
        pass
    assert (tmp_path / "cache.sqlite.corrupt-1").read_bytes() == b"older"
    assert (tmp_path / "cache.sqlite.corrupt-2").read_bytes().startswith(b"garbage")


def test_concurrent_threads_share_one_store(store: CacheStore) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for index in range(50):
                store.put("t", f"{worker}-{index}", str(index))
                store.record_file(f"w{worker}/f{index}.py", "h", index, index)
                assert store.get("t", f"{worker}-{index}") == str(index)
        except BaseException as exc:  # surfaced below: a thread's assert must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not errors
    assert not any(thread.is_alive() for thread in threads)
    assert store.stats()["files"] == 400


# --- a cache file that stops taking writes (issue 26, finding 2) ------------------------------
# A full disk is made for real: the child process may not grow any file past 64 KiB
# (RLIMIT_FSIZE, SIGXFSZ ignored, so a write fails with EFBIG as on a full disk). Works as root.
_FULL_DISK_CHILD = r"""
import logging, resource, signal, sys
from tech_writer.repository.cache import CacheStore
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
store = CacheStore(sys.argv[1])
for number in range(40):
    store.put("resume", f"k{number}", "x" * 8000, label=f"section {number}")
    store.record_file(f"f{number}.py", "h", 1, 8000)
assert all(store.get("resume", f"k{number}") == "x" * 8000 for number in range(40))
assert len(store.files()) == 40 and not store.persistent
print(store.unsaved.entries[-1], "|", store.unsaved.summary())
store.close()
"""


def test_a_full_disk_turns_the_cache_off_and_the_run_goes_on(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "cache.sqlite"
    child = subprocess.run([sys.executable, "-c", _FULL_DISK_CHILD, str(path)],
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    warnings = [line for line in child.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and "cannot be written" in warnings[0]
    assert child.stdout.startswith("section 39 |") and "more; " in child.stdout
    assert "derived entries (" in child.stdout
    with CacheStore(path) as later:  # what was saved before the disk filled is still there
        assert later.get("resume", "k0") == "x" * 8000
        assert later.previous_unsaved is not None
        assert "section 39" in later.previous_unsaved.entries
    with CacheStore(path) as after_a_good_run:
        assert after_a_good_run.previous_unsaved is None  # the good run removed the note


@pytest.mark.skipif(__import__("os").geteuid() == 0, reason="root writes read-only files")
def test_a_read_only_cache_file_is_read_and_not_written(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "cache.sqlite"
    with CacheStore(path) as first:
        first.put("ns", "old", "v")
    path.chmod(0o444)
    with caplog.at_level(logging.WARNING, logger="tech_writer.cache"), CacheStore(path) as store:
        store.put("ns", "new", "w", label="section 'Intro'")
        store.put("ns", "newer", "w", label="section 'Data'")
        assert store.get("ns", "old") == "v" and store.get("ns", "new") == "w"
        assert store.unsaved is not None and store.unsaved.entries == ["section 'Intro'",
                                                                      "section 'Data'"]
    assert len([r for r in caplog.records if "cannot be written" in r.getMessage()]) == 1


def test_a_cache_path_that_cannot_be_created_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OSError):  # the run turns this into a usage error before any call
        CacheStore(tmp_path / "file" / "cache.sqlite")
