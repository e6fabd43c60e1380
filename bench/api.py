"""The REST API under load, on PostgreSQL: borrower standing reads and repayment writes, driven from a separate
process over loopback by a lean asyncio client (keep-alive HTTP/1.1 over streams), against ``arrears serve``
(uvicorn; ``--workers`` processes, two by default: one per core of this machine).

Two measures of each:

- **Closed loop** (``--concurrency`` clients, each sending its next request when the last is answered): the most
  the server answers a second. Printed with its ratio to the baseline measured side by side in the same run: the
  same server answering ``GET /openapi.json`` (no database, no domain: the floor of FastAPI + uvicorn + the client
  on this machine). At saturation the latency is mostly queueing (``concurrency / throughput``).
- **Open loop at the target rate** (as wrk2 drives a server): requests offered at ``--read-rate`` and
  ``--write-rate`` a second whatever the answers, each latency counted from when the request was due. The targets
  (issue 9: 500 reads/s with p99 under 50 ms, 200 writes/s with p99 under 100 ms) are judged here, each offered
  alone: met when at least the target rate was offered, at least 98% of it answered, and the p99 is under the
  bound. Then both rates offered together in one open loop (reads and writes interleaved, 5 to 2), printed with
  no verdict: the issue sets the two targets apart, and two cores shared with the client and PostgreSQL may not
  carry both at once.

The store: 200 borrowers with three loans each, half of them with payments and the rest past due; the writes run
before the reads, so the reads see their events too.

Each line also gives the CPU time a request costs the server's processes and the PostgreSQL backends serving the
scratch database: on a machine that other work shares, steadier figures than the throughput (2 cores give 2,000 ms
of CPU a second to share between the client, the server and PostgreSQL).

    .venv/bin/python bench/api.py [--borrowers 200] [--seconds 10] [--concurrency 16] [--workers 2]
                                  [--read-rate 500] [--write-rate 200] [--connections 64]

Needs PostgreSQL on 127.0.0.1:5432 (trust auth): it creates and drops a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from arrears.access import Role  # noqa: E402
from arrears.adapters import tokens_store  # noqa: E402
from arrears.adapters.database import make_engine, upgrade  # noqa: E402
from arrears.config import Settings  # noqa: E402
from arrears.domain.product import load_product  # noqa: E402
from arrears.service_layer.day_end_store import run_store  # noqa: E402
from arrears.service_layer.services import Services  # noqa: E402

START = date(2026, 5, 15)
TODAY = date(2026, 6, 25)


def scratch_database() -> str:
    name = f"arrears_bench_api_{os.getpid()}"
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def drop(name: str) -> None:
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def populate(url: str, borrowers: int) -> tuple[list[int], list[int], str]:
    """Borrowers with three loans each and a payment history: every other borrower paid
    part of two loans, the rest nothing (their loans past due, a restriction in force); day-ended to the day
    before TODAY; an admin token. Returns the borrowers, the first loan of each, and the token."""
    engine = make_engine(url)
    upgrade(engine)
    setup = Services(engine, Settings(database_url=url, business_date=START), origin="bench")
    product = load_product(ROOT / "products" / "cn-microcredit.toml")
    ids, loans, second = [], [], []
    for i in range(borrowers):
        borrower = setup.add_borrower(name=f"借款人{i}", phone=f"1380013{i:04d}")
        line = setup.open_line(borrower_id=borrower, product=product, limit=2_000_000)
        loans.append(setup.draw(line_id=line, amount=250_000, terms=5, start=START, key=f"d{i}"))
        second.append(setup.draw(line_id=line, amount=100_000, terms=5, start=START, key=f"e{i}"))
        setup.draw(line_id=line, amount=50_000, terms=5, start=START, key=f"f{i}")
        ids.append(borrower)
    paying = Services(engine, Settings(database_url=url, business_date=date(2026, 6, 14)), origin="bench")
    for i in range(0, borrowers, 2):
        paying.repay(loan_id=loans[i], amount=30_000, value_date=date(2026, 6, 14), key=f"p{i}")
        paying.repay(loan_id=second[i], amount=5_000, value_date=date(2026, 6, 14), key=f"q{i}")
    services = Services(engine, Settings(database_url=url), origin="bench")
    run_store(services, through=TODAY - date.resolution)
    with services.transaction() as connection:
        _, token = tokens_store.create(
            connection, role=Role.ADMIN, borrower=None, agency=None, label="bench", now=services.clock()
        )
    engine.dispose()
    return ids, loans, token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` and its children so far (Linux /proc; 0 elsewhere)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for each in pids:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def postgres_cpu_seconds(database: str) -> float:
    """CPU time so far of the PostgreSQL backends serving ``database`` (Linux /proc; 0 elsewhere): what the
    database takes of the same cores (it runs here, on loopback). The server's pool keeps its connections, so
    their backends live through a run; other work on the machine is not counted."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for process in Path("/proc").glob("[0-9]*"):
        try:
            if f" {database} ".encode() not in (process / "cmdline").read_bytes():
                continue
            fields = (process / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def report(
    name: str, measured: tuple[list[float], float, float], seconds: float, floor: tuple[float, float] | None = None
) -> tuple[float, float]:
    """Print and return (requests per second, p99 in ms); also the CPU time per request of the server and of
    PostgreSQL, figures that another load on the machine disturbs less than the throughput."""
    latencies, cpu, database = measured
    rate = len(latencies) / seconds
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    ratio = f"  {rate / floor[0]:.2f}x the floor" if floor else ""
    per, db = (1000 * x / max(1, len(latencies)) for x in (cpu, database))
    print(
        f"  {name:<26} {rate:5.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
        f"CPU/req: server {per:4.1f} ms, PostgreSQL {db:4.1f} ms{ratio}"
    )
    return rate, p99


class Client:
    """One keep-alive HTTP/1.1 connection over asyncio streams: a request written as bytes, the answer read by its
    Content-Length. Far less work per request than a general client (httpx spends about a millisecond of CPU on
    each), so that the server, not the client, gets the cores this machine shares between them."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.head = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        if body is not None:
            extra += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(f"{method} {path} HTTP/1.1\r\n{self.head}{extra}\r\n".encode() + (body or b""))
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise SystemExit(f"an answer without Content-Length: {head!r}")
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


Request = tuple[str, str, bytes | None, dict[str, str]]


async def drive(port: int, token: str, seconds: float, concurrency: int, make: Callable[[int], Request]) -> list[float]:
    """``concurrency`` clients, each on its own keep-alive connection, sending ``make(i)`` for ``seconds``; each
    answer's latency (seconds). Any answer other than 2xx fails the run."""
    latencies: list[float] = []
    failures: list[str] = []
    stop = time.perf_counter() + seconds
    counter = 0

    async def worker() -> None:
        nonlocal counter
        client = Client("127.0.0.1", port, token)
        try:
            while time.perf_counter() < stop:
                counter += 1
                method, path, body, headers = make(counter)
                began = time.perf_counter()
                status, answer = await client.request(method, path, body, headers)
                latencies.append(time.perf_counter() - began)
                if status >= 300:
                    failures.append(f"{status} {answer[:200]!r}")
        finally:
            await client.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if failures:
        raise SystemExit(f"{len(failures)} requests failed (first: {failures[0]}): the figures would not be honest")
    return latencies


async def offer(
    port: int, token: str, seconds: float, rate: float, make: Callable[[int], Request], connections: int
) -> tuple[list[tuple[int, float]], float]:
    """An open loop at a fixed rate, as wrk2 drives a server: request ``i`` is due at ``start + i / rate``
    whatever the answers before it, and its latency runs from when it was due, so a slow answer that holds
    later requests back counts against the server (no coordinated omission). Requests go over up to
    ``connections`` keep-alive connections; one that finds none free waits, and the wait counts. Returns each
    request's number and latency (seconds), and how long the run took: when the server cannot keep up, longer
    than ``seconds``."""
    pool: asyncio.Queue[Client] = asyncio.Queue()
    clients = [Client("127.0.0.1", port, token) for _ in range(connections)]
    # connected before the clock starts, as a client that keeps its connections open would be
    await asyncio.gather(*(client.request("GET", "/openapi.json", None, {}) for client in clients))
    for client in clients:
        pool.put_nowait(client)
    latencies: list[tuple[int, float]] = []
    failures: list[str] = []

    async def one(i: int, due: float) -> None:
        client = await pool.get()
        try:
            status, answer = await client.request(*make(i))
        finally:
            pool.put_nowait(client)
        latencies.append((i, time.perf_counter() - due))
        if status >= 300:
            failures.append(f"{status} {answer[:200]!r}")

    began = time.perf_counter()
    pending: set[asyncio.Task[None]] = set()  # finished ones dropped: a growing heap would slow the client's GC
    for i in range(int(seconds * rate)):
        due = began + i / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        task = asyncio.create_task(one(i, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    took = time.perf_counter() - began
    for client in clients:
        await client.close()
    if failures:
        raise SystemExit(f"{len(failures)} requests failed (first: {failures[0]}): the figures would not be honest")
    return latencies, took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--borrowers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="arrears serve --workers (one per core here)")
    parser.add_argument("--read-rate", type=float, default=500, help="reads offered a second (open loop)")
    parser.add_argument("--write-rate", type=float, default=200, help="writes offered a second (open loop)")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections of the open loop")
    options = parser.parse_args()
    name = scratch_database()
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    server = None
    try:
        borrowers, loans, token = populate(url, options.borrowers)
        # The client's own start-up objects (it imports the app to populate the store: about as many as the
        # server's) out of its collector's sight: a full collection of them paused the client for 100 ms and
        # more mid-run, and the open loop counted the requests it then sent late against the server.
        gc.collect()
        gc.freeze()
        port = free_port()
        environment = {**os.environ, "ARREARS_DATABASE_URL": url, "ARREARS_BUSINESS_DATE": TODAY.isoformat()}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "arrears.entrypoints.cli.main",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(options.workers),
            ],
            env=environment,
            cwd=ROOT,
        )
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        print(
            f"REST API on PostgreSQL, {len(borrowers)} borrowers, {options.workers} worker(s), "
            f"{options.concurrency} concurrent keep-alive clients, {options.seconds:g} s each (bench/api.py)"
        )
        day = TODAY.isoformat()

        def closed(make: Callable[[int], Request]) -> tuple[tuple[list[float], float, float], float]:
            began, database = cpu_seconds(server.pid), postgres_cpu_seconds(name)
            latencies = asyncio.run(drive(port, token, options.seconds, options.concurrency, make))
            return (latencies, cpu_seconds(server.pid) - began, postgres_cpu_seconds(name) - database), options.seconds

        def opened_split(
            make: Callable[[int], Request], rate: float
        ) -> tuple[list[tuple[int, float]], float, float, float]:
            began, database = cpu_seconds(server.pid), postgres_cpu_seconds(name)
            latencies, took = asyncio.run(offer(port, token, options.seconds, rate, make, options.connections))
            return latencies, cpu_seconds(server.pid) - began, postgres_cpu_seconds(name) - database, took

        def opened(make: Callable[[int], Request], rate: float) -> tuple[tuple[list[float], float, float], float]:
            latencies, cpu, database, took = opened_split(make, rate)
            return ([latency for _, latency in latencies], cpu, database), took

        def read(i: int) -> Request:
            return "GET", f"/borrowers/{borrowers[i % len(borrowers)]}/standing?date={day}", None, {}

        body = json.dumps({"amount": "0.01", "value_date": day}).encode()

        def write(prefix: str) -> Callable[[int], Request]:
            return lambda i: (
                "POST",
                f"/loans/{loans[i % len(loans)]}/repayments",
                body,
                {"Idempotency-Key": f"{prefix}-{i}"},
            )

        print(f"  as many as {options.concurrency} clients get answered (closed loop: the most the server does):")
        floor = report("floor: GET /openapi.json", *closed(lambda i: ("GET", "/openapi.json", None, {})))
        report("repayment writes", *closed(write("closed")), floor)  # first: the reads then see their events
        report("standing reads", *closed(read), floor)
        print(
            f"  at the target rates (open loop, latency from when each request was due; {options.connections} conns):"
        )
        reads = report(f"standing reads at {options.read_rate:g}/s", *opened(read, options.read_rate))
        writes = report(f"repayment writes at {options.write_rate:g}/s", *opened(write("open"), options.write_rate))
        # both at once: of every (reads + writes) requests due, the first `reads` are reads, the rest writes
        common = math.gcd(round(options.read_rate), round(options.write_rate))
        share = (round(options.read_rate) // common, round(options.write_rate) // common)  # 500 and 200: 5 and 2
        every = sum(share)
        mixed_write = write("mixed")

        def mixed(i: int) -> Request:
            return read(i) if i % every < share[0] else mixed_write(i)

        both, cpu, database, took = opened_split(mixed, options.read_rate + options.write_rate)
        print("  both at once (the two rates offered together, in one open loop):")
        for name, rate, which in (("reads", options.read_rate, True), ("writes", options.write_rate, False)):
            picked = [latency for i, latency in both if (i % every < share[0]) is which]
            part = len(picked) / max(1, len(both))
            report(f"{name} of both at {rate:g}/s", (picked, cpu * part, database * part), took)

        def met(measured: tuple[float, float], offered: float, target: float, p99: float) -> str:
            answered = offered >= target and measured[0] >= 0.98 * offered and measured[1] < p99
            return "met" if answered else "NOT met"

        print(
            f"  targets, each offered alone: reads {met(reads, options.read_rate, 500, 50)} (500/s with p99 < 50 ms); "
            f"writes {met(writes, options.write_rate, 200, 100)} (200/s with p99 < 100 ms)"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        drop(name)


if __name__ == "__main__":
    main()
