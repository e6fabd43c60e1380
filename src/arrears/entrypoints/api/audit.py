"""Reads of personal data, audited in batches: each read is queued at once and written with the others at least
every second (issue 9 allows it; a read never waits for a commit), and what is queued is written at shutdown.

A write that fails (the database away for a moment) keeps its rows queued, in order, and the next flush tries
again; the writer never stops. While the queue holds more than :data:`MAX_QUEUED` rows, reads of personal data
are refused (:class:`AuditBacklog`, a 503): a read is never served unaudited."""

from __future__ import annotations

import logging
import threading
from typing import Any

from arrears.service_layer import console
from arrears.service_layer.services import Services

logger = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0
MAX_QUEUED = 50_000


class AuditBacklog(RuntimeError):
    """The audit log cannot be written just now: a read of personal data waits until it can."""


class ReadAudit:
    """A queue of audit rows and the thread that writes it (:meth:`start`, :meth:`close`)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def read(self, actor: str, action: str, target: str, origin: str = "api") -> None:
        row = console.audit_row(self.services, actor=actor, origin=origin, action=action, target=target)
        with self._lock:
            if len(self._rows) >= MAX_QUEUED:
                raise AuditBacklog("the audit log cannot be written just now; try again in a moment")
            self._rows.append(row)

    def flush(self) -> int:
        """Write what is queued, in one transaction; how many rows. A failed write puts them back in front."""
        with self._lock:
            rows, self._rows = self._rows, []
        if rows:
            try:
                console.write_audit(self.services, rows)
            except Exception:
                with self._lock:
                    self._rows[:0] = rows
                raise
        return len(rows)

    def start(self) -> None:
        def run() -> None:
            while not self._stop.wait(FLUSH_SECONDS):
                try:
                    self.flush()
                except Exception as error:
                    logger.warning("read audit not written yet (%s); kept, retried", type(error).__name__)

        self._thread = threading.Thread(target=run, name="read-audit", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()
