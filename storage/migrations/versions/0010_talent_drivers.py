"""talent drivers: the talent search can start from a region's findable members

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A common skill has more talent rows than a region has findable members: the search
    # then walks the region's members and looks each one's talent up here, index only.
    op.create_index(
        "ix_member_skills_by_member",
        "member_skills",
        ["member_id", "skill_id", "kind", "status", "level"],
    )


def downgrade() -> None:
    op.drop_index("ix_member_skills_by_member", table_name="member_skills")
