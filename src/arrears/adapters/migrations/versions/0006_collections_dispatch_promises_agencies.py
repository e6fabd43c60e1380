"""Collections, continued: the outbox's dispatch state and receipts, what each plan row knew of its account,
promises to pay, agency placements and complaints (arrears/collections/).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 19:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sender", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("receipt", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_status"), ["status", "due_at"], unique=False)
    with op.batch_alter_table("collection_days", schema=None) as batch_op:
        batch_op.add_column(sa.Column("jurisdiction", sa.String(length=8), nullable=True))
    with op.batch_alter_table("collection_plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("days_past_due", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("overdue", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("agency", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_collection_plans_loan_id"), ["loan_id"], unique=False)
    op.create_table(
        "promises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("judged_on", sa.Date(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrowers.id"]),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("promises", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_promises_loan_id"), ["loan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_promises_status"), ["status"], unique=False)
    op.create_table(
        "placements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("commission_bp", sa.Integer(), nullable=False),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("recalled_on", sa.Date(), nullable=True),
        sa.Column("recall_reason", sa.String(length=24), nullable=True),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_placements_loan_id"), ["loan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_placements_agency"), ["agency"], unique=False)
    op.create_index(  # a loan is placed with one agency at a time
        "ux_placements_open",
        "placements",
        ["loan_id"],
        unique=True,
        sqlite_where=sa.text("recalled_on IS NULL"),
        postgresql_where=sa.text("recalled_on IS NULL"),
    )
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrowers.id"]),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaints_borrower_id"), ["borrower_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaints_borrower_id"))
    op.drop_table("complaints")
    op.drop_index("ux_placements_open", table_name="placements")
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_placements_agency"))
        batch_op.drop_index(batch_op.f("ix_placements_loan_id"))
    op.drop_table("placements")
    with op.batch_alter_table("promises", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promises_status"))
        batch_op.drop_index(batch_op.f("ix_promises_loan_id"))
    op.drop_table("promises")
    with op.batch_alter_table("collection_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collection_plans_loan_id"))
        batch_op.drop_column("agency")
        batch_op.drop_column("overdue")
        batch_op.drop_column("days_past_due")
    with op.batch_alter_table("collection_days", schema=None) as batch_op:
        batch_op.drop_column("jurisdiction")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_status"))
        batch_op.drop_column("last_error")
        batch_op.drop_column("receipt")
        batch_op.drop_column("sender")
        batch_op.drop_column("sent_at")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("next_attempt_at")
