"""The pages' rules over real HTTP, without a browser: signing in sets an HttpOnly, SameSite=Strict cookie; a
form without its session's CSRF token, or sent from another site, is refused and changes nothing; a role that
may not gets a readable 403 page (never the API's JSON, never a 500); bad input is a 4xx page; reads of
personal data are audited; the language follows ?lang= and stays; a pasted strategy shows its violations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import httpx
import pytest
from sqlalchemy import func, select

from arrears.access import Role
from arrears.adapters import tables as t
from arrears.adapters import tokens_store
from arrears.service_layer.collections import plan_day
from arrears.service_layer.services import Services
from tests.support.api import app_of, running
from tests.support.paths import STRATEGY
from tests.support.stores import two_loans_day_ended as _store
from tests.support.web import csrf_and_key, signed_in


@pytest.fixture
def served(new_database: Callable[[], str]) -> Iterator[tuple[str, Services, dict[str, str], int, int]]:
    services, borrower, loan = _store(new_database())
    plan_day(services, date(2026, 6, 25), STRATEGY)
    tokens = {}
    with services.transaction() as connection:  # a second borrower, whose token must not open the first's pages
        connection.execute(t.borrowers.insert().values(name="李四", phone="13900139000", timezone="Asia/Shanghai",
                                                        language="zh", created_at=services.clock()))  # fmt: skip
        for who, role, whose, agency in (
            ("borrower", Role.BORROWER, borrower, None),
            ("other", Role.BORROWER, borrower + 1, None),
            ("agency", Role.AGENCY, None, "huaxia-collect"),
            ("collector", Role.COLLECTOR, None, None),
            ("compliance", Role.COMPLIANCE, None, None),
        ):
            _, tokens[who] = tokens_store.create(
                connection, role=role, borrower=whose, agency=agency, label=who, now=services.clock()
            )
    with running(services) as base:
        yield base, services, tokens, borrower, loan


def count(services: Services, table: t.Table) -> int:
    with services.reading() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_sign_in_refuses_a_bad_token_and_pages_need_a_session(
    served: tuple[str, Services, dict[str, str], int, int],
) -> None:
    base, _, _, borrower, _ = served
    with httpx.Client(base_url=base) as client:
        assert client.post("/sign-in", data={"token": "nonsense"}).status_code == 401
        away = client.get(f"/borrower/{borrower}")
        assert away.status_code == 303 and away.headers["location"] == f"/sign-in?next=/borrower/{borrower}"
        assert client.post("/sign-in", data={"token": "x", "next": "//evil.example/"}).status_code == 401


def test_forms_need_the_session_csrf_token_and_this_site_as_origin(
    served: tuple[str, Services, dict[str, str], int, int],
) -> None:
    base, services, tokens, borrower, loan = served
    with signed_in(base, tokens["borrower"]) as client:
        csrf, key = csrf_and_key(client.get(f"/borrower/{borrower}").text)
        before = count(services, t.transactions)
        path = f"/borrower/loans/{loan}/repayments"
        missing = client.post(path, data={"amount": "1.00", "key": key})
        assert missing.status_code == 403 and "session check" in missing.text
        elsewhere = client.post(
            path, data={"amount": "1.00", "key": key, "csrf": csrf}, headers={"Origin": "https://evil.example"}
        )
        assert elsewhere.status_code == 403
        assert count(services, t.transactions) == before
        paid = client.post(path, data={"amount": "1.00", "key": key, "csrf": csrf})
        again = client.post(path, data={"amount": "1.00", "key": key, "csrf": csrf})
        assert paid.status_code == again.status_code == 303
        assert count(services, t.transactions) == before + 1  # the same form render posts once
        other = client.post(path, data={"amount": "2.00", "key": key, "csrf": csrf})
        assert other.status_code == 409


def test_roles_are_the_apis_and_refusals_are_readable_pages(
    served: tuple[str, Services, dict[str, str], int, int],
) -> None:
    base, _, tokens, borrower, loan = served
    refused = {
        "borrower": ["/console/queue", f"/console/loans/{loan}", "/console/strategy", "/console/compliance"],
        "other": [f"/borrower/{borrower}", f"/console/loans/{loan}"],
        "agency": [f"/borrower/{borrower}", f"/console/loans/{loan}", "/console/dashboard", "/console/approvals"],
        "collector": ["/console/approvals", "/console/compliance"],
        "compliance": ["/console/approvals"],
    }
    for who, paths in refused.items():
        with signed_in(base, tokens[who]) as client:
            for path in paths:
                response = client.get(path)
                assert response.status_code == 403, (who, path)
                assert response.headers["content-type"].startswith("text/html")
                assert 'role="alert"' in response.text
    with signed_in(base, tokens["compliance"]) as client:
        assert client.get("/console/compliance").status_code == 200
        csrf, _ = csrf_and_key(client.get(f"/console/loans/{loan}").text + 'name="key" value="k"')
        write = client.post(
            f"/console/loans/{loan}/promises", data={"csrf": csrf, "amount": "1.00", "by": "2026-06-28"}
        )
        assert write.status_code == 403  # compliance reads, never writes


def test_bad_input_is_a_4xx_page_never_a_500(served: tuple[str, Services, dict[str, str], int, int]) -> None:
    base, _, tokens, _, loan = served
    with signed_in(base, tokens["collector"]) as client:
        assert client.get("/console/loans/0").status_code == 422
        assert client.get("/console/loans/999999").status_code == 404
        assert client.get("/console/loans/abc").status_code == 422
        assert client.get("/console/queue?on=tomorrow").status_code == 422
        unplanned = client.get("/console/queue?on=2026-06-20")
        assert unplanned.status_code == 200 and "not planned" in unplanned.text
        csrf, key = csrf_and_key(client.get(f"/console/loans/{loan}").text)
        for fields in (
            {"amount": "1.005", "by": "2026-06-28"},
            {"amount": "1.00", "by": "someday"},
            {"amount": "1.00", "by": "2026-06-28\x00"},  # PostgreSQL refuses NUL in text: never sent there
        ):
            response = client.post(f"/console/loans/{loan}/promises", data={**fields, "csrf": csrf, "key": key})
            assert response.status_code == 422, response.text
        assert "control character (U+0000)" in response.text


def test_language_reads_are_audited_and_a_strategy_shows_its_violations(
    served: tuple[str, Services, dict[str, str], int, int],
) -> None:
    base, services, tokens, borrower, _ = served
    with signed_in(base, tokens["borrower"]) as client:
        assert "不受影响" in client.get(f"/borrower/{borrower}").text  # zh-CN by default
        assert "Not affected" in client.get(f"/borrower/{borrower}?lang=en-US").text
        assert "Not affected" in client.get(f"/borrower/{borrower}").text  # the choice is kept
    app_of[base].state.read_audit.flush()  # what is queued, written now (the writer does it every second)
    with services.reading() as connection:
        actions = set(connection.execute(select(t.audit_log.c.action)).scalars())
    assert {"borrower.standing", "loan.read", "loan.explanation"} <= actions
    with signed_in(base, tokens["collector"]) as client:
        csrf, _ = csrf_and_key(client.get("/console/strategy").text + 'name="key" value="k"')
        lawful = client.post("/console/strategy", data={"csrf": csrf, "strategy": STRATEGY.read_text()})
        assert "cn" in lawful.text and 'class="ok"' in lawful.text
        unlawful = STRATEGY.read_text().replace('"sms"', '"wechat_friends_broadcast"', 1)
        checked = client.post("/console/strategy", data={"csrf": csrf, "strategy": unlawful})
        assert checked.status_code == 200 and "wechat_friends_broadcast" in checked.text
        broken = client.post("/console/strategy", data={"csrf": csrf, "strategy": "[[["})
        assert broken.status_code == 200 and "TOML" in broken.text


def test_a_form_sent_to_two_server_processes_records_once(
    served: tuple[str, Services, dict[str, str], int, int],
) -> None:
    """Each process remembers the forms it handled only for itself (Site.once); the form's key goes to the
    service layer too, so the same form reaching another process (``arrears serve --workers 2``) records nothing
    more: a promise, a contact, a borrower's hardship request."""
    base, services, tokens, borrower, loan = served
    with running(services) as second:  # another process's app: its own memory of forms, the same store
        with signed_in(base, tokens["collector"]) as one, signed_in(second, tokens["collector"]) as two:
            csrf_one, key = csrf_and_key(one.get(f"/console/loans/{loan}").text)
            csrf_two, _ = csrf_and_key(two.get(f"/console/loans/{loan}").text)
            promise = {"amount": "300.00", "by": "2026-06-28", "key": key}
            before = count(services, t.promises)
            assert one.post(f"/console/loans/{loan}/promises", data={**promise, "csrf": csrf_one}).status_code == 303
            assert two.post(f"/console/loans/{loan}/promises", data={**promise, "csrf": csrf_two}).status_code == 303
            assert count(services, t.promises) == before + 1
            contact = {"channel": "voice_call", "outcome": "connected", "key": key + "c"}
            before = count(services, t.contacts)
            assert one.post(f"/console/loans/{loan}/contacts", data={**contact, "csrf": csrf_one}).status_code == 303
            again = two.post(f"/console/loans/{loan}/contacts", data={**contact, "csrf": csrf_two})
            assert again.status_code in (303, 409)  # a contact's time is when it is sent: a replay or "sent already"
            assert count(services, t.contacts) == before + 1
        with signed_in(base, tokens["borrower"]) as one, signed_in(second, tokens["borrower"]) as two:
            csrf_one, key = csrf_and_key(one.get(f"/borrower/{borrower}").text)
            csrf_two, _ = csrf_and_key(two.get(f"/borrower/{borrower}").text)
            ask = {"reason": "lost my job", "key": key + "h"}
            before = count(services, t.hardship_plans)
            assert (
                one.post(f"/borrower/loans/{loan}/hardship-requests", data={**ask, "csrf": csrf_one}).status_code == 303
            )
            assert (
                two.post(f"/borrower/loans/{loan}/hardship-requests", data={**ask, "csrf": csrf_two}).status_code == 303
            )
            assert count(services, t.hardship_plans) == before + 1
