"""The ``arrears`` command line: one module per Typer group, put together in :mod:`.main`."""
