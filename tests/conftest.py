"""Shared test fixtures: where the repository, the scenarios and the shared contracts are."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios"
SAMPLE_PRODUCT = ROOT / "products" / "cn-microcredit.toml"


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
