"""A day-end under traffic (issue 19, item 2): commands and the day-end take their locks in one order
(:meth:`arrears.service_layer.services.Services.transaction`), so PostgreSQL never has to break a deadlock between
them; a command that waits past ARREARS_LOCK_TIMEOUT is refused as busy (API 503 with Retry-After, CLI exit 75),
writing nothing, and its retry with the same key posts once; the day-end completes whatever the traffic.

The traffic test drives the real API over HTTP (uvicorn in a thread, as tests/support/api.py does) with repayments,
drawdowns and waivers (proposed, then approved) from client threads while ``arrears eod run`` closes several days
in another process. It prints the request counts it saw (``-s``), the figures the README quotes.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from arrears.access import Role
from arrears.adapters import store, tokens_store
from arrears.adapters import tables as t
from arrears.adapters.database import make_engine
from arrears.config import Settings
from arrears.domain.product import load_product
from arrears.entrypoints.cli.main import EX_TEMPFAIL
from arrears.errors import Busy
from arrears.service_layer import day_end_store as eod_store
from arrears.service_layer.day_end_store import run_store
from arrears.service_layer.services import DAY_END_LOCK, Services
from tests.support.api import running
from tests.support.paths import ROOT, SAMPLE_PRODUCT
from tests.support.stores import one_loan

PG_ONLY = pytest.mark.parametrize("new_database", ["postgresql"], indirect=True)


@contextmanager
def day_end_closing_a_day(url: str) -> Iterator[None]:
    """Hold what a day-end holds while it closes a day: on PostgreSQL the day-end lock, exclusive; on SQLite the
    write lock."""
    if url.startswith("sqlite"):
        held = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        held.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            held.execute("ROLLBACK")
            held.close()
        return
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DAY_END_LOCK})
            yield
    finally:
        engine.dispose()


def _repayments_of(services: Services, amount: int) -> int:
    with services.reading() as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(t.transactions)
                .where(t.transactions.c.kind == "repayment", t.transactions.c.amount == amount)
            ).scalar_one()
        )


def _token(services: Services, role: Role, label: str) -> str:
    with services.transaction() as connection:
        _, token = tokens_store.create(
            connection, role=role, borrower=None, agency=None, label=label, now=services.clock()
        )
    return token


# -- the mappings: 503 with Retry-After, exit 75, and a retry that posts once ---------------------------------------


def test_a_command_the_day_end_holds_off_past_the_bound_is_a_503_and_its_retry_posts_once(
    new_database: Callable[[], str],
) -> None:
    url = new_database()
    loan = one_loan(url).loan
    settings = Settings(database_url=url, business_date=date(2026, 6, 1), lock_timeout=0.2)
    services = Services(make_engine(url), settings, origin="test")
    admin = _token(services, Role.ADMIN, "admin")
    request = {
        "url": f"/loans/{loan}/repayments",
        "json": {"amount": "12.34", "value_date": "2026-06-01"},
        "headers": {"Authorization": f"Bearer {admin}", "Idempotency-Key": "pay-1"},
    }
    with running(services) as base, httpx.Client(base_url=base, timeout=60) as client:
        with day_end_closing_a_day(url):
            busy = client.post(**request)
        assert busy.status_code == 503, busy.text
        assert busy.headers["Retry-After"] == "1"  # the 0.2 s bound, in whole seconds
        assert "ARREARS_LOCK_TIMEOUT" in busy.json()["error"] and "\n" not in busy.json()["error"]
        assert _repayments_of(services, 1234) == 0  # nothing written
        retried = client.post(**request)
        again = client.post(**request)
    assert retried.status_code == 201, retried.text
    assert again.json() == retried.json()
    assert _repayments_of(services, 1234) == 1
    services.engine.dispose()


def test_a_form_held_off_past_the_bound_is_the_sites_503_page_and_sending_it_again_posts_once(
    new_database: Callable[[], str],
) -> None:
    """The pages answer a busy store as the API does: 503 with Retry-After, on the site's own page (not a 500 with
    a reference: nothing is wrong), nothing written; the same form sent again posts once."""
    from tests.support.web import csrf_and_key, signed_in

    url = new_database()
    made = one_loan(url)
    settings = Settings(database_url=url, business_date=date(2026, 6, 1), lock_timeout=0.2)
    services = Services(make_engine(url), settings, origin="test")
    with services.transaction() as connection:
        _, token = tokens_store.create(
            connection, role=Role.BORROWER, borrower=made.borrower, agency=None, label="b", now=services.clock()
        )
    with running(services) as base, signed_in(base, token) as client:
        csrf, key = csrf_and_key(client.get(f"/borrower/{made.borrower}").text)
        form = {"amount": "23.45", "key": key, "csrf": csrf}
        with day_end_closing_a_day(url):
            busy = client.post(f"/borrower/loans/{made.loan}/repayments", data=form)
        assert busy.status_code == 503, busy.text
        assert busy.headers["Retry-After"] == "1"
        assert "<html" in busy.text and "ARREARS_LOCK_TIMEOUT" in busy.text and "reference" not in busy.text.lower()
        assert _repayments_of(services, 2345) == 0
        sent = client.post(f"/borrower/loans/{made.loan}/repayments", data=form)
        again = client.post(f"/borrower/loans/{made.loan}/repayments", data=form)
    assert sent.status_code == again.status_code == 303, sent.text
    assert _repayments_of(services, 2345) == 1
    services.engine.dispose()


def test_a_cli_command_held_off_past_the_bound_exits_75_with_one_line(new_database: Callable[[], str]) -> None:
    url = new_database()
    loan = one_loan(url).loan
    env = {
        **os.environ,
        "ARREARS_DATABASE_URL": url,
        "ARREARS_BUSINESS_DATE": "2026-06-01",
        "ARREARS_LOCK_TIMEOUT": "0.2",
    }
    repay = [
        sys.executable,
        "-m",
        "arrears.entrypoints.cli.main",
        "repay",
        str(loan),
        "--amount",
        "43.21",
        "--date",
        "2026-06-01",
    ]
    repay += ["--key", "cli-pay-1"]

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(repay, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False)

    with day_end_closing_a_day(url):
        busy = run()
    assert busy.returncode == EX_TEMPFAIL == 75, busy.stderr
    assert busy.stderr.startswith("arrears: error: the store is busy") and busy.stderr.count("\n") == 1
    assert "Traceback" not in busy.stderr and busy.stdout == ""
    services = Services(make_engine(url), Settings(database_url=url), origin="test")
    assert _repayments_of(services, 4321) == 0
    assert run().returncode == 0  # the retry
    assert _repayments_of(services, 4321) == 1
    services.engine.dispose()


def test_busy_is_raised_for_a_lock_past_the_bound_not_input_rejected(new_database: Callable[[], str]) -> None:
    """The service layer's own answer: :class:`Busy` (a temporary failure), never :class:`InputRejected`."""
    url = new_database()
    loan = one_loan(url).loan
    services = Services(make_engine(url), Settings(database_url=url, business_date=date(2026, 6, 1), lock_timeout=0.1))
    with day_end_closing_a_day(url), pytest.raises(Busy) as raised:
        services.repay(loan_id=loan, amount=500, value_date=date(2026, 6, 1), key="k")
    assert not isinstance(raised.value, ValueError) and raised.value.retry_after == 1
    services.engine.dispose()


