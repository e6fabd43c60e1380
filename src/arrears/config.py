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
                           suspense); default 90. Policy, not law (arrears.day_end.reference.DayEndPolicy): set it
                           before the store's first day-end and keep it, or past books stop matching.
ARREARS_PRODUCTS_DIR       The folder of product TOML files the lender offers (``GET /products``; a line
                           opened over the API is on one of them); default ``./products``. Read when
                           the API starts: a file that does not validate stops it, naming the file.
ARREARS_LOCK_TIMEOUT       Seconds a command (or a read) waits for a lock before it gives up with a
                           temporary failure (arrears.errors.Busy: API 503 + Retry-After, CLI exit 75)
                           and writes nothing; default 10. A day-end closing a day holds off commands
                           for as long as that day takes; the day-end itself waits without a bound.
ARREARS_HORIZON_DAYS       How far ahead a date may go, in days; default 366. ARREARS_BUSINESS_DATE at most
                           this far after today; an as-of date (``standing``, ``explain``, ``loan show``,
                           the API) at most this far after the business date; a day-end's last day at
                           most this far after today (or the business date, if later). A year answers
                           every question about a loan's next due dates; a replay to the year 9999
                           answers none and would run for hours.
ARREARS_EOD_CONFIRM_DAYS   A day-end closing days more than this far after today (or the business date,
                           if later) needs ``--long-run``; default 31. Catching up past days needs none;
                           closing the future is a simulation or a mistyped year, and each day commits
                           on its own, so a slip is not undone by stopping it.
=========================  ==========================================================================
"""

from __future__ import annotations

import getpass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from arrears.validation import EARLIEST_DATE

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
    horizon_days: int = Field(default=366, ge=1, le=3660)
    eod_confirm_days: int = Field(default=31, ge=1, le=3660)

    @model_validator(mode="after")
    def _business_date_near(self) -> Settings:
        """ARREARS_BUSINESS_DATE from 1900-01-01 to ARREARS_HORIZON_DAYS after today: a command on 9999-12-31 would
        replay its loan day by day for hours (and a day before 0001-01-02 does not exist)."""
        if self.business_date is not None:
            latest = datetime.now(UTC).date() + timedelta(days=self.horizon_days)
            if not EARLIEST_DATE <= self.business_date <= latest:
                raise ValueError(
                    f"ARREARS_BUSINESS_DATE {self.business_date} is outside {EARLIEST_DATE} .. {latest} "
                    f"({self.horizon_days} days after today, ARREARS_HORIZON_DAYS); set a nearer date, or unset it "
                    "to follow the day-ends"
                )
        return self
