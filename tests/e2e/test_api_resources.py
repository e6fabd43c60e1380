"""The API's borrower, product, line, court-order and report resources over real HTTP, on SQLite and PostgreSQL:
exact amounts, a borrower seeing only their own line, writes posting once per key, reads of personal data audited
(tests/support/api.py serves the app and makes a token per role; tests/e2e/test_api.py's role matrix covers these
endpoints too).

The fixture's store: borrower 1 with line 1 on cn-microcredit (limit 20,000.00) holding loan 1 (2,500.00) and loan
2 (1,000.00), both drawn on 2026-05-15 over 5 terms and day-ended through 2026-06-24: 9 days past due during the
business date 2026-06-25; borrower 2 has no line."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
from sqlalchemy import Table, func, select

from arrears.adapters import tables as t
from arrears.service_layer.day_end_store import run_store
from arrears.service_layer.services import Services
from tests.support.api import api, app_of  # noqa: F401  (the fixture: a served store with a token per role)

Api = tuple[str, Services, dict[str, str], int, int]


def _auth(token: str, key: str | None = None) -> dict[str, str]:
    """The token, and an Idempotency-Key (every write needs one): ``key``, or a new one for each call."""
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": key or uuid.uuid4().hex}


def _count(services: Services, table: Table) -> int:
    with services.reading() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_an_admin_adds_a_borrower_and_opens_a_line_once_per_key(api: Api) -> None:  # noqa: F811
    """A retried POST returns the first id and writes nothing more; the same key with another body is a 409; no
    key, a bad phone, an unknown zone or product, a limit outside the product's range: 422 with the fix."""
    base, services, tokens, _, _ = api
    admin = tokens["admin"]
    borrowers = _count(services, t.borrowers)
    body = {"name": "王五", "phone": "13700137000", "timezone": "Asia/Shanghai", "language": "en"}
    with httpx.Client(base_url=base) as client:
        first = client.post("/borrowers", json=body, headers=_auth(admin, "onboard-1"))
        again = client.post("/borrowers", json=body, headers=_auth(admin, "onboard-1"))
        other = client.post("/borrowers", json={**body, "name": "赵六"}, headers=_auth(admin, "onboard-1"))
        keyless = client.post("/borrowers", json=body, headers={"Authorization": f"Bearer {admin}"})
        phone = client.post("/borrowers", json={**body, "phone": "call me"}, headers=_auth(admin))
        zone = client.post("/borrowers", json={**body, "timezone": "Mars/Olympus"}, headers=_auth(admin))
        region = client.post("/borrowers", json={**body, "timezone": "America"}, headers=_auth(admin))  # a folder
        assert first.status_code == 201, first.text
        assert again.status_code == 201 and again.json() == first.json()
        assert other.status_code == 409 and keyless.status_code == 422
        assert phone.status_code == 422 and "13800138000" in phone.json()["error"]
        assert zone.status_code == 422 and "Asia/Shanghai" in zone.json()["error"]
        assert region.status_code == 422 and "Asia/Shanghai" in region.json()["error"]
        assert _count(services, t.borrowers) == borrowers + 1
        added = first.json()["borrower"]

        lines = _count(services, t.credit_lines)
        line_body = {"product": "cn-microcredit", "limit": "12345.67"}
        opened = client.post(f"/borrowers/{added}/lines", json=line_body, headers=_auth(admin, "grant-1"))
        reopened = client.post(f"/borrowers/{added}/lines", json=line_body, headers=_auth(admin, "grant-1"))
        unknown = client.post(f"/borrowers/{added}/lines", json={**line_body, "product": "x"}, headers=_auth(admin))
        small = client.post(f"/borrowers/{added}/lines", json={**line_body, "limit": "499.99"}, headers=_auth(admin))
        rate = client.post(
            f"/borrowers/{added}/lines", json={**line_body, "daily_rate": "0.0006"}, headers=_auth(admin)
        )
        nobody = client.post("/borrowers/999/lines", json=line_body, headers=_auth(admin))
        assert opened.status_code == 201, opened.text
        assert reopened.json() == opened.json() and opened.json()["product"] == "cn-microcredit"
        assert unknown.status_code == 422 and "cn-microcredit" in unknown.json()["error"]
        assert small.status_code == 422 and "500.00..200000.00" in small.json()["error"]
        assert rate.status_code == 422 and "0.0002..0.0005" in rate.json()["error"]
        assert nobody.status_code == 404
        assert _count(services, t.credit_lines) == lines + 1

        seen = client.get(f"/lines/{opened.json()['line']}", headers=_auth(admin))
    assert seen.status_code == 200, seen.text
    view = seen.json()
    assert view["borrower"] == added and view["product"]["code"] == "cn-microcredit"
    assert (view["limit"], view["limit_in_force"], view["outstanding_principal"]) == ("12345.67", "12345.67", "0.00")
    assert view["daily_rate"] == "0.0005" and view["loans"] == [] and view["restrictions"] == []
    with services.reading() as connection:
        stored = connection.execute(
            select(t.credit_lines.c.limit_minor).where(t.credit_lines.c.id == opened.json()["line"])
        ).scalar_one()
        audited = connection.execute(
            select(t.audit_log.c.action, t.audit_log.c.actor).where(
                t.audit_log.c.action.in_(["borrower.add", "line.open"]), t.audit_log.c.origin == "api"
            )
        ).all()
    assert stored == 1_234_567  # to the cent, once
    assert sorted((a.action, a.actor.split(" ")[0]) for a in audited) == [
        ("borrower.add", "admin"),
        ("line.open", "admin"),
    ]


