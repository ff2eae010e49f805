"""profiles: talents, wishes, skills catalogue, contact requests, audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("query", sa.String(length=200), nullable=True),
        sa.Column("region_code", sa.String(length=32), nullable=True),
        sa.Column("results", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor_id"), ["actor_id"], unique=False)

    op.create_table(
        "skills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("name_nl", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("name_sv", sa.String(length=100), nullable=False),
        sa.Column("synonyms", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
        sa.UniqueConstraint("key", name=op.f("uq_skills_key")),
    )
    op.create_table(
        "contact_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.BigInteger(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_contact_requests_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_contact_requests_skill_id_skills"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_requests")),
    )
    with op.batch_alter_table("contact_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_requests_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_contact_requests_requester_id"), ["requester_id"], unique=False
        )

    op.create_table(
        "member_skills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=True),
        sa.Column("typed_text", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_skills_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_member_skills_skill_id_skills"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_skills")),
    )
    with op.batch_alter_table("member_skills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_skills_member_id"), ["member_id"], unique=False)
        batch_op.create_index("ix_member_skills_skill_kind", ["skill_id", "kind"], unique=False)

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_name", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("username", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("contact_direct", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("findable", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("available_evenings", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("available_weekends", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("available_daytime", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("available_online", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("profile_step", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("profile_step")
        batch_op.drop_column("available_online")
        batch_op.drop_column("available_daytime")
        batch_op.drop_column("available_weekends")
        batch_op.drop_column("available_evenings")
        batch_op.drop_column("findable")
        batch_op.drop_column("contact_direct")
        batch_op.drop_column("username")
        batch_op.drop_column("first_name")

    with op.batch_alter_table("member_skills", schema=None) as batch_op:
        batch_op.drop_index("ix_member_skills_skill_kind")
        batch_op.drop_index(batch_op.f("ix_member_skills_member_id"))

    op.drop_table("member_skills")
    with op.batch_alter_table("contact_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_requests_requester_id"))
        batch_op.drop_index(batch_op.f("ix_contact_requests_member_id"))

    op.drop_table("contact_requests")
    op.drop_table("skills")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_id"))

    op.drop_table("audit_log")
