"""Maker-checker for waivers, write-offs, reversals and court orders over the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from arrears.adapters import tables as t
from arrears.errors import InputRejected
from arrears.service_layer import approvals
from arrears.service_layer.approvals import ApprovalRefused
from arrears.service_layer.day_end_store import run_store
from arrears.service_layer.services import Services
from tests.support.stores import one_loan


def _count(services: Services, kind: str) -> int:
    with services.reading() as connection:
        statement = select(func.count()).select_from(t.transactions).where(t.transactions.c.kind == kind)
        return int(connection.execute(statement).scalar_one())


def test_a_waiver_runs_only_when_someone_else_approves_it_within_their_limit(new_database: Callable[[], str]) -> None:
    """Installment 1 (due 06-15, grace 1 day) unpaid: 10 day-ends of penalty by 06-25 (3.80)."""
    made = one_loan(new_database())
    services, loan = made.services, made.loan
    run_store(services, through=date(2026, 6, 25))
    waiver = {"loan": loan, "component": "penalty", "amount": 380, "date": "2026-06-26"}
    request = approvals.propose(services, command="waive", arguments=waiver, maker="collector 李")
    big = approvals.propose(services, command="waive", arguments={**waiver, "amount": 100_001}, maker="collector 李")
    ident = request["approval"]
    with pytest.raises(ApprovalRefused, match="maker_checker"):
        approvals.approve(services, approval_id=ident, checker="COLLECTOR 李", role="supervisor")
    with pytest.raises(ApprovalRefused, match=r"approval\.role"):
        approvals.approve(services, approval_id=ident, checker="王", role="collector")
    with pytest.raises(ApprovalRefused, match=r"above the supervisor limit of 1000\.00"):
        approvals.approve(services, approval_id=big["approval"], checker="王", role="supervisor")
    assert _count(services, "waiver") == 0  # nothing ran
    done = approvals.approve(services, approval_id=ident, checker="王", role="supervisor")
    assert done["status"] == "approved" and done["result"]["amount"] == "3.80"
    assert approvals.approve(services, approval_id=ident, checker="王", role="supervisor") == done
    assert _count(services, "waiver") == 1
    # the big one, approved by an admin, is more than is owed: refused by the engine, back to pending
    with pytest.raises(InputRejected, match="waive at most"):
        approvals.approve(services, approval_id=big["approval"], checker="赵", role="admin")
    [pending] = approvals.approvals(services, status="pending")
    assert pending["approval"] == big["approval"] and pending["checker"] is None
    rejected = approvals.reject(services, approval_id=big["approval"], checker="赵", note="more than is owed")
    assert rejected["status"] == "rejected"
    assert services.verify_ledger() == []


def test_a_crash_between_running_and_recording_never_posts_twice(new_database: Callable[[], str]) -> None:
    made = one_loan(new_database())
    services, loan = made.services, made.loan
    run_store(services, through=date(2026, 6, 25))
    services.repay(loan_id=loan, amount=10_000, value_date=date(2026, 6, 26), key="pay")
    with services.reading() as connection:
        paid = connection.execute(select(t.transactions.c.id).where(t.transactions.c.kind == "repayment")).scalar_one()
    request = approvals.propose(services, command="reverse", arguments={"transaction": paid}, maker="李")
    # the checker's first attempt claimed it and ran the reversal, then died before recording it
    with services.transaction() as connection:
        connection.execute(
            update(t.approvals)
            .where(t.approvals.c.id == request["approval"])
            .values(status="approving", checker="王", checker_role="supervisor")
        )
    services.reverse(transaction_id=paid, key=f"approval:{request['approval']}")
    with pytest.raises(ApprovalRefused, match="approving"):  # another checker cannot take it over
        approvals.approve(services, approval_id=request["approval"], checker="赵", role="admin")
    done = approvals.approve(services, approval_id=request["approval"], checker="王", role="supervisor")
    assert done["status"] == "approved"
    assert _count(services, "reversal") == 1


def test_write_offs_need_an_admin_and_court_orders_are_recorded_once_approved(new_database: Callable[[], str]) -> None:
    made = one_loan(new_database())
    services, loan, borrower = made.services, made.loan, made.borrower
    run_store(services, through=date(2026, 6, 25))
    off = approvals.propose(services, command="write_off", arguments={"loan": loan, "date": "2026-06-26"}, maker="李")
    assert off["amount"] == "2500.00"
    with pytest.raises(ApprovalRefused, match=r"approval\.role"):
        approvals.approve(services, approval_id=off["approval"], checker="王", role="supervisor")
    assert approvals.approve(services, approval_id=off["approval"], checker="赵", role="admin")["status"] == "approved"
    order = {
        "borrower": borrower,
        "court": "深圳市南山区人民法院",
        "case_number": "(2026)粤0305执456号",
        "document_ref": "执行裁定书 2026-0456",
        "kind": "consumption_restriction",
        "issued_on": "2026-06-20",
        "loan": loan,
        "amount": None,
    }
    proposed = approvals.propose(services, command="court_order", arguments=order, maker="李")
    with services.reading() as connection:
        assert connection.execute(select(func.count()).select_from(t.court_orders)).scalar_one() == 0
    done = approvals.approve(services, approval_id=proposed["approval"], checker="王", role="supervisor")
    with services.reading() as connection:
        assert connection.execute(select(func.count()).select_from(t.court_orders)).scalar_one() == 1
    assert done["result"]["court_order"] >= 1
    with pytest.raises(InputRejected, match="needs loan and date"):
        approvals.propose(services, command="write_off", arguments={"loan": loan}, maker="李")


def test_an_approval_and_a_rejection_racing_never_both_win(new_database: Callable[[], str]) -> None:
    made = one_loan(new_database())
    services, loan = made.services, made.loan
    run_store(services, through=date(2026, 6, 25))
    waiver = {"loan": loan, "component": "penalty", "amount": 1, "date": "2026-06-26"}
    ids = [approvals.propose(services, command="waive", arguments=waiver, maker="李")["approval"] for _ in range(6)]
    for ident in ids:
        barrier = threading.Barrier(2)
        won: list[str] = []

        def decide(how: str, ident: int = ident, barrier: threading.Barrier = barrier, won: list[str] = won) -> None:
            barrier.wait()
            try:
                if how == "approve":
                    approvals.approve(services, approval_id=ident, checker="王", role="supervisor")
                else:
                    approvals.reject(services, approval_id=ident, checker="赵", note="no")
                won.append(how)
            except (ApprovalRefused, OperationalError):  # SQLite: the loser may also find the database locked
                pass

        threads = [threading.Thread(target=decide, args=(how,)) for how in ("approve", "reject")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == 1, won
        [row] = [a for a in approvals.approvals(services) if a["approval"] == ident]
        assert row["status"] == {"approve": "approved", "reject": "rejected"}[won[0]]
    assert _count(services, "waiver") == sum(1 for a in approvals.approvals(services) if a["status"] == "approved")
