"""Court orders: recorded, never executed; a court's transfer posted as a repayment with its source; the lender
prompted to apply for lifting once the debt is paid; lifted only when the court's lifting is recorded."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from arrears.money import parse_amount
from tests.support.cli import store_with_a_loan

RECORD = (
    "court-order",
    "record",
    "--borrower",
    "1",
    "--court",
    "深圳市南山区人民法院",
    "--case",
    "(2026)粤0305执123号",
)


def _rows(db: Path, table: str) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_an_order_is_recorded_shown_and_its_transfer_posted_with_its_source(tmp_path: Path, contract: Any) -> None:
    db, arrears = store_with_a_loan(tmp_path)
    done = arrears(
        *RECORD,
        "--document",
        "执行裁定书 No. 77",
        "--kind",
        "consumption_restriction",
        "--date",
        "2026-09-01",
        "--loan",
        "1",
        "--key",
        "co-1",
        "--json",
        on="2026-09-02",
    )
    assert done.returncode == 0, done.stderr
    restriction_order = json.loads(done.stdout)["court_order_id"]
    done = arrears(
        *RECORD,
        "--document",
        "划拨裁定 No. 78",
        "--kind",
        "transfer",
        "--amount",
        "3000.00",
        "--date",
        "2026-09-02",
        "--key",
        "co-2",
        "--json",
        on="2026-09-02",
    )
    transfer_order = json.loads(done.stdout)["court_order_id"]
    view = json.loads(
        arrears("standing", "1", "--date", "2026-09-02", "--json", "--lang", "en-US", on="2026-09-02").stdout
    )
    contract("standing").validate(view)
    assert [o["kind"] for o in view["court_orders"]] == ["consumption_restriction", "transfer"]
    assert all(o["executed_by"].endswith("never the lender") and o["prompt"] is None for o in view["court_orders"])
    owed = view["overdue_total"]
    paid = arrears(
        "repay",
        "1",
        "--amount",
        "3000.00",
        "--date",
        "2026-09-02",
        "--court-order",
        str(transfer_order),
        "--key",
        "r-court",
        "--json",
        on="2026-09-02",
    )
    assert paid.returncode == 0, paid.stderr
    assert (
        json.loads(paid.stdout)["source"]
        == f"court order {transfer_order} (深圳市南山区人民法院, case (2026)粤0305执123号)"
    )
    with sqlite3.connect(db) as connection:
        assert (
            connection.execute("SELECT source FROM transactions WHERE kind = 'repayment'")
            .fetchone()[0]
            .startswith("court order")
        )
    assert parse_amount(owed, field="overdue") < 300_000  # the transfer covered everything: nothing is owed after
    after = json.loads(
        arrears("standing", "1", "--date", "2026-09-02", "--json", "--lang", "en-US", on="2026-09-02").stdout
    )
    prompted = {o["id"]: o["prompt"] for o in after["court_orders"]}
    assert prompted[transfer_order] is None  # not a restriction: nothing to lift
    assert "apply to the court" in prompted[restriction_order] and "art. 9" in prompted[restriction_order]
    lifted = arrears(
        "court-order",
        "lift",
        str(restriction_order),
        "--document",
        "解除限制消费令决定书 No. 80",
        "--date",
        "2026-09-10",
        "--key",
        "lift-1",
        "--json",
        on="2026-09-10",
    )
    assert lifted.returncode == 0, lifted.stderr
    final = json.loads(arrears("standing", "1", "--date", "2026-09-10", "--json", on="2026-09-10").stdout)
    (order,) = [o for o in final["court_orders"] if o["id"] == restriction_order]
    assert order["lifted_on"] == "2026-09-10" and order["prompt"] is None


def test_bad_orders_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    db, arrears = store_with_a_loan(tmp_path)
    before = (_rows(db, "court_orders"), _rows(db, "audit_log"))

    def record(key: str, *, borrower: str = "1", court: str = "C", kind: str = "freeze", on: str = "2026-09-01") -> Any:
        return (
            *("court-order", "record", "--borrower", borrower, "--court", court, "--case", "X", "--document", "D"),
            *("--kind", kind, "--date", on, "--key", key),
        )

    cases = [
        (record("k1", court=" "), "needs its court"),
        (record("k2", kind="freeze_wechat"), "unknown court order kind"),
        (record("k3", on="2026-12-01"), "after the business date"),
        (record("k4", borrower="9"), "no borrower 9"),
    ]
    for args, message in cases:
        refused = arrears(*args, on="2026-09-02")
        assert refused.returncode == 2 and message in refused.stderr, (args, refused.stderr)
    assert (_rows(db, "court_orders"), _rows(db, "audit_log")) == before
    recorded = arrears(
        *RECORD, "--document", "D", "--kind", "freeze", "--date", "2026-09-01", "--key", "ok", on="2026-09-02"
    )
    assert recorded.returncode == 0
    early = arrears(
        "court-order", "lift", "1", "--document", "L", "--date", "2026-08-01", "--key", "l1", on="2026-09-02"
    )
    assert early.returncode == 2 and "before the order's date" in early.stderr
    nameless = arrears(
        "court-order", "lift", "1", "--document", " ", "--date", "2026-09-02", "--key", "l2", on="2026-09-02"
    )
    assert nameless.returncode == 2 and "document reference" in nameless.stderr
