"""welcome follow-up and goals: welcomes (a new member's volunteer), goals per region and year

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "welcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(32), nullable=True),
        sa.Column("volunteer_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.Column("assigned_at", UTCDateTime(), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_welcomes_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_welcomes")),
        sa.UniqueConstraint("member_id", name=op.f("uq_welcomes_member_id")),
    )
    op.create_index("ix_welcomes_volunteer", "welcomes", ["volunteer_id", "state"])
    op.create_index("ix_welcomes_state_joined", "welcomes", ["state", "joined_at"])
    op.create_index("ix_members_created_at", "members", ["created_at"])
    op.create_table(
        "goals",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(32), nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"],
            ["regions.code"],
            name=op.f("fk_goals_region_code_regions"),
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("year", "region_code", "metric", name=op.f("pk_goals")),
    )


def downgrade() -> None:
    op.drop_index("ix_members_created_at", table_name="members")
    op.drop_table("goals")
    op.drop_index("ix_welcomes_state_joined", table_name="welcomes")
    op.drop_index("ix_welcomes_volunteer", table_name="welcomes")
    op.drop_table("welcomes")
