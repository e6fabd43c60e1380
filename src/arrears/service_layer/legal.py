"""Acceleration and legal escalation over the store (rules in :mod:`arrears.legal.escalation`).

- **Acceleration** (宣布提前到期) posts an :class:`arrears.domain.engine.Acceleration` on the loan, dated the business
  date, like any other command (books, audit, idempotency key): by **rule** only when the product's rule says it is
  due (:func:`arrears.legal.escalation.acceleration_due`), by **decision** whenever the loan is in default (the engine
  refuses
  a loan with nothing past due).
- **Referral** opens a court case only when :func:`arrears.legal.escalation.referral_refusals` finds nothing against
  it: days
  past due, the amount, a live hardship plan, the limitation period. Every refusal names its rule; nothing is
  written.
- **A case's steps** (filed, judgment, enforcement, closed, withdrawn) go through
  :func:`arrears.legal.escalation.advance`.
  A case with a judgment shows the delay interest (迟延履行期间的债务利息) owed as of the business date, on the
  judgment's principal and costs (the SPC 2014 interpretation leaves out the "general debt interest": we count
  the judgment's interest and penalty as that, the borrower-favourable reading; see
  :attr:`arrears.legal.escalation.LegalCase.judgment_debt`), less the repayments dated after the judgment.

Court orders made in a case (freezes, transfers, consumption restrictions) are recorded through
:mod:`arrears.legal.court_orders`, never executed; the case lists those with its case number.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy import Connection

from arrears.adapters import legal_store as ls
from arrears.adapters import store
from arrears.domain.engine import Acceleration
from arrears.domain.payoff import payoff_of
from arrears.errors import InputRejected
from arrears.legal.court_orders import OrderKind, order_view
from arrears.legal.escalation import (
    CN_REFERRAL,
    AccelerationRule,
    CaseStatus,
    LegalCase,
    LegalRefused,
    ReferralFacts,
    ReferralRule,
    acceleration_due,
    advance,
    delay_interest,
    referral_refusals,
)
from arrears.money import format_minor
from arrears.service_layer.services import Services

ACCELERATION = AccelerationRule()
"""The bundled product's acceleration clause: 90 days past due (G; configure per product)."""


def accelerate(services: Services, *, loan_id: int, by: str, reason: str, key: str) -> dict[str, Any]:
    """Accelerate a loan, by ``rule`` or by ``decision`` (see the module docstring), once per key."""
    if by not in ("rule", "decision"):
        raise InputRejected(f"accelerate by 'rule' or 'decision', not {by!r}")
    if not reason.strip():
        raise InputRejected("an acceleration needs its reason (the contract clause, or who decided and why)")
    payload = {"loan": loan_id, "by": by, "reason": reason}

    def work(connection: Connection, on: date) -> dict[str, Any]:
        loan = store.get_loan(connection, loan_id, lock=True)
        replay = services.position(loan, store.loan_events(connection, loan_id), on).replay
        missed = sum(1 for row in replay.state().installments if row.due_date < on and row.total)
        if by == "rule" and not acceleration_due(ACCELERATION, replay.days_past_due(), missed):
            raise LegalRefused(
                f"legal.acceleration_not_due: loan {loan_id} is {replay.days_past_due()} days past due with {missed} "
                f"installments missed; the rule accelerates at {ACCELERATION.min_days_past_due} days"
            )
        posted = services.post_event(connection, on, loan_id, Acceleration(on))
        services.audit(connection, "legal.accelerate", f"loan:{loan_id}", {"by": by, "reason": reason})
        return {"loan": loan_id, "accelerated_on": on.isoformat(), "by": by, "transaction": posted["transaction_id"]}

    return services.idempotent("legal.accelerate", key, payload, work)  # type: ignore[no-any-return]


def referral_facts(services: Services, connection: Connection, loan_id: int, on: date) -> ReferralFacts:
    """What the referral rule needs of a loan during ``on``, from its events."""
    loan = store.get_loan(connection, loan_id, lock=True)
    events = store.loan_events(connection, loan_id)
    replay = services.position(loan, events, on).replay
    state = replay.state()
    last_paid = ls.last_repayment_date(connection, loan_id)
    return ReferralFacts(
        as_of=on,
        days_past_due=replay.days_past_due(),
        amount_owed=payoff_of(replay, on).total if replay.settled_on is None else 0,
        live_hardship_plan=replay.plan_running(on.toordinal()),
        last_due=max(row.due_date for row in state.installments),
        last_interruption=last_paid,
        accelerated_on=replay.accelerated_on,
    )


