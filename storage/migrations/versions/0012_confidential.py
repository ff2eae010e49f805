"""the confidential path: counsellors, cases (sealed), relay routes, monthly counts, tries;
sealed outbox rows

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "confidential_counsellors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("about", sa.String(300), nullable=False),
        sa.Column("reachable", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(8), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_confidential_counsellors")),
        sa.UniqueConstraint("telegram_id", name=op.f("uq_confidential_counsellors_telegram_id")),
    )
    op.create_table(
        "confidential_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_tag", sa.LargeBinary(32), nullable=False),
        sa.Column("code_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("member_tag", sa.LargeBinary(32), nullable=False),
        sa.Column("member_link", sa.LargeBinary(), nullable=False),
        sa.Column("wipe_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("counsellor_id", sa.Integer(), nullable=True),
        sa.Column("handover_to", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("identity_shared", sa.Boolean(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["counsellor_id"],
            ["confidential_counsellors.id"],
            name=op.f("fk_confidential_cases_counsellor_id_confidential_counsellors"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["handover_to"],
            ["confidential_counsellors.id"],
            name=op.f("fk_confidential_cases_handover_to_confidential_counsellors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_confidential_cases")),
        sa.UniqueConstraint("code_tag", name=op.f("uq_confidential_cases_code_tag")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_confidential_cases_member_tag"), "confidential_cases", ["member_tag"])
    op.create_index(
        op.f("ix_confidential_cases_counsellor_id"), "confidential_cases", ["counsellor_id"]
    )
    op.create_table(
        "confidential_relays",
        sa.Column("counsellor_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["counsellor_id"],
            ["confidential_counsellors.id"],
            name=op.f("fk_confidential_relays_counsellor_id_confidential_counsellors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["confidential_cases.id"],
            name=op.f("fk_confidential_relays_case_id_confidential_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("counsellor_id", "message_id", name=op.f("pk_confidential_relays")),
    )
    op.create_index(op.f("ix_confidential_relays_case_id"), "confidential_relays", ["case_id"])
    op.create_table(
        "confidential_months",
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_confidential_months")),
    )
    op.create_table(
        "confidential_tries",
        sa.Column("account_tag", sa.LargeBinary(32), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account_tag", name=op.f("pk_confidential_tries")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.drop_column("sealed")
    op.drop_table("confidential_tries")
    op.drop_table("confidential_months")
    op.drop_index(op.f("ix_confidential_relays_case_id"), table_name="confidential_relays")
    op.drop_table("confidential_relays")
    op.drop_index(op.f("ix_confidential_cases_counsellor_id"), table_name="confidential_cases")
    op.drop_index(op.f("ix_confidential_cases_member_tag"), table_name="confidential_cases")
    op.drop_table("confidential_cases")
    op.drop_table("confidential_counsellors")
