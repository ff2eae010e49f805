"""talent found: PostgreSQL's talent search counts to its cap and reads a box, index only

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Partial: only the rows the talent search can find (storage/models.py says the same).
FINDABLE = {
    "postgresql_where": sa.text("findable IS TRUE AND unreachable_since IS NULL"),
    "sqlite_where": sa.text("findable IS 1 AND unreachable_since IS NULL"),
}
TALENT = {
    "postgresql_where": sa.text("kind = 'talent' AND status = 'ok'"),
    "sqlite_where": sa.text("kind = 'talent' AND status = 'ok'"),
}


def upgrade() -> None:
    # A region's findable members (with where they live) and a skill's talent rows, each in
    # member order: the count merges the two and stops at its cap, without hashing a whole
    # region first; ranking every match merges them too.
    op.create_index(
        "ix_members_found", "members", ["region_code", "id", "latitude", "longitude"], **FINDABLE
    )
    op.create_index(
        "ix_member_skills_found", "member_skills", ["skill_id", "member_id", "level"], **TALENT
    )
    # A region's findable members by where they live: a box around a place is one range.
    op.create_index(
        "ix_members_found_at",
        "members",
        ["region_code", "latitude", "longitude", "id"],
        **FINDABLE,
    )


def downgrade() -> None:
    op.drop_index("ix_members_found_at", table_name="members")
    op.drop_index("ix_member_skills_found", table_name="member_skills")
    op.drop_index("ix_members_found", table_name="members")
