"""The console and the borrower page as people use them, in a real browser: Playwright driving Debian's
Chromium (``/usr/bin/chromium``, headless, ``--no-sandbox``; never a downloaded browser), against the app served
by uvicorn on SQLite and PostgreSQL.

The store (tests.support.stores.two_loans_day_ended): one borrower, two loans on one line of the sample product,
day-ended through 2026-06-24, 9 days past due, so the product's ``suspend_drawdown`` restriction is in force on
the business date 2026-06-25, and the day is planned. Screenshots go to ``$ARREARS_TEST_ARTIFACTS``
(default ``test-artifacts/``). When Chromium is missing the set-up installs Debian's package; under CI=true a
browser that is still missing fails the run, never skips it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from arrears.access import Role
from arrears.adapters import tables as t
from arrears.adapters import tokens_store
from arrears.service_layer.collections import plan_day
from arrears.service_layer.services import Services
from tests.support.api import running
from tests.support.browser import browser as browser  # Chromium for this module, a fixture
from tests.support.paths import STRATEGY
from tests.support.stores import two_loans_day_ended as _store

ARTIFACTS = Path(os.environ.get("ARREARS_TEST_ARTIFACTS", "test-artifacts"))
WIDTHS = (390, 1280)


class Site:
    """The served app, its store, a token per person, and a fresh browser context per person."""

    def __init__(self, base: str, services: Services, borrower: int, loan: int, browser: Any, name: str) -> None:
        self.base, self.services, self.borrower, self.loan = base, services, borrower, loan
        self.browser, self.name = browser, name
        self.tokens: dict[str, str] = {}
        with services.transaction() as connection:
            for who, role, whose in (
                ("borrower", Role.BORROWER, borrower),
                ("collector", Role.COLLECTOR, None),
                ("supervisor", Role.SUPERVISOR, None),
                ("supervisor2", Role.SUPERVISOR, None),
                ("compliance", Role.COMPLIANCE, None),
            ):
                _, self.tokens[who] = tokens_store.create(
                    connection, role=role, borrower=whose, agency=None, label=who, now=services.clock()
                )

    def page(self, who: str, width: int = 1280) -> Any:
        """A new browser context (its own cookies) signed in as ``who``."""
        context = self.browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(f"{self.base}/sign-in")
        page.fill("#token", self.tokens[who])
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    def shot(self, page: Any, label: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{self.name}-{label}.png"), full_page=True)

    def count(self, table: Any, *where: Any) -> int:
        with self.services.reading() as connection:
            return int(connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


@pytest.fixture
def site(new_database: Callable[[], str], browser: Any, request: pytest.FixtureRequest) -> Iterator[Site]:
    services, borrower, loan = _store(new_database())
    plan_day(services, date(2026, 6, 25), STRATEGY)
    with running(services) as base:
        name = request.node.name.replace("[", "-").replace("]", "")
        yield Site(base, services, borrower, loan, browser, name)


def test_a_collector_sees_the_queue_and_records_a_promise_to_pay(site: Site) -> None:
    page = site.page("collector")
    assert page.url.endswith("/console/queue")
    account = page.locator(f"[data-testid=account-{site.loan}]")
    assert "542.44" in account.inner_text() and "final_notice" in account.inner_text()
    site.shot(page, "queue")
    form = page.locator(f"[data-testid=promise-{site.loan}]")
    assert form.locator("input[name=amount]").input_value() == "542.44"  # the overdue the queue names
    form.locator("input[name=by]").fill("2026-06-28")
    form.locator("button").click()
    page.wait_for_load_state()
    assert "notice=promise" in page.url and page.locator(".notice").is_visible()
    page.go_back()  # the same form sent again records nothing more
    page.locator(f"[data-testid=promise-{site.loan}] button").click()
    page.wait_for_load_state()
    assert site.count(t.promises, t.promises.c.loan_id == site.loan) == 1
    page.goto(f"{site.base}/console/loans/{site.loan}")
    promises = page.locator("[data-testid=promises]").inner_text()
    assert "542.44" in promises and "2026-06-28" in promises and "live" in promises
    site.shot(page, "account")


def test_a_supervisor_approves_a_plan_another_proposed_and_the_maker_is_refused(site: Site) -> None:
    maker = site.page("supervisor")
    maker.goto(f"{site.base}/console/loans/{site.loan}")
    proposal = maker.locator("[data-testid=propose]")
    proposal.locator("input[name=waive_penalty]").check()
    proposal.locator("button").click()
    maker.wait_for_load_state()
    assert "notice=proposed" in maker.url
    maker.goto(f"{site.base}/console/approvals")
    maker.locator("[data-testid^=plan-] button:has-text('批准')").click()
    maker.wait_for_load_state()
    assert "hardship.maker_checker" in maker.locator("[role=alert]").inner_text()
    site.shot(maker, "approval-refused")
    assert site.count(t.hardship_plans, t.hardship_plans.c.status == "approved") == 0
    checker = site.page("supervisor2")
    checker.goto(f"{site.base}/console/approvals?lang=en-US")
    checker.locator("[data-testid^=plan-] button:has-text('Approve')").click()
    checker.wait_for_load_state()
    assert "notice=approved" in checker.url
    assert site.count(t.hardship_plans, t.hardship_plans.c.status == "approved") == 1
    site.shot(checker, "approved")


def test_a_supervisor_approves_a_waiver_another_proposed_and_the_maker_is_refused(site: Site) -> None:
    maker = site.page("supervisor")
    maker.goto(f"{site.base}/console/loans/{site.loan}")
    form = maker.locator("[data-testid=propose-waiver]")
    form.locator("select[name=component]").select_option("penalty")
    form.locator("input[name=amount]").fill("0.38")
    form.locator("button").click()
    maker.wait_for_load_state()
    assert "notice=proposed" in maker.url
    maker.goto(f"{site.base}/console/approvals")
    maker.locator("[data-testid^=command-] button:has-text('批准')").click()
    maker.wait_for_load_state()
    assert "approval.maker_checker" in maker.locator("[role=alert]").inner_text()
    assert site.count(t.transactions, t.transactions.c.kind == "waiver") == 0
    checker = site.page("supervisor2")
    checker.goto(f"{site.base}/console/approvals?lang=en-US")
    checker.locator("[data-testid^=command-] button:has-text('Approve')").click()
    checker.wait_for_load_state()
    assert "notice=approved" in checker.url
    assert site.count(t.transactions, t.transactions.c.kind == "waiver") == 1
    site.shot(checker, "waiver-approved")


def test_a_borrower_pays_what_the_page_names_and_the_restriction_lifts(site: Site) -> None:
    page = site.page("borrower", width=390)
    assert page.url.endswith(f"/borrower/{site.borrower}")
    assert page.locator("[data-rule=suspend_drawdown]").is_visible()
    assert "微信" in page.locator("#not-affected").inner_text()  # the lender cannot touch WeChat/QQ
    assert page.locator("[data-testid=overdue-total]").inner_text() == "759.38"
    site.shot(page, "borrower-restricted")
    for form in page.locator("form[data-testid^=pay-]").all():  # each loan's form names its overdue
        assert form.locator("input[name=amount]").input_value() in ("542.44", "216.94")
    for loan_form in [f.get_attribute("data-testid") for f in page.locator("form[data-testid^=pay-]").all()]:
        page.locator(f"form[data-testid={loan_form}] button").click()
        page.wait_for_load_state()
        assert "notice=paid" in page.url
    assert page.locator("[data-testid=no-restrictions]").is_visible()
    assert page.locator("[data-rule=suspend_drawdown]").count() == 0
    assert page.locator("[data-testid=overdue-total]").inner_text() == "0.00"
    site.shot(page, "borrower-lifted")
    assert site.count(t.transactions, t.transactions.c.kind == "repayment") == 2


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name in ("src", "action", "srcset", "poster") or (tag == "link" and name == "href")):
                self.urls.append(value)


def test_every_page_fits_390_and_1280_wide_and_loads_nothing_from_elsewhere(site: Site) -> None:
    pages = {
        "borrower": [f"/borrower/{site.borrower}", f"/borrower/{site.borrower}?lang=en-US"],
        "collector": [
            "/console/queue",
            f"/console/loans/{site.loan}",
            "/console/strategy",
            "/console/dashboard",
            "/console/approvals",  # a 403 page: the collector may not decide plans
        ],
        "supervisor": ["/console/approvals", "/console/compliance"],
    }
    for width in WIDTHS:
        for who, paths in pages.items():
            page = site.page(who, width)
            for path in paths:
                page.goto(f"{site.base}{path}")
                fits = page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
                assert fits, (who, path, width)
                site.shot(page, f"{width}-{who}-{path.strip('/').replace('/', '-').replace('?', '-')}")
                parser = _Assets()
                parser.feed(page.content())
                off_host = [u for u in parser.urls if urlsplit(u).netloc not in ("", urlsplit(site.base).netloc)]
                assert not off_host, (path, off_host)
            page.context.close()
