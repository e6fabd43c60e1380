"""Court cases (arrears/legal.py), and event records of new delinquencies (credit reporting).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legal_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("referred_on", sa.Date(), nullable=False),
        sa.Column("court", sa.Text(), nullable=True),
        sa.Column("case_number", sa.String(length=100), nullable=True),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.Column("judgment_date", sa.Date(), nullable=True),
        sa.Column("judgment_principal", sa.BigInteger(), nullable=True),
        sa.Column("judgment_interest", sa.BigInteger(), nullable=True),
        sa.Column("judgment_penalty", sa.BigInteger(), nullable=True),
        sa.Column("judgment_costs", sa.BigInteger(), nullable=True),
        sa.Column("pay_by", sa.Date(), nullable=True),
        sa.Column("enforcement_case_number", sa.String(length=100), nullable=True),
        sa.Column("enforcement_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("withdrawn_on", sa.Date(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_legal_cases_loan_id", "legal_cases", ["loan_id"])
    op.create_table(
        "credit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("first_delinquency", sa.Date(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("loan_id", "jurisdiction", "first_delinquency", name="uq_credit_events_delinquency"),
    )


def downgrade() -> None:
    op.drop_table("credit_events")
    op.drop_index("ix_legal_cases_loan_id", table_name="legal_cases")
    op.drop_table("legal_cases")
