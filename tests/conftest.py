"""Shared test fixtures: where the repository, the scenarios and the shared contracts are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios"
SAMPLE_PRODUCT = ROOT / "products" / "cn-microcredit.toml"


def run_cli(*args: str, db: Path, business_date: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``arrears ARGS`` in a real subprocess on the SQLite store ``db`` at ``business_date``."""
    environment = {
        **os.environ,
        "ARREARS_DATABASE_URL": f"sqlite:///{db}",
        "ARREARS_BUSINESS_DATE": business_date,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "arrears.entrypoints.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=300,
        check=False,
    )


def store_with_a_loan(tmp_path: Path) -> tuple[Path, Any]:
    """A SQLite store holding borrower 1, line 1 on the sample product and loan 1 (2,500.00 over 5 terms from
    2026-05-15: the ageing scenario's terms), and ``arrears(*args, on=DATE)`` to run commands on it."""
    db = tmp_path / "store.db"

    def arrears(*args: str, on: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, db=db, business_date=on)

    for step in (
        ("borrower", "add", "--name", "张三", "--phone", "13800138000"),
        ("line", "open", "--borrower", "1", "--product", str(SAMPLE_PRODUCT), "--limit", "20000"),
        ("draw", "1", "--amount", "2500", "--terms", "5", "--date", "2026-05-15", "--key", "d-1"),
    ):
        done = arrears(*step, on="2026-05-15")
        assert done.returncode == 0, done.stderr
    return db, arrears


def shared_dir() -> Path:
    """shared/ sits beside the repository (../shared) for developers and CI; ARREARS_SHARED overrides it."""
    return Path(os.environ.get("ARREARS_SHARED", ROOT.parent / "shared"))


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

PG_ADMIN_URL = os.environ.get("ARREARS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


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


@dataclass(frozen=True)
class OneLoan:
    """A store holding one borrower, one line and one loan drawn on 2026-05-15 (first due 2026-06-15), and the
    services to run it (no business date pinned: day-ends and plans set their own days)."""

    services: Any
    borrower: int
    line: int
    loan: int


def one_loan(
    url: str,
    product: Path = SAMPLE_PRODUCT,
    *,
    amount: int = 250_000,
    name: str = "张三",
    phone: str = "13800138000",
    timezone: str = "Asia/Shanghai",
    language: str = "zh",
) -> OneLoan:
    from arrears.adapters.database import make_engine
    from arrears.config import Settings
    from arrears.domain.product import load_product
    from arrears.service_layer.services import Services

    setup = Services(make_engine(url), Settings(database_url=url, business_date=date(2026, 5, 15)), origin="test")
    borrower = setup.add_borrower(name=name, phone=phone, timezone=timezone, language=language)
    line = setup.open_line(borrower_id=borrower, product=load_product(product), limit=2_000_000)
    loan = setup.draw(line_id=line, amount=amount, terms=5, start=date(2026, 5, 15), key="d")
    setup.engine.dispose()
    return OneLoan(Services(make_engine(url), Settings(database_url=url), origin="test"), borrower, line, loan)


def known_agency(services: Any, name: str) -> None:
    """``name`` as an agency the lender works with (it holds a token): contacts and promises may name it."""
    from arrears.access import Role
    from arrears.adapters import tokens_store

    with services.transaction() as connection:
        tokens_store.create(
            connection, role=Role.AGENCY, borrower=None, agency=name, label="test", now=services.clock()
        )
