"""The ``arrears`` command line: thin, like every entry point.

Each command turns its options into domain calls and prints the result, as a Rich table for people or, with
``--json``, in the shapes of shared/contracts/. Bad input of any kind (a malformed amount or date, an unknown
method, an unreadable file, a payment before the start) exits with status 2 and one line on stderr, and
nothing else is printed.

This module is the root: it mounts the commands and the groups, each kept in a module of its own beside it, in
the order ``arrears --help`` lists them, and turns every refusal into its exit status (:func:`main`). The store is
reached through :mod:`arrears.entrypoints.bootstrap`, the one composition root.
"""

from __future__ import annotations

import sys

import typer
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from arrears.entrypoints.cli import borrowers, demo, lines, loans, scenario, serve
from arrears.entrypoints.cli.approvals import approvals_app
from arrears.entrypoints.cli.court_orders import court_app
from arrears.entrypoints.cli.credit import credit_app
from arrears.entrypoints.cli.day_end import eod_app
from arrears.entrypoints.cli.db import db_app
from arrears.entrypoints.cli.hardship import hardship_app
from arrears.entrypoints.cli.ledger import ledger_app
from arrears.entrypoints.cli.legal import legal_app
from arrears.entrypoints.cli.portfolio import portfolio_app
from arrears.entrypoints.cli.report import report_app
from arrears.entrypoints.cli.strategy import collections_app, outbox_app, strategy_app
from arrears.errors import Busy, InputRejected
from arrears.inputs import check_arguments

app = typer.Typer(
    help="arrears: consumer-loan servicing and collections, exact to the cent.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# -- commands, as `arrears --help` lists them -------------------------------------------------------------------
app.command()(scenario.schedule)
app.command()(scenario.simulate)
app.command(name="payoff")(scenario.payoff_command)
app.command()(demo.demo)
app.command("serve")(serve.serve)
app.command()(loans.draw)
app.command()(loans.repay)
app.command()(loans.reverse)
app.command()(loans.waive)
app.command(name="write-off")(loans.write_off)
app.command("standing")(borrowers.standing_command)
app.command("restrict")(lines.restrict_command)
app.command("explain")(loans.explain_command)

# -- groups ------------------------------------------------------------------------------------------------------
app.add_typer(db_app, name="db")
app.add_typer(borrowers.borrower_app, name="borrower")
app.add_typer(lines.line_app, name="line")
app.add_typer(loans.loan_app, name="loan")
app.add_typer(ledger_app, name="ledger")
app.add_typer(portfolio_app, name="portfolio")
app.add_typer(eod_app, name="eod")
app.add_typer(report_app, name="report")
app.add_typer(strategy_app, name="strategy")
app.add_typer(collections_app, name="collections")
app.add_typer(outbox_app, name="outbox")
app.add_typer(credit_app, name="credit")
app.add_typer(hardship_app, name="hardship")
app.add_typer(legal_app, name="legal")
app.add_typer(approvals_app, name="approvals")
app.add_typer(serve.token_app, name="token")
app.add_typer(court_app, name="court-order")

EX_TEMPFAIL = 75
"""sysexits.h: a temporary failure; the user is invited to retry later (arrears.errors.Busy)."""


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app; bad input of any kind exits 2 with one line on stderr."""
    try:
        check_arguments(sys.argv[1:] if argv is None else argv)
        code = app(args=argv, standalone_mode=False)
    except InputRejected as error:
        _fail(str(error))
    except Busy as error:  # a lock not free in time: nothing written, the same command may be run again
        _fail(str(error), status=EX_TEMPFAIL)
    except ArgumentError as error:  # a malformed ARREARS_DATABASE_URL
        _fail(f"ARREARS_DATABASE_URL is not a database URL ({error}); e.g. sqlite:///./arrears.db")
    except OperationalError as error:  # the database is down or refuses us: not the input's fault
        _fail(f"cannot use the database: {error.orig}", status=1)
    except DBAPIError as error:  # a bug, not the input's: one line, never the statement or its parameters
        _fail(f"the database refused the command ({type(error.orig).__name__}); nothing was changed", status=1)
    except typer.Abort:
        _fail("aborted", status=130)
    except typer.TyperException as error:  # usage errors: unknown option, "x" for a number, ...
        _fail(error.format_message())
    except typer.Exit as error:
        raise SystemExit(error.exit_code) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def _fail(message: str, status: int = 2) -> None:
    if message.strip():  # a bare "arrears" has already printed its help and has nothing to add
        sys.stderr.write("arrears: error: " + " ".join(message.split()) + "\n")
    raise SystemExit(status)


if __name__ == "__main__":  # pragma: no cover
    main()