# -- the deadlock of issue 19, made to happen on purpose ----------------------------------------------------------


def _waiting_on_a_lock(connection: Any) -> int:
    """Backends of this database waiting for a lock (``pg_stat_activity``)."""
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    return int(connection.execute(text(query)).scalar_one())


@PG_ONLY
def test_a_command_holding_its_loan_row_and_a_day_end_do_not_deadlock(
    new_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interleaving PostgreSQL aborted in 3 runs of 3: a command has locked its loan row (a drawdown has
    inserted its loan, say) and has not read the day-end state yet; a day-end starts closing the next day; the
    command then reads its loan with the state. Before the lock order the day-end held ``day_end_state`` and
    waited for ``loans`` while the command held ``loans`` and waited for ``day_end_state``: a deadlock, one side
    aborted. Now the day-end waits for the command (the day-end lock, taken first by both), the command goes on,
    and both complete, the day-end at its first try (it would retry a day PostgreSQL aborted: not needed)."""
    url = new_database()
    loan = one_loan(url).loan
    services = Services(make_engine(url), Settings(database_url=url), origin="test")
    run_store(services, through=date(2026, 6, 20))
    tries: list[date] = []
    run_day_once = eod_store._run_day_once

    def counted(services: Services, day: date) -> Any:
        tries.append(day)
        return run_day_once(services, day)

    monkeypatch.setattr(eod_store, "_run_day_once", counted)
    watcher = make_engine(url, isolation_level="AUTOCOMMIT").connect()
    outcome: list[object] = []

    def day_end() -> None:
        try:
            outcome.append(run_store(services, day=date(2026, 6, 21)))
        except Exception as error:  # reported by the assertion below
            outcome.append(error)

    runner = threading.Thread(target=day_end)
    with services.transaction() as connection:
        connection.execute(select(t.loans.c.id).where(t.loans.c.id == loan).with_for_update())
        runner.start()
        for _ in range(6000):  # until the day-end waits for a lock (a state poll, not a timing assertion)
            if _waiting_on_a_lock(watcher) or not runner.is_alive():
                break
            time.sleep(0.005)
        assert _waiting_on_a_lock(watcher) == 1, "the day-end never waited for the command in flight"
        record = store.get_loan(connection, loan, lock=True)  # the loan with its day-end state
        assert record.closed_through == date(2026, 6, 20)  # the command is wholly before the day-end
    runner.join()
    assert len(outcome) == 1 and not isinstance(outcome[0], Exception), outcome
    assert tries == [date(2026, 6, 21)]  # no deadlock to break
    with services.reading() as connection:
        assert store.last_day_end(connection) == date(2026, 6, 21)
    watcher.close()
    watcher.engine.dispose()
    services.engine.dispose()


# -- a multi-day eod run under API traffic ----------------------------------------------------------------------

START, CLOSED, THROUGH = date(2026, 5, 15), date(2026, 6, 20), date(2026, 6, 27)
PAYING, WAIVED, DRAWING_LINES = 120, 40, 8
"""Loans repayments go to, loans waivers go to (overdue since 06-16: penalty accrues), fresh lines for drawdowns
(20 loans each at most: the product's max_open_loans)."""
CLIENTS = 6


def _portfolio(url: str) -> tuple[list[int], list[int], list[int]]:
    """Loans drawn on START, 20 to a line, day-ended through CLOSED; lines with no loans for drawdowns."""
    setup = Services(make_engine(url), Settings(database_url=url, business_date=START), origin="test")
    product = load_product(SAMPLE_PRODUCT)
    borrower = setup.add_borrower(name="张三", phone="13800138000")
    loans: list[int] = []
    for number in range(PAYING + WAIVED):
        if number % 20 == 0:
            line = setup.open_line(borrower_id=borrower, product=product, limit=20_000_000)
        loans.append(setup.draw(line_id=line, amount=100_000, terms=5, start=START, key=f"setup-{number}"))
    fresh = [setup.open_line(borrower_id=borrower, product=product, limit=20_000_000) for _ in range(DRAWING_LINES)]
    setup.engine.dispose()
    services = Services(make_engine(url), Settings(database_url=url), origin="test")
    run_store(services, through=CLOSED)
    services.engine.dispose()
    return loans[:PAYING], loans[PAYING:], fresh


class Traffic:
    """Client threads sending repayments, drawdowns and waivers until told to stop; every request sent again,
    with its key, for as long as it is answered 503 (at once: Retry-After is a hint this test does not wait)."""

    def __init__(self, base: str, tokens: dict[str, str], paying: list[int], waived: list[int], lines: list[int]):
        self.base, self.tokens = base, tokens
        self.paying, self.waived = itertools.cycle(paying), itertools.cycle(waived)
        self.slots = iter([line for line in lines for _ in range(20)])  # each line's max_open_loans
        self.numbers = itertools.count(1)
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()  # every answer, retries included
        self.sent: Counter[str] = Counter()  # requests (keys), by kind
        self.unexpected: list[str] = []
        self.repaid: dict[int, int] = {}  # amount (unique per request) -> loan
        self.drawn: dict[str, int] = {}  # key -> loan
        self.waivers: list[int] = []  # approvals approved
        self.stop = threading.Event()

    def _send(self, client: httpx.Client, path: str, body: dict[str, Any] | None, token: str, key: str) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[token]}", "Idempotency-Key": key}
        while True:
            answer = client.post(path, json=body, headers=headers)
            with self.lock:
                self.statuses[answer.status_code] += 1
            if answer.status_code != 503:
                break
            if not answer.headers.get("Retry-After", "").isdigit():
                self.unexpected.append(f"503 without Retry-After: {answer.headers}")
        if answer.status_code != 201:
            self.unexpected.append(f"{path}: {answer.status_code} {answer.text[:300]}")
            return None
        return answer.json()

    def client(self, which: int) -> None:
        try:
            self._client(which)
        except Exception as error:  # a dropped connection, say: reported by the test, not lost in a thread
            self.unexpected.append(repr(error))

    def _client(self, which: int) -> None:
        with httpx.Client(base_url=self.base, timeout=120) as client:
            while not self.stop.is_set():
                number = next(self.numbers)
                kind = ("repayment", "drawdown", "waiver")[(which + number) % 3]
                if kind == "drawdown":
                    with self.lock:
                        line = next(self.slots, None)
                    kind = "repayment" if line is None else kind
                with self.lock:
                    self.sent[kind] += 1
                if kind == "repayment":
                    loan, amount = next(self.paying), 100 + number  # a unique amount: the request's own
                    body = {"amount": f"{amount / 100:.2f}", "value_date": (CLOSED + timedelta(days=1)).isoformat()}
                    if self._send(client, f"/loans/{loan}/repayments", body, "admin", f"r-{number}") is not None:
                        self.repaid[amount] = loan
                elif kind == "drawdown":
                    drawn = self._send(
                        client, f"/lines/{line}/drawdowns", {"amount": "100.00", "terms": 5}, "admin", f"d-{number}"
                    )
                    if drawn is not None:
                        self.drawn[f"d-{number}"] = drawn["loan"]
                else:
                    body = {
                        "component": "penalty",
                        "amount": "0.01",
                        "value_date": (CLOSED + timedelta(days=1)).isoformat(),
                    }
                    proposed = self._send(
                        client, f"/loans/{next(self.waived)}/waivers", body, "collector", f"w-{number}"
                    )
                    if proposed is not None:
                        approval = proposed["approval"]
                        path = f"/approvals/{approval}/approval"
                        if self._send(client, path, None, "supervisor", f"a-{number}") is not None:
                            self.waivers.append(approval)


@PG_ONLY
def test_a_multi_day_eod_run_under_api_traffic_completes_and_posts_each_request_once(
    new_database: Callable[[], str],
) -> None:
    url = new_database()
    paying, waived, lines = _portfolio(url)
    # a short bound, so that commands arriving while a day closes are refused as busy and retried
    services = Services(make_engine(url), Settings(database_url=url, lock_timeout=0.05), origin="api-test")
    tokens = {
        "admin": _token(services, Role.ADMIN, "admin"),
        "collector": _token(services, Role.COLLECTOR, "collector"),
        "supervisor": _token(services, Role.SUPERVISOR, "supervisor"),
    }
    with running(services) as base:
        traffic = Traffic(base, tokens, paying, waived, lines)
        clients = [threading.Thread(target=traffic.client, args=(n,)) for n in range(CLIENTS)]
        for thread in clients:
            thread.start()
        eod = subprocess.run(
            [
                sys.executable,
                "-m",
                "arrears.entrypoints.cli.main",
                "eod",
                "run",
                "--through",
                THROUGH.isoformat(),
                "--json",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "ARREARS_DATABASE_URL": url},
            timeout=600,
            check=False,
        )
        during = sum(traffic.statuses.values())
        traffic.stop.set()
        for thread in clients:
            thread.join()
    print(
        f"\nday-end {CLOSED + timedelta(days=1)} .. {THROUGH} under traffic: {during} requests answered during it, "
        f"{sum(traffic.statuses.values())} in all; requests by kind {dict(traffic.sent)}; "
        f"answers {dict(sorted(traffic.statuses.items()))}"
    )
    assert eod.returncode == 0, eod.stderr
    assert traffic.unexpected == []  # every request answered 201 in the end: no 500, nothing but 503 before it
    assert 500 not in traffic.statuses
    with services.reading() as connection:
        assert store.last_day_end(connection) == THROUGH
        tx = t.transactions.c
        repayments = Counter(
            (row.loan_id, row.amount)
            for row in connection.execute(select(tx.loan_id, tx.amount).where(tx.kind == "repayment"))
        )
        waivers = connection.execute(
            select(func.count()).select_from(t.transactions).where(tx.kind == "waiver")
        ).scalar_one()
        waived_once = Counter(  # the key of an approval's command is the approval: one per approved request
            row.key
            for row in connection.execute(
                select(t.idempotency_keys.c.key).where(t.idempotency_keys.c.command == "waive")
            )
        )
        drawn = connection.execute(
            select(func.count()).select_from(t.loans).where(t.loans.c.line_id.in_(lines))
        ).scalar_one()
    assert repayments == Counter((loan, amount) for amount, loan in traffic.repaid.items())  # once each
    assert waivers == len(traffic.waivers) == len(set(traffic.waivers))  # once each
    assert sorted(waived_once) == sorted(f"approval:{approval}" for approval in traffic.waivers)
    assert drawn == len(set(traffic.drawn.values())) == len(traffic.drawn)
    assert services.verify_ledger() == []
    services.engine.dispose()
