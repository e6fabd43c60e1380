"""The Spark runner: the same kernel through pyspark mapInArrow on local[2], results identical to in-process.

Needs Java and pyspark (both in CI: `.ci/run` installs Debian's Java when it is missing, and the dev extra
installs pyspark). Locally they may be missing and the test skips; with CI=true it fails instead."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from arrears.service_layer.datasets import generate_dataset
from arrears.service_layer.day_end import run_dataset
from tests.support.datasets import dataset_everything as _everything
from tests.support.paths import ROOT


def _spark_available() -> str | None:
    """Why Spark cannot run here, or None."""
    if shutil.which("java") is None:
        return "no Java on PATH (Debian: apt-get install openjdk-17-jre-headless)"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def spark_ready() -> None:
    reason = _spark_available()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the Spark runner must be tested under CI: {reason}")
        pytest.skip(reason)


def test_spark_runner_equals_the_in_process_runner(spark_ready: None, tmp_path: Path) -> None:
    """10,000 loans in 4 parts, 12 day-ends: every loan's state, every event, every posting, the general
    ledger and the manifest are the same whether the parts run in-process or as Spark tasks on local[2]."""
    source = tmp_path / "source"
    generate_dataset(source, loans=10_000, seed=21, as_of=date(2026, 11, 28), history_days=240, part_size=2_500)
    local, spark = tmp_path / "local", tmp_path / "spark"
    shutil.copytree(source, local)
    shutil.copytree(source, spark)
    run_dataset(local, through=date(2026, 12, 10))
    # a process of its own, as a user runs it (and so the JVM ends with it)
    done = _arrears("eod", "run", "--dataset", str(spark), "--through", "2026-12-10", "--engine", "spark",
                    "--master", "local[2]", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["engine"] == "spark" and summary["loans"] == 10_000 and summary["resumed_parts"] == 0
    assert _everything(spark) == _everything(local)


def test_master_without_spark_engine_is_refused(tmp_path: Path) -> None:
    done = _arrears("eod", "run", "--dataset", str(tmp_path), "--through", "2026-12-10", "--master", "local[2]")
    assert done.returncode == 2 and "--master goes with --engine spark" in done.stderr


def _arrears(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess of its own (the store-free counterpart of tests.support.cli.run_cli)."""
    return subprocess.run(
        [sys.executable, "-m", "arrears.entrypoints.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
