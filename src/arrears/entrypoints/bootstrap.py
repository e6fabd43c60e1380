"""The store's services for a command-line call, from the environment (one place for every CLI module)."""

from __future__ import annotations

import json
import sys
from datetime import date

from pydantic import ValidationError

from arrears.adapters.database import make_engine, upgrade
from arrears.config import Settings
from arrears.errors import InputRejected
from arrears.service_layer.services import Services
from arrears.validation import describe_errors


def load_settings(business_date: date | None = None) -> Settings:
    """The settings from the environment (ARREARS_*); a bad value is refused in one line naming it."""
    try:
        return Settings() if business_date is None else Settings(business_date=business_date)
    except ValidationError as error:
        raise InputRejected(describe_errors(error, "environment (ARREARS_*)")) from None


def open_services(*, migrate: bool | None = None, business_date: date | None = None) -> Services:
    """Services on ARREARS_DATABASE_URL. The embedded SQLite default is created or migrated on first use;
    PostgreSQL is migrated only by ``arrears db upgrade``, a deliberate step in production."""
    settings = load_settings(business_date)
    engine = make_engine(settings.database_url)
    if migrate if migrate is not None else engine.dialect.name == "sqlite":
        upgrade(engine)
    return Services(engine, settings)


def print_json(result: object) -> None:
    """A command's answer on stdout as indented JSON, Chinese kept readable."""
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
