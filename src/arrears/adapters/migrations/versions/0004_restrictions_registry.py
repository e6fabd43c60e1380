"""The restrictions registry and its append-only history (arrears.restrictions); each line's product digest.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 16:40:00
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "restrictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("lifted_on", sa.Date(), nullable=True),
        sa.Column("withdrawn_on", sa.Date(), nullable=True),
        sa.Column("clean_from", sa.Date(), nullable=True),
        sa.Column("imposed_by", sa.Text(), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["credit_lines.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("restrictions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_restrictions_line_id"), ["line_id"], unique=False)
        batch_op.create_index("ix_restrictions_in_force", ["lifted_on", "withdrawn_on"], unique=False)

    op.create_table(
        "restriction_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("restriction_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["restriction_id"], ["restrictions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("restriction_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_restriction_events_line_id"), ["line_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_restriction_events_restriction_id"), ["restriction_id"], unique=False)

    # a plain ADD COLUMN (no table rebuild: other tables' foreign keys point at credit_lines), then the digest of
    # every existing line's snapshot
    op.add_column("credit_lines", sa.Column("product_digest", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    lines = sa.table("credit_lines", sa.column("id"), sa.column("product_document"), sa.column("product_digest"))
    for line_id, document in connection.execute(sa.select(lines.c.id, lines.c.product_document)).all():
        digest = hashlib.sha256(document.encode()).hexdigest()
        connection.execute(sa.update(lines).where(lines.c.id == line_id).values(product_digest=digest))


def downgrade() -> None:
    with op.batch_alter_table("credit_lines", schema=None) as batch_op:
        batch_op.drop_column("product_digest")
    with op.batch_alter_table("restriction_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_restriction_events_restriction_id"))
        batch_op.drop_index(batch_op.f("ix_restriction_events_line_id"))
    op.drop_table("restriction_events")
    with op.batch_alter_table("restrictions", schema=None) as batch_op:
        batch_op.drop_index("ix_restrictions_in_force")
        batch_op.drop_index(batch_op.f("ix_restrictions_line_id"))
    op.drop_table("restrictions")
