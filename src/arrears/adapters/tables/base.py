"""The one ``MetaData`` every table of the schema belongs to (Alembic's autogenerate compares it with the
migrations)."""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()
