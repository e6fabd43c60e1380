"""Hardship plans, and the detail a plan's events carry on their transactions.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 23:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("detail", sa.Text(), nullable=True))
    op.create_table(
        "hardship_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("terms", sa.Text(), nullable=True),
        sa.Column("maker", sa.String(length=100), nullable=True),
        sa.Column("proposed_on", sa.Date(), nullable=True),
        sa.Column("concession", sa.BigInteger(), nullable=True),
        sa.Column("checker", sa.String(length=100), nullable=True),
        sa.Column("checker_role", sa.String(length=16), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_hardship_plans_loan_id", "hardship_plans", ["loan_id"])


def downgrade() -> None:
    op.drop_index("ix_hardship_plans_loan_id", table_name="hardship_plans")
    op.drop_table("hardship_plans")
    with op.batch_alter_table("transactions") as batch:
        batch.drop_column("detail")
