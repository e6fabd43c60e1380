"""Scenario files under tests/scenarios/: a loan, its payments, and the state expected on dates.

Each file reads like a statement and was checked by hand (the arithmetic is in its "description"). Expected
states may be subsets of the ``simulate --json`` output: every key given must match exactly; installments
are matched by number.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from arrears.domain.engine import replay
from arrears.domain.payoff import payoff
from arrears.domain.scenario import load_scenario
from arrears.domain.views import payoff_view, state_view
from tests.support.paths import SCENARIOS

SCENARIO_FILES = sorted(SCENARIOS.glob("*.json"))


def _assert_subset(expected: dict[str, Any], actual: dict[str, Any], where: str) -> None:
    for key, value in expected.items():
        assert key in actual, f"{where}: no field {key!r}"
        if key == "installments":
            by_number = {row["number"]: row for row in actual[key]}
            for row in value:
                _assert_subset(row, by_number[row["number"]], f"{where} installment {row['number']}")
        elif isinstance(value, dict):
            _assert_subset(value, actual[key], f"{where}.{key}")
        else:
            assert actual[key] == value, f"{where}.{key}: expected {value!r}, got {actual[key]!r}"


def test_there_are_scenarios() -> None:
    assert len(SCENARIO_FILES) >= 10


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_scenario(path: Path) -> None:
    scenario = load_scenario(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document.get("expect") or document.get("expect_payoff"), "a scenario must expect something"
    for expected in document.get("expect", []):
        state = replay(scenario.terms, scenario.payments, date.fromisoformat(expected["as_of"]))
        _assert_subset(expected, state_view(state), f"{path.name} as of {expected['as_of']}")
    for expected in document.get("expect_payoff", []):
        result = payoff(scenario.terms, scenario.payments, date.fromisoformat(expected["on"]))
        assert payoff_view(result) == expected, f"{path.name} payoff on {expected['on']}"


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_scenario_files_follow_the_contract(path: Path, contract: Any) -> None:
    contract("scenario").validate(json.loads(path.read_text(encoding="utf-8")))
