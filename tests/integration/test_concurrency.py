"""Racing writers: no lost update, no limit exceeded, no double post (SQLite and PostgreSQL, real threads)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest

from arrears.adapters import tables as t
from arrears.domain.ledger import Account
from arrears.domain.product import load_product
from arrears.service_layer.services import DrawdownRefused
from tests.support.paths import SAMPLE_PRODUCT
from tests.support.stores import START, Book

WORKERS = 4


@pytest.fixture
def book(database_url: str) -> Any:
    store = Book(database_url)
    yield store
    store.engine.dispose()


def test_concurrent_repayments_on_one_loan_all_land_exactly_once(book: Book) -> None:
    loan = book.new_loan(amount=1_000_000)
    day = date(2026, 3, 1)

    def pay(worker: int) -> int:
        services = book.on(day)
        for number in range(25):
            services.repay(loan_id=loan, amount=1_000 + worker, value_date=day, key=f"w{worker}-{number}")
        return worker

    with ThreadPoolExecutor(WORKERS) as pool:
        assert sorted(pool.map(pay, range(WORKERS))) == list(range(WORKERS))
    assert book.count(t.transactions) == 1 + WORKERS * 25
    received = sum(25 * (1_000 + worker) for worker in range(WORKERS))
    assert book.balances(loan)[str(Account.CASH_CLEARING)] == received - 1_000_000
    assert book.on(day).verify_ledger() == []


def test_drawdowns_racing_for_one_limit_never_exceed_it(book: Book) -> None:
    services = book.on(START)
    borrower = services.add_borrower(name="李四", phone="13900139000")
    line = services.open_line(borrower_id=borrower, product=load_product(SAMPLE_PRODUCT), limit=1_000_000)

    def draw(worker: int) -> str:
        try:
            book.on(START).draw(line_id=line, amount=200_000, terms=5, start=START, key=f"draw-{worker}")
        except DrawdownRefused as refusal:
            assert "line.available" in str(refusal)
            return "refused"
        return "drawn"

    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = Counter(pool.map(draw, range(8)))
    assert outcomes == {"drawn": 5, "refused": 3}
    assert book.count(t.loans) == 5
    assert book.on(START).verify_ledger() == []


def test_the_same_key_from_racing_clients_posts_once(book: Book) -> None:
    loan = book.new_loan()
    day = date(2026, 2, 15)

    def retry(_: int) -> dict[str, Any]:
        return book.on(day).repay(loan_id=loan, amount=50_000, value_date=day, key="client-retry")

    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(retry, range(WORKERS * 2)))
    assert all(result == results[0] for result in results)
    assert book.count(t.transactions) == 2  # the disbursement and one repayment
    assert book.on(day).verify_ledger() == []
