"""learning tracks, finished: a track's region and skills, and when a member's completion
of it was told (so the notice, and the train-the-trainer question, go out once)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region_code", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_tracks_region_code_regions"),
            "regions",
            ["region_code"],
            ["code"],
            ondelete="SET NULL",
            onupdate="CASCADE",
        )
    with op.batch_alter_table("track_places", schema=None) as batch_op:
        batch_op.add_column(sa.Column("completed_at", UTCDateTime(), nullable=True))
    op.create_table(
        "track_skills",
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_track_skills_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["track_id"],
            ["tracks.id"],
            name=op.f("fk_track_skills_track_id_tracks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("track_id", "skill_id", name=op.f("pk_track_skills")),
    )


def downgrade() -> None:
    op.drop_table("track_skills")
    with op.batch_alter_table("track_places", schema=None) as batch_op:
        batch_op.drop_column("completed_at")
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tracks_region_code_regions"), type_="foreignkey")
        batch_op.drop_column("region_code")
