"""Day-ends on Apache Spark: the same kernel over the same dataset, on as many machines as the cluster has.

Spark runs one task per pending part of the dataset: a DataFrame of part numbers, one per Spark partition,
goes through ``mapInArrow``, and each task runs exactly what the in-process runner runs for that part
(:class:`arrears.service_layer.day_end.PartJob`: read the part's state and payments, every day through the
pipeline, write the next generation's files with the state file last) and yields one summary row. The driver
then finishes as the in-process runner does: general ledger, then the manifest switch. So results are the same
file for file, and the exactly-once and resume rules are the same (a failed task is retried by Spark; a part a
previous attempt finished is skipped).

Pointing it at a cluster: ``arrears eod run --dataset DIR --through D --engine spark --master spark://host:7077``
(or ``yarn``, ``k8s://...``). Two things must hold there: the dataset folder is on storage every executor sees
at the same path (a shared filesystem such as NFS or a mounted volume; object stores would need pyarrow
filesystems, not done), and the executors' Python (``PYSPARK_PYTHON``) has ``arrears`` installed. Java comes
from the system (Debian: ``openjdk-17-jre-headless``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from arrears.errors import InputRejected
from arrears.service_layer.day_end import PartJob

DEFAULT_MASTER = "local[2]"


def spark_session(master: str | None = None) -> Any:  # pyspark.sql.SparkSession (pyspark ships no types)
    """A Spark session on ``master`` (default local[2]); a clear error when pyspark or Java is missing."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputRejected("the spark engine needs pyspark: pip install 'arrears[spark]'") from None
    if (master or DEFAULT_MASTER).startswith("local"):
        # local workers run this very Python (PySpark's default is whatever `python3` is on PATH, which need not
        # have arrears installed); on a cluster PYSPARK_PYTHON names the executors' Python
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master or DEFAULT_MASTER).appName("arrears-eod")
    try:
        session = (
            builder.config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").getOrCreate()
        )
    except Exception as error:  # Java missing or the master unreachable: say which, in one line
        raise InputRejected(f"cannot start Spark on {master or DEFAULT_MASTER}: {error}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def run_parts_on_spark(job: PartJob, parts: list[int], master: str | None = None) -> int:
    """Run ``parts`` as Spark tasks, one per partition; returns how many loans they hold."""
    if not parts:
        return 0
    spark = spark_session(master)
    frame = spark.sparkContext.parallelize([(part,) for part in parts], len(parts)).toDF("part int")

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for part in batch.column(0).to_pylist():
                loans = job.run(part)
                yield pa.RecordBatch.from_pydict(
                    {"part": pa.array([part], pa.int32()), "loans": pa.array([loans], pa.int64())}
                )

    rows = frame.mapInArrow(task, "part int, loans long").collect()
    return sum(row["loans"] for row in rows)
