"""SecretMask, and repository tools that never show the model a key found in the repository."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tech_writer.repository.repo import Repository
from tech_writer.repository.tools import RepoTools
from tech_writer.secrets import (
    MASK,
    SecretMask,
    known_secrets,
    mask_data,
    mask_text,
    register_secrets,
)

KEY = "sk-or-v1-0123456789abcdef"


def test_mask_replaces_every_occurrence_longest_first():
    mask = SecretMask([KEY, KEY[:12], "short", None])
    assert mask(f"a {KEY} b {KEY}") == f"a {MASK} b {MASK}"
    assert mask(KEY[:12] + "!") == MASK + "!"  # a shorter secret is still masked on its own
    assert mask("short stays") == "short stays"  # too short to be a key
    assert not SecretMask([]) and SecretMask([KEY])


def test_known_secrets_reads_the_key_variables():
    found = known_secrets("flag-key-123456", environ={"OPENROUTER_API_KEY": KEY,
                                                      "OPENAI_API_KEY": "", "OTHER": "x" * 20})
    assert found == ["flag-key-123456", KEY]


def test_tools_mask_keys_found_in_the_repository(tmp_path: Path):
    (tmp_path / ".env").write_text(f"OPENROUTER_API_KEY={KEY}\n")
    (tmp_path / "app.py").write_text(f'DEFAULT_KEY = "{KEY}"\n')
    tools = RepoTools(Repository(tmp_path), secrets=[KEY])
    for name, arguments in [("read_file", {"path": ".env"}), ("read_file", {"path": "app.py"}),
                            ("search_text", {"query": "sk-or-v1"}),
                            ("get_symbols", {"path": "app.py"})]:
        result = tools.execute(name, arguments)
        assert KEY not in result.text, name
    assert MASK in tools.execute("read_file", {"path": ".env"}).text
    unmasked = RepoTools(Repository(tmp_path)).execute("read_file", {"path": ".env"})
    assert KEY in unmasked.text  # the mask is what hides it, not some other cap


def test_url_credentials_are_masked():
    from tech_writer.secrets import mask_url_credentials

    assert mask_url_credentials("fatal: https://me:tok3n@github.com/a/b.git not found") == (
        "fatal: https://***@github.com/a/b.git not found")
    assert mask_url_credentials("git@github.com:a/b.git") == "git@github.com:a/b.git"


def test_log_records_are_masked_including_tracebacks(capsys):
    import logging

    from tech_writer.logsetup import configure_logging

    configure_logging("DEBUG", secrets=[KEY])
    try:
        try:
            raise RuntimeError(f"server said: bad key {KEY}")
        except RuntimeError:
            logging.getLogger("tech_writer.test").warning("failed with %s", KEY, exc_info=True)
    finally:
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert KEY not in err and "failed with ***" in err and "bad key ***" in err


def test_persisted_symbols_never_hold_a_key_from_the_code(tmp_path: Path):
    from tech_writer.repository.cache import CacheStore

    (tmp_path / "app.py").write_text(f'def connect(key="{KEY}"):\n    return key\n')
    cache_file = tmp_path / "cache.sqlite3"
    with CacheStore(cache_file) as cache:
        tools = RepoTools(Repository(tmp_path, cache=cache), secrets=[KEY])
        assert "connect" in tools.execute("get_symbols", {"path": "app.py"}).text
    assert KEY.encode() not in cache_file.read_bytes()
    unmasked_file = tmp_path / "unmasked.sqlite3"
    with CacheStore(unmasked_file) as cache:  # without the mask the key would be persisted
        RepoTools(Repository(tmp_path, cache=cache)).execute("get_symbols", {"path": "app.py"})
    assert KEY.encode() in unmasked_file.read_bytes()


# --- issue 26, finding 10: the key's common encodings, and the writers that mask ---------------
ENCODED = [
    KEY,
    "sk%2Dor%2Dv1%2D0123456789abcdef",           # percent-encoded punctuation
    "sk%2dor-v1-0123456789abcdef",               # partly, lower-case hex
    "%73%6B%2D%6F%72%2D%76%31%2D%30%31%32%33%34%35%36%37%38%39%61%62%63%64%65%66",
    "sk\\u002dor\\u002dv1\\u002d0123456789abcdef",  # JSON \\u escapes
    "".join(f"\\u{ord(c):04X}" for c in KEY),     # every character escaped, upper-case hex
    "sk\\-or\\-v1\\-0123456789abcdef",           # backslash-escaped punctuation
]


@pytest.mark.parametrize("written", ENCODED)
def test_the_mask_covers_the_keys_common_encodings(written: str):
    masked = SecretMask([KEY])(f"error: key {written} refused")
    assert masked == f"error: key {MASK} refused"


def test_the_mask_masks_every_string_of_a_json_document():
    document = {"report": f"key {KEY}", "nested": [{"k": KEY}], KEY: 1.5, "n": None}
    assert SecretMask([KEY]).data(document) == {"report": f"key {MASK}", "nested": [{"k": MASK}],
                                                MASK: 1.5, "n": None}


def test_the_process_mask_has_the_environment_and_registered_keys(monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    assert mask_text(f"a {KEY}") == f"a {MASK}"
    flag_key = "flag-key-registered-0042"
    assert mask_text(flag_key) == flag_key
    register_secrets(flag_key)
    assert mask_data({"x": [flag_key]}) == {"x": [MASK]}


def test_the_report_writer_and_the_cache_mask_what_they_write(tmp_path: Path, monkeypatch):
    from tech_writer.repository.cache import CacheStore
    from tech_writer.repository.files import write_report

    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    write_report(tmp_path / "r.md", f"The key is {KEY} and sk%2Dor%2Dv1%2D0123456789abcdef.")
    assert (tmp_path / "r.md").read_text() == f"The key is {MASK} and {MASK}."
    with CacheStore(tmp_path / "c.sqlite") as cache:
        cache.put("resume", "k", json.dumps({"markdown": f"key {KEY}"}))
        cache.index_text(".env", "h", f"OPENROUTER_API_KEY={KEY}\n")
        cache.put_symbols("a.py", "h", [{"name": KEY}])
    assert files_with(tmp_path, KEY) == []
    assert files_with(tmp_path, "0123456789abcdef") == []


def files_with(root: Path, needle: str) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and needle.encode() in path.read_bytes()]


def test_log_lines_mask_encoded_keys():
    import logging

    from tech_writer.logsetup import RedactingFormatter

    flag_key = "sk-or-v1-flag-for-logs-98765"
    formatter = RedactingFormatter("%(message)s", [flag_key])
    record = logging.LogRecord("x", logging.WARNING, __file__, 1,
                               "echoed sk%2Dor%2Dv1%2Dflag-for-logs-98765", None, None)
    assert formatter.format(record) == f"echoed {MASK}"
