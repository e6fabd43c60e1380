"""Reads of personal data, audited in batches: each read is queued at once and written with the others at least
every second (issue 9 allows it; a read never waits for a commit), and what is queued is written at shutdown."""

from __future__ import annotations

import threading
from typing import Any

from arrears.adapters import store
from arrears.service_layer.services import Services

FLUSH_SECONDS = 1.0


class ReadAudit:
    """A queue of audit rows and the thread that writes it (:meth:`start`, :meth:`close`)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def read(self, actor: str, action: str, target: str) -> None:
        row = store.audit_row(
            now=self.services.clock(), actor=actor, origin="api", action=action, target=target, details={}
        )
        with self._lock:
            self._rows.append(row)

    def flush(self) -> int:
        """Write what is queued, in one transaction; how many rows."""
        with self._lock:
            rows, self._rows = self._rows, []
        if rows:
            with self.services.transaction() as connection:
                connection.execute(store.INSERT_AUDIT, rows)
        return len(rows)

    def start(self) -> None:
        def run() -> None:
            while not self._stop.wait(FLUSH_SECONDS):
                self.flush()

        self._thread = threading.Thread(target=run, name="read-audit", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()
