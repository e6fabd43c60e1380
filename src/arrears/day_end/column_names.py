"""The names of the day-end state's columns, in one place: the Arrow schema (:data:`arrears.day_end.columns.SCHEMA`)
and the SQL tables that store it between day-ends (``day_end_state`` and ``day_end_installments`` in
:mod:`arrears.adapters.tables.day_end`) are both built from these tuples, so a column added here reaches both.

Kept apart from :mod:`arrears.day_end.columns` so that the table definitions can name the columns without
importing Arrow and numpy. What each column means is told in :mod:`arrears.day_end.columns`.
"""

from __future__ import annotations

INSTALLMENT_COLUMNS = (
    "principal_due",
    "interest_due",
    "penalty_due",
    "compound_due",
    "held_penalty",
    "held_compound",
)
"""The amounts of one installment (list columns in Arrow, one row per installment in SQL), after ``due``."""

LOAN_AMOUNT_COLUMNS = (
    "unapplied",
    "received",
    "paid_penalty",
    "paid_compound",
    "paid_interest",
    "paid_principal",
    "interest_billed",
    "penalty_charged",
    "compound_charged",
    "accrued",
    "suspended_interest",
    "suspended_penalty",
)
"""The loan's cumulative amounts after the last day-end (int64 minor units), after ``first_open`` and ``billed``."""
