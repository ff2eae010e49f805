"""read paths: indexes the organiser's talent search reads without touching the tables

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The talent search filters on skill, kind and status and ranks on level: all in the
    # index, with the member id to join on. It starts with (skill_id, kind), so it takes the
    # place of the index that had only those two.
    op.drop_index("ix_member_skills_skill_kind", table_name="member_skills")
    op.create_index(
        "ix_member_skills_talent",
        "member_skills",
        ["skill_id", "kind", "status", "level", "member_id"],
    )
    # The findable members of a region, with where they live: PostgreSQL joins these from the
    # index alone (an index-only scan) instead of reading every member.
    op.create_index(
        "ix_members_findable",
        "members",
        ["region_code", "findable", "unreachable_since", "id", "latitude", "longitude"],
    )


def downgrade() -> None:
    op.drop_index("ix_members_findable", table_name="members")
    op.drop_index("ix_member_skills_talent", table_name="member_skills")
    op.create_index("ix_member_skills_skill_kind", "member_skills", ["skill_id", "kind"])
