"""The store, the commands and the ledger, on SQLite and on PostgreSQL (every test here runs on both)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from arrears.adapters import database
from arrears.adapters import tables as t
from arrears.adapters.database import make_engine
from arrears.domain.engine import Payment, replay
from arrears.domain.ledger import Account
from arrears.domain.product import load_product
from arrears.domain.terms import Component
from arrears.domain.views import state_view
from arrears.errors import InputRejected
from arrears.service_layer.services import DrawdownRefused, IdempotencyConflict, Services, ValueDateRefused
from tests.support.paths import SAMPLE_PRODUCT
from tests.support.stores import START, Book


@pytest.fixture
def book(database_url: str) -> Any:
    store = Book(database_url)
    yield store
    store.engine.dispose()


def test_drawdown_repayment_and_loan_show_agree_with_the_engine(book: Book) -> None:
    loan = book.new_loan()
    services = book.on(date(2026, 2, 20))
    result = services.repay(loan_id=loan, amount=56050, value_date=date(2026, 2, 15), key="r1")
    # installment 1: 1,000.00 principal + 5,000.00 x 0.0005 x 31 = 77.50 interest; 560.50 pays the interest first
    assert result["allocated"] == {"penalty": "0.00", "compound": "0.00", "interest": "77.50", "principal": "483.00"}
    assert result["backdated"] is True
    product = load_product(SAMPLE_PRODUCT)
    terms = product.loan_terms(principal=500_000, terms=10, start=START)
    expected = state_view(replay(terms, [Payment(date(2026, 2, 15), 56050)], date(2026, 6, 30)))
    assert services.loan_state(loan, date(2026, 6, 30)) == expected
    assert services.verify_ledger() == []
    balances = book.balances(loan)
    assert balances[str(Account.CASH_CLEARING)] == 56050 - 500_000
    assert balances[str(Account.PRINCIPAL_RECEIVABLE)] == 500_000 - 48300
    assert sum(balances.values()) == 0


def test_same_key_same_payload_posts_once(book: Book) -> None:
    loan = book.new_loan()
    services = book.on(date(2026, 2, 15))
    first = services.repay(loan_id=loan, amount=10000, value_date=date(2026, 2, 15), key="pay-1")
    postings = book.count(t.postings)
    again = services.repay(loan_id=loan, amount=10000, value_date=date(2026, 2, 15), key="pay-1")
    assert again == first
    assert book.count(t.postings) == postings
    assert book.count(t.transactions) == 2  # the disbursement and one repayment


def test_a_keyed_command_writes_its_audit_row_with_its_key_and_a_retry_writes_none(book: Book) -> None:
    """The audit row of a keyed command is held back and written with the idempotency key (one statement on
    PostgreSQL): it is there exactly once, with what the command did, and a retry adds none."""
    loan = book.new_loan()
    services = book.on(date(2026, 2, 15))
    audits, keys = book.count(t.audit_log), book.count(t.idempotency_keys)
    result = services.repay(loan_id=loan, amount=10000, value_date=date(2026, 2, 15), key="pay-audit")
    services.repay(loan_id=loan, amount=10000, value_date=date(2026, 2, 15), key="pay-audit")
    assert (book.count(t.audit_log), book.count(t.idempotency_keys)) == (audits + 1, keys + 1)
    with services.engine.connect() as connection:
        row = connection.execute(select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(1)).one()
    assert (row.action, row.target) == ("loan.repayment", f"loan:{loan}")
    assert json.loads(row.details) == json.loads(json.dumps(result, default=str))


def test_same_key_other_payload_is_a_conflict_and_writes_nothing(book: Book) -> None:
    loan = book.new_loan()
    services = book.on(date(2026, 2, 15))
    services.repay(loan_id=loan, amount=10000, value_date=date(2026, 2, 15), key="pay-1")
    before = (book.count(t.transactions), book.count(t.postings), book.count(t.audit_log))
    with pytest.raises(IdempotencyConflict, match="already used for a different repay"):
        services.repay(loan_id=loan, amount=20000, value_date=date(2026, 2, 15), key="pay-1")
    assert (book.count(t.transactions), book.count(t.postings), book.count(t.audit_log)) == before


FEB1 = date(2026, 2, 1)
LOAN = object()  # stands for the test loan's id in the cases below
BAD_INPUT = [
    ("repay", {"loan_id": LOAN, "amount": 0, "value_date": FEB1}, InputRejected, "above zero"),
    ("repay", {"loan_id": LOAN, "amount": 100, "value_date": date(2026, 2, 2)}, ValueDateRefused, "after the business"),
    ("repay", {"loan_id": LOAN, "amount": 100, "value_date": date(2026, 1, 14)}, ValueDateRefused, "before the loan"),
    ("repay", {"loan_id": 999, "amount": 100, "value_date": FEB1}, InputRejected, "no loan 999"),
    ("waive", {"loan_id": LOAN, "component": Component.PENALTY, "amount": 100, "value_date": FEB1}, InputRejected,
     "only 0.00 of penalty is owed"),
    ("waive", {"loan_id": LOAN, "component": "principal", "amount": 100, "value_date": FEB1}, InputRejected,
     "cannot be waived"),
    ("reverse", {"transaction_id": 1}, InputRejected, "only repayments can be reversed"),
    ("draw", {"line_id": 1, "amount": 1_600_000, "terms": 10, "start": FEB1}, DrawdownRefused, "rule line.available"),
    ("draw", {"line_id": 1, "amount": 15_050, "terms": 10, "start": FEB1}, DrawdownRefused, "rule drawdown.multiple"),
    ("draw", {"line_id": 1, "amount": 10_000, "terms": 7, "start": FEB1}, InputRejected, "7 terms is not offered"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "arguments", "error", "message"), BAD_INPUT)
def test_bad_input_is_refused_and_changes_nothing(
    book: Book, command: str, arguments: dict[str, Any], error: type, message: str
) -> None:
    loan = book.new_loan()
    tables = (t.loans, t.transactions, t.ledger_entries, t.postings, t.audit_log, t.idempotency_keys, t.domain_events)
    before = [book.count(table) for table in tables]
    call = getattr(book.on(FEB1), command)
    with pytest.raises(error, match=message):
        call(**{name: loan if value is LOAN else value for name, value in arguments.items()}, key="k")
    assert [book.count(table) for table in tables] == before


def test_drawdowns_restore_the_limit_as_principal_is_repaid(book: Book) -> None:
    loan = book.new_loan(limit=600_000, amount=500_000, terms=5)
    services = book.on(START)
    with pytest.raises(DrawdownRefused, match=r"only 1000.00 of the 6000.00 limit"):
        services.draw(line_id=1, amount=200_000, terms=5, start=START, key="second")
    paid = book.on(date(2026, 2, 15))
    paid.repay(loan_id=loan, amount=100_000 + 7_750, value_date=date(2026, 2, 15), key="r")  # 1,000 principal back
    assert paid.draw(line_id=1, amount=200_000, terms=5, start=date(2026, 2, 15), key="second") > loan


def test_waiver_write_off_recovery_and_reversal_keep_the_books(book: Book) -> None:
    loan = book.new_loan()
    late = book.on(date(2026, 4, 1))
    late.repay(loan_id=loan, amount=20_000, value_date=date(2026, 3, 1), key="r1")
    late.waive(loan_id=loan, component=Component.PENALTY, amount=150, value_date=date(2026, 4, 1), key="w")
    late.write_off(loan_id=loan, value_date=date(2026, 4, 1), key="wo")
    later = book.on(date(2026, 5, 1))
    recovery = later.repay(loan_id=loan, amount=30_000, value_date=date(2026, 5, 1), key="r2")
    later.reverse(transaction_id=2, key="rev")  # the pre-write-off repayment bounces
    assert later.verify_ledger() == []
    balances = book.balances(loan)
    assert balances[str(Account.RECOVERIES)] == -30_000
    assert str(Account.PRINCIPAL_RECEIVABLE) not in balances  # off the books since the write-off
    assert sum(balances.values()) == 0
    assert recovery["kind"] == "repayment"
    with pytest.raises(InputRejected, match="already reversed"):
        later.reverse(transaction_id=2, key="rev-again")


def test_postings_are_append_only(book: Book) -> None:
    book.new_loan()
    for statement in ("UPDATE postings SET amount = 0", "DELETE FROM postings", "UPDATE ledger_entries SET kind = 'x'"):
        with pytest.raises(DBAPIError, match="append-only"), book.engine.begin() as connection:
            connection.execute(text(statement))
    assert book.on(START).verify_ledger() == []


def test_verify_finds_a_changed_posting_even_without_the_triggers(book: Book) -> None:
    loan = book.new_loan()
    book.on(date(2026, 2, 15)).repay(loan_id=loan, amount=10_000, value_date=date(2026, 2, 15), key="r")
    with book.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE postings DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER postings_no_update"))
        connection.execute(
            text("UPDATE postings SET amount = amount + 1 WHERE account = 'cash_clearing' AND amount > 0")
        )
        connection.execute(
            text("UPDATE postings SET amount = amount - 1 WHERE account = 'principal_receivable' AND amount < 0")
        )
    problems = book.on(date(2026, 2, 15)).verify_ledger()
    assert any("hash chain broken" in problem for problem in problems)
    assert any("cash_clearing: books" in problem for problem in problems)


def _history(seed: int) -> list[Payment]:
    rng = random.Random(seed)
    payments, day = [], START
    for _ in range(rng.randint(1, 6)):
        day += timedelta(days=rng.randint(0, 45))
        payments.append(Payment(day, rng.randrange(100, 120_000)))
    return payments


@pytest.mark.parametrize("seed", range(6))
def test_a_backdated_payment_leaves_the_books_as_if_it_came_on_time(new_database: Any, seed: int) -> None:
    """Store A records each payment on its value date; store B records them all later, in random order.
    Brought to the same business date, both have the same state and exactly the same balances."""
    payments = _history(seed)
    final = max(p.value_date for p in payments) + timedelta(days=20)
    on_time, late = Book(new_database()), Book(new_database())
    for store in (on_time, late):
        store.new_loan()
    for number, payment in enumerate(payments):
        services = on_time.on(payment.value_date)
        services.repay(loan_id=1, amount=payment.amount, value_date=payment.value_date, key=f"p{number}")
    shuffled = list(enumerate(payments))
    random.Random(seed).shuffle(shuffled)
    for number, payment in shuffled:
        late.on(final).repay(loan_id=1, amount=payment.amount, value_date=payment.value_date, key=f"p{number}")
    for store in (on_time, late):
        store.on(final).accrue()
        assert store.on(final).verify_ledger() == []
    assert on_time.balances(1) == late.balances(1)
    assert on_time.on(final).loan_state(1, final) == late.on(final).loan_state(1, final)
    for store in (on_time, late):
        store.engine.dispose()


@pytest.mark.parametrize("seed", range(3))
def test_a_long_lived_services_posts_exactly_what_fresh_ones_post(new_database: Any, seed: int) -> None:
    """A Services that lives across commands keeps each loan's replay for the loan's next event of the day;
    one that is new for each command replays from the stored events. The same random commands (payments of
    the day and backdated, waivers, write-offs, reversals, a second client changing the loans under the
    first, a key reused with another payload) give both stores the same answers and the same books."""
    rng = random.Random(seed)
    kept, fresh = Book(new_database()), Book(new_database())
    for store in (kept, fresh):
        for _ in range(3):
            store.new_loan()
    repayments: list[int] = []
    for day in (date(2026, 2, 15), date(2026, 2, 16), date(2026, 3, 20)):
        ours, theirs = kept.on(day), kept.on(day)
        for number in range(40):
            loan, draw = rng.randint(1, 3), rng.random()
            command, arguments, client = "repay", {"loan_id": loan, "amount": rng.randrange(100, 90_000)}, ours
            arguments["value_date"] = day - timedelta(days=rng.randint(1, 20)) if draw < 0.1 else day
            if 0.1 <= draw < 0.2:
                client = theirs
            elif 0.2 <= draw < 0.3:
                command, arguments = "waive", {"loan_id": loan, "component": Component.PENALTY, "amount": 50}
                arguments["value_date"] = day
            elif 0.3 <= draw < 0.35 and repayments:
                command, arguments = "reverse", {"transaction_id": rng.choice(repayments)}
            elif 0.35 <= draw < 0.37:
                command, arguments = "write_off", {"loan_id": loan, "value_date": day}
            key = f"{day}-{number}" if draw < 0.95 else f"{day}-0"  # a reused key: the same or another payload
            answers: list[Any] = []
            for services in (client, fresh.on(day)):
                try:
                    answers.append(getattr(services, command)(**arguments, key=key))
                except InputRejected as refusal:
                    answers.append(f"{type(refusal).__name__}: {refusal}")
            assert answers[0] == answers[1], (command, arguments)
            if command == "repay" and isinstance(answers[0], dict):
                repayments.append(answers[0]["transaction_id"])
        for store in (kept, fresh):
            assert store.on(day).verify_ledger() == []
    assert [kept.balances(loan) for loan in (1, 2, 3)] == [fresh.balances(loan) for loan in (1, 2, 3)]
    for store in (kept, fresh):
        store.engine.dispose()


def test_the_replay_of_a_rolled_back_command_is_never_kept(new_database: Any) -> None:
    """A command rolled back after its work (here: its key was used by another command) must leave no replay:
    another client's different event can leave the loan row at the same version with the same ledger head
    (a compound and a penalty waiver post to the same accounts), and only the replay would tell them apart."""
    day = date(2026, 3, 20)  # installment 1, due 2026-02-15, unpaid: penalty and compound owed

    def commands(store: Book, ours: Callable[[], Services]) -> list[Any]:
        loan = store.new_loan()
        first = ours().repay(loan_id=loan, amount=100, value_date=day, key="first")
        with pytest.raises(IdempotencyConflict):
            ours().waive(loan_id=loan, component=Component.PENALTY, amount=50, value_date=day, key="first")
        store.on(day).waive(loan_id=loan, component=Component.COMPOUND, amount=50, value_date=day, key="compound")
        second = ours().repay(loan_id=loan, amount=10_000, value_date=day, key="second")
        assert store.on(day).verify_ledger() == []
        store.engine.dispose()
        return [first, second]

    kept, fresh = Book(new_database()), Book(new_database())
    long_lived = kept.on(day)
    answers = commands(kept, lambda: long_lived)
    assert answers == commands(fresh, lambda: fresh.on(day))
    assert answers[1]["allocated"]["compound"] != "0.00"  # the compound left after its waiver is paid


def test_a_pooled_connection_broken_while_idle_is_replaced(book: Book, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server restart or a dropped socket while the pool sat idle costs no command: the checkout pings a
    connection idle for PING_AFTER_IDLE seconds and replaces it if the ping fails."""
    loan = book.new_loan()
    if book.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server connection to lose")
    monkeypatch.setattr(database, "PING_AFTER_IDLE", 0.0)  # every pooled connection counts as idle
    other = make_engine(book.url)
    with other.connect() as connection:  # what a server restart does to the pool's connections
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    other.dispose()
    result = book.on(date(2026, 2, 15)).repay(loan_id=loan, amount=10_000, value_date=date(2026, 2, 15), key="r")
    assert result["amount"] == "100.00"