def test_a_line_shows_its_loans_and_restrictions_as_the_standing_does(api: Api) -> None:  # noqa: F811
    """Both loans are 9 days past due: the drawdowns on line 1 are suspended (rule suspend_drawdown, from 2 days
    past due) and lifted by paying what is overdue. The line's figures are the standing's, to the cent; another
    borrower and an agency are refused."""
    base, services, tokens, borrower, loan = api
    with services.reading() as connection:
        line = connection.execute(select(t.loans.c.line_id).where(t.loans.c.id == loan)).scalar_one()
    with httpx.Client(base_url=base) as client:
        seen = client.get(f"/lines/{line}", params={"lang": "en-US"}, headers=_auth(tokens["own"]))
        standing = client.get(
            f"/borrowers/{borrower}/standing",
            params={"date": "2026-06-25", "lang": "en-US"},
            headers=_auth(tokens["own"]),
        ).json()
        other = client.get(f"/lines/{line}", headers=_auth(tokens["other"]))
        agency = client.get(f"/lines/{line}", headers=_auth(tokens["agency"]))
        missing = client.get("/lines/999", headers=_auth(tokens["admin"]))
    assert seen.status_code == 200, seen.text
    view = seen.json()
    assert view["as_of"] == "2026-06-25" and view["borrower"] == borrower
    assert (view["limit"], view["limit_in_force"], view["outstanding_principal"]) == ("20000.00", "20000.00", "3500.00")
    assert [(x["loan"], x["principal"], x["outstanding_principal"], x["start"]) for x in view["loans"]] == [
        (loan, "2500.00", "2500.00", "2026-05-15"),
        (loan + 1, "1000.00", "1000.00", "2026-05-15"),
    ]
    assert {x["loan"]: x["overdue"] for x in view["loans"]} == {x["loan_id"]: x["overdue"] for x in standing["loans"]}
    # each first installment, with the penalty and compound charged through the day-end of 06-24 (arrears explain
    # itemises them): 500.00 + 38.75 + 3.69 and 200.00 + 15.50 + 1.44
    assert [x["overdue"] for x in view["loans"]] == ["542.44", "216.94"]
    assert view["overdue_total"] == standing["overdue_total"] == "759.38"
    assert [r["rule"] for r in view["restrictions"]] == ["suspend_drawdown"]
    assert view["restrictions"] == standing["restrictions"]
    assert view["restrictions"][0]["amount_to_lift"] == view["overdue_total"]
    assert other.status_code == 403 and "their own" in other.json()["error"]
    assert agency.status_code == 403 and missing.status_code == 404
    app_of[base].state.read_audit.flush()
    with services.reading() as connection:
        audited = connection.execute(
            select(t.audit_log.c.actor).where(
                t.audit_log.c.action == "line.read", t.audit_log.c.target == f"line:{line}"
            )
        ).scalars()
        assert [actor.split(" ")[0] for actor in audited] == ["borrower"]  # the refused reads read nothing


def test_a_lowered_limit_is_the_limit_in_force(api: Api) -> None:  # noqa: F811
    """Day-ended through 2026-07-16, the first installments (due 06-15) are 31 days past due: the product lowers
    the limit to the principal outstanding then (rule reduce_limit, from 30 days), 2,500.00 + 1,000.00."""
    base, services, tokens, _, loan = api
    run_store(services, through=date(2026, 7, 16))
    with services.reading() as connection:
        line = connection.execute(select(t.loans.c.line_id).where(t.loans.c.id == loan)).scalar_one()
    with httpx.Client(base_url=base) as client:
        view = client.get(f"/lines/{line}", headers=_auth(tokens["collector"])).json()
    assert view["as_of"] == "2026-07-17"
    assert (view["limit"], view["limit_in_force"]) == ("20000.00", "3500.00")
    assert [r["rule"] for r in view["restrictions"]] == ["suspend_drawdown", "reduce_limit"]


