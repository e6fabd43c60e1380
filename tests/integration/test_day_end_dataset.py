"""``arrears eod run`` over a Parquet dataset: the CLI contract, exactly once, resumable after a kill,
quarantine, and ``portfolio generate``."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from arrears.adapters.database import make_engine, upgrade
from arrears.adapters.dataset import Dataset, create
from arrears.config import Settings
from arrears.day_end.columns import opening_state
from arrears.domain.scenario import load_scenario
from arrears.domain.views import state_view
from arrears.entrypoints.cli.main import main
from arrears.service_layer.datasets import dataset_from_scenarios, generate_dataset
from arrears.service_layer.day_end import dataset_loan_state, run_dataset
from arrears.service_layer.portfolio import import_portfolio
from arrears.service_layer.services import Services
from tests.support.datasets import dataset_everything as _everything
from tests.support.datasets import dataset_ledger as _ledger
from tests.support.datasets import dataset_outputs as _outputs
from tests.support.datasets import dataset_state as _state
from tests.support.paths import ROOT, SCENARIOS

THROUGH = "2026-09-30"


def arrears(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The CLI in-process: exit status, stdout, stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


@pytest.fixture
def scenario_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "ds"
    files = [str(path) for path in sorted(SCENARIOS.glob("*.json"))]
    status, _, err = arrears("portfolio", "import", *files, "--out", str(out), capsys=capsys)
    assert status == 0, err
    return out


def test_loan_show_from_the_dataset_equals_simulate(
    scenario_dataset: Path, capsys: pytest.CaptureFixture[str], contract: Any
) -> None:
    """The issue's contract: after `eod run --through D`, `loan show ID --dataset DIR --json` equals
    `simulate SCENARIO --as-of D --json` for every loan."""
    status, out, err = arrears("eod", "run", "--dataset", str(scenario_dataset), "--through", THROUGH, capsys=capsys)
    assert status == 0, err
    assert "closed 2026-01-31 .. 2026-09-30" in out
    for path in sorted(SCENARIOS.glob("*.json")):
        status, shown, err = arrears(
            "loan", "show", path.stem, "--dataset", str(scenario_dataset), "--json", capsys=capsys
        )
        assert status == 0, err
        status, simulated, _ = arrears("simulate", str(path), "--as-of", THROUGH, "--json", capsys=capsys)
        assert json.loads(shown) == json.loads(simulated), path.stem
        contract("simulate").validate(json.loads(shown))


def test_running_again_changes_nothing(scenario_dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arrears("eod", "run", "--dataset", str(scenario_dataset), "--through", THROUGH, capsys=capsys)
    before = _snapshot(scenario_dataset)
    status, out, _ = arrears("eod", "run", "--dataset", str(scenario_dataset), "--through", THROUGH, capsys=capsys)
    assert status == 0 and "nothing to do" in out
    status, out, _ = arrears("eod", "run", "--dataset", str(scenario_dataset), "--date", "2026-09-01", capsys=capsys)
    assert status == 0 and "nothing to do" in out
    assert _snapshot(scenario_dataset) == before


def test_a_day_is_never_skipped(scenario_dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arrears("eod", "run", "--dataset", str(scenario_dataset), "--through", "2026-06-30", capsys=capsys)
    before = _snapshot(scenario_dataset)
    status, _, err = arrears("eod", "run", "--dataset", str(scenario_dataset), "--date", "2026-07-02", capsys=capsys)
    assert status == 2
    assert "would skip 2026-07-01" in err and "--through 2026-07-02" in err
    assert _snapshot(scenario_dataset) == before
    status, _, err = arrears("eod", "run", "--dataset", str(scenario_dataset), "--date", "2026-07-01", capsys=capsys)
    assert status == 0, err
    assert Dataset(scenario_dataset).manifest().closed_through.isoformat() == "2026-07-01"


def test_catching_up_in_steps_equals_one_run(tmp_path: Path) -> None:
    """Day-ends run one by one, in steps, or all at once give the same state, events, postings and ledger."""
    files = sorted(SCENARIOS.glob("*.json"))
    whole, steps = tmp_path / "whole", tmp_path / "steps"
    for out in (whole, steps):
        dataset_from_scenarios(files, out)

    run_dataset(whole, through=date(2026, 9, 30))
    run_dataset(steps, through=date(2026, 6, 14))
    run_dataset(steps, day=date(2026, 6, 15))
    run_dataset(steps, through=date(2026, 9, 30))
    assert _state(whole) == _state(steps)
    for kind in ("events", "postings"):
        assert _outputs(whole, kind) == _outputs(steps, kind)
    assert _ledger(whole) == _ledger(steps)


def test_every_day_of_the_general_ledger_balances(scenario_dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = arrears(
        "eod", "run", "--dataset", str(scenario_dataset), "--through", THROUGH, "--json", capsys=capsys
    )
    assert status == 0
    summary = json.loads(out)
    assert summary["days"] == 243 and summary["loans"] == 12 and summary["quarantined"] == []
    ledger = summary["general_ledger"]
    assert ledger and all(sum(day.values()) == 0 for day in ledger.values())
    postings = pa.concat_tables(pq.read_table(p) for p in scenario_dataset.glob("runs/g1/postings-part-*.parquet"))
    assert sum(postings.column("amount").to_pylist()) == 0
    assert sum(sum(day.values()) for day in ledger.values()) == 0
    assert summary["postings"] == postings.num_rows


def test_an_inconsistent_loan_is_quarantined_and_the_rest_run(
    scenario_dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A payment dated before its loan's start, 2026-05-15 (bad data that bypassed the importer) quarantines that loan
    with a structured error; every other loan closes the day; the loan is reported, never dropped silently."""
    payments_file = Dataset(scenario_dataset).payments_path(0)
    payments = pq.read_table(payments_file)
    bad = pa.table(
        {"loan_id": ["cn_ageing"], "value_date": [date(2026, 3, 1)], "amount": [100]},
        schema=payments.schema,
    )
    pq.write_table(pa.concat_tables([payments, bad]), payments_file)
    status, out, err = arrears(
        "eod", "run", "--dataset", str(scenario_dataset), "--through", THROUGH, "--json", capsys=capsys
    )
    assert status == 0
    summary = json.loads(out)
    assert summary["quarantined"] == [
        {"loan_id": "cn_ageing", "code": "payment_before_start", "message": "a payment dated before the loan started"}
    ]
    assert summary["loans"] == 11
    assert "quarantined loan cn_ageing: payment_before_start" in err
    status, _, err = arrears("loan", "show", "cn_ageing", "--dataset", str(scenario_dataset), capsys=capsys)
    assert status == 2 and "quarantined" in err
    status, _, err = arrears("loan", "show", "cn_late_then_paid", "--dataset", str(scenario_dataset), capsys=capsys)
    assert status == 0, err


