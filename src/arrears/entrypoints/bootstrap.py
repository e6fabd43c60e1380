"""The composition root: the one place where the doors (the command line, the API's server, the demo) are wired to
the adapters.

Everything a door needs from outside the service layer is built here, from the environment: the settings
(``ARREARS_*``), the engine on ``ARREARS_DATABASE_URL`` (migrated on first use for the embedded SQLite), the
:class:`~arrears.service_layer.services.Services` over it, and the outbound channel a dispatch sends through. No other
module under ``entrypoints/`` or ``demo/`` imports ``arrears.adapters``; they call the service layer with what this
module hands them (cosmicpython, ch. 13, "Dependency Injection (and Bootstrapping)").

The adapters are imported inside the functions that build them, not at the top: ``arrears --help`` and a command
that never opens the store do not pay for SQLAlchemy's engine, Alembic or the service layer's imports.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from arrears.adapters.channels import Sender
    from arrears.config import Settings
    from arrears.service_layer.services import Services


def load_settings(business_date: date | None = None) -> Settings:
    """The settings from the environment (ARREARS_*); a bad value is refused in one line naming it."""
    from pydantic import ValidationError

    from arrears.config import Settings
    from arrears.errors import InputRejected
    from arrears.validation import describe_errors

    try:
        return Settings() if business_date is None else Settings(business_date=business_date)
    except ValidationError as error:
        raise InputRejected(describe_errors(error, "environment (ARREARS_*)")) from None


def upgrade(engine: Engine) -> None:
    """Create or migrate the schema on ``engine`` to the newest migration (Alembic's ``upgrade head``)."""
    from arrears.adapters.database import upgrade as upgrade_to_head

    upgrade_to_head(engine)


def open_services(*, migrate: bool | None = None, business_date: date | None = None) -> Services:
    """Services on ARREARS_DATABASE_URL. The embedded SQLite default is created or migrated on first use;
    PostgreSQL is migrated only by ``arrears db upgrade``, a deliberate step in production."""
    from arrears.adapters.database import make_engine
    from arrears.service_layer.services import Services

    settings = load_settings(business_date)
    engine = make_engine(settings.database_url)
    if migrate if migrate is not None else engine.dialect.name == "sqlite":
        upgrade(engine)
    return Services(engine, settings)


def open_api_services(*, threads: int, migrate: bool | None = None) -> Services:
    """Services for one API server process: on PostgreSQL, a pool that holds a connection for each of the
    server's ``threads`` request threads and the read-audit writer, so that none is opened and closed per request
    (SQLAlchemy's default keeps 5 and closes the rest on return: PostgreSQL then starts a backend per request).
    Elsewhere, the same Services as :func:`open_services`."""
    from arrears.adapters.database import make_engine
    from arrears.service_layer.services import Services

    services = open_services(migrate=migrate)
    if services.engine.dialect.name != "postgresql":
        return services
    services.engine.dispose()
    engine = make_engine(services.settings.database_url, pool_size=threads + 2, max_overflow=4)
    return Services(engine, services.settings)


def open_sender(spec: str, *, secret: str | None) -> Sender:
    """The outbound channel a configuration names: ``console``, ``jsonl:PATH`` or a webhook URL signed with
    ``secret`` (:func:`arrears.adapters.channels.open_sender`); a bad spec is refused in one line."""
    from arrears.adapters.channels import open_sender as open_channel

    return open_channel(spec, secret=secret)
