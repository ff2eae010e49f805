"""knowledge: the knowledge base in the database, seeded with the bundled entries

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30

The bundled entries (bot/data/knowledge/*.csv) are written here, so a new database holds
them at once; entries a later release adds are written at first use by
`bot.services.knowledge` (see its docstring), never undoing organisers' edits.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "knowledge_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("phrasings", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("origin", sa.String(10), nullable=False),
        sa.Column("proposed_by", sa.BigInteger(), nullable=True),
        sa.Column("edited_by", sa.BigInteger(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_entries")),
        sa.UniqueConstraint("language", "entry_id", name=op.f("uq_knowledge_entries_language")),
    )
    from bot.services.knowledge import bundled_rows

    op.bulk_insert(table, bundled_rows())


def downgrade() -> None:
    op.drop_table("knowledge_entries")