def refer(
    services: Services, *, loan_id: int, court: str | None = None, rule: ReferralRule = CN_REFERRAL
) -> dict[str, Any]:
    """Refer a loan to court (移交诉讼): a case is opened only if no rule stands against it."""
    with services.transaction() as connection:
        on = services.business_date(connection)
        facts = referral_facts(services, connection, loan_id, on)
        refusals = referral_refusals(rule, facts)
        if refusals:
            raise LegalRefused("; ".join(f"{r.code}: {r.message}" for r in refusals))
        live = ls.live_case(connection, loan_id)
        if live is not None:
            raise LegalRefused(f"legal.case_open: loan {loan_id} already has case {live} open")
        case_id = ls.add_case(
            connection, loan_id=loan_id, status="referred", referred_on=on, court=court, recorded_at=services.clock()
        )
        services.audit(connection, "legal.refer", f"loan:{loan_id}", {"case": case_id})
    return {"case": int(case_id), "loan": loan_id, "status": "referred", "referred_on": on.isoformat()}


def step(services: Services, *, case_id: int, to: str, on: date, details: dict[str, object]) -> dict[str, Any]:
    """Move a case on (:func:`arrears.legal.escalation.advance` says which steps are allowed)."""
    try:
        status = CaseStatus(to)
    except ValueError:
        raise InputRejected(f"a case goes to one of {', '.join(s.value for s in CaseStatus)}, not {to!r}") from None
    with services.transaction() as connection:
        row = _row(connection, case_id)
        if on > services.business_date(connection):
            raise InputRejected(f"{on} is after the business date: record a step once it has happened")
        moved = advance(row, status, on, **details)
        values = {k: v for k, v in asdict(moved).items() if k not in ("id", "loan_id")}
        values["status"] = moved.status.value
        ls.save_case(connection, case_id, **values)
        services.audit(connection, f"legal.{status.value}", f"loan:{row.loan_id}", {"case": case_id})
        return case_view(services, connection, moved, services.business_date(connection))


def cases(services: Services, *, loan_id: int | None = None) -> list[dict[str, Any]]:
    """Every case (of one loan), newest first, with its delay interest and court orders."""
    with services.reading() as connection:
        on = services.business_date(connection)
        return [case_view(services, connection, case, on) for case in ls.cases(connection, loan_id)]


def case_view(services: Services, connection: Connection, case: LegalCase, on: date) -> dict[str, Any]:
    view: dict[str, Any] = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(case).items()}
    view["status"] = case.status.value
    for key in ("judgment_principal", "judgment_interest", "judgment_penalty", "judgment_costs"):
        view[key] = format_minor(view[key]) if view[key] is not None else None
    view["delay_interest"] = None
    if case.judgment_date is not None and case.pay_by is not None and case.status is not CaseStatus.CLOSED:
        base = (case.judgment_principal or 0) + (case.judgment_costs or 0)
        paid = ls.repayments_after(connection, case.loan_id, case.judgment_date)
        owed = delay_interest(base, case.pay_by, paid, on, judgment_date=case.judgment_date)
        view["delay_interest"] = {
            "base": format_minor(base),
            "total": format_minor(owed.total),
            "outstanding": format_minor(owed.interest_outstanding),
            "as_of": on.isoformat(),
        }
    numbers = [n for n in (case.case_number, case.enforcement_case_number) if n]
    if numbers:
        orders = ls.orders_of_cases(connection, numbers)
        view["court_orders"] = [{"order": row.id, "kind": OrderKind(row.kind).value} for row in orders]
    return view


def _row(connection: Connection, case_id: int) -> LegalCase:
    row = ls.case(connection, case_id)
    if row is None:
        raise store.NotFound(f"no legal case {case_id}; `arrears legal cases` lists them")
    return row


def court_orders(services: Services, *, borrower_id: int, lang: str) -> list[dict[str, Any]]:
    """The court orders recorded against a borrower (never executed: :mod:`arrears.legal.court_orders`), oldest
    first, each with what it means and who executes it; lifted ones too, with the court's lifting document.
    The prompt to apply for lifting once nothing is owed is the standing's (it knows what is owed)."""
    with services.reading() as connection:
        store.get_borrower(connection, borrower_id)
        orders = store.court_orders_of(connection, borrower_id)
    return [
        {field: value for field, value in order_view(order, False, lang).items() if field != "prompt"}
        for order in orders
    ]
