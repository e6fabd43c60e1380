"""Portfolio import (credit lines, loans and their payment history) and statement export.

Import
======

A portfolio is a directory with three tables, each as CSV (``lines.csv``) or Parquet (``lines.parquet``);
formats may be mixed, but one table must not be there in both::

    lines     line_ref, borrower_name, phone, product, limit[, daily_rate]
    loans     loan_ref, line_ref, amount, terms, start[, method][, interest_basis]
    payments  loan_ref, date, amount

- ``line_ref`` / ``loan_ref``: the portfolio's own names for its lines and loans, unique within their table;
  a loan names its line, a payment its loan. They are not stored on the rows; the import's report and its
  audit-log entry keep the ref -> id map.
- ``borrower_name``, ``phone``: one borrower per distinct (name, phone) pair; phones are masked in every
  message and log. Borrowers get the defaults of ``borrower add`` (Asia/Shanghai, zh).
- ``product``: path of a product TOML file, relative to the portfolio directory or absolute. The line keeps a
  snapshot of it, as ``line open`` does.
- ``limit``, ``amount``: plain decimal strings (``"20000"``, ``"560.50"``); ``daily_rate``: a plain decimal
  string (``"0.0004"``), empty for the product's rate.
- ``terms``: a whole number of months the product offers; ``start``, ``date``: ``YYYY-MM-DD``.
- ``method`` (equal-principal | equal-installment | interest-first), ``interest_basis`` (actual | period):
  empty for the product's.

CSV: UTF-8 (a byte-order mark is allowed), a header row naming the columns (any order; optional columns may be
left out), one record per row; surrounding spaces are trimmed and blank rows skipped. Parquet: string columns
(``large_string`` and dictionary-encoded strings too; nulls read as empty). Refs and ``terms`` may also be
integer columns and dates ``date32`` columns; a float column is refused, since a float has already lost the
exact decimals, and so is any other type. Row numbers count as a person reads a spreadsheet: the header is
row 1, the first record row 2 (for Parquet too, so a converted file keeps its numbers).

Every row is checked before anything is written, and every problem is reported, each as a
:class:`RowError` (file, row, field, reason with the fix), e.g.
``loans.csv row 7 amount: '5,000' is not a plain amount; write digits with at most two decimals``:
required fields and formats; unknown columns; duplicate refs; unknown refs; a line's limit and rate against
its product; a loan's terms against its product and its schedule; drawdown rules (minimum, multiple, open
loans, available limit), checked on each line in drawdown order (start date, then file order) against the
principal the line's earlier loans still had outstanding on that day, their payments applied; a loan that
starts, or a payment dated, after the business date; a payment before its loan's start. Any problem raises
:class:`PortfolioRejected` (an :class:`~arrears.errors.InputRejected`) carrying them all, and nothing is
written. ARREARS_MAX_BACKDATE_DAYS does not apply: history is what an import brings.

Writing is one database transaction: borrowers, credit lines (opened on their first loan's start, or the
business date if earlier), loans with their schedules, transactions (the disbursement and each payment as a
repayment, backdated when dated before the business date), one ledger entry of kind ``import`` per loan taking
its books from nothing to its replayed balances on the business date (so ``ledger verify`` holds at once), an
idempotency key and one audit-log row. A crash or a kill at any point leaves nothing; importing the same files
again (same bytes) writes nothing and answers with the first import's report.

Export
======

:func:`export_statements` writes one statement per loan, ``loan-<id>.csv``: UTF-8 CSV in four blocks separated
by an empty row, each starting with its own header row (so the first cell names the block)::

    term,value                          loan_id, line_id, borrower_id, currency, principal, daily_rate, terms,
                                        method, interest_basis, start
    value_date,kind,amount,component,backdated,reversed,transaction_id
                                        every transaction dated on or before the as-of date, in value-date
                                        then recorded order; backdated/reversed are true or false
    installment,due_date,status,principal,interest,penalty,compound
                                        what remains unpaid on each installment after day-end of as-of
    state,value                         as_of, status, days_past_due, bucket, classification,
                                        outstanding_principal, overdue_principal, overdue_interest,
                                        overdue_penalty, overdue_compound, overdue_total, unapplied,
                                        paid_principal, paid_interest, paid_penalty, paid_compound,
                                        settled_on, written_off_on

Amounts have two decimals; the state is that of ``loan show`` (:meth:`Services.loan_state`). Each file is
written to a temporary name and renamed, so a killed export never leaves a half-written statement.

The work is done in four modules, re-exported here: :mod:`~arrears.service_layer.portfolio_read` (the tables'
bytes into rows), :mod:`~arrears.service_layer.portfolio_check` (every rule, before anything is written),
:mod:`~arrears.service_layer.portfolio_import` (the one transaction) and
:mod:`~arrears.service_layer.portfolio_export` (statements).
"""

from __future__ import annotations

from arrears.service_layer.portfolio_check import PortfolioPlan, PortfolioRejected, check_portfolio
from arrears.service_layer.portfolio_export import ExportReport, export_statements, loan_statement, statement_of
from arrears.service_layer.portfolio_import import ImportReport, import_portfolio
from arrears.service_layer.portfolio_read import TABLES, RowError

__all__ = [
    "TABLES",
    "ExportReport",
    "ImportReport",
    "PortfolioPlan",
    "PortfolioRejected",
    "RowError",
    "check_portfolio",
    "export_statements",
    "import_portfolio",
    "loan_statement",
    "statement_of",
]
