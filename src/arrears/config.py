"""Typed settings from the environment (pydantic-settings), built once by the entry point, never at import.

=========================  ==========================================================================
ARREARS_DATABASE_URL       SQLAlchemy URL; default ``sqlite:///./arrears.db`` (embedded, no server).
                           Production: ``postgresql+psycopg://user@host:5432/arrears``.
ARREARS_BUSINESS_DATE      The business date (YYYY-MM-DD). Unset: the day after the store's last
                           completed day-end, or else today in ARREARS_TIMEZONE.
ARREARS_TIMEZONE           The lender's time zone; default Asia/Shanghai.
ARREARS_MAX_BACKDATE_DAYS  How far before the business date a value date may go; unset: down to the
                           loan's start (the default the issue names).
ARREARS_ACTOR              Who is acting, for the audit log; default the operating-system user.
ARREARS_NON_ACCRUAL_DPD    Days past due beyond which a loan is non-accrual (its income held in
                           suspense); default 90. Policy, not law (arrears.dayend.DayEndPolicy): set it
                           before the store's first day-end and keep it, or past books stop matching.
ARREARS_PRODUCTS_DIR       The folder of product TOML files the lender offers (``GET /products``; a line
                           opened over the API is on one of them); default ``./products``. Read when
                           the API starts: a file that does not validate stops it, naming the file.
ARREARS_LOCK_TIMEOUT       Seconds a command (or a read) waits for a lock before it gives up with a
                           temporary failure (arrears.errors.Busy: API 503 + Retry-After, CLI exit 75)
                           and writes nothing; default 10. A day-end closing a day holds off commands
                           for as long as that day takes; the day-end itself waits without a bound.
=========================  ==========================================================================
"""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./arrears.db"


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except OSError:  # no user database entry (some containers)
        return "unknown"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARREARS_", extra="ignore", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    business_date: date | None = None
    timezone: str = "Asia/Shanghai"
    max_backdate_days: int | None = Field(default=None, ge=0)
    actor: str = Field(default_factory=_default_actor)
    non_accrual_dpd: int = Field(default=90, ge=0, le=10_000)
    products_dir: Path = Path("products")
    lock_timeout: float = Field(default=10.0, gt=0, le=3600)
