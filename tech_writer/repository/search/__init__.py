"""Literal text search over the repository's listed files (``search_text``), with interchangeable
engines: ``text`` (the entry point and its semantics), ``engines`` (finding rg and git),
``ripgrep`` (rg proposes files), ``scan`` (the Python reader every engine falls back on),
``textmatch`` (the one line matcher all engines share)."""
