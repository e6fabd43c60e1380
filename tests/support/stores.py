"""Stores built through the service layer, on a database URL from the ``new_database`` fixture (tests/conftest.py):
one loan, two loans day-ended for collections, and a ``Book`` seen on any business date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from arrears.access import Role
from arrears.adapters import tables as t
from arrears.adapters import tokens_store
from arrears.adapters.database import make_engine
from arrears.config import Settings
from arrears.domain.product import load_product
from arrears.service_layer.day_end_store import run_store
from arrears.service_layer.services import Services
from tests.support.paths import SAMPLE_PRODUCT

START = date(2026, 1, 15)
"""The day a :class:`Book`'s loans start unless a test says otherwise."""

SHANGHAI = ZoneInfo("Asia/Shanghai")


def services_on(url: str, day: date) -> Services:
    """The services of the store at ``url`` with the business date pinned to ``day``."""
    return Services(make_engine(url), Settings(database_url=url, business_date=day), origin="test")


@dataclass(frozen=True)
class OneLoan:
    """A store holding one borrower, one line and one loan drawn on 2026-05-15 (first due 2026-06-15), and the
    services to run it (no business date pinned: day-ends and plans set their own days)."""

    services: Any
    borrower: int
    line: int
    loan: int


def one_loan(
    url: str,
    product: Path = SAMPLE_PRODUCT,
    *,
    amount: int = 250_000,
    name: str = "张三",
    phone: str = "13800138000",
    timezone: str = "Asia/Shanghai",
    language: str = "zh",
) -> OneLoan:
    """One borrower, one line (limit 20,000.00) on ``product`` and one loan of ``amount`` over 5 terms from
    2026-05-15, made on business date 2026-05-15."""
    setup = Services(make_engine(url), Settings(database_url=url, business_date=date(2026, 5, 15)), origin="test")
    borrower = setup.add_borrower(name=name, phone=phone, timezone=timezone, language=language)
    line = setup.open_line(borrower_id=borrower, product=load_product(product), limit=2_000_000)
    loan = setup.draw(line_id=line, amount=amount, terms=5, start=date(2026, 5, 15), key="d")
    setup.engine.dispose()
    return OneLoan(Services(make_engine(url), Settings(database_url=url), origin="test"), borrower, line, loan)


def two_loans_day_ended(url: str) -> tuple[Services, int, int]:
    """A borrower with two loans on one line (cn-microcredit, 2,500.00 and 1,000.00 over 5 terms from 2026-05-15),
    day-ended through 2026-06-24 (both 9 days past due): the services, the borrower and the first loan."""
    start = date(2026, 5, 15)  # first due 2026-06-15
    setup = Services(make_engine(url), Settings(database_url=url, business_date=start), origin="test")
    borrower = setup.add_borrower(name="张三", phone="13800138000")
    line = setup.open_line(borrower_id=borrower, product=load_product(SAMPLE_PRODUCT), limit=2_000_000)
    first = setup.draw(line_id=line, amount=250_000, terms=5, start=start, key="d1")
    setup.draw(line_id=line, amount=100_000, terms=5, start=start, key="d2")
    setup.engine.dispose()
    services = Services(make_engine(url), Settings(database_url=url), origin="test")
    run_store(services, through=date(2026, 6, 24))
    return services, borrower, first


def known_agency(services: Any, name: str) -> None:
    """``name`` as an agency the lender works with (it holds a token): contacts and promises may name it."""
    with services.transaction() as connection:
        tokens_store.create(
            connection, role=Role.AGENCY, borrower=None, agency=name, label="test", now=services.clock()
        )


class Book:
    """One store, seen on whatever business date a test needs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    def on(self, day: date) -> Services:
        return Services(self.engine, Settings(database_url=self.url, business_date=day), origin="test")

    def count(self, table: Any) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())

    def balances(self, loan_id: int) -> dict[str, int]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(t.postings.c.account, func.sum(t.postings.c.amount))
                .where(t.postings.c.loan_id == loan_id)
                .group_by(t.postings.c.account)
            )
            return {account: int(total) for account, total in rows if total}

    def new_loan(self, *, limit: int = 2_000_000, amount: int = 500_000, terms: int = 10, start: date = START) -> int:
        """A new borrower with a line of ``limit`` and a loan of ``amount`` drawn on ``start``: its id."""
        services = self.on(start)
        borrower = services.add_borrower(name="张三", phone="13800138000")
        line = services.open_line(borrower_id=borrower, product=load_product(SAMPLE_PRODUCT), limit=limit)
        return services.draw(line_id=line, amount=amount, terms=terms, start=start, key=f"draw-{borrower}")
