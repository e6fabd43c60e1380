"""Credit reporting: borrowers' written consents, the months reported with each record emitted or held back and
the corrections emitted since, and disputes (arrears/service_layer/credit_reporting.py).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("document", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrowers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("credit_consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_consents_borrower_id"), ["borrower_id"], unique=False)
    op.create_table(
        "credit_reports",
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("jurisdiction", sa.String(length=8), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("period", "jurisdiction"),
    )
    op.create_table(
        "credit_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("jurisdiction", sa.String(length=8), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("negative", sa.Boolean(), nullable=False),
        sa.Column("emitted", sa.Boolean(), nullable=False),
        sa.Column("held_reason", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("corrects", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["period", "jurisdiction"], ["credit_reports.period", "credit_reports.jurisdiction"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("credit_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_records_loan_id"), ["loan_id"], unique=False)
    op.create_table(
        "credit_disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction", sa.String(length=8), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("answer_by", sa.Date(), nullable=False),
        sa.Column("claim", sa.Text(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("credit_disputes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_disputes_loan_id"), ["loan_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("credit_disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_disputes_loan_id"))
    op.drop_table("credit_disputes")
    with op.batch_alter_table("credit_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_records_loan_id"))
    op.drop_table("credit_records")
    op.drop_table("credit_reports")
    with op.batch_alter_table("credit_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_consents_borrower_id"))
    op.drop_table("credit_consents")
