"""``python -m fnguard``: the same command line as the ``fnguard`` script."""

from fnguard.cli import entry

if __name__ == "__main__":
    entry()
