"""How long a full garbage collection pauses an API server process, before and after ``gc.freeze()``
(``arrears.entrypoints.cli.serve._freeze_start_up``): the app is built as ``arrears serve`` builds it, on a scratch
SQLite store.

    .venv/bin/python bench/gc_pause.py
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def full_collection_ms() -> float:
    began = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - began) * 1000  # a timing, not money


def main() -> None:
    os.environ["ARREARS_DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/gc.db"
    from arrears.entrypoints.api.app import create_app
    from arrears.entrypoints.cli.serve import api_services

    create_app(api_services())
    before = [full_collection_ms() for _ in range(3)]
    objects = len(gc.get_objects())
    gc.freeze()
    after = [full_collection_ms() for _ in range(3)]
    print(
        f"full collection of a server process ({objects:,} objects tracked): "
        f"{min(before):.1f} ms before gc.freeze(), {min(after):.1f} ms after (best of 3 each)"
    )


if __name__ == "__main__":
    main()
