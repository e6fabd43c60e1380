"""An index on transactions (kind, loan_id): each day-end asks which loans have plan events.

``day_end_store.loans_with_plans`` runs ``SELECT DISTINCT loan_id FROM transactions WHERE kind IN (...)`` every
day-end; plan kinds are rare, so without an index that was a scan of the whole table. With it, an index-only read
of the few rows.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 02:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_transactions_kind", "transactions", ["kind", "loan_id"])


def downgrade() -> None:
    op.drop_index("ix_transactions_kind", table_name="transactions")
