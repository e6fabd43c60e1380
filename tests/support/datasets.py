"""What a Parquet dataset holds after its day-ends, read back so that two runs of the same days can be compared."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from arrears.adapters.dataset import Dataset


def dataset_state(root: Path) -> list[dict[str, Any]]:
    """Every loan's state row in the dataset's current generation."""
    manifest = Dataset(root).manifest()
    return [row for table in Dataset(root).iter_parts(manifest.generation, manifest.parts) for row in table.to_pylist()]


def dataset_outputs(root: Path, kind: str) -> list[dict[str, Any]]:
    """Every output row of ``kind`` (events, postings or snapshots) over all runs, in a stable order."""
    rows: list[dict[str, Any]] = []
    for run in dataset_runs(root):
        for path in sorted(run.glob(f"{kind}-part-*.parquet")):
            rows += pq.read_table(path).to_pylist()
    return sorted(rows, key=lambda row: (row["day"], row["loan_id"], str(row.get("kind", row.get("account", "")))))


def dataset_ledger(root: Path) -> dict[str, Any]:
    """The general ledger of every run, merged by day."""
    merged: dict[str, Any] = {}
    for run in dataset_runs(root):
        merged.update(json.loads((run / "general-ledger.json").read_text()))
    return merged


def dataset_runs(root: Path) -> Iterator[Path]:
    """The folder of each run the manifest lists."""
    manifest = Dataset(root).manifest()
    for entry in manifest.runs:
        yield root / "runs" / f"g{entry['generation']}"


def dataset_everything(root: Path) -> tuple[Any, ...]:
    """All a dataset holds after its day-ends: the manifest, the state, the outputs and the general ledger (two
    runs of the same days compare equal on this)."""
    manifest = json.loads((root / "dataset.json").read_text())
    outputs = (dataset_outputs(root, kind) for kind in ("events", "postings", "snapshots"))
    return manifest, dataset_state(root), *outputs, dataset_ledger(root)
