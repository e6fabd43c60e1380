"""A small store holding a loan in every state a page must show (issue 19), built through the service layer.

``build_books(url)`` makes, on a fresh migrated store (``new_database()`` of tests/conftest.py), one borrower
with one line (the sample product ``cn-microcredit``, 5 monthly installments) and one loan per state, runs the
day-ends day by day through :data:`LAST_DAY_END` (business date :data:`DAY`), plans the day's collections
(``strategies/cn-default.toml``) and mints a token for every role. What each state is, as of :data:`DAY`:

==================  ==================================================================================
state               how it is made
==================  ==================================================================================
on_time             every installment due so far paid on its due date
paid_early          installment 1 paid 5 days before it was due; nothing else due yet
settled_early       paid on time, then paid off (the engine's payoff) 40 days after the drawdown
M1 .. M7            never paid: 10, 45, 75, 105, 135, 165 and 200 days past due (one loan a bucket)
reschedule          a hardship plan (3 installments from 30 days on) approved 3 days before DAY
waiver              a hardship plan waiving the penalty, approved 3 days before DAY
freeze              a hardship plan freezing charges for 30 days, approved 3 days before DAY
settlement          a settlement at a discount approved 3 days before DAY, not yet paid
settled_for_less    a settlement at a discount approved and paid: closed, principal forgiven
accelerated         accelerated by the contract's rule at 105 days past due
written_off         written off through maker-checker (a collector proposes, an admin approves)
court_order         a court's freeze order recorded against the borrower and the loan
legal_case          referred, filed and judged on ACTED, to pay that day: delay interest runs after it
requested           the borrower asked for a plan; nobody answered yet (the approvals page lists it)
proposed            a collector proposed a plan; no checker yet
==================  ==================================================================================

A waiver command waits for its checker on the M1 loan, a promise to pay and a contact are recorded on M2, and
the day's plan places the accounts 61..90 days past due (the strategy's "agency" rule: the M3 loan) with an
agency (:attr:`Books.agency`, :attr:`Books.placed`).
Every state's figures come from the engine; the builder asserts only that each loan landed in its state.
It takes 7..11 s on SQLite (about 230 day-ends over 21 loans), about 19 s on PostgreSQL; reuse it, do not
copy it (a module-scoped fixture builds it once for a test module: tests/e2e/test_crawl.py ``books``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from arrears.access import Role
from arrears.adapters import collections_store as cs
from arrears.adapters import store, tokens_store
from arrears.adapters.database import make_engine
from arrears.config import Settings
from arrears.domain.dates import add_months
from arrears.domain.payoff import payoff_of
from arrears.domain.product import load_product
from arrears.domain.schedule import build_schedule
from arrears.hardship.plans import PlanTerms
from arrears.service_layer import approvals, hardship, legal
from arrears.service_layer.collections import plan_day, record_contact, record_promise
from arrears.service_layer.day_end_store import run_store
from arrears.service_layer.services import Services
from tests.support.paths import ROOT

PRODUCT = ROOT / "products" / "cn-microcredit.toml"
STRATEGY = ROOT / "strategies" / "cn-default.toml"

DAY = date(2026, 11, 2)
"""The business date of the books: the day-ends are closed through the day before."""
LAST_DAY_END = DAY - timedelta(days=1)
ACTED = DAY - timedelta(days=3)
"""The business date the plans, the acceleration, the write-off and the court's steps were made on."""
PRINCIPAL = 250_000  # 2,500.00: every loan, 5 monthly installments
BUCKET_DPD = {"M1": 10, "M2": 45, "M3": 75, "M4": 105, "M5": 135, "M6": 165, "M7": 200}
"""Days past due at DAY of each bucket's loan: mid-bucket, so a day either way keeps it there."""
STAFF = (Role.AGENCY, Role.COLLECTOR, Role.SUPERVISOR, Role.COMPLIANCE, Role.ADMIN, Role.PROVIDER)


@dataclass(frozen=True)
class Books:
    """The built store: its services (business date :data:`DAY`, unpinned: it follows the day-ends), each state's
    loan and borrower, a token per staff role (by role name) and per borrower (by state), the agency the day's
    plan placed accounts with, and the URL."""

    url: str
    services: Services
    loans: dict[str, int]
    borrowers: dict[str, int]
    tokens: dict[str, str]
    borrower_tokens: dict[str, str]
    agency: str
    placed: frozenset[int]

    @property
    def overdue_borrower(self) -> int:
        """The borrower whose token is ``tokens["borrower"]``: 45 days past due (M2), with a promise and a contact."""
        return self.borrowers["M2"]


