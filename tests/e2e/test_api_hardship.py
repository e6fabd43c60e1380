"""The API's hardship, dispute, explanation and legal endpoints over real HTTP, on SQLite and PostgreSQL: who may
call each, and maker-checker between two tokens (tests/support/api.py serves the app and makes the tokens)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
from sqlalchemy import func, select

from arrears.access import Role
from arrears.adapters import tables as t
from arrears.adapters import tokens_store
from arrears.service_layer.services import Services
from tests.support.api import api  # noqa: F401  (the fixture: a served store with a token per role)

Api = tuple[str, Services, dict[str, str], int, int]

ALLOWED = {
    "explanation": {"own", "collector", "supervisor", "compliance", "admin"},
    "request": {"own", "collector", "supervisor", "admin"},
    "plans": {"own", "collector", "supervisor", "compliance", "admin"},
    "propose": {"collector", "supervisor", "admin"},
    "approve": {"supervisor", "admin"},
    "reject": {"supervisor", "admin"},
    "dispute": {"own", "collector", "supervisor", "admin"},
    "cases": {"collector", "supervisor", "compliance", "admin"},
    "borrower": {"own", "collector", "supervisor", "compliance", "admin"},
    "drawdown": {"own", "admin"},
    "promise": {"collector", "supervisor", "admin"},  # and an agency, on the loans placed with it
    "contact": {"collector", "supervisor", "admin"},
    "waiver": {"collector", "supervisor", "admin"},
    "approvals": {"collector", "supervisor", "compliance", "admin"},
}


def _auth(token: str, key: str | None = None) -> dict[str, str]:
    """The token, and an Idempotency-Key (every write needs one): ``key``, or a new one for each call."""
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": key or uuid.uuid4().hex}


def test_every_new_endpoint_with_every_role(api: Api) -> None:  # noqa: F811
    """Refused (403, with the reason) for a role that may not or for someone else's data; for a role that may, a
    domain rule may still refuse (422: a month never reported, a plan already decided), never 401 or 403."""
    base, services, tokens, borrower, loan = api
    with services.reading() as connection:
        line = connection.execute(select(t.loans.c.line_id).where(t.loans.c.id == loan)).scalar_one()
    with httpx.Client(base_url=base) as client:
        made = client.post(
            f"/loans/{loan}/hardship-plans", json={"freeze_days": 10}, headers=_auth(tokens["collector"])
        ).json()["plan"]
        calls: dict[str, Callable[[str], httpx.Response]] = {
            "explanation": lambda tok: client.get(
                f"/loans/{loan}/explanation", params={"date": "2026-06-24"}, headers=_auth(tok)
            ),
            "request": lambda tok: client.post(
                f"/loans/{loan}/hardship-requests", json={"reason": "收入中断"}, headers=_auth(tok)
            ),
            "plans": lambda tok: client.get(f"/loans/{loan}/hardship-plans", headers=_auth(tok)),
            "propose": lambda tok: client.post(
                f"/loans/{loan}/hardship-plans", json={"freeze_days": 10}, headers=_auth(tok)
            ),
            "approve": lambda tok: client.post(
                f"/hardship-plans/{made}/approval", json={"note": "ok"}, headers=_auth(tok, f"a-{tok[-6:]}")
            ),
            "reject": lambda tok: client.post(
                f"/hardship-plans/{made}/rejection", json={"note": "no"}, headers=_auth(tok)
            ),
            "dispute": lambda tok: client.post(
                f"/loans/{loan}/disputes", json={"month": "2026-05-31", "claim": "wrong"}, headers=_auth(tok)
            ),
            "cases": lambda tok: client.get(f"/loans/{loan}/cases", headers=_auth(tok)),
            "borrower": lambda tok: client.get(f"/borrowers/{borrower}", headers=_auth(tok)),
            "drawdown": lambda tok: client.post(
                f"/lines/{line}/drawdowns", json={"amount": "100.00", "terms": 5}, headers=_auth(tok, tok[-9:])
            ),
            "promise": lambda tok: client.post(
                f"/loans/{loan}/promises", json={"amount": "50.00", "due": "2026-06-30"}, headers=_auth(tok)
            ),
            "contact": lambda tok: client.post(
                f"/loans/{loan}/contacts",
                json={"channel": "voice_call", "at": "2026-06-25T10:00:00+08:00", "outcome": "promised"},
                headers=_auth(tok),
            ),
            "waiver": lambda tok: client.post(
                f"/loans/{loan}/waivers",
                json={"component": "penalty", "amount": "0.01", "value_date": "2026-06-25"},
                headers=_auth(tok),
            ),
            "approvals": lambda tok: client.get("/approvals", headers=_auth(tok)),
        }
        for endpoint, call in calls.items():
            for name, token in tokens.items():
                response = call(token)
                if name == "revoked":
                    assert response.status_code == 401, (endpoint, name)
                elif name in ALLOWED[endpoint]:
                    assert response.status_code in (200, 201, 422), (endpoint, name, response.text)
                else:
                    assert response.status_code == 403, (endpoint, name, response.text)
                    assert response.json()["error"]


def test_a_plan_is_asked_for_by_the_borrower_made_by_one_token_and_approved_by_another(api: Api) -> None:  # noqa: F811
    base, services, tokens, _, loan = api
    with httpx.Client(base_url=base) as client:
        asked = client.post(f"/loans/{loan}/hardship-requests", json={"reason": "失业了"}, headers=_auth(tokens["own"]))
        assert asked.status_code == 201
        body = {"request": asked.json()["plan"], "installments": 3, "first_due": "2026-07-25", "waive_penalty": True}
        proposed = client.post(f"/loans/{loan}/hardship-plans", json=body, headers=_auth(tokens["supervisor"]))
        assert proposed.status_code == 201, proposed.text
        plan = proposed.json()["plan"]
        same = client.post(f"/hardship-plans/{plan}/approval", json={}, headers=_auth(tokens["supervisor"], "x1"))
        assert same.status_code == 422 and "maker_checker" in same.json()["error"]
        with services.reading() as connection:
            before = connection.execute(select(func.count()).select_from(t.transactions)).scalar_one()
        first = client.post(f"/hardship-plans/{plan}/approval", json={}, headers=_auth(tokens["admin"], "x2"))
        again = client.post(f"/hardship-plans/{plan}/approval", json={}, headers=_auth(tokens["admin"], "x2"))
        assert first.status_code == 201 and again.json() == first.json()
        with services.reading() as connection:
            after = connection.execute(select(func.count()).select_from(t.transactions)).scalar_one()
        assert after - before == len(first.json()["transactions"]) == 3  # two waivers and the reschedule, once
        [seen] = client.get(f"/loans/{loan}/hardship-plans", headers=_auth(tokens["own"])).json()
        assert seen["status"] == "approved" and seen["maker"].startswith("supervisor")
        assert seen["checker"].startswith("admin")
        unreported = client.post(
            f"/loans/{loan}/disputes", json={"month": "2026-05-31", "claim": "wrong"}, headers=_auth(tokens["own"])
        )
        assert unreported.status_code == 422 and "nothing was reported" in unreported.json()["error"]


def test_a_waiver_over_http_is_posted_only_when_another_token_approves_it(api: Api) -> None:  # noqa: F811
    """The fixture's loans are 9 days past due on 2026-06-25: penalty is owed."""
    base, services, tokens, _, loan = api
    body = {"component": "penalty", "amount": "0.38", "value_date": "2026-06-25"}
    with httpx.Client(base_url=base) as client:
        for name in ("own", "agency", "compliance"):  # who may not propose
            refused = client.post(f"/loans/{loan}/waivers", json=body, headers=_auth(tokens[name]))
            assert refused.status_code == 403, name
        made = client.post(f"/loans/{loan}/waivers", json=body, headers=_auth(tokens["supervisor"]))
        assert made.status_code == 201, made.text
        ident = made.json()["approval"]
        own = client.post(f"/approvals/{ident}/approval", headers=_auth(tokens["supervisor"]))
        assert own.status_code == 422 and "maker_checker" in own.json()["error"]
        assert client.post(f"/approvals/{ident}/approval", headers=_auth(tokens["collector"])).status_code == 403
        listed = client.get("/approvals", params={"status": "pending"}, headers=_auth(tokens["compliance"]))
        assert [a["approval"] for a in listed.json()] == [ident]
        done = client.post(f"/approvals/{ident}/approval", headers=_auth(tokens["admin"]))
        assert done.status_code == 201 and done.json()["status"] == "approved"
        again = client.post(f"/approvals/{ident}/approval", headers=_auth(tokens["admin"]))
        assert again.json() == done.json()
        bogus = client.post(
            "/borrowers/1/court-orders",
            json={
                "court": "x",
                "case_number": "y",
                "document_ref": "z",
                "kind": "seize_wechat",
                "issued_on": "2026-06-20",
            },
            headers=_auth(tokens["collector"]),
        )
        assert bogus.status_code == 422  # not an order a court makes: refused with the kinds there are
    with services.reading() as connection:
        waived = connection.execute(
            select(func.count()).select_from(t.transactions).where(t.transactions.c.kind == "waiver")
        ).scalar_one()
    assert waived == 1


