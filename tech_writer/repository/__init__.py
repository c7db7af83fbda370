"""The repository the report is about, and what the model may do with it.

``repo`` (:class:`Repository`: reading files safely, with caps), ``listing`` (which files exist,
from git or a walk, ``.gitignore`` honoured), ``paths`` (every path resolved inside the
repository), ``gitrun`` (running git on an untrusted repository), ``remote`` (cloning a git URL),
``files`` (the prompt and output files), ``symbols`` (``get_symbols`` / ``get_imports`` for each
language), ``cache`` (the SQLite cache of files, symbols and finished work), ``search/`` (literal
text search and its engines) and ``tools`` (the tools the model may call, built on all of these).

Imports: :mod:`tech_writer.errors` and :mod:`tech_writer.secrets` only; never the model client,
the pipeline, the report or the CLI.
"""
