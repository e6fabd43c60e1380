"""Handlers of court orders: record one against a borrower, record its lifting. An order is recorded, never
executed (:mod:`arrears.legal.court_orders`); money a court transfers under one is a repayment naming it
(:func:`arrears.service_layer.loans.repay`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection

from arrears.adapters import store
from arrears.errors import InputRejected
from arrears.legal.court_orders import check_lifting, check_order, checked_kind
from arrears.money import format_minor
from arrears.service_layer.unit_of_work import UnitOfWork


def record_court_order(
    uow: UnitOfWork,
    *,
    borrower_id: int,
    court: str,
    case_number: str,
    document_ref: str,
    kind: str,
    issued_on: date,
    key: str,
    loan_id: int | None = None,
    amount: int | None = None,
) -> int:
    """Record a court's order against a borrower (never execute it: :mod:`arrears.legal.court_orders`)."""
    order_kind = checked_kind(kind)
    if amount is not None and amount <= 0:
        raise InputRejected(f"an order's amount must be above zero, got {format_minor(amount)}")
    payload = {
        "borrower": borrower_id,
        "loan": loan_id,
        "court": court,
        "case": case_number,
        "document": document_ref,
        "kind": order_kind,
        "amount": amount,
        "date": issued_on,
    }

    def work(connection: Connection, business_date: date) -> int:
        check_order(court, case_number, document_ref, issued_on, business_date)
        store.get_borrower(connection, borrower_id)
        if loan_id is not None and store.get_loan(connection, loan_id).borrower_id != borrower_id:
            raise InputRejected(f"loan {loan_id} is not borrower {borrower_id}'s; check the ids")
        order_id = store.add_court_order(
            connection,
            {
                "borrower_id": borrower_id,
                "loan_id": loan_id,
                "court": court.strip(),
                "case_number": case_number.strip(),
                "document_ref": document_ref.strip(),
                "kind": order_kind.value,
                "amount": amount,
                "issued_on": issued_on,
                "recorded_at": uow.clock(),
            },
        )
        uow.audit(connection, "court_order.record", f"court_order:{order_id}", payload)
        store.record_event(
            connection,
            loan_id=loan_id,
            kind="court_order_recorded",
            payload={"order": order_id, **payload},
            business_date=business_date,
            now=uow.clock(),
        )
        return order_id

    return int(uow.idempotent("court_order", key, payload, work))


def lift_court_order(uow: UnitOfWork, *, order_id: int, document_ref: str, lifted_on: date, key: str) -> dict[str, Any]:
    """Record the court's lifting of an order: the only way an order is lifted."""
    payload = {"order": order_id, "document": document_ref, "date": lifted_on}

    def work(connection: Connection, business_date: date) -> dict[str, Any]:
        order = store.get_court_order(connection, order_id, lock=True)
        check_lifting(order, lifted_on, document_ref, business_date)
        store.lift_court_order(connection, order_id, lifted_on=lifted_on, document_ref=document_ref.strip())
        uow.audit(connection, "court_order.lift", f"court_order:{order_id}", payload)
        return {"order": order_id, "lifted_on": lifted_on.isoformat(), "lift_document_ref": document_ref.strip()}

    return uow.idempotent("court_order_lift", key, payload, work)  # type: ignore[no-any-return]
