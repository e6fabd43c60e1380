"""The root fixtures, for every tier: the shared contracts (JSON Schemas), and the databases (a fresh migrated store
on SQLite or PostgreSQL, copied from a migrated PostgreSQL template). Helpers the tests share live in tests/support/.

The tiers: tests/unit/ (the rules, pure), tests/integration/ (the store, datasets, Spark, channels, the day-end under
traffic) and tests/e2e/ (the API, the pages, the browser, the crawl, the CLI as a subprocess)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import PG_ADMIN_URL, shared_dir


@pytest.fixture(scope="session")
def contract() -> Any:
    """Load a JSON Schema from shared/contracts by name; under CI a missing contract fails, never skips."""
    import jsonschema

    def load(name: str) -> jsonschema.Draft202012Validator:
        path = shared_dir() / "contracts" / f"{name}.schema.json"
        if not path.exists():
            if os.environ.get("CI") == "true":
                pytest.fail(f"contract {path} is missing: CI must have shared/ beside the clone")
            pytest.skip(f"contract {path} not found (set ARREARS_SHARED to the shared/ folder)")
        schema = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        return jsonschema.Draft202012Validator(schema)

    return load


# -- databases: the same tests run on the embedded SQLite default and on PostgreSQL -------------------------------


def _pg_admin() -> Any:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
    except OperationalError as error:
        engine.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} and CI=true: {error.orig}")
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    return engine


@pytest.fixture(scope="session")
def pg_template() -> Any:
    """A migrated PostgreSQL database that each test copies (CREATE DATABASE ... TEMPLATE), then drops."""
    from sqlalchemy import text

    from arrears.adapters.database import make_engine, upgrade

    admin = _pg_admin()
    name = f"arrears_template_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    upgrade(engine)
    engine.dispose()
    yield admin, name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


_counter = iter(range(1_000_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A factory of fresh, migrated, empty stores of one kind; every store test runs on SQLite and PostgreSQL."""
    from sqlalchemy import text

    from arrears.adapters.database import make_engine, upgrade

    created: list[str] = []
    if request.param == "sqlite":

        def make() -> str:
            url = f"sqlite:///{tmp_path / f'arrears-{next(_counter)}.db'}"
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            return url

        yield make
        return
    admin, template = request.getfixturevalue("pg_template")

    def make_pg() -> str:
        name = f"arrears_test_{os.getpid()}_{next(_counter)}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        created.append(name)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    yield make_pg
    with admin.connect() as connection:
        for name in created:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(new_database: Any) -> str:
    return str(new_database())
