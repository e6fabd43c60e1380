"""Borrowers' collections segment (a strategy's ``when.segment``), the collections decisions that put a
product's ``trigger = "decision"`` restriction rules on a line (arrears/restrictions.py), and the credit-report
pre-notices sent (arrears/reporting/pre_notice.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 20:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("borrowers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("segment", sa.String(length=40), nullable=True))
    op.create_table(
        "restriction_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["credit_lines.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("line_id", "rule", "decided_on"),
    )
    with op.batch_alter_table("restriction_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_restriction_decisions_decided_on"), ["decided_on"], unique=False)
    op.create_table(
        "credit_pre_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("credit_pre_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_pre_notices_loan_id"), ["loan_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("credit_pre_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_pre_notices_loan_id"))
    op.drop_table("credit_pre_notices")
    with op.batch_alter_table("restriction_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_restriction_decisions_decided_on"))
    op.drop_table("restriction_decisions")
    with op.batch_alter_table("borrowers", schema=None) as batch_op:
        batch_op.drop_column("segment")
