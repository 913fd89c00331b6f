"""Subcommands of the `minigrad` command line, one module each (see `minigrad/__main__.py`)."""
