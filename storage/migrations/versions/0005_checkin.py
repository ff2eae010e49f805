"""check-in: a workshop's QR token and when each member checked in

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workshops", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checkin_token", sa.String(32), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_workshops_checkin_token"), ["checkin_token"]
        )
    with op.batch_alter_table("signups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checked_in_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signups", schema=None) as batch_op:
        batch_op.drop_column("checked_in_at")
    with op.batch_alter_table("workshops", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_workshops_checkin_token"), type_="unique")
        batch_op.drop_column("checkin_token")
