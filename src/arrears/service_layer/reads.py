"""Reads the doors ask for that no handler of its own answers: a Parquet dataset's manifest and snapshots, and the
inputs of the collections report from the store.

The command line reaches the dataset and the collections store through these (never the adapters directly), as
the API and the web pages reach the store through the service layer.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from arrears.adapters import collections_store
from arrears.adapters.dataset import Dataset, Manifest
from arrears.analytics.collections import collections_report
from arrears.service_layer.services import Services


def dataset_manifest(path: Path) -> Manifest:
    """What the dataset at ``path`` holds (closed through, parts, loans); a folder that is no dataset is refused
    in one line naming it."""
    return Dataset(path).manifest()


def dataset_snapshots(path: Path, first: date, last: date) -> pa.Table:
    """The month-end and day-end snapshots the dataset's day-ends kept from ``first`` to ``last``: the portfolio
    report's input, as :func:`arrears.service_layer.day_end_store.store_snapshots` gives for the store."""
    return Dataset(path).snapshots(first, last)


def collections_figures(services: Services, first: date, last: date) -> dict[str, Any]:
    """The collections report (:func:`arrears.analytics.collections.collections_report`) of the days planned from
    ``first`` to ``last``: arms compared, agencies' recoveries and commission; amounts in minor units."""
    with services.reading() as connection:
        inputs = collections_store.report_inputs(connection, first, last)
    return collections_report(first, last, **inputs)