def _start_for(dpd: int) -> date:
    """A drawdown day whose first installment (a month on) is ``dpd`` days past due at :data:`DAY`."""
    first_due = DAY - timedelta(days=dpd)
    start = first_due
    while add_months(start, 1) > first_due:
        start -= timedelta(days=1)
    return start


def build_books(url: str) -> Books:
    """Build the books on the migrated, empty store at ``url`` (module docstring)."""
    product = load_product(PRODUCT)
    starts = {
        "on_time": DAY - timedelta(days=100),
        "paid_early": _start_for(-3),  # installment 1 due 3 days after DAY, paid 5 days before it
        "settled_early": DAY - timedelta(days=120),
        **{bucket: _start_for(dpd) for bucket, dpd in BUCKET_DPD.items()},
        "reschedule": _start_for(30),
        "waiver": _start_for(28),
        "freeze": _start_for(26),
        "settlement": _start_for(24),
        "settled_for_less": _start_for(22),
        "accelerated": _start_for(108),
        "written_off": _start_for(190),
        "court_order": _start_for(60),
        "legal_case": _start_for(150),
        "requested": _start_for(20),
        "proposed": _start_for(18),
    }
    first = min(starts.values())
    setup = Services(make_engine(url), Settings(database_url=url, business_date=first), origin="books")
    borrowers, lines = {}, {}
    for number, state in enumerate(starts):
        borrowers[state] = setup.add_borrower(name=f"借款人{number:02d}", phone=f"1380013{number:04d}")
        lines[state] = setup.open_line(borrower_id=borrowers[state], product=product, limit=2_000_000)
    services = Services(make_engine(url), Settings(database_url=url), origin="books")
    loans: dict[str, int] = {}

    def draw(state: str) -> None:
        # before the first day-end the store has no business date of its own: the first day's draws pin it
        drawing = setup if starts[state] == first else services
        loans[state] = drawing.draw(line_id=lines[state], amount=PRINCIPAL, terms=5, start=starts[state], key=state)

    def schedule_of(state: str) -> list[Any]:
        with services.reading() as connection:
            return list(build_schedule(store.get_loan(connection, loans[state]).terms).installments)

    def pay_due(state: str, number: int, early_days: int = 0) -> None:
        row = schedule_of(state)[number - 1]
        on = row.due_date - timedelta(days=early_days)
        services.repay(
            loan_id=loans[state], amount=row.principal + row.interest, value_date=on, key=f"{state}-{number}"
        )

    def settle(state: str) -> None:
        on = _business_date(services)
        with services.reading() as connection:
            loan = store.get_loan(connection, loans[state])
            events = store.loan_events(connection, loans[state])
        owed = payoff_of(services.position(loan, events, on).replay, on).total
        services.repay(loan_id=loans[state], amount=owed, value_date=on, key=f"{state}-payoff")

    timeline: list[tuple[date, int, Any]] = [(start, 0, lambda s=state: draw(s)) for state, start in starts.items()]
    for number in range(1, 6):
        due = add_months(starts["on_time"], number)
        if due < DAY:
            timeline.append((due, 1, lambda n=number: pay_due("on_time", n)))
    timeline.append((add_months(starts["paid_early"], 1) - timedelta(days=5), 1, lambda: pay_due("paid_early", 1, 5)))
    timeline.append((add_months(starts["settled_early"], 1), 1, lambda: pay_due("settled_early", 1)))
    timeline.append((starts["settled_early"] + timedelta(days=40), 2, lambda: settle("settled_early")))
    timeline.append((ACTED, 3, lambda: _act(services, loans, borrowers)))
    timeline.sort(key=lambda entry: (entry[0], entry[1]))
    for day, _, action in timeline:
        if day > first:
            run_store(services, through=day - timedelta(days=1))
        action()
    run_store(services, through=LAST_DAY_END)
    setup.engine.dispose()
    plan_day(services, DAY, STRATEGY)
    with services.reading() as connection:
        placements = cs.open_placements(connection)
    if not placements:
        raise AssertionError("the day's plan placed no account with an agency: the books need one")
    agency = sorted({p.agency for p in placements.values()})[0]
    record_promise(services, loan_id=loans["M2"], amount=20_000, due=DAY + timedelta(days=3), made_on=DAY, agency=None)
    at = datetime.combine(DAY, time(10), tzinfo=ZoneInfo("Asia/Shanghai"))
    record_contact(services, loan_id=loans["M2"], channel="voice_call", at=at, agency=None, outcome="promise")
    tokens, borrower_tokens = {}, {}
    with services.transaction() as connection:
        now = services.clock()
        for role in STAFF:
            whose_agency = agency if role is Role.AGENCY else None
            _, tokens[role.value] = tokens_store.create(
                connection, role=role, borrower=None, agency=whose_agency, label=f"books {role}", now=now
            )
        for state, borrower in borrowers.items():
            _, borrower_tokens[state] = tokens_store.create(
                connection, role=Role.BORROWER, borrower=borrower, agency=None, label=f"books {state}", now=now
            )
    tokens[Role.BORROWER.value] = borrower_tokens["M2"]
    books = Books(
        url=url,
        services=services,
        loans=loans,
        borrowers=borrowers,
        tokens=tokens,
        borrower_tokens=borrower_tokens,
        agency=agency,
        placed=frozenset(loan for loan, p in placements.items() if p.agency == agency),
    )
    _check(books)
    return books