def test_the_payment_provider_posts_repayments_and_reads_nothing(api: Api) -> None:  # noqa: F811
    base, services, _, borrower, loan = api
    with services.transaction() as connection:
        _, token = tokens_store.create(
            connection, role=Role.PROVIDER, borrower=None, agency=None, label="psp", now=services.clock()
        )
    with httpx.Client(base_url=base) as client:
        paid = client.post(
            f"/loans/{loan}/repayments",
            json={"amount": "5.00", "value_date": "2026-06-25"},
            headers=_auth(token, "psp-1"),
        )
        assert paid.status_code == 201, paid.text
        for path in (f"/borrowers/{borrower}", f"/loans/{loan}/hardship-plans", "/approvals"):
            assert client.get(path, headers=_auth(token)).status_code == 403, path
        standing = client.get(f"/borrowers/{borrower}/standing", params={"date": "2026-06-25"}, headers=_auth(token))
        assert standing.status_code == 403


def test_every_write_posts_once_per_key(api: Api) -> None:  # noqa: F811
    """A client retrying with the same Idempotency-Key gets the first answer and nothing more is written; a write
    without a key is refused."""
    base, services, tokens, _, loan = api
    writes = {
        "/hardship-requests": {"reason": "收入中断"},
        "/waivers": {"component": "penalty", "amount": "0.01", "value_date": "2026-06-25"},
        "/promises": {"amount": "10.00", "due": "2026-06-30"},
        "/contacts": {"channel": "voice_call", "at": "2026-06-25T10:00:00+08:00", "outcome": "promised"},
    }
    with httpx.Client(base_url=base) as client:
        for path, body in writes.items():
            headers = _auth(tokens["admin"], f"retry{path}")
            first = client.post(f"/loans/{loan}{path}", json=body, headers=headers)
            again = client.post(f"/loans/{loan}{path}", json=body, headers=headers)
            assert first.status_code == 201 and again.json() == first.json(), (path, first.text)
            keyless = client.post(
                f"/loans/{loan}{path}", json=body, headers={"Authorization": f"Bearer {tokens['admin']}"}
            )
            assert keyless.status_code == 422, path
    with services.reading() as connection:
        counts = [
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (t.hardship_plans, t.approvals, t.promises, t.contacts)
        ]
    assert counts == [1, 1, 1, 1]
