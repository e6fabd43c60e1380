"""Every page and every API read, for every loan state and every role: never a 500 (issue 19).

Over the books of :mod:`tests.support.books` (a loan in every state a page must show; SQLite), in process:

- **the crawl**: each role signs in, starts from its landing pages, the account page of every loan and the
  borrower page of every borrower, and follows every same-origin link it is shown (``<a href>``, redirects;
  GETs only, no form is submitted). Every page answers 200, or 403 for what the role may not see, as the site's
  own HTML page; each borrower crawls from their own page too.
- **the API**: every GET of the app's OpenAPI document, with each real id of the books (and one id that names
  nothing), with each role's token: 200, or 403 for what the role may not see, or 404 for a missing record to the
  lender's own people; never a 500.
- **no enumeration**: a borrower or an agency is answered the same for a record that does not exist as for one
  not theirs (status and body), in the API and on the pages.
- **in a browser**: a sample of pages (each kind at least once) in Debian's Chromium at 390 and 1280 px wide.
- **a failure is still the site's page**: a 500 carries a reference, the log the traceback under it, and
  nothing of the error's text.

With ``ARREARS_LONG_TESTS=1``: the same on PostgreSQL, and with ``ARREARS_DEMO_STORE=path`` a crawl over a copy
of a demo store. ``ARREARS_CRAWL_FIGURES=path`` writes the figures (pages per role, API reads) there as JSON.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections import Counter, deque
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from arrears.access import Role
from arrears.adapters import collections_store as cs
from arrears.adapters import tables as t
from arrears.adapters import tokens_store
from arrears.adapters.database import make_engine, upgrade
from arrears.config import Settings
from arrears.entrypoints.api.app import create_app
from arrears.entrypoints.web.i18n import LANGS
from arrears.service_layer.services import Services
from tests.support.books import DAY, Books, build_books
from tests.support.browser import browser  # noqa: F401 (Chromium for this module, a fixture)
from tests.support.paths import PG_ADMIN_URL

ORIGIN = "http://testserver"
HOMES = {
    "borrower": ["/"],
    "agency": ["/", "/console/queue"],
    "collector": ["/", "/console/queue", "/console/approvals", "/console/dashboard"],
    "supervisor": ["/", "/console/queue", "/console/approvals", "/console/compliance", "/console/dashboard"],
    "compliance": ["/", "/console/queue", "/console/compliance", "/console/dashboard"],
    "admin": ["/", "/console/queue", "/console/approvals", "/console/compliance", "/console/dashboard"],
    "provider": ["/"],
}
"""Where each role starts (its home and its navigation); the crawl adds every account and borrower page."""
FIGURES: dict[str, Any] = {}


STORES = ["sqlite", "postgresql"] if os.environ.get("ARREARS_LONG_TESTS") == "1" else ["sqlite"]
"""The books on SQLite; on PostgreSQL too with ARREARS_LONG_TESTS=1 (every test of the module runs twice)."""


@pytest.fixture(scope="module", params=STORES)
def books(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Books]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('books') / 'books.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield build_books(url)
        return
    admin, template = request.getfixturevalue("pg_template")
    name = f"arrears_books_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    built = build_books(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    yield built
    built.services.engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def app(books: Books) -> Iterator[Any]:
    made = create_app(books.services)
    with TestClient(made):  # runs the lifespan: the read audit's writer
        yield made


class Links(HTMLParser):
    """The ``href`` of every ``<a>`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]


def local(href: str, page: str) -> str | None:
    """``href`` as a path (and query) on this site, or None when it leaves it. A switch back to the default
    language is the page itself (every seed is first seen in it), so each page is crawled in both languages."""
    target = urlsplit(urljoin(ORIGIN + page, href))
    if f"{target.scheme}://{target.netloc}" != ORIGIN:
        return None
    query = "" if target.query == f"lang={LANGS[0]}" else target.query
    return target.path + (f"?{query}" if query else "")


def signed_in(app: Any, token: str) -> TestClient:
    client = TestClient(app, base_url=ORIGIN, follow_redirects=False)
    response = client.post("/sign-in", data={"token": token})
    assert response.status_code == 303, response.text
    return client


def crawl(client: TestClient, seeds: list[str]) -> tuple[dict[str, int], list[str]]:
    """Visit ``seeds`` and every same-origin link and redirect reachable from them, once each: each page's
    status, and what was wrong (anything but 200, a redirect to this site, or the site's own 403 page)."""
    seen: dict[str, int] = {}
    wrong: list[str] = []
    queue = deque(seeds)
    while queue:
        path = queue.popleft()
        if path in seen:
            continue
        response = client.get(path)
        seen[path] = response.status_code
        if response.is_redirect:
            where = local(response.headers["location"], path)
            if where is None:
                wrong.append(f"{path}: redirected off the site to {response.headers['location']}")
            else:
                queue.append(where)
            continue
        page = response.text
        whole = response.headers["content-type"].startswith("text/html") and "<h1>" in page and "</html>" in page
        if (
            response.status_code not in (200, 403)
            or not whole
            or (response.status_code == 403) > ('role="alert"' in page)
        ):
            wrong.append(f"{path}: {response.status_code} {page[-300:]!r}")
            continue
        if response.status_code == 200:
            parser = Links()
            parser.feed(page)
            queue.extend(where for href in parser.hrefs if (where := local(href, path)) is not None)
    return seen, wrong


def every_record(books: Books) -> list[str]:
    return [f"/console/loans/{loan}" for loan in books.loans.values()] + [
        f"/borrower/{borrower}" for borrower in books.borrowers.values()
    ]


def test_every_page_answers_200_or_the_roles_403_for_every_role_and_loan_state(app: Any, books: Books) -> None:
    pages: dict[str, Counter[int]] = {}
    for role, token in books.tokens.items():
        seen, wrong = crawl(signed_in(app, token), HOMES[role] + every_record(books))
        assert wrong == [], (role, wrong)
        pages[role] = Counter(seen.values())
    for state, token in books.borrower_tokens.items():  # each borrower from their own page
        seen, wrong = crawl(signed_in(app, token), ["/"])
        assert wrong == [], (state, wrong)
        assert seen[f"/borrower/{books.borrowers[state]}"] == 200, state
        pages.setdefault("each borrower", Counter()).update(seen.values())
    # the crawl reached what each role works with (a crawl refused everywhere would prove nothing)
    for role in ("collector", "supervisor", "compliance", "admin"):
        assert pages[role][200] >= 2 * len(books.loans), (role, pages[role])
    assert pages["agency"][200] >= 2 and pages["each borrower"][200] >= 2 * len(books.borrowers)
    FIGURES["pages"] = {role: dict(counted) for role, counted in pages.items()}
    FIGURES["pages crawled"] = sum(sum(counted.values()) for counted in pages.values())


def test_every_api_read_answers_200_or_the_roles_refusal_for_every_real_id(app: Any, books: Books) -> None:
    client = TestClient(app, base_url=ORIGIN)
    document = client.get("/openapi.json").json()
    with books.services.reading() as connection:
        lines = list(connection.execute(select(t.credit_lines.c.id)).scalars())
    ids = {
        "loan_id": [*books.loans.values(), 999_999],
        "borrower_id": [*books.borrowers.values(), 999_999],
        "line_id": [*lines, 999_999],
        "code": ["cn-microcredit", "no-such-product"],
    }
    query = {"date": DAY.isoformat(), "from": (DAY - timedelta(days=365)).isoformat(), "to": DAY.isoformat()}
    tried: Counter[int] = Counter()
    for path, operations in document["paths"].items():
        if "get" not in operations or path == "/openapi.json":
            continue
        parameters = operations["get"].get("parameters", [])
        params = {p["name"]: query[p["name"]] for p in parameters if p["in"] == "query" and p.get("required")}
        names = [p["name"] for p in parameters if p["in"] == "path"]
        assert all(name in ids for name in names), f"{path}: give the crawl real values of {names}"
        values = [dict(zip(names, combo, strict=True)) for combo in _combinations([ids[n] for n in names])]
        for role, token in books.tokens.items():
            headers = {"Authorization": f"Bearer {token}"}
            for value in values:
                response = client.get(path.format(**value), params=params, headers=headers)
                tried[response.status_code] += 1
                missing = 999_999 in value.values()
                # a missing record: 404 to the lender's people (403 to a role that may not read it at all); the
                # published catalogue tells anyone that a product code is unknown
                allowed = {200, 403} if role in ("borrower", "agency") or not missing else {403, 404}
                if "no-such-product" in value.values():
                    allowed = {403, 404}
                assert response.status_code in allowed, (role, path, value, response.status_code, response.text)
    assert tried[200] >= len(books.loans) * 5, tried  # real reads happened, not only refusals
    FIGURES["api gets"] = dict(tried)
    FIGURES["api gets tried"] = sum(tried.values())


def _combinations(choices: list[list[Any]]) -> Iterator[tuple[Any, ...]]:
    if not choices:
        yield ()
        return
    for head in choices[0]:
        for rest in _combinations(choices[1:]):
            yield (head, *rest)


def test_a_borrower_or_agency_cannot_tell_a_missing_record_from_anothers(app: Any, books: Books) -> None:
    """Issue 19 item 9: before, a borrower got 404 for a loan that does not exist and 403 for another's."""
    api = TestClient(app, base_url=ORIGIN)
    other_loan, other_borrower = books.loans["M7"], books.borrowers["M7"]
    with books.services.reading() as connection:
        c = t.credit_lines.c
        other_line = connection.execute(select(c.id).where(c.borrower_id == other_borrower)).scalar_one()
    pairs = [
        (f"/loans/{other_loan}", "/loans/999999"),
        (f"/loans/{other_loan}/statement", "/loans/999999/statement"),
        (f"/loans/{other_loan}/explanation", "/loans/999999/explanation"),
        (f"/loans/{other_loan}/hardship-plans", "/loans/999999/hardship-plans"),
        (f"/lines/{other_line}", "/lines/999999"),
        (f"/borrowers/{other_borrower}", "/borrowers/999999"),
        (f"/borrowers/{other_borrower}/standing", "/borrowers/999999/standing"),
    ]
    for role in ("borrower", "agency"):
        headers = {"Authorization": f"Bearer {books.tokens[role]}"}
        for theirs, missing in pairs:
            one = api.get(theirs, params={"date": DAY.isoformat()}, headers=headers)
            two = api.get(missing, params={"date": DAY.isoformat()}, headers=headers)
            assert (one.status_code, one.json()) == (two.status_code, two.json()), (role, theirs, one.text, two.text)
            assert one.status_code == 403, (role, theirs)
        body = {"amount": "1.00", "value_date": DAY.isoformat()}
        posted = [
            api.post(f"/loans/{loan}/repayments", json=body, headers={**headers, "Idempotency-Key": f"probe-{loan}"})
            for loan in (other_loan, 999_999)
        ]
        assert posted[0].status_code == posted[1].status_code == 403 and posted[0].json() == posted[1].json()
    staff = {"Authorization": f"Bearer {books.tokens['collector']}"}
    assert api.get("/loans/999999", params={"date": DAY.isoformat()}, headers=staff).status_code == 404
    page = signed_in(app, books.tokens["borrower"])
    for theirs, missing in (
        (f"/borrower/{other_borrower}", "/borrower/999999"),
        (f"/console/loans/{other_loan}", "/console/loans/999999"),
    ):
        one, two = page.get(theirs), page.get(missing)
        assert one.status_code == two.status_code == 403, (theirs, one.status_code, two.status_code)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.get(f"/borrower/{books.overdue_borrower}").text)
    assert csrf is not None
    answers = [
        page.post(f"/borrower/loans/{loan}/repayments", data={"csrf": csrf.group(1), "key": "k", "amount": "1.00"})
        for loan in (other_loan, 999_999)
    ]
    assert answers[0].status_code == answers[1].status_code == 403
    assert _alert(answers[0].text) == _alert(answers[1].text)
    agency = signed_in(app, books.tokens["agency"])
    unplaced = next(loan for loan in books.loans.values() if loan not in books.placed)
    one, two = agency.get(f"/console/loans/{unplaced}"), agency.get("/console/loans/999999")
    assert one.status_code == two.status_code == 403 and _alert(one.text) == _alert(two.text)


def _alert(page: str) -> str:
    found = re.search(r'role="alert">([^<]*)<', page)
    assert found is not None, page[-300:]
    return found.group(1)


def test_a_failure_is_the_sites_page_with_a_reference_and_the_log_has_the_traceback(
    app: Any, books: Books, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug (here: the explanation raising, its text holding a name and a phone number) is a 500 that is still
    the site's page (the header, the sign-out form) with a reference; the API's is JSON with the same kind of
    reference; the log holds the traceback under each reference; neither answer holds the error's text."""
    secret = "张三 13800138000"

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError(f"a bug that quotes {secret}")

    monkeypatch.setattr(books.services, "explain_loan", broken)
    loan = books.loans["M3"]
    page = signed_in(app, books.tokens["collector"])
    with caplog.at_level(logging.ERROR, logger="arrears.failures"):
        shown = page.get(f"/console/loans/{loan}")
        api = TestClient(app, base_url=ORIGIN, raise_server_exceptions=False)
        headers = {"Authorization": f"Bearer {books.tokens['collector']}"}
        answered = api.get(f"/loans/{loan}/explanation", params={"date": DAY.isoformat()}, headers=headers)
    assert shown.status_code == 500 and shown.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/sign-out">' in shown.text and 'role="alert"' in shown.text
    reference = re.search(r'data-testid="reference">([0-9a-f]{12})<', shown.text)
    assert reference is not None and secret not in shown.text and "RuntimeError" not in shown.text
    assert answered.status_code == 500 and secret not in answered.text
    references = [reference.group(1), answered.json()["reference"]]
    assert references[1] in answered.json()["error"]
    for ref in references:
        [record] = [r for r in caplog.records if ref in r.getMessage()]
        assert record.exc_info is not None and secret in str(record.exc_info[1])


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    if FIGURES and (where := os.environ.get("ARREARS_CRAWL_FIGURES")):
        Path(where).write_text(json.dumps(FIGURES, indent=2), encoding="utf-8")


BROWSER_SAMPLE = {
    "collector": [
        "/console/queue",
        "/console/loans/{M3}",  # overdue, placed with an agency
        "/console/loans/{on_time}",  # nothing charged but interest: an explanation without penalty lines
        "/console/loans/{reschedule}",  # under a plan
        "/console/loans/{written_off}",
        "/console/loans/{legal_case}",
        "/console/strategy",
        "/console/dashboard",
        "/borrower/{court_order}",
        "/console/approvals",  # the error page: a collector may not decide
    ],
    "supervisor": ["/console/approvals", "/console/compliance"],
    "borrower": ["/borrower/{M2}", "/borrower/{M2}?lang=en-US", "/sign-in"],
}
"""Each kind of page at least once, in the states most likely to break a layout."""


@pytest.fixture(scope="module")
def served(books: Books) -> Iterator[str]:
    from tests.support.api import running

    with running(books.services) as base:
        yield base


def test_a_sample_of_pages_renders_in_chromium_at_390_and_1280_wide(
    served: str,
    books: Books,
    browser: Any,  # noqa: F811
) -> None:
    """Debian's Chromium against the served app: each page answers 200 (403 for the one the role may not open),
    shows its heading, and at 390 px needs no sideways scrolling (wide tables scroll inside their box)."""
    shown: Counter[int] = Counter()
    for width in (390, 1280):
        for role, paths in BROWSER_SAMPLE.items():
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            page.goto(f"{served}/sign-in")
            page.fill("#token", books.tokens[role])
            page.click("button[type=submit]")
            page.wait_for_load_state()
            for path in paths:
                url = path.format(**(books.borrowers if path.startswith("/borrower/") else books.loans))
                response = page.goto(f"{served}{url}")
                assert response is not None
                expected = 403 if (role, path) == ("collector", "/console/approvals") else 200
                assert response.status == expected, (role, url, width, response.status)
                assert page.locator("h1").first.is_visible(), (role, url, width)
                fits = page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
                assert fits, (role, url, width)
                shown[width] += 1
            context.close()
    assert shown[390] == shown[1280] == sum(len(paths) for paths in BROWSER_SAMPLE.values())
    FIGURES["browser pages"] = dict(shown)


DEMO_STORE = os.environ.get("ARREARS_DEMO_STORE", "")
"""A demo store (``make demo`` writes one; never written to: the test crawls a copy)."""


@pytest.mark.skipif(
    os.environ.get("ARREARS_LONG_TESTS") != "1" or not DEMO_STORE,
    reason="opt-in: ARREARS_LONG_TESTS=1 ARREARS_DEMO_STORE=path/to/arrears.db (a demo store, copied)",
)
def test_the_demo_store_crawls_without_a_failure(tmp_path: Path) -> None:
    """The crawl over a copy of a demo store: every role from its landing pages, and a collector over the account
    and borrower pages of every 10th loan (the whole store, 3,000 loans, takes minutes: issue 19's manual check)."""
    copy = tmp_path / "demo.db"
    shutil.copyfile(DEMO_STORE, copy)
    url = f"sqlite:///{copy}"
    services = Services(make_engine(url), Settings(database_url=url))
    with services.transaction() as connection:
        loans = list(connection.execute(select(t.loans.c.id, t.loans.c.borrower_id).order_by(t.loans.c.id)))
        agency = next(iter(cs.open_placements(connection).values())).agency
        tokens = {
            role.value: tokens_store.create(
                connection,
                role=role,
                borrower=loans[0].borrower_id if role is Role.BORROWER else None,
                agency=agency if role is Role.AGENCY else None,
                label=f"crawl {role}",
                now=services.clock(),
            )[1]
            for role in Role
        }
    sample = [f"/console/loans/{row.id}" for row in loans[::10]] + [
        f"/borrower/{row.borrower_id}" for row in loans[::10]
    ]
    app = create_app(services)
    pages: Counter[int] = Counter()
    with TestClient(app):
        for role, token in tokens.items():
            seen, wrong = crawl(signed_in(app, token), HOMES[role] + (sample if role == "collector" else []))
            assert wrong == [], (role, wrong[:5])
            pages.update(seen.values())
    assert pages[200] >= len(sample)
    FIGURES["demo pages"] = dict(pages)
