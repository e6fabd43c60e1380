"""The REST API as a client meets it: the app served by uvicorn on a free port of 127.0.0.1, and the ``api``
fixture (a served store with a token per role)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
import uvicorn

from arrears.access import Role
from arrears.adapters import tables as t
from arrears.adapters import tokens_store
from arrears.entrypoints.api.app import create_app
from arrears.service_layer.collections import plan_day
from arrears.service_layer.services import Services
from tests.support.paths import STRATEGY
from tests.support.stores import two_loans_day_ended

Api = tuple[str, Services, dict[str, str], int, int]
"""What the ``api`` fixture gives: the base URL, the services, a token by name, the borrower and the first loan."""

app_of: dict[str, Any] = {}
"""Each running server's app, by its base URL (a test reaches into the app it is talking to)."""


@contextmanager
def running(services: Services) -> Iterator[str]:
    """The app served by uvicorn on a free port of 127.0.0.1, in a thread; its base URL."""
    app = create_app(services)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.01)  # start-up, not a timing assertion
    port = server.servers[0].sockets[0].getsockname()[1]
    app_of[f"http://127.0.0.1:{port}"] = app
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


def tokens_per_role(services: Services, borrower: int) -> dict[str, str]:
    """A token for each role, by name: ``own`` (the borrower's), ``other`` (the next borrower's), ``agency``
    (huaxia-collect), ``collector``, ``supervisor``, ``compliance``, ``admin``, ``provider``, and ``revoked``."""
    made = {}
    with services.transaction() as connection:
        for name, role, whose, agency in (
            ("own", Role.BORROWER, borrower, None),
            ("other", Role.BORROWER, borrower + 1, None),
            ("agency", Role.AGENCY, None, "huaxia-collect"),
            ("collector", Role.COLLECTOR, None, None),
            ("supervisor", Role.SUPERVISOR, None, None),
            ("compliance", Role.COMPLIANCE, None, None),
            ("admin", Role.ADMIN, None, None),
            ("provider", Role.PROVIDER, None, None),
        ):
            _, token = tokens_store.create(
                connection, role=role, borrower=whose, agency=agency, label=name, now=services.clock()
            )
            made[name] = token
        revoked_id, made["revoked"] = tokens_store.create(
            connection, role=Role.ADMIN, borrower=None, agency=None, label="gone", now=services.clock()
        )
        tokens_store.revoke(connection, revoked_id, services.clock())
    return made


@pytest.fixture
def api(new_database: Callable[[], str]) -> Iterator[Api]:
    """A served store (two loans 9 days past due, the day of 2026-06-25 planned, a second borrower) and a token per
    role (:func:`tokens_per_role`)."""
    url = new_database()
    services, borrower, loan = two_loans_day_ended(url)  # day-ended through 2026-06-24, two loans 9 days past due
    plan_day(services, date(2026, 6, 25), STRATEGY)
    with services.transaction() as connection:  # a second borrower, whose token must not open the first's data
        connection.execute(t.borrowers.insert().values(name="李四", phone="13900139000", timezone="Asia/Shanghai",
                                                        language="zh", created_at=services.clock()))  # fmt: skip
    with running(services) as base:
        yield base, services, tokens_per_role(services, borrower), borrower, loan
