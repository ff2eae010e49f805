"""Sign-up rows and the workshop lock every change to them takes first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Signup, Workshop


async def lock_workshop(session: AsyncSession, workshop_id: int) -> bool:
    """Take the workshop's lock for the rest of this transaction; False if it is gone.

    A no-op UPDATE as the transaction's first statement: PostgreSQL then holds the row lock,
    SQLite the database write lock, until commit. Everything read after it is current, so
    two workers can never both hand out the last place.
    """
    result = await session.execute(
        update(Workshop)
        .where(Workshop.id == workshop_id)
        .values(lock_version=Workshop.lock_version + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Locked:
    """What a sign-up decision needs of the workshop, read as the lock is taken."""

    status: str
    starts_at: datetime
    capacity: int
    signup_deadline: datetime | None
    members_only: bool


async def lock_and_read(session: AsyncSession, workshop_id: int) -> Locked | None:
    """lock_workshop, returning the workshop's rules in the same round trip (RETURNING)."""
    row = (
        await session.execute(
            update(Workshop)
            .where(Workshop.id == workshop_id)
            .values(lock_version=Workshop.lock_version + 1)
            .returning(
                Workshop.status,
                Workshop.starts_at,
                Workshop.capacity,
                Workshop.signup_deadline,
                Workshop.members_only,
            )
            .execution_options(synchronize_session=False)
        )
    ).first()
    return Locked(*row) if row is not None else None


@dataclass(frozen=True, slots=True)
class Tally:
    confirmed: int
    waiting: int
    last_position: int


async def tally(session: AsyncSession, workshop_id: int) -> Tally:
    """Confirmed, waiting and the last queue position, in one query."""
    mine = Signup.workshop_id == workshop_id
    row = (
        await session.execute(
            select(
                select(func.count()).where(mine, Signup.status == "confirmed").scalar_subquery(),
                select(func.count()).where(mine, Signup.status == "waiting").scalar_subquery(),
                select(func.coalesce(func.max(Signup.position), 0)).where(mine).scalar_subquery(),
            )
        )
    ).one()
    return Tally(int(row[0]), int(row[1]), int(row[2]))


async def of_member(session: AsyncSession, workshop_id: int, member_id: int) -> Signup | None:
    return await session.scalar(
        select(Signup).where(Signup.workshop_id == workshop_id, Signup.member_id == member_id)
    )


async def by_id(session: AsyncSession, signup_id: int) -> Signup | None:
    return await session.get(Signup, signup_id)


async def confirmed_count(session: AsyncSession, workshop_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(
                Signup.workshop_id == workshop_id, Signup.status == "confirmed"
            )
        )
        or 0
    )


async def last_position(session: AsyncSession, workshop_id: int) -> int:
    return int(
        await session.scalar(
            select(func.max(Signup.position)).where(Signup.workshop_id == workshop_id)
        )
        or 0
    )


async def first_waiting(session: AsyncSession, workshop_id: int) -> Signup | None:
    return await session.scalar(
        select(Signup)
        .where(Signup.workshop_id == workshop_id, Signup.status == "waiting")
        .order_by(Signup.position, Signup.id)
        .limit(1)
    )


async def waiting_ahead(session: AsyncSession, workshop_id: int, position: int) -> int:
    """How many wait before this position: the member's place in the queue is this + 1."""
    return int(
        await session.scalar(
            select(func.count()).where(
                Signup.workshop_id == workshop_id,
                Signup.status == "waiting",
                Signup.position < position,
            )
        )
        or 0
    )


async def of_workshop(session: AsyncSession, workshop_id: int) -> list[Signup]:
    rows = await session.scalars(
        select(Signup).where(Signup.workshop_id == workshop_id).order_by(Signup.position)
    )
    return list(rows)


async def counts(session: AsyncSession, workshop_id: int) -> tuple[int, int]:
    """(confirmed, waiting) for one workshop."""
    rows = await session.execute(
        select(Signup.status, func.count())
        .where(Signup.workshop_id == workshop_id, Signup.status != "cancelled")
        .group_by(Signup.status)
    )
    found = dict(rows.all())
    return int(found.get("confirmed", 0)), int(found.get("waiting", 0))
