"""feedback after a workshop, and when each attendee was asked

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("feedback_asked_at", UTCDateTime(), nullable=True))
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workshop_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"],
            name=op.f("fk_feedback_member_id_members"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workshop_id"], ["workshops.id"],
            name=op.f("fk_feedback_workshop_id_workshops"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("workshop_id", "member_id", name=op.f("uq_feedback_workshop_id")),
    )  # fmt: skip
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_workshop_id"), ["workshop_id"], unique=False)


def downgrade() -> None:
    op.drop_table("feedback")
    with op.batch_alter_table("signups", schema=None) as batch_op:
        batch_op.drop_column("feedback_asked_at")
