"""Day-end state, postings and snapshots: the store's day-end runner (arrears.service_layer.eod_store).

day_end_postings is append-only like postings (the same triggers).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 14:28:44.990588
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from arrears.adapters.append_only import allow_changes, refuse_changes

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "day_end_installments",
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("principal_due", sa.BigInteger(), nullable=False),
        sa.Column("interest_due", sa.BigInteger(), nullable=False),
        sa.Column("penalty_due", sa.BigInteger(), nullable=False),
        sa.Column("compound_due", sa.BigInteger(), nullable=False),
        sa.Column("held_penalty", sa.BigInteger(), nullable=False),
        sa.Column("held_compound", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("loan_id", "number"),
    )
    op.create_table(
        "day_end_postings",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("business_date", "loan_id", "account"),
    )
    with op.batch_alter_table("day_end_postings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_day_end_postings_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "day_end_snapshots",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("outstanding_principal", sa.BigInteger(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.SmallInteger(), nullable=False),
        sa.Column("classification", sa.SmallInteger(), nullable=False),
        sa.Column("non_accrual", sa.Boolean(), nullable=False),
        sa.Column("first_installment_open", sa.Boolean(), nullable=False),
        sa.Column("first_due", sa.Date(), nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("day", "loan_id"),
    )
    op.create_table(
        "day_end_state",
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("closed_through", sa.Date(), nullable=False),
        sa.Column("first_open", sa.Integer(), nullable=False),
        sa.Column("billed", sa.Integer(), nullable=False),
        sa.Column("unapplied", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("paid_penalty", sa.BigInteger(), nullable=False),
        sa.Column("paid_compound", sa.BigInteger(), nullable=False),
        sa.Column("paid_interest", sa.BigInteger(), nullable=False),
        sa.Column("paid_principal", sa.BigInteger(), nullable=False),
        sa.Column("interest_billed", sa.BigInteger(), nullable=False),
        sa.Column("penalty_charged", sa.BigInteger(), nullable=False),
        sa.Column("compound_charged", sa.BigInteger(), nullable=False),
        sa.Column("accrued", sa.BigInteger(), nullable=False),
        sa.Column("suspended_interest", sa.BigInteger(), nullable=False),
        sa.Column("suspended_penalty", sa.BigInteger(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.SmallInteger(), nullable=False),
        sa.Column("classification", sa.SmallInteger(), nullable=False),
        sa.Column("non_accrual", sa.Boolean(), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("loan_id"),
    )
    with op.batch_alter_table("day_ends", schema=None) as batch_op:
        batch_op.add_column(sa.Column("loans", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("events", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("postings", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("quarantined", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("rebuilt", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column(
                "prev_hash",
                sa.String(length=64),
                server_default="0000000000000000000000000000000000000000000000000000000000000000",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "hash",
                sa.String(length=64),
                server_default="0000000000000000000000000000000000000000000000000000000000000000",
                nullable=False,
            )
        )

    refuse_changes(op, "day_end_postings")
    op.create_index("ix_ledger_entries_business_date", "ledger_entries", ["business_date"])
    op.create_index("ix_transactions_value_date", "transactions", ["value_date"])
    op.create_index("ix_transactions_business_date", "transactions", ["business_date"])


def downgrade() -> None:
    allow_changes(op, "day_end_postings")
    op.drop_index("ix_transactions_business_date", table_name="transactions")
    op.drop_index("ix_transactions_value_date", table_name="transactions")
    op.drop_index("ix_ledger_entries_business_date", table_name="ledger_entries")
    with op.batch_alter_table("day_ends", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("rebuilt")
        batch_op.drop_column("quarantined")
        batch_op.drop_column("postings")
        batch_op.drop_column("events")
        batch_op.drop_column("loans")

    op.drop_table("day_end_state")
    op.drop_table("day_end_snapshots")
    with op.batch_alter_table("day_end_postings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_day_end_postings_loan_id"))

    op.drop_table("day_end_postings")
    op.drop_table("day_end_installments")
