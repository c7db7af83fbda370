"""``python -m tech_writer``: the same command as ``tech-writer``."""

from tech_writer.cli import main

if __name__ == "__main__":
    main()
