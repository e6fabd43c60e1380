"""Handlers of a credit line: open it, review it, what its restrictions were (the registry's record) and what
it is during the business date (:func:`line_view`); and the drawdown's checks against the line
(:func:`drawdown_limit`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from arrears.adapters import restriction_store, store
from arrears.domain.credit_line import DrawdownLimits, check_drawdown
from arrears.domain.engine import LoanEvent
from arrears.domain.product import LiftCondition, Product, RestrictionScope
from arrears.domain.terms import LoanTerms
from arrears.errors import InputRejected
from arrears.money import format_minor
from arrears.restrictions.registry import LineDuring, Restriction, line_history
from arrears.restrictions.standing import LineInput, line_during, standing
from arrears.service_layer.restriction_records import record_line
from arrears.service_layer.unit_of_work import UnitOfWork


class DrawdownRefused(InputRejected):
    """A drawdown a product rule refuses; the message names the rule."""


def open_line(
    uow: UnitOfWork,
    *,
    borrower_id: int,
    product: Product,
    limit: int,
    daily_rate: Decimal | None = None,
    key: str | None = None,
) -> int:
    """Open a credit line on ``product`` for a borrower, its limit and rate within the product's ranges."""
    rules = product.rules
    rate = rules.pricing.daily_rate if daily_rate is None else daily_rate
    payload = {"borrower": borrower_id, "product": product.code, "limit": limit, "rate": str(rate)}

    def work(connection: Connection, business_date: date) -> int:
        store.get_borrower(connection, borrower_id)
        if not rules.line.min_limit <= limit <= rules.line.max_limit:
            raise InputRejected(
                f"a {product.code} line is {format_minor(rules.line.min_limit)}.."
                f"{format_minor(rules.line.max_limit)} {product.currency}; {format_minor(limit)} is outside it"
            )
        # Checks the rate against the product's range and reference cap now, not at the first drawdown.
        product.loan_terms(
            principal=rules.drawdown.minimum, terms=rules.pricing.terms[0], start=business_date, daily_rate=rate
        )
        line_id = store.add_line(
            connection,
            borrower_id=borrower_id,
            product_code=product.code,
            product_document=product.document,
            currency=product.currency,
            limit=limit,
            daily_rate=rate,
            opened_on=business_date,
        )
        uow.audit(connection, "line.open", f"line:{line_id}", payload)
        return line_id

    return int(uow.idempotent("line.open", key, payload, work))


def line_loans(connection: Connection, line_id: int) -> list[tuple[int, LoanTerms, list[LoanEvent]]]:
    """Each loan of the line with its terms and effective events."""
    return [
        (loan.id, loan.terms, store.loan_events(connection, loan.id))
        for loan in store.loans_of_line(connection, line_id)
    ]


def _restriction_refusal(restriction: Restriction, line_id: int, during: LineDuring) -> str:
    """Why a restriction refuses a drawdown, and how to lift it, in one line."""
    rule = restriction.rule
    overdue = format_minor(sum(during.overdue.values()))
    how = {
        LiftCondition.NOTHING_OVERDUE: f"pay the {overdue} overdue and it lifts at once",
        LiftCondition.GOOD_STANDING: f"it lifts after {rule.good_standing_days} day-ends in a row with nothing overdue",
        LiftCondition.REVIEW_AFTER_FULL_REPAYMENT: "it re-opens only by the lender's review after full repayment",
    }[rule.lift]
    return (
        f"drawdown refused by restriction {rule.name} ({rule.scope.value}) on line {line_id} since the day-end of "
        f"{restriction.since} ({restriction.days_past_due} days past due; {rule.legal_basis}): {how}"
    )


def drawdown_limit(
    connection: Connection, line_id: int, line: store.LineRecord, amount: int, business_date: date
) -> Product:
    """Refuse a drawdown of ``amount`` the line does not allow (:class:`DrawdownRefused`, naming the rule): a
    line not open, one a settlement at a discount forgave principal on, a restriction in force on drawdowns or
    the line, or the product's drawdown rules against the limit in force. Returns the line's product."""
    if line.status != "open":
        raise DrawdownRefused(f"line {line_id} is {line.status}; drawdowns are refused (rule line.status)")
    forgiven = store.principal_forgiven_on_line(connection, line_id)
    if forgiven:  # forgiven principal is not repaid: the limit it used is not restored (shared/RULES.md)
        raise DrawdownRefused(
            f"line {line_id} had {format_minor(forgiven)} of principal forgiven by a settlement at a discount; "
            "it takes no new drawdowns (rule line.settled_for_less)"
        )
    product = store.line_product(line.product_document, f"line {line_id} product snapshot")
    rules = product.rules.drawdown
    limits = DrawdownLimits(rules.minimum, rules.multiple, rules.max_open_loans)
    limit = line.limit_minor
    if product.rules.restrictions:  # the product's rules on the line during the business date
        during = line_history(
            product.rules.restrictions,
            line_loans(connection, line_id),
            business_date,
            store.line_reviews_of(connection, line_id),
            store.line_decisions_of(connection, line_id),
        )
        for restriction in during.in_force:
            if restriction.rule.scope in (RestrictionScope.DRAWDOWN, RestrictionScope.LINE):
                raise DrawdownRefused(_restriction_refusal(restriction, line_id, during))
        limit = during.limit_in_force(limit)
    outstanding = store.open_loans_outstanding(connection, line_id)
    refusal = check_drawdown(limits, limit=limit, outstanding=outstanding, amount=amount)
    if refusal is not None:
        raise DrawdownRefused(f"drawdown refused by rule {refusal.rule}: {refusal.reason}")
    return product