def test_spark_runs_over_a_dataset_only(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = arrears("eod", "run", "--through", THROUGH, "--engine", "spark", capsys=capsys)
    assert status == 2 and "--dataset" in err


def test_a_crashed_run_resumed_with_another_target_starts_afresh(tmp_path: Path) -> None:
    """A run through 07-31 dies after writing its first part; the next run asks for 09-30. It must not keep
    the part computed through 07-31: the result equals a clean run through 09-30."""
    files = sorted(SCENARIOS.glob("*.json"))
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    for out in (clean, crashed):
        parts = []
        for chunk in (files[:6], files[6:]):  # two parts, so that a crash can leave one of them written
            scenarios = [load_scenario(f) for f in chunk]
            state = pa.Table.from_batches([opening_state([f.stem for f in chunk], [s.terms for s in scenarios])])
            payments = pa.table(
                {
                    "loan_id": [f.stem for f, s in zip(chunk, scenarios, strict=True) for _ in s.payments],
                    "value_date": [p.value_date for s in scenarios for p in s.payments],
                    "amount": [p.amount for s in scenarios for p in s.payments],
                }
            )
            parts.append((state, payments))
        create(out, parts, 90)

    def crash(_: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_dataset(crashed, through=date(2026, 7, 31), progress=crash)
    assert Dataset(crashed).manifest().generation == 0  # nothing committed
    run_dataset(crashed, through=date(2026, 9, 30))
    run_dataset(clean, through=date(2026, 9, 30))
    assert _everything(crashed) == _everything(clean)


# -- killed at random moments --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seasoned(tmp_path_factory: pytest.TempPathFactory) -> Path:

    out = tmp_path_factory.mktemp("seasoned") / "ds"
    generate_dataset(out, loans=12_000, seed=11, as_of=date(2026, 11, 28), history_days=200, part_size=2_000)
    return out


def _eod(dataset: Path, through: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "arrears.entrypoints.cli.main",
            "eod",
            "run",
            "--dataset",
            str(dataset),
            "--through",
            through,
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_at_random_moments_a_rerun_reaches_the_same_state(seasoned: Path, tmp_path: Path) -> None:
    """SIGKILL a running `eod run` at random moments (sometimes twice), then run it again: the dataset ends
    exactly as after an uninterrupted run: state, events, postings, general ledger, manifest."""
    through = "2026-12-10"
    clean = tmp_path / "clean"
    shutil.copytree(seasoned, clean)
    started = time.perf_counter()
    process = _eod(clean, through)
    assert process.wait(timeout=600) == 0, process.stderr.read() if process.stderr else ""
    duration = time.perf_counter() - started
    expected = _everything(clean)
    rng = random.Random(20261129)
    interrupted = 0
    for attempt in range(5):
        victim = tmp_path / f"killed-{attempt}"
        shutil.copytree(seasoned, victim)
        for _ in range(1 + attempt % 2):
            process = _eod(victim, through)
            time.sleep(rng.uniform(0.1, duration * 0.9))
            process.send_signal(signal.SIGKILL)
            interrupted += process.wait(timeout=60) == -signal.SIGKILL
        process = _eod(victim, through)
        assert process.wait(timeout=600) == 0, process.stderr.read() if process.stderr else ""
        assert _everything(victim) == expected, f"attempt {attempt}"
    assert interrupted >= 3, "the kills came too late to interrupt anything; the test proved nothing"


# -- reading a dataset back -----------------------------------------------------------------------------------


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# -- synthetic portfolios ---------------------------------------------------------------------------------------


def test_a_generated_portfolio_is_realistic_and_loads_into_the_store(tmp_path: Path) -> None:
    """`portfolio generate` seasons a portfolio whose open loans are 10..20% delinquent across buckets, and its
    store files load into the SQLite store with books that verify and, for every loan, the state the dataset
    holds after its day-ends (two runners of the same rules agreeing)."""
    as_of = date(2026, 11, 28)
    dataset, files = tmp_path / "ds", tmp_path / "store-files"
    manifest = generate_dataset(dataset, loans=400, seed=3, as_of=as_of, history_days=300, store_files=files)
    assert manifest.closed_through == as_of and manifest.loans == 400
    state = _state(dataset)
    open_loans = [row for row in state if row["settled_on"] is None]
    delinquent = [row for row in open_loans if row["days_past_due"] > 0]
    assert 0.10 <= len(delinquent) / len(open_loans) <= 0.25
    assert len({row["bucket"] for row in delinquent}) >= 4  # across buckets, not just M1

    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    services = Services(engine, Settings(database_url=url, business_date=as_of), origin="test")
    report = import_portfolio(services, files)
    assert report.loans == 400
    assert services.verify_ledger() == []
    for ref, loan_id in report.loan_ids.items():
        assert services.loan_state(loan_id, as_of) == state_view(dataset_loan_state(dataset, ref)), ref


# -- quarantine and locking, found in review ---------------------------------------------------------------------


def _two_loan_dataset(root: Path, *, bad_payment: tuple[str, date, int] | None = None) -> None:
    files = [SCENARIOS / "cn_ageing.json", SCENARIOS / "cn_late_then_paid.json"]
    dataset_from_scenarios(files, root)
    if bad_payment:
        path = Dataset(root).payments_path(0)
        payments = pq.read_table(path)
        extra = pa.table(
            {"loan_id": [bad_payment[0]], "value_date": [bad_payment[1]], "amount": [bad_payment[2]]},
            schema=payments.schema,
        )
        pq.write_table(pa.concat_tables([payments, extra]), path)


def test_a_quarantined_loan_stays_out_and_later_runs_go_on(tmp_path: Path) -> None:
    """A loan quarantined in one run (a zero payment) keeps its payments in the dataset's inputs; the next runs,
    which meet those payments, neither crash nor bring the loan back."""
    _two_loan_dataset(tmp_path / "ds", bad_payment=("cn_late_then_paid", date(2026, 5, 20), 0))
    first = run_dataset(tmp_path / "ds", through=date(2026, 5, 31))
    assert [q["loan_id"] for q in first.quarantined] == ["cn_late_then_paid"]
    later = run_dataset(tmp_path / "ds", through=date(2026, 9, 30))  # meets its payment of 06-20
    assert later.loans == 1 and later.quarantined == []
    assert [row["loan_id"] for row in _state(tmp_path / "ds")] == ["cn_ageing"]


def test_a_part_whose_every_loan_is_quarantined_still_closes_the_day(tmp_path: Path) -> None:
    dataset_from_scenarios([SCENARIOS / "cn_ageing.json"], tmp_path / "ds")
    path = Dataset(tmp_path / "ds").state_path(0, 0)
    state = pq.read_table(path)
    pq.write_table(
        state.set_column(state.schema.get_field_index("rate_num"), "rate_num", pc.multiply(state["rate_den"], 2)), path
    )
    report = run_dataset(tmp_path / "ds", through=date(2026, 6, 1))
    assert report.loans == 0 and [q["code"] for q in report.quarantined] == ["rate_out_of_range"]
    assert run_dataset(tmp_path / "ds", through=date(2026, 6, 2)).loans == 0


def test_one_malformed_loan_does_not_hide_another_ones_problems(tmp_path: Path) -> None:
    """Loan A's lists differ in length; loan B's due dates run backwards. Each is caught for what it is."""
    _two_loan_dataset(tmp_path / "ds")
    path = Dataset(tmp_path / "ds").state_path(0, 0)
    rows = pq.read_table(path).to_pylist()
    rows[0]["held_penalty"] = rows[0]["held_penalty"][:-1]
    rows[1]["due"] = list(reversed(rows[1]["due"]))
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(path)), path)
    report = run_dataset(tmp_path / "ds", through=date(2026, 6, 1))
    assert {(q["loan_id"], q["code"]) for q in report.quarantined} == {
        ("cn_ageing", "installments_mismatch"),
        ("cn_late_then_paid", "due_dates_out_of_order"),
    }


def test_a_second_run_at_the_same_time_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _two_loan_dataset(tmp_path / "ds")
    with Dataset(tmp_path / "ds").lock():
        status, _, err = arrears("eod", "run", "--dataset", str(tmp_path / "ds"), "--through", THROUGH, capsys=capsys)
    assert status == 2 and "another run holds" in err
    assert Dataset(tmp_path / "ds").manifest().generation == 0
