"""Court orders, recorded never executed (arrears.court_orders); the source of money a third party pays; the
lender's reviews of closed lines (arrears.restrictions).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 15:40:55.728234
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "court_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=True),
        sa.Column("court", sa.Text(), nullable=False),
        sa.Column("case_number", sa.String(length=100), nullable=False),
        sa.Column("document_ref", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("lifted_on", sa.Date(), nullable=True),
        sa.Column("lift_document_ref", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["borrower_id"],
            ["borrowers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["loans.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("court_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_court_orders_borrower_id"), ["borrower_id"], unique=False)

    op.create_table(
        "line_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("reviewer", sa.String(length=128), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["credit_lines.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("line_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_line_reviews_line_id"), ["line_id"], unique=False)

    # a plain ADD COLUMN (no table rebuild): other tables' foreign keys point at transactions
    op.add_column("transactions", sa.Column("source", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("line_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_line_reviews_line_id"))
    op.drop_table("line_reviews")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_column("source")

    with op.batch_alter_table("court_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_court_orders_borrower_id"))

    op.drop_table("court_orders")