def review_line(uow: UnitOfWork, *, line_id: int, note: str, key: str) -> dict[str, Any]:
    """The lender's review of a closed line: allowed once everything on it is repaid; it lifts the
    restrictions that wait for a review (the sample product's ``close_line``) as of the business date."""
    if not note or not note.strip():
        raise InputRejected("a review needs a note saying what was reviewed and decided")
    payload = {"line": line_id, "note": note}

    def work(connection: Connection, business_date: date) -> dict[str, Any]:
        line = store.get_line(connection, line_id, lock=True)
        product = store.line_product(line.product_document, f"line {line_id} product snapshot")
        loans = line_loans(connection, line_id)
        reviews = store.line_reviews_of(connection, line_id)
        decisions = store.line_decisions_of(connection, line_id)
        before = line_history(product.rules.restrictions, loans, business_date, reviews, decisions)
        waiting = [r.rule.name for r in before.in_force if r.rule.lift is LiftCondition.REVIEW_AFTER_FULL_REPAYMENT]
        if not waiting:
            raise InputRejected(f"line {line_id} has no restriction waiting for a review; nothing to re-open")
        after = line_history(product.rules.restrictions, loans, business_date, [*reviews, business_date], decisions)
        still = [r.rule.name for r in after.in_force if r.rule.lift is LiftCondition.REVIEW_AFTER_FULL_REPAYMENT]
        if still:
            owed = format_minor(after.outstanding_principal + sum(after.overdue.values()))
            raise InputRejected(f"line {line_id} re-opens only after full repayment: {owed} is still owed on its loans")
        store.add_line_review(
            connection,
            line_id=line_id,
            reviewed_on=business_date,
            reviewer=uow.settings.actor,
            note=note.strip(),
            recorded_at=uow.clock(),
        )
        record_line(connection, line_id, business_date, business_date, f"review of line {line_id}", uow.clock())
        result = {"line": line_id, "reviewed_on": business_date.isoformat(), "lifted": waiting}
        uow.audit(connection, "line.review", f"line:{line_id}", result)
        return result

    return uow.idempotent("review", key, payload, work)  # type: ignore[no-any-return]


def restriction_history(uow: UnitOfWork, line_id: int) -> dict[str, Any]:
    """The registry's record of the line's restrictions: each with every change, effective when and
    recorded on which business date, and why (a correction is a later event, never an edit)."""
    with uow.reading() as connection:
        store.get_line(connection, line_id)
        rows = restriction_store.history(connection, [line_id])
    return {
        "line": line_id,
        "restrictions": [
            {
                "id": row["id"],
                "rule": row["rule"],
                "scope": row["scope"],
                "legal_basis": row["legal_basis"],
                "since": row["since"].isoformat(),
                "days_past_due": row["days_past_due"],
                "limit": None if row["limit_minor"] is None else format_minor(row["limit_minor"]),
                "lifted_on": row["lifted_on"] and row["lifted_on"].isoformat(),
                "withdrawn_on": row["withdrawn_on"] and row["withdrawn_on"].isoformat(),
                "events": [
                    {
                        "kind": e["kind"],
                        "effective_on": e["effective_on"].isoformat(),
                        "recorded_on": e["recorded_on"].isoformat(),
                        "cause": e["cause"],
                    }
                    for e in row["events"]
                ],
            }
            for row in rows
        ],
    }


def line_view(uow: UnitOfWork, line_id: int, lang: str) -> dict[str, Any]:
    """A credit line during the business date: its limit and the limit in force, product, status, loans (as
    posted) and what is restricted on it now, why, and what lifts it. The restrictions are the standing's
    own (:func:`arrears.restrictions.standing.standing` over this one line, from the same inputs as
    :func:`arrears.service_layer.borrowers.standing`), so the line and the borrower's standing never disagree."""
    with uow.reading() as connection:
        line = store.get_line(connection, line_id)
        day = uow.business_date(connection)
        records = store.loans_of_line(connection, line_id)
        loans = tuple((r.id, r.terms, tuple(store.loan_events(connection, r.id))) for r in records)
        reviews = tuple(store.line_reviews_of(connection, line_id))
        decisions = store.line_decisions_of(connection, line_id)
    product = store.line_product(line.product_document, f"line {line_id} product snapshot")
    limit = line.limit_minor
    inputs = LineInput(line_id, limit, product.rules.restrictions, loans, reviews, decisions)
    in_force = line_during(inputs, day).limit_in_force(limit)
    during = standing(line.borrower_id, [inputs], day, lang)  # the same replay, from the memo
    overdue = {entry["loan_id"]: entry["overdue"] for entry in during["loans"]}
    return {
        "line": line_id,
        "borrower": line.borrower_id,
        "as_of": day.isoformat(),
        "product": {"code": product.code, "name": product.rules.product.name},
        "currency": line.currency,
        "status": line.status,
        "opened_on": line.opened_on.isoformat(),
        "daily_rate": line.daily_rate,
        "limit": format_minor(limit),
        "limit_in_force": format_minor(in_force),
        "outstanding_principal": format_minor(sum(loan.outstanding_principal for loan in records)),
        "overdue_total": during["overdue_total"],
        "loans": [
            {
                "loan": loan.id,
                "principal": format_minor(loan.terms.principal),
                "terms": loan.terms.terms,
                "start": loan.terms.start.isoformat(),
                "status": loan.status,
                "outstanding_principal": format_minor(loan.outstanding_principal),
                "overdue": overdue.get(loan.id, format_minor(0)),
            }
            for loan in records
        ],
        "restrictions": during["restrictions"],
    }
