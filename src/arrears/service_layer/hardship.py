"""Hardship plans over the store: request, propose, approve or reject (rules in :mod:`arrears.hardship.plans`).

Every step is written with who did it and when (``hardship_plans`` and the audit log). An approval is one
transaction under an idempotency key: the plan's rules are checked again against the loan as it stands that day
(a payment since the proposal may have changed what is overdue), the maker-checker rule and the approver's limit
are applied, and the plan's events are posted on the loan like any other command, with their books. A refusal
writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection

from arrears.adapters import hardship_store as hs
from arrears.adapters import store
from arrears.domain.engine import replay_events
from arrears.domain.payoff import payoff_of
from arrears.errors import InputRejected
from arrears.hardship.plans import (
    HardshipPolicy,
    LoanFacts,
    PlanRefused,
    PlanTerms,
    check_approval,
    check_terms,
    concession,
    facts_of,
    person,
    plan_events,
)
from arrears.money import format_minor
from arrears.service_layer.services import Services

POLICY = HardshipPolicy()


def _facts(
    services: Services, connection: Connection, loan_id: int, on: date, terms: PlanTerms
) -> tuple[LoanFacts, int]:
    """The loan's facts during ``on``, and what the plan forgives at most (:func:`arrears.hardship.plans.concession`;
    for a settlement, against what would be owed on its last day if nothing were paid meanwhile)."""
    loan = store.get_loan(connection, loan_id, lock=True)
    events = store.loan_events(connection, loan_id)
    facts = facts_of(services.position(loan, events, on).replay, on)
    worst = None
    days = terms.settlement_days
    # only a window the policy allows is looked ahead over: check_terms refuses any other, naming the rule (and
    # 10^14 days would overflow the date arithmetic, 10^4 replay a loan for decades)
    allowed = days is not None and 1 <= days <= POLICY.max_settlement_days
    if terms.settlement_amount is not None and days is not None and allowed and facts.payoff:
        last = on + timedelta(days=days - 1)
        ahead = replay_events(loan.terms, events, on)
        ahead.close_through(last - timedelta(days=1))
        worst = payoff_of(ahead, last).total
    return facts, concession(terms, facts, worst)


def _plan(connection: Connection, plan_id: int) -> hs.PlanRecord:
    row = hs.plan(connection, plan_id)
    if row is None:
        raise store.NotFound(f"no hardship plan {plan_id}; `arrears hardship list` shows the plans")
    return row


def request(services: Services, *, loan_id: int, reason: str, key: str | None = None) -> dict[str, Any]:
    """The borrower asks for help: recorded with their reason, on the business date, for a collector to answer
    (once per ``key``: a retry returns the first answer)."""
    if not reason.strip():
        raise InputRejected("a hardship request needs the borrower's reason, in their own words")

    def work(connection: Connection, on: date) -> dict[str, Any]:
        store.get_loan(connection, loan_id)
        plan_id = hs.add_plan(
            connection,
            loan_id=loan_id,
            status="requested",
            requested_on=on,
            reason=reason.strip(),
            recorded_at=services.clock(),
        )
        services.audit(connection, "hardship.request", f"loan:{loan_id}", {"plan": plan_id})
        return {"plan": int(plan_id), "loan": loan_id, "status": "requested", "requested_on": on.isoformat()}

    payload = {"loan": loan_id, "reason": reason}
    return services.idempotent("hardship.request", key, payload, work)  # type: ignore[no-any-return]


def propose(
    services: Services,
    *,
    loan_id: int,
    terms: PlanTerms,
    maker: str,
    plan_id: int | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """A plan proposed by ``maker`` (answering request ``plan_id``, if given), checked against the loan today
    (once per ``key``)."""
    if not person(maker):
        raise InputRejected("a proposal needs its maker: who proposes the plan")

    def work(connection: Connection, on: date, plan_id: int | None = plan_id) -> dict[str, Any]:
        facts, amount = _facts(services, connection, loan_id, on, terms)
        check_terms(terms, facts, on, POLICY)
        values = {
            "status": "proposed",
            "terms": json.dumps(_terms_json(terms)),
            "maker": maker.strip(),
            "proposed_on": on,
            "concession": amount,
        }
        if plan_id is None:
            plan_id = hs.add_plan(connection, loan_id=loan_id, recorded_at=services.clock(), **values)
        else:
            row = _plan(connection, plan_id)
            if row.loan_id != loan_id or row.status != "requested":
                raise PlanRefused(
                    f"hardship.not_a_request: plan {plan_id} is {row.status} on loan {row.loan_id}; a proposal "
                    f"answers a request on the same loan"
                )
            hs.update_plan(connection, plan_id, **values)
        services.audit(connection, "hardship.propose", f"loan:{loan_id}", {"plan": plan_id, "maker": maker})
        return {
            "plan": int(plan_id),
            "loan": loan_id,
            "status": "proposed",
            "terms": terms.as_dict(),
            "concession": format_minor(amount),
            "overdue": format_minor(facts.overdue),
        }

    payload = {"loan": loan_id, "terms": _terms_json(terms), "maker": maker, "request": plan_id}
    return services.idempotent("hardship.propose", key, payload, work)  # type: ignore[no-any-return]


def approve(services: Services, *, plan_id: int, checker: str, role: str, note: str, key: str) -> dict[str, Any]:
    """Approve a proposed plan and post its events, once per key (see the module docstring)."""
    payload = {"plan": plan_id, "checker": checker, "role": role, "note": note}

    def work(connection: Connection, on: date) -> dict[str, Any]:
        row = _plan(connection, plan_id)
        if row.status != "proposed":
            raise PlanRefused(
                f"hardship.not_proposed: plan {plan_id} is {row.status}; only a proposed plan is approved"
            )
        assert row.terms is not None and row.maker is not None, "a proposed plan has its terms and its maker"
        terms = _terms_of(json.loads(row.terms))
        facts, amount = _facts(services, connection, row.loan_id, on, terms)
        check_terms(terms, facts, on, POLICY)  # again: the loan may have changed since the proposal
        check_approval(row.maker, checker, role, amount, POLICY)
        _decide(
            connection,
            plan_id,
            status="approved",
            checker=checker.strip(),
            checker_role=role,
            decided_on=on,
            decision_note=note,
            concession=amount,  # as approved: the loan may have changed since the proposal
        )
        posted = [services.post_event(connection, on, row.loan_id, event) for event in plan_events(terms, facts, on)]
        services.audit(connection, "hardship.approve", f"loan:{row.loan_id}", {"plan": plan_id, "checker": checker})
        return {
            "plan": plan_id,
            "loan": row.loan_id,
            "status": "approved",
            "effective_on": on.isoformat(),
            "concession": format_minor(amount),
            "transactions": [event["transaction_id"] for event in posted],
        }

    return services.idempotent("hardship.approve", key, payload, work)  # type: ignore[no-any-return]


def reject(services: Services, *, plan_id: int, checker: str, note: str, key: str | None = None) -> dict[str, Any]:
    """Reject a request or a proposal, with the reason the borrower will be told."""
    if not note.strip():
        raise InputRejected("a rejection needs its reason: the borrower is told why")

    def work(connection: Connection, on: date) -> dict[str, Any]:
        row = _plan(connection, plan_id)
        if row.status not in ("requested", "proposed"):
            raise PlanRefused(f"hardship.decided: plan {plan_id} is already {row.status}")
        if not person(checker):
            raise PlanRefused("hardship.checker_required: a decision needs the name of who decides")
        if row.maker is not None and person(row.maker) == person(checker):
            raise PlanRefused(f"hardship.maker_checker: {checker} proposed plan {plan_id} and cannot also decide it")
        _decide(
            connection, plan_id, status="rejected", checker=checker.strip(), decided_on=on, decision_note=note.strip()
        )
        services.audit(connection, "hardship.reject", f"loan:{row.loan_id}", {"plan": plan_id, "checker": checker})
        return {"plan": plan_id, "loan": row.loan_id, "status": "rejected", "decided_on": on.isoformat()}

    payload = {"plan": plan_id, "checker": checker, "note": note}
    return services.idempotent("hardship.reject", key, payload, work)  # type: ignore[no-any-return]


def _decide(connection: Connection, plan_id: int, **values: Any) -> None:
    """Record the decision only if the plan is still undecided: of two deciders racing (an approval and a
    rejection at once), the second finds it decided and is refused, and its transaction rolls back."""
    if not hs.decide(connection, plan_id, **values):
        raise PlanRefused(f"hardship.decided: plan {plan_id} was decided by someone else meanwhile")


PLAN_STATUSES = ("requested", "proposed", "approved", "rejected")
"""The states of a hardship plan (tables.hardship_plans.status)."""


def plans(services: Services, *, loan_id: int | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """The plans, newest first, optionally of one loan or in one status."""
    if status is not None and status not in PLAN_STATUSES:
        raise InputRejected(f"a plan's status is one of {', '.join(PLAN_STATUSES)}; got {status[:40]!r}")
    with services.reading() as connection:
        rows = hs.plans(connection, loan_id, status)
    return [_view(row) for row in rows]


def _view(row: hs.PlanRecord) -> dict[str, Any]:
    terms = _terms_of(json.loads(row.terms)).as_dict() if row.terms else None

    def day(value: date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "plan": row.id,
        "loan": row.loan_id,
        "status": row.status,
        "requested_on": day(row.requested_on),
        "reason": row.reason,
        "terms": terms,
        "maker": row.maker,
        "proposed_on": day(row.proposed_on),
        "concession": format_minor(row.concession) if row.concession is not None else None,
        "checker": row.checker,
        "checker_role": row.checker_role,
        "decided_on": day(row.decided_on),
        "decision_note": row.decision_note,
    }


def _terms_json(terms: PlanTerms) -> dict[str, Any]:
    raw = asdict(terms)
    raw["first_due"] = terms.first_due.isoformat() if terms.first_due else None
    return raw


def _terms_of(raw: dict[str, Any]) -> PlanTerms:
    first = raw.get("first_due")
    return PlanTerms(**{**raw, "first_due": date.fromisoformat(first) if first else None})
