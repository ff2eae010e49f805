"""questions: a member's question, its messages, the routes of relayed copies, linked groups

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("region_code", sa.String(32), nullable=True),
        sa.Column("identity", sa.String(10), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("knowledge_id", sa.String(64), nullable=True),
        sa.Column("volunteer_id", sa.BigInteger(), nullable=True),
        sa.Column("claimed_how", sa.String(10), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("queued_at", UTCDateTime(), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("first_answer_at", UTCDateTime(), nullable=True),
        sa.Column("escalated_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(10), nullable=True),
        sa.Column("rating", sa.String(10), nullable=True),
        sa.Column("card_message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_questions_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions")),
    )
    op.create_index("ix_questions_member_id", "questions", ["member_id"])
    op.create_index("ix_questions_state_queued", "questions", ["state", "queued_at"])
    op.create_index("ix_questions_volunteer", "questions", ["volunteer_id", "state"])
    op.create_table(
        "question_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(10), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("file_id", sa.String(255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_question_messages_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_messages")),
    )
    op.create_index("ix_question_messages_question_id", "question_messages", ["question_id"])
    op.create_table(
        "question_routes",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_question_routes_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_question_routes")),
    )
    op.create_index("ix_question_routes_question_id", "question_routes", ["question_id"])
    op.create_table(
        "linked_chats",
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(128), nullable=True),
        sa.Column("linked_by", sa.BigInteger(), nullable=True),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("purpose", name=op.f("pk_linked_chats")),
    )


def downgrade() -> None:
    op.drop_table("linked_chats")
    op.drop_index("ix_question_routes_question_id", table_name="question_routes")
    op.drop_table("question_routes")
    op.drop_index("ix_question_messages_question_id", table_name="question_messages")
    op.drop_table("question_messages")
    op.drop_index("ix_questions_volunteer", table_name="questions")
    op.drop_index("ix_questions_state_queued", table_name="questions")
    op.drop_index("ix_questions_member_id", table_name="questions")
    op.drop_table("questions")
