"""The day-end over the store (SQLite and PostgreSQL): the same kernel and results as the dataset runner, books
that always equal the reference, commands between day-ends, exactly once, and a kill at any moment."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from arrears.adapters import day_end_store as des
from arrears.adapters import restriction_store as rs
from arrears.adapters import store
from arrears.adapters import tables as t
from arrears.adapters.database import make_engine
from arrears.adapters.dataset import Dataset
from arrears.analytics.portfolio import portfolio_report
from arrears.config import Settings
from arrears.day_end.reference import DayEndPolicy, day_end_state_through
from arrears.domain.product import RestrictionRule, load_product
from arrears.domain.terms import Component
from arrears.errors import InputRejected
from arrears.restrictions.registry import line_history
from arrears.restrictions.standing import LineInput, standing
from arrears.service_layer import services as services_module
from arrears.service_layer.datasets import generate_dataset
from arrears.service_layer.day_end import run_dataset
from arrears.service_layer.day_end_store import run_store, store_snapshots
from arrears.service_layer.portfolio import import_portfolio
from arrears.service_layer.services import Services
from tests.support.cli import run_cli
from tests.support.datasets import dataset_outputs as _outputs
from tests.support.datasets import dataset_state as _state
from tests.support.paths import ROOT, SAMPLE_PRODUCT

AS_OF = date(2026, 10, 31)
THROUGH = date(2026, 12, 5)  # across a month-end, and the due dates of most loans


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("generated")
    generate_dataset(root / "ds", loans=300, seed=5, as_of=AS_OF, history_days=240, store_files=root / "sf")
    return root / "ds", root / "sf"


def _imported(url: str, files: Path) -> tuple[Services, dict[str, int]]:
    """The generated portfolio imported on business date AS_OF; the services then follow the day-ends."""
    importer = Services(make_engine(url), Settings(database_url=url, business_date=AS_OF), origin="test")
    report = import_portfolio(importer, files)
    importer.engine.dispose()
    return Services(make_engine(url), Settings(database_url=url), origin="test"), report.loan_ids


def _business_date(services: Services) -> date:
    with services.reading() as connection:
        return services.business_date(connection)


def test_the_store_runner_equals_the_dataset_runner(
    new_database: Callable[[], str], generated: tuple[Path, Path], tmp_path: Path
) -> None:
    """300 generated loans, day-ends from the import's business date to THROUGH on the dataset and on the store.
    The dataset takes each later payment as an input of its day; the store takes it as a repayment command
    during that business day. Every loan's columns and transition events end the same, and every loan's books
    move the same each day (the store's command postings plus its day-end postings equal the dataset's day-end
    postings), after the first store day-end, which rebuilds every loan with the reference and posts its books
    up to the accrual basis. The store's books then verify against the reference, loan by loan."""
    dataset = tmp_path / "ds"
    shutil.copytree(generated[0], dataset)
    run_dataset(dataset, through=THROUGH)
    later = sorted(
        (row["value_date"], index, row["loan_id"], row["amount"])
        for part in range(Dataset(dataset).manifest().parts)
        for index, row in enumerate(pq.read_table(Dataset(dataset).payments_path(part)).to_pylist())
        if AS_OF < row["value_date"] <= THROUGH
    )
    assert len(later) > 50
    services, ids = _imported(new_database(), generated[1])
    run_store(services, day=AS_OF)
    day = AS_OF + timedelta(days=1)
    while day <= THROUGH:
        for value_date, index, ref, amount in later:
            if value_date == day:
                services.repay(loan_id=ids[ref], amount=amount, value_date=day, key=f"{ref}-{day}-{index}")
        report = run_store(services, day=day)
        assert (report.days, report.quarantined) == (1, [])
        day += timedelta(days=1)
    assert _business_date(services) == THROUGH + timedelta(days=1)
    ref_of = {loan_id: ref for ref, loan_id in ids.items()}
    with services.reading() as connection:
        stored = des.read_state(connection, THROUGH).to_pylist()
        events = connection.execute(
            select(t.domain_events.c.loan_id, t.domain_events.c.business_date, t.domain_events.c.kind).where(
                t.domain_events.c.business_date > AS_OF, t.domain_events.c.kind != "loan_settled"
            )
        ).all()
        d = t.day_end_postings.c
        day_end_postings = connection.execute(
            select(d.loan_id, d.business_date, d.account, d.amount).where(d.business_date > AS_OF)
        ).all()
        command_postings = connection.execute(
            select(t.postings.c.loan_id, t.ledger_entries.c.business_date, t.postings.c.account, t.postings.c.amount)
            .join(t.ledger_entries, t.ledger_entries.c.id == t.postings.c.entry_id)
            .where(t.ledger_entries.c.business_date > AS_OF)
        ).all()
    assert sorted(sorted({**row, "loan_id": ref_of[int(row["loan_id"])]}.items()) for row in stored) == sorted(
        sorted(row.items()) for row in _state(dataset)
    )
    expected_events = sorted(
        (e["loan_id"], e["day"], e["kind"]) for e in _outputs(dataset, "events") if e["day"] > AS_OF
    )
    assert sorted((ref_of[loan], day, kind) for loan, day, kind in events) == expected_events
    moved: dict[tuple[str, date, str], int] = {}
    for loan, business_date, account, amount in [*day_end_postings, *command_postings]:
        key = (ref_of[loan], business_date, account)
        moved[key] = moved.get(key, 0) + amount
    expected_postings = {
        (p["loan_id"], p["day"], p["account"]): p["amount"] for p in _outputs(dataset, "postings") if p["day"] > AS_OF
    }
    assert {key: amount for key, amount in moved.items() if amount} == expected_postings
    assert services.verify_ledger() == []
    month = (date(2026, 11, 1), THROUGH)  # the report reads the same month-end snapshot from either runner
    from_store = portfolio_report(store_snapshots(services, *month).to_pylist(), *month)
    assert from_store["snapshot_days"] == ["2026-11-30"]
    assert from_store == portfolio_report(Dataset(dataset).snapshots(*month).to_pylist(), *month)


