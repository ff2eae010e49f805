"""learning tracks

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tracks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("prerequisite_id", sa.Integer(), nullable=True),
        sa.Column("allocation", sa.String(length=16), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("draw_at", UTCDateTime(), nullable=True),
        sa.Column("seed", sa.String(length=64), nullable=True),
        sa.Column("drawn_at", UTCDateTime(), nullable=True),
        sa.Column("intake_question", sa.Text(), nullable=True),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["prerequisite_id"],
            ["tracks.id"],
            name=op.f("fk_tracks_prerequisite_id_tracks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracks")),
    )
    op.create_table(
        "track_places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("previous_places", sa.Integer(), nullable=True),
        sa.Column("intake_answer", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_track_places_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["track_id"],
            ["tracks.id"],
            name=op.f("fk_track_places_track_id_tracks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_track_places")),
        sa.UniqueConstraint("track_id", "member_id", name=op.f("uq_track_places_track_id")),
    )
    with op.batch_alter_table("track_places", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_track_places_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_track_places_track_id"), ["track_id"], unique=False)

    with op.batch_alter_table("workshops", schema=None) as batch_op:
        batch_op.add_column(sa.Column("track_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_workshops_track_id"), ["track_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_workshops_track_id_tracks"),
            "tracks",
            ["track_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("workshops", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_workshops_track_id_tracks"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_workshops_track_id"))
        batch_op.drop_column("track_id")

    with op.batch_alter_table("track_places", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_track_places_track_id"))
        batch_op.drop_index(batch_op.f("ix_track_places_member_id"))

    op.drop_table("track_places")
    op.drop_table("tracks")
