"""Court orders as recorded (never executed: :mod:`arrears.legal.court_orders`): add, read, lift."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    insert,
    select,
)

from arrears.adapters import tables as t
from arrears.adapters.store_errors import NotFound, for_update
from arrears.legal.court_orders import CourtOrder, OrderKind


def add_court_order(connection: Connection, values: Mapping[str, Any]) -> int:
    return int(connection.execute(insert(t.court_orders).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def get_court_order(connection: Connection, order_id: int, *, lock: bool = False) -> CourtOrder:
    statement = select(t.court_orders).where(t.court_orders.c.id == order_id)
    row = connection.execute(for_update(connection, statement) if lock else statement).first()
    if row is None:
        raise NotFound(f"no court order {order_id}; check the id (court-order record prints it)")
    return _court_order(row._mapping)


def court_orders_of(connection: Connection, borrower_id: int) -> list[CourtOrder]:
    statement = select(t.court_orders).where(t.court_orders.c.borrower_id == borrower_id).order_by(t.court_orders.c.id)
    return [_court_order(row._mapping) for row in connection.execute(statement)]


def _court_order(values: RowMapping) -> CourtOrder:
    return CourtOrder(
        id=values["id"],
        borrower_id=values["borrower_id"],
        loan_id=values["loan_id"],
        court=values["court"],
        case_number=values["case_number"],
        document_ref=values["document_ref"],
        kind=OrderKind(values["kind"]),
        amount=values["amount"],
        issued_on=values["issued_on"],
        lifted_on=values["lifted_on"],
        lift_document_ref=values["lift_document_ref"],
    )


def lift_court_order(connection: Connection, order_id: int, *, lifted_on: date, document_ref: str) -> None:
    """Record the court's lifting of an order (its row locked by :func:`get_court_order` first)."""
    connection.execute(
        t.court_orders.update()
        .where(t.court_orders.c.id == order_id)
        .values(lifted_on=lifted_on, lift_document_ref=document_ref)
    )
