"""``arrears db upgrade``: the schema on ARREARS_DATABASE_URL, created or migrated on purpose."""

from __future__ import annotations

import typer

from arrears.entrypoints.bootstrap import open_services
from arrears.entrypoints.cli.output import console

db_app = typer.Typer(help="The database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema on ARREARS_DATABASE_URL (default: ./arrears.db)."""
    services = open_services(migrate=True)
    console().print(f"schema up to date on {services.engine.url.render_as_string(hide_password=True)}")