def test_commands_between_day_ends_keep_the_books_equal_to_the_reference(
    new_database: Callable[[], str], generated: tuple[Path, Path]
) -> None:
    """Between day-ends: a payment of the day, a backdated one, a reversal, waivers, a write-off and a new
    drawdown. Each day-end afterwards leaves every loan's books equal to the reference standing (verify), and
    the loans whose past changed are day-ended from their events by the reference."""
    services, ids = _imported(new_database(), generated[1])
    run_store(services, day=AS_OF)
    rng = random.Random(7)
    loans = sorted(ids.values())
    day = AS_OF + timedelta(days=1)
    rebuilt = []
    for step in range(12):
        assert _business_date(services) == day
        for loan_id in rng.sample(loans, 6):
            services.repay(loan_id=loan_id, amount=rng.randint(1_000, 60_000), value_date=day, key=f"p{step}{loan_id}")
        loan_id = rng.choice(loans)
        back = services.repay(loan_id=loan_id, amount=5_000, value_date=day - timedelta(days=9), key=f"b{step}")
        if step % 3 == 0:
            services.reverse(transaction_id=back["transaction_id"], key=f"r{step}")
        for loan_id in rng.sample(loans, 3):
            state = services.loan_state(loan_id, day)
            if state["overdue"]["penalty"] != "0.00":
                services.waive(
                    loan_id=loan_id, component=Component.PENALTY, amount=1, value_date=day, key=f"w{step}{loan_id}"
                )
        if step == 5:
            services.write_off(loan_id=loans[0], value_date=day, key="writeoff")
        run_store(services, day=day)
        with services.reading() as connection:
            rebuilt.append(
                connection.execute(select(t.day_ends.c.rebuilt).where(t.day_ends.c.business_date == day)).scalar_one()
            )
        assert services.verify_ledger() == [], f"after day-end {day}"
        assert _registry_disagreements(services, day) == [], f"after day-end {day}"
        day += timedelta(days=1)
    assert all(count >= 1 for count in rebuilt)  # the backdated loans at least
    with services.reading() as connection:
        kinds = set(connection.execute(select(t.restriction_events.c.kind)).scalars())
    assert {"imposed", "lifted"} <= kinds, kinds
    with services.reading() as connection:
        in_state = {row[0] for row in connection.execute(select(t.day_end_state.c.loan_id))}
    assert loans[0] not in in_state  # written off: out of the day-end