def test_the_standings_folded_read_gives_the_rows_of_the_one_by_one_reads(book: Book) -> None:
    """store.borrower_lines (four statements, the API's hot read) against the functions it folds, for a borrower
    with two lines, loans with a reversal, a waiver, a write-off, reviews, decisions, a court order and credit
    reporting rows; another borrower's rows beside them must not leak in."""
    from arrears.adapters import store

    first = book.new_loan()
    other = book.new_loan()  # another borrower: none of their rows may appear
    services = book.on(date(2026, 4, 1))
    with book.engine.connect() as connection:
        borrower = connection.execute(select(t.loans.c.borrower_id).where(t.loans.c.id == first)).scalar_one()
        line = connection.execute(select(t.loans.c.line_id).where(t.loans.c.id == first)).scalar_one()
    second_line = services.open_line(borrower_id=borrower, product=load_product(SAMPLE_PRODUCT), limit=900_000)
    second = services.draw(line_id=second_line, amount=300_000, terms=5, start=date(2026, 4, 1), key="second")
    services.open_line(borrower_id=borrower, product=load_product(SAMPLE_PRODUCT), limit=100_000)  # no loans
    services.repay(loan_id=first, amount=20_000, value_date=date(2026, 3, 1), key="r1")
    services.repay(loan_id=first, amount=7_000, value_date=date(2026, 3, 20), key="r2")
    with book.engine.connect() as connection:
        bounced = connection.execute(select(func.max(t.transactions.c.id))).scalar_one()
    services.reverse(transaction_id=bounced, key="rev")
    services.waive(loan_id=first, component=Component.PENALTY, amount=150, value_date=date(2026, 4, 1), key="w")
    services.repay(loan_id=other, amount=5_000, value_date=date(2026, 3, 1), key="o1")
    services.write_off(loan_id=second, value_date=date(2026, 4, 1), key="wo")
    services.record_court_order(
        borrower_id=borrower, court="某法院", case_number="(2026)京0105执1号", document_ref="doc-1",
        kind="freeze", issued_on=date(2026, 3, 30), key="co",
    )  # fmt: skip
    lifted = services.record_court_order(
        borrower_id=borrower, court="某法院", case_number="(2026)京0105执2号", document_ref="doc-2",
        kind="transfer", issued_on=date(2026, 3, 31), key="co2", loan_id=first, amount=12_345,
    )  # fmt: skip
    with book.engine.begin() as connection:
        connection.execute(t.court_orders.update().where(t.court_orders.c.id == lifted).values(lifted_on=START))
    now = services.clock()
    with book.engine.begin() as connection:
        for who, on in ((line, date(2026, 3, 5)), (second_line, date(2026, 3, 9)), (line, date(2026, 2, 1))):
            connection.execute(
                t.line_reviews.insert().values(line_id=who, reviewed_on=on, reviewer="r", note="n", recorded_at=now)
            )
        for who, rule, on in ((line, "suspend", date(2026, 3, 2)), (second_line, "close", date(2026, 3, 3))):
            connection.execute(
                t.restriction_decisions.insert().values(line_id=who, rule=rule, decided_on=on, recorded_at=now)
            )
        for sent in (date(2026, 3, 1), date(2026, 3, 25), date(2026, 4, 20)):
            connection.execute(
                t.credit_pre_notices.insert().values(
                    loan_id=first, borrower_id=borrower, sent_on=sent, channel="sms", recorded_at=now
                )
            )
        for period in (date(2026, 2, 28), date(2026, 3, 31)):
            connection.execute(t.credit_reports.insert().values(period=period, jurisdiction="cn", reported_at=now))
        for period, negative, emitted in (
            (date(2026, 2, 28), True, False),
            (date(2026, 3, 31), True, True),
        ):
            connection.execute(
                t.credit_records.insert().values(
                    period=period, jurisdiction="cn", loan_id=first, borrower_id=borrower, status="x",
                    negative=negative, emitted=emitted, payload="{}",
                )
            )  # fmt: skip
    for day in (date(2026, 3, 20), date(2026, 4, 1)):
        with book.engine.connect() as connection:
            folded = store.borrower_lines(connection, borrower, day)
            lines = store.lines_of_borrower(connection, borrower)
            assert [line["id"] for line in folded.lines] == [line.id for line in lines]
            assert len(lines) == 3
            assert [line["limit_minor"] for line in folded.lines] == [line.limit_minor for line in lines]
            for row in lines:
                one_by_one = [
                    (loan.id, loan.terms, store.loan_events(connection, loan.id))
                    for loan in store.loans_of_line(connection, row.id)
                ]
                assert folded.loans[row.id] == one_by_one
                assert folded.reviews.get(row.id, []) == store.line_reviews_of(connection, row.id)
                assert folded.decisions.get(row.id, frozenset()) == store.line_decisions_of(connection, row.id)
            assert folded.orders == store.court_orders_of(connection, borrower)
            # the last pre-notice sent by the day; the first negative record emitted by it (02-28's was held back)
            assert (
                folded.credit
                == {
                    date(2026, 3, 20): (date(2026, 3, 1), None),
                    date(2026, 4, 1): (date(2026, 3, 25), date(2026, 3, 31)),
                }[day]
            )
    assert [len(events) for _, _, events in folded.loans[line]] == [2]  # the reversed payment left out
    assert folded.reviews[line] == [date(2026, 2, 1), date(2026, 3, 5)]
    assert [(o.amount, o.loan_id, o.lifted_on) for o in folded.orders] == [(None, None, None), (12_345, first, START)]
    with book.engine.connect() as connection, pytest.raises(store.NotFound, match="no borrower 999"):
        store.borrower_lines(connection, 999, date(2026, 4, 1))


def test_a_read_sees_one_moment_even_when_a_write_commits_between_its_statements(book: Book) -> None:
    """Services.reading is one snapshot: on PostgreSQL REPEATABLE READ (at READ COMMITTED each statement saw its
    own moment), on SQLite a deferred transaction in WAL mode. A repayment committed mid-read is seen after it."""
    loan = book.new_loan()

    def repayments(connection: Any) -> int:
        statement = select(func.count()).select_from(t.transactions).where(t.transactions.c.kind == "repayment")
        return int(connection.execute(statement).scalar_one())

    with book.on(START).reading() as connection:
        first = repayments(connection)
        book.on(date(2026, 2, 15)).repay(loan_id=loan, amount=10_000, value_date=date(2026, 2, 15), key="between")
        assert repayments(connection) == first
    with book.on(START).reading() as connection:
        assert repayments(connection) == first + 1