def _business_date(services: Services) -> date:
    with services.reading() as connection:
        return services.business_date(connection)


def _act(services: Services, loans: dict[str, int], borrowers: dict[str, int]) -> None:
    """What the lender's people did on :data:`ACTED`: plans, acceleration, write-off, court, pending requests."""
    checker = {"checker": "主管 王", "role": "supervisor", "note": ""}

    def plan(state: str, terms: PlanTerms) -> None:
        made = hardship.propose(services, loan_id=loans[state], terms=terms, maker="催收员 李", key=f"{state}-p")
        hardship.approve(services, plan_id=made["plan"], key=f"{state}-a", **checker)

    plan("reschedule", PlanTerms(installments=3, first_due=ACTED + timedelta(days=30)))
    plan("waiver", PlanTerms(waive_penalty=True))
    plan("freeze", PlanTerms(freeze_days=30))
    settlement = PlanTerms(settlement_amount=200_000, settlement_days=10)
    plan("settlement", settlement)
    plan("settled_for_less", settlement)
    services.repay(loan_id=loans["settled_for_less"], amount=200_000, value_date=ACTED, key="settled_for_less-pay")
    legal.accelerate(services, loan_id=loans["accelerated"], by="rule", reason="clause 12: 90 days", key="acc")
    off = approvals.propose(
        services,
        command="write_off",
        arguments={"loan": loans["written_off"], "date": ACTED.isoformat()},
        maker="催收员 李",
        key="wo",
    )
    approvals.approve(services, approval_id=off["approval"], checker="管理员 赵", role="admin")
    services.record_court_order(
        borrower_id=borrowers["court_order"],
        loan_id=loans["court_order"],
        court="深圳市南山区人民法院",
        case_number="(2026)粤0305执1234号",
        document_ref="ruling-1234",
        kind="freeze",
        issued_on=ACTED - timedelta(days=5),
        amount=123_456,
        key="order",
    )
    case = legal.refer(services, loan_id=loans["legal_case"], court="深圳市南山区人民法院")
    legal.step(services, case_id=case["case"], to="filed", on=ACTED, details={"case_number": "(2026)粤0305民初1号"})
    judgment = {"principal": PRINCIPAL, "interest": 5_000, "penalty": 2_000, "costs": 10_000, "pay_by": ACTED}
    legal.step(services, case_id=case["case"], to="judgment", on=ACTED, details=judgment)
    hardship.request(services, loan_id=loans["requested"], reason="失业了，下个月开始有收入", key="req")
    hardship.propose(
        services, loan_id=loans["proposed"], terms=PlanTerms(freeze_days=20), maker="催收员 李", key="prop"
    )
    approvals.propose(
        services,
        command="waive",
        arguments={"loan": loans["M1"], "component": "penalty", "amount": 100, "date": ACTED.isoformat()},
        maker="催收员 李",
        key="waive-pending",
    )


def _check(books: Books) -> None:
    """Each loan is where its name says (a builder that silently built something else would test nothing)."""
    with books.services.reading() as connection:
        status = {state: store.get_loan(connection, loan).status for state, loan in books.loans.items()}
    views = {state: books.services.loan_state(loan, DAY) for state, loan in books.loans.items()}
    wrong = [bucket for bucket in BUCKET_DPD if views[bucket]["bucket"] != bucket]
    wrong += [s for s in ("settled_early", "settled_for_less") if status[s] != "settled"]
    wrong += [s for s in ("on_time", "paid_early") if views[s]["days_past_due"] != 0]
    if wrong:
        raise AssertionError(f"the books did not build as documented: {wrong} ({status}, {views['M1']['bucket']})")
