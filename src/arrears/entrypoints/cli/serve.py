"""``arrears serve`` and ``arrears token``: the REST API and the tokens that open it."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from arrears.access import Role
from arrears.entrypoints.bootstrap import open_api_services, open_services
from arrears.errors import InputRejected

if TYPE_CHECKING:
    from arrears.service_layer.services import Services

token_app = typer.Typer(help="API tokens: one per caller, with its role.", no_args_is_help=True)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help=", ".join(r.value for r in Role))],
    borrower: Annotated[int | None, typer.Option(help="For the borrower role: whose data it opens.")] = None,
    agency: Annotated[str | None, typer.Option(help="For the agency role: the agency.")] = None,
    label: Annotated[str, typer.Option(help="Who holds it, for the audit log.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help='Print {"token": ..., "id": ...}.')] = False,
) -> None:
    """Create a token (printed once; the store keeps only its hash)."""
    try:
        chosen = Role(role)
    except ValueError:
        raise InputRejected(f"--role must be one of {', '.join(r.value for r in Role)}, got {role!r}") from None
    if (chosen is Role.BORROWER) != (borrower is not None):
        raise InputRejected("--borrower goes with --role borrower, and only with it")
    if (chosen is Role.AGENCY) != (agency is not None):
        raise InputRejected("--agency goes with --role agency, and only with it")
    from arrears.service_layer import tokens

    token_id, token = tokens.issue(open_services(), role=chosen, borrower=borrower, agency=agency, label=label)
    if as_json:
        sys.stdout.write(json.dumps({"token": token, "id": token_id, "role": chosen.value}) + "\n")
    else:
        sys.stdout.write(f"token {token_id} ({chosen}): {token}\n")


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="The token's id.")]) -> None:
    """Revoke a token: it opens nothing from now on."""
    from arrears.service_layer import tokens

    tokens.revoke(open_services(), token_id)
    sys.stdout.write(f"token {token_id} revoked\n")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (about one per core the server may use).")
    ] = 1,
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json) on the store (ARREARS_DATABASE_URL, default SQLite).

    Each worker is a process with its own connections and its own read-audit writer; they share the port."""
    import uvicorn

    from arrears.entrypoints.api.app import create_app

    if workers == 1:
        app = create_app(api_services())
        _freeze_start_up()
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return
    open_services().engine.dispose()  # the environment checked (and SQLite migrated) once, before any worker
    uvicorn.run(
        "arrears.entrypoints.cli.serve:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


def worker_app() -> Any:
    """The app of one worker process of ``arrears serve --workers N`` (uvicorn imports it by name)."""
    from arrears.entrypoints.api.app import create_app

    app = create_app(api_services(migrate=False))
    _freeze_start_up()
    return app


def _freeze_start_up() -> None:
    """What a server process has loaded before it serves (FastAPI, pydantic, SQLAlchemy, the app: about 165,000
    objects) lives as long as the process: moved out of the garbage collector's sight, a full collection no
    longer walks it. Measured: a full collection of it took 85 ms, a pause of every request in flight, and the
    reads' p99 with it (bench/api.py). Done here, in the serving process, not in the app: a test process that
    starts many apps would freeze its tests' objects for good."""
    import gc

    gc.collect()
    gc.freeze()


def api_services(*, migrate: bool | None = None) -> Services:
    """Services for one API process (:func:`arrears.entrypoints.bootstrap.open_api_services`): on PostgreSQL, a
    pool that holds a connection for each request thread (:data:`arrears.entrypoints.api.app.THREADS`) and the
    read-audit writer, so that none is opened and closed per request."""
    from arrears.entrypoints.api.app import THREADS

    return open_api_services(threads=THREADS, migrate=migrate)
