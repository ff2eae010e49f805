"""hardening: unguessable workshop codes, a lottery commitment, "never ask me again",
and an erasable roles.granted_by

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

import hashlib
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.alter_column("granted_by", existing_type=sa.BigInteger(), nullable=True)
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "no_contact_requests", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seed_commitment", sa.String(64), nullable=True))
    _reseed_undrawn_lotteries()
    with op.batch_alter_table("workshops", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(16), nullable=True))
    workshops = sa.table("workshops", sa.column("id", sa.Integer), sa.column("code", sa.String))
    connection = op.get_bind()
    for (workshop_id,) in connection.execute(sa.select(workshops.c.id)).all():
        connection.execute(
            workshops.update()
            .where(workshops.c.id == workshop_id)
            .values(code=secrets.token_urlsafe(9))
        )
    with op.batch_alter_table("workshops", schema=None) as batch_op:
        batch_op.alter_column("code", existing_type=sa.String(16), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_workshops_code"), ["code"])


def _reseed_undrawn_lotteries() -> None:
    """Before 0008 a lottery's seed was shown in advance, so whoever saw it could foresee the
    draw: every undrawn lottery gets a fresh secret seed (32 hex characters) and its public
    commitment, hex SHA-256 of the seed (as bot.services.lottery does; no app code here)."""
    tracks = sa.table(
        "tracks",
        sa.column("id", sa.Integer),
        sa.column("allocation", sa.String),
        sa.column("seed", sa.String),
        sa.column("seed_commitment", sa.String),
        sa.column("drawn_at", sa.DateTime),
    )
    connection = op.get_bind()
    undrawn = sa.select(tracks.c.id).where(
        tracks.c.allocation == "lottery", tracks.c.drawn_at.is_(None)
    )
    for (track_id,) in connection.execute(undrawn).all():
        seed = secrets.token_hex(16)
        connection.execute(
            tracks.update()
            .where(tracks.c.id == track_id)
            .values(seed=seed, seed_commitment=hashlib.sha256(seed.encode()).hexdigest())
        )


def downgrade() -> None:
    with op.batch_alter_table("workshops", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_workshops_code"), type_="unique")
        batch_op.drop_column("code")
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.drop_column("seed_commitment")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("no_contact_requests")
    roles = sa.table("roles", sa.column("granted_by", sa.BigInteger))
    op.execute(roles.update().where(roles.c.granted_by.is_(None)).values(granted_by=0))
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.alter_column("granted_by", existing_type=sa.BigInteger(), nullable=False)