def test_running_again_changes_nothing_and_no_day_is_skipped(
    new_database: Callable[[], str], generated: tuple[Path, Path]
) -> None:
    services, _ = _imported(new_database(), generated[1])
    run_store(services, through=AS_OF + timedelta(days=3))
    with services.reading() as connection:
        before = connection.execute(select(t.day_end_postings)).all()
    again = run_store(services, through=AS_OF + timedelta(days=3))
    assert again.days == 0
    assert run_store(services, day=AS_OF + timedelta(days=2)).days == 0
    with pytest.raises(InputRejected, match="would skip 2026-11-04"):
        run_store(services, day=AS_OF + timedelta(days=5))
    with services.reading() as connection:
        assert connection.execute(select(t.day_end_postings)).all() == before


def test_a_day_end_cannot_close_a_day_before_posted_business(
    new_database: Callable[[], str], generated: tuple[Path, Path]
) -> None:
    services, _ = _imported(new_database(), generated[1])
    with pytest.raises(InputRejected, match="cannot close 2026-10-30"):
        run_store(services, day=AS_OF - timedelta(days=1))


def test_a_broken_state_row_is_rebuilt_and_bad_events_are_quarantined(
    new_database: Callable[[], str], generated: tuple[Path, Path]
) -> None:
    """Tampered derived state is not trusted: the loan is rebuilt from its events (with an event saying why).
    A loan whose events the reference refuses is quarantined, reported, and the rest of the book runs."""
    services, ids = _imported(new_database(), generated[1])
    run_store(services, day=AS_OF)
    first, second = sorted(ids.values())[:2]
    with services.transaction() as connection:
        connection.execute(t.day_end_state.update().where(t.day_end_state.c.loan_id == first).values(paid_principal=-5))
        # a repayment dated before the loan started, written behind the commands' back
        start = connection.execute(select(t.loans.c.start_date).where(t.loans.c.id == second)).scalar_one()
        connection.execute(
            t.transactions.insert().values(
                loan_id=second,
                kind="repayment",
                value_date=start - timedelta(days=3),
                amount=100,
                business_date=AS_OF,
                backdated=True,
                created_at=services.clock(),
            )
        )
        store.forget_state(connection, second)
    report = run_store(services, day=AS_OF + timedelta(days=1))
    assert [(q["loan_id"], q["code"]) for q in report.quarantined] == [(str(second), "events_refused")]
    with services.reading() as connection:
        kinds = {
            (row.loan_id, row.kind)
            for row in connection.execute(select(t.domain_events).where(t.domain_events.c.business_date > AS_OF))
        }
        terms_events = des.loans_to_rebuild(connection, [first])[first]
        paid = connection.execute(
            select(t.day_end_state.c.paid_principal).where(t.day_end_state.c.loan_id == first)
        ).scalar_one()
    assert (first, "day_end_state_rebuilt") in kinds and (second, "day_end_quarantined") in kinds
    day_end_state_after, _ = day_end_state_through(*terms_events, AS_OF + timedelta(days=1), DayEndPolicy())
    assert paid == day_end_state_after.totals.allocated[Component.PRINCIPAL]
    problems = services.verify_ledger()  # the quarantined loan is reported, the rest still checked
    assert problems == [f"loan {second}: its events cannot be replayed: " + report.quarantined[0]["message"]]


