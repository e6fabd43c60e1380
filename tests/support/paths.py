"""Where things are: the repository, the scenario files, the sample product and strategy, shared/ and the test
PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository's root (the folder holding pyproject.toml)."""

SCENARIOS = ROOT / "tests" / "scenarios"
"""The hand-checked scenario files (a loan, its payments and the state expected on dates)."""

SAMPLE_PRODUCT = ROOT / "products" / "cn-microcredit.toml"
"""The sample product: a cn micro-credit line, 5 monthly installments."""

STRATEGY = ROOT / "strategies" / "cn-default.toml"
"""The sample cn collection strategy."""

PG_ADMIN_URL = os.environ.get("ARREARS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
"""The PostgreSQL the tests create their databases on (127.0.0.1:5432 unless ARREARS_TEST_PG_URL says otherwise)."""


def shared_dir() -> Path:
    """shared/ sits beside the repository (../shared) for developers and CI; ARREARS_SHARED overrides it."""
    return Path(os.environ.get("ARREARS_SHARED", ROOT.parent / "shared"))