def test_products_are_shown_with_the_contracts_figures(api: Api) -> None:  # noqa: F811
    base, _, tokens, _, _ = api
    with httpx.Client(base_url=base) as client:
        listed = client.get("/products", headers=_auth(tokens["own"]))
        one = client.get("/products/cn-microcredit", headers=_auth(tokens["agency"]))
        unknown = client.get("/products/cn-payday", headers=_auth(tokens["own"]))
        provider = client.get("/products", headers=_auth(tokens["provider"]))
    assert listed.status_code == 200 and [p["code"] for p in listed.json()] == ["cn-microcredit"]
    product = one.json()
    assert listed.json()[0] == product
    assert product["line"] == {"min_limit": "500.00", "max_limit": "200000.00"}
    assert product["drawdown"] == {"minimum": "100.00", "multiple": "100.00", "max_open_loans": 20}
    assert (product["daily_rate"], product["simple_annual_rate_percent"]) == ("0.0005", "18.25")
    assert product["daily_rate_range"] == ["0.0002", "0.0005"] and product["terms"] == [5, 10, 20]
    assert (product["grace_days"], product["penalty_multiplier"], product["currency"]) == (1, "1.5", "CNY")
    assert [r["rule"] for r in product["restrictions"]] == ["suspend_drawdown", "reduce_limit", "close_line"]
    assert "reference_cap" not in str(product)  # the lender's risk stance, not a contract term
    assert unknown.status_code == 404 and "cn-microcredit" in unknown.json()["error"]
    assert provider.status_code == 403


def test_court_orders_are_read_by_legal_roles_and_audited(api: Api) -> None:  # noqa: F811
    base, services, tokens, borrower, loan = api
    services.record_court_order(
        borrower_id=borrower,
        court="深圳市南山区人民法院",
        case_number="(2026)粤0305执1234号",
        document_ref="ruling-1234",
        kind="freeze",
        issued_on=date(2026, 6, 20),
        key="order-1",
        loan_id=loan,
        amount=123_456,
    )
    with httpx.Client(base_url=base) as client:
        read = client.get(
            f"/borrowers/{borrower}/court-orders", params={"lang": "en-US"}, headers=_auth(tokens["compliance"])
        )
        none = client.get(f"/borrowers/{borrower + 1}/court-orders", headers=_auth(tokens["collector"]))
        own = client.get(f"/borrowers/{borrower}/court-orders", headers=_auth(tokens["own"]))
        missing = client.get("/borrowers/999/court-orders", headers=_auth(tokens["admin"]))
    assert read.status_code == 200, read.text
    [order] = read.json()
    assert (order["kind"], order["amount"], order["loan_id"], order["lifted_on"]) == ("freeze", "1234.56", loan, None)
    assert "never the lender" in order["executed_by"] and order["effect"]
    assert none.json() == [] and own.status_code == 403 and missing.status_code == 404
    app_of[base].state.read_audit.flush()
    with services.reading() as connection:
        audited = connection.execute(
            select(t.audit_log.c.actor, t.audit_log.c.target).where(t.audit_log.c.action == "legal.court_orders")
        ).all()
    assert sorted((a.actor.split(" ")[0], a.target) for a in audited) == [
        ("collector", f"borrower:{borrower + 1}"),
        ("compliance", f"borrower:{borrower}"),
    ]


def test_the_portfolio_report_gives_amounts_to_the_cent(api: Api) -> None:  # noqa: F811
    """The day-ends wrote one month-end snapshot in range, 2026-05-31: both loans current, 2,500.00 + 1,000.00."""
    base, _, tokens, _, _ = api
    headers = _auth(tokens["supervisor"])
    with httpx.Client(base_url=base) as client:
        report = client.get("/reports/portfolio", params={"from": "2026-05-01", "to": "2026-06-30"}, headers=headers)
        swapped = client.get("/reports/portfolio", params={"from": "2026-06-30", "to": "2026-05-01"}, headers=headers)
        long = client.get("/reports/portfolio", params={"from": "2020-01-01", "to": "2026-06-30"}, headers=headers)
    assert report.status_code == 200, report.text
    figures = report.json()
    assert figures["snapshot_days"] == ["2026-05-31"]
    [mix] = figures["bucket_mix"]
    assert mix["count"]["M0"] == 2 and mix["balance"]["M0"] == "3500.00" and mix["balance"]["M1"] == "0.00"
    assert figures["classification_mix"][0]["count"]["normal"] == 2
    assert figures["non_accrual_balance"] == [{"day": "2026-05-31", "balance": "0.00"}]
    assert swapped.status_code == 422 and "swap" in swapped.json()["error"]
    assert long.status_code == 422 and "arrears report portfolio" in long.json()["error"]