def _eod(url: str, through: date) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "arrears.entrypoints.cli.main", "eod", "run", "--through", through.isoformat()],
        cwd=ROOT,
        env={**os.environ, "ARREARS_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _everything(services: Services) -> tuple[Any, ...]:
    with services.reading() as connection:
        return (
            connection.execute(select(t.day_end_state).order_by(t.day_end_state.c.loan_id)).all(),
            connection.execute(select(t.day_end_postings).order_by(*t.day_end_postings.primary_key)).all(),
            [
                (row.business_date, row.loans, row.events, row.postings, row.hash)
                for row in connection.execute(select(t.day_ends).order_by(t.day_ends.c.business_date))
            ],
            connection.execute(
                select(t.domain_events.c.loan_id, t.domain_events.c.kind, t.domain_events.c.payload).order_by(
                    t.domain_events.c.id
                )
            ).all(),
            # without surrogate ids: a killed PostgreSQL transaction still consumed its sequence values
            connection.execute(
                select(*(c for c in t.restrictions.c if c.name != "id")).order_by(t.restrictions.c.id)
            ).all(),
            connection.execute(
                select(
                    t.restrictions.c.line_id,
                    t.restrictions.c.rule,
                    t.restrictions.c.since,
                    *(c for c in t.restriction_events.c if c.name not in {"id", "restriction_id", "created_at"}),
                )
                .join(t.restrictions, t.restrictions.c.id == t.restriction_events.c.restriction_id)
                .order_by(t.restriction_events.c.id)
            ).all(),
        )


def _registry_disagreements(services: Services, day: date) -> list[str]:
    """Lines whose recorded restrictions differ from the history their events give after day-end ``day``."""
    wrong = []
    with services.reading() as connection:
        for line_id in connection.execute(select(t.credit_lines.c.id)).scalars():
            line = store.get_line(connection, line_id)
            rules = store.line_product(line.product_document).rules.restrictions
            loans = [
                (loan.id, loan.terms, store.loan_events(connection, loan.id))
                for loan in store.loans_of_line(connection, line_id)
            ]
            derived = line_history(rules, loans, day + timedelta(days=1), store.line_reviews_of(connection, line_id))
            expected = sorted((r.rule.name, r.since, r.days_past_due, r.limit, r.lifted_on) for r in derived.history)
            recorded = sorted(
                (r.rule, r.since, r.days_past_due, r.limit, r.lifted_on)
                for r in rs.recorded_of_line(connection, line_id)
            )
            if recorded != expected:
                wrong.append(f"line {line_id}: recorded {recorded}, the events give {expected}")
    return wrong


def test_killed_at_random_moments_a_rerun_reaches_the_same_state(
    new_database: Callable[[], str], generated: tuple[Path, Path]
) -> None:
    """SIGKILL `eod run` on the store at random moments, then run it again: the store ends exactly as after an
    uninterrupted run (state, postings and their hash chain, day-end rows, events in order)."""
    through = AS_OF + timedelta(days=20)
    url = new_database()
    services, _ = _imported(url, generated[1])
    started = time.perf_counter()
    process = _eod(url, through)
    assert process.wait(timeout=600) == 0, process.stderr.read() if process.stderr else ""
    duration = time.perf_counter() - started
    expected = _everything(services)
    rng = random.Random(20261129)
    interrupted = 0
    for attempt in range(3):
        victim_url = new_database()
        victim, _ = _imported(victim_url, generated[1])
        for _ in range(1 + attempt % 2):
            process = _eod(victim_url, through)
            time.sleep(rng.uniform(0.5, duration * 0.9))
            process.send_signal(signal.SIGKILL)
            interrupted += process.wait(timeout=60) == -signal.SIGKILL
        process = _eod(victim_url, through)
        assert process.wait(timeout=600) == 0, process.stderr.read() if process.stderr else ""
        assert _everything(victim) == expected, f"attempt {attempt}"
        assert victim.verify_ledger() == []
    assert interrupted >= 2, "the kills came too late to interrupt anything; the test proved nothing"


def test_the_cli_runs_the_store_and_reports_on_it(generated: tuple[Path, Path], tmp_path: Path) -> None:
    """`arrears eod run --through D --json` without --dataset runs the store named by ARREARS_DATABASE_URL, and
    `arrears report portfolio` without --dataset reads the store's month-end snapshots."""
    db = tmp_path / "store.db"
    imported = run_cli("portfolio", "import", str(generated[1]), db=db, business_date=AS_OF.isoformat())
    assert imported.returncode == 0, imported.stderr
    environment = {key: value for key, value in os.environ.items() if key != "ARREARS_BUSINESS_DATE"}

    def arrears(*args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "arrears.entrypoints.cli.main", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**environment, "ARREARS_DATABASE_URL": f"sqlite:///{db}"},
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    summary = arrears("eod", "run", "--through", "2026-11-30", "--json")
    assert (summary["engine"], summary["from"], summary["through"], summary["days"]) == (
        "store",
        "2026-10-31",
        "2026-11-30",
        31,
    )
    assert summary["loans"] == 300 and summary["quarantined"] == []
    figures = arrears("report", "portfolio", "--from", "2026-10-01", "--to", "2026-11-30", "--json")
    assert figures["snapshot_days"] == ["2026-10-31", "2026-11-30"]
    assert sum(figures["bucket_mix"][-1]["count"].values()) > 0


def test_verify_finds_a_day_end_posting_for_no_loan(
    new_database: Callable[[], str], generated: tuple[Path, Path]
) -> None:
    """The day-end tables have no foreign keys (a trigger per row); verify is what catches a stray posting."""
    services, _ = _imported(new_database(), generated[1])
    run_store(services, day=AS_OF)
    with services.transaction() as connection:
        connection.execute(
            t.day_end_postings.insert(),
            [
                {"business_date": AS_OF, "loan_id": 999_999, "account": "cash_clearing", "amount": 5},
                {"business_date": AS_OF, "loan_id": 999_999, "account": "suspense", "amount": -5},
            ],
        )
    problems = services.verify_ledger()
    assert "day-end postings name loan 999999, which does not exist" in problems
    assert any(problem.startswith(f"day-end {AS_OF}: its postings were changed") for problem in problems)


def test_a_command_that_waits_for_a_day_end_posts_on_the_new_business_date(
    new_database: Callable[[], str], generated: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repayment that arrives while the day-end of D runs waits for it (PostgreSQL: the EXCLUSIVE lock on
    loans; SQLite: the one writer), then posts on business date D+1, where its value date D is backdated: the
    loan is rebuilt by the next day-end and the books stay equal to the reference. Posting it on D after D was
    closed would leave it out of every day-end."""
    services, ids = _imported(new_database(), generated[1])
    run_store(services, day=AS_OF)
    day = AS_OF + timedelta(days=1)
    inside, results = threading.Event(), {}
    write_events = des.write_events

    def slow_write_events(*args: Any) -> None:
        write_events(*args)
        inside.set()
        time.sleep(1.0)  # hold the day-end's transaction open while the repayment arrives

    monkeypatch.setattr(des, "write_events", slow_write_events)
    loan_id = ids[sorted(ids)[3]]

    def repay() -> None:
        inside.wait(timeout=60)
        results["repay"] = services.repay(loan_id=loan_id, amount=10_000, value_date=day, key="during-day-end")

    other = Services(services.engine, services.settings, origin="test-2")
    thread = threading.Thread(target=repay)
    thread.start()
    run_store(other, day=day)
    thread.join(timeout=120)
    assert results["repay"]["business_date"] == (day + timedelta(days=1)).isoformat()
    assert results["repay"]["backdated"] is True
    monkeypatch.setattr(des, "write_events", write_events)
    run_store(services, day=day + timedelta(days=1))
    assert services.verify_ledger() == []


# -- found in review: each bug with its regression test --------------------------------------------------------


def _one_loan(url: str, start: date) -> tuple[Services, int, int]:
    product = load_product(SAMPLE_PRODUCT)
    services = Services(make_engine(url), Settings(database_url=url, business_date=start), origin="test")
    borrower = services.add_borrower(name="x", phone="13800138000")
    line = services.open_line(borrower_id=borrower, product=product, limit=20_000_000)
    return services, line, services.draw(line_id=line, amount=1_000_000, terms=5, start=start, key="d0")


def test_a_command_on_a_closed_business_date_is_refused(new_database: Callable[[], str]) -> None:
    """ARREARS_BUSINESS_DATE left on a day the day-end closed: its postings would fall outside every day-end."""
    url = new_database()
    services, _, loan = _one_loan(url, AS_OF)
    run_store(Services(services.engine, Settings(database_url=url), origin="eod"), day=AS_OF)
    with pytest.raises(InputRejected, match="business date 2026-10-31 is closed"):
        services.repay(loan_id=loan, amount=1_000, value_date=AS_OF, key="late")
    with pytest.raises(InputRejected, match="is closed"):
        services.accrue()
    assert services.verify_ledger() == []


def test_reversing_the_second_of_two_equal_payments_takes_out_that_one(new_database: Callable[[], str]) -> None:
    """With a waiver between two equal payments of one day, the reversal must drop the one reversed (by id)."""
    services, _, loan = _one_loan(new_database(), date(2026, 1, 10))
    day = date(2026, 3, 12)
    services = Services(services.engine, Settings(database_url=services.settings.database_url, business_date=day))
    services.repay(loan_id=loan, amount=100_000, value_date=day, key="p1")
    services.waive(loan_id=loan, component=Component.INTEREST, amount=5_000, value_date=day, key="w")
    second = services.repay(loan_id=loan, amount=100_000, value_date=day, key="p2")
    services.reverse(transaction_id=second["transaction_id"], key="r")
    assert services.verify_ledger() == []


def test_a_drawdown_and_a_day_end_at_the_same_time_do_not_deadlock(
    new_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drawdown has read the day-end state (restrictions) when the day-end starts; the day-end's locks, state
    tables first, make it wait for the drawdown instead of deadlocking with it (PostgreSQL)."""
    url = new_database()
    services, line, _ = _one_loan(url, AS_OF)
    follow = Services(services.engine, Settings(database_url=url), origin="follow")
    run_store(follow, day=AS_OF)
    results: dict[str, Any] = {}
    history = services_module.lines.line_history

    def slow_history(*args: Any, **kwargs: Any) -> Any:
        out = history(*args, **kwargs)
        thread = threading.Thread(
            target=lambda: results.setdefault(
                "eod",
                run_store(Services(services.engine, Settings(database_url=url)), day=AS_OF + timedelta(days=1)).days,
            )
        )
        thread.start()
        results["thread"] = thread
        time.sleep(1.0)  # the drawdown still open while the day-end starts
        return out

    monkeypatch.setattr(services_module.lines, "line_history", slow_history)
    follow.draw(line_id=line, amount=100_000, terms=5, start=AS_OF + timedelta(days=1), key="d1")
    results["thread"].join(timeout=120)
    assert results["eod"] == 1
    assert follow.verify_ledger() == []


def test_standing_counts_the_amount_to_pay_once_per_line() -> None:
    """Two rules lifted when nothing is overdue: the option to pay says the overdue once, not twice."""
    rules = (
        RestrictionRule(name="a", scope="drawdown", dpd_at_least=2, lift="nothing_overdue", legal_basis="c1"),
        RestrictionRule(name="b", scope="auto_debit", dpd_at_least=3, lift="nothing_overdue", legal_basis="c2"),
    )
    terms = load_product(SAMPLE_PRODUCT).loan_terms(principal=250_000, terms=5, start=date(2026, 5, 15))
    view = standing(1, [LineInput(1, 2_000_000, rules, ((1, terms, ()),))], date(2026, 6, 25), "en-US")
    assert [r["amount_to_lift"] for r in view["restrictions"]] == [view["overdue_total"]] * 2
    assert (
        view["options"][0] == f"Pay {view['overdue_total']} now: nothing overdue lifts the drawdown suspension at once"
    )
