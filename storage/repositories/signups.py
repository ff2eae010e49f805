"""Sign-up rows. Every change to them happens under the workshop's lock (storage/locking.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, Signup, Workshop
from storage.repositories.members import Brief


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


@dataclass(frozen=True, slots=True)
class Held:
    """A member's sign-up row as a decision needs it (no ORM object: the hot path)."""

    id: int
    status: str
    position: int


async def tappers(
    session: AsyncSession, workshop_id: int, telegram_ids: Iterable[int]
) -> dict[int, tuple[Brief, Held | None]]:
    """Who tapped (the consented among these Telegram ids) and their sign-up row for this
    workshop, if any, in one query: by Telegram id."""
    rows = await session.execute(
        select(
            Member.telegram_id, Member.id, Member.kind, Member.locale,
            Signup.id, Signup.status, Signup.position,
        )
        .outerjoin(
            Signup, and_(Signup.member_id == Member.id, Signup.workshop_id == workshop_id)
        )
        .where(Member.telegram_id.in_(list(telegram_ids)))
    )  # fmt: skip
    return {
        tid: (Brief(id_, kind, locale), None if sid is None else Held(sid, status, position))
        for tid, id_, kind, locale, sid, status, position in rows
    }


async def add_many(
    session: AsyncSession, workshop_id: int, places: Sequence[tuple[int, str, int]]
) -> dict[int, int]:
    """Insert (member_id, status, position) rows in one statement; their ids by member. The
    ids come back with their member (RETURNING in parameter order made SQLite go row by row)."""
    if not places:
        return {}
    rows = await session.execute(
        insert(Signup).returning(Signup.member_id, Signup.id),
        [
            {"workshop_id": workshop_id, "member_id": m, "status": s, "position": p}
            for m, s, p in places
        ],
    )
    return dict(rows.all())


async def requeue(session: AsyncSession, signup_id: int, status: str, position: int) -> None:
    """A cancelled sign-up taken up again: a place, or the back of the queue."""
    await session.execute(
        update(Signup)
        .where(Signup.id == signup_id)
        .values(status=status, position=position)
        .execution_options(synchronize_session=False)
    )


async def of_member(session: AsyncSession, workshop_id: int, member_id: int) -> Signup | None:
    return await session.scalar(
        select(Signup)
        .where(Signup.workshop_id == workshop_id, Signup.member_id == member_id)
        .execution_options(populate_existing=True)
    )


async def by_id(session: AsyncSession, signup_id: int) -> Signup | None:
    return await session.get(Signup, signup_id, populate_existing=True)


async def places_free(session: AsyncSession, workshop_id: int, now: datetime) -> int:
    """Free places of a published workshop that has not started; 0 for any other."""
    confirmed = (
        select(func.count())
        .where(Signup.workshop_id == workshop_id, Signup.status == "confirmed")
        .scalar_subquery()
    )
    free = await session.scalar(
        select(Workshop.capacity - confirmed).where(
            Workshop.id == workshop_id, Workshop.status == "published", Workshop.starts_at > now
        )
    )
    return max(0, int(free or 0))


async def first_waiting(session: AsyncSession, workshop_id: int, n: int) -> list[Signup]:
    """The first `n` on the waiting list, in queue order."""
    rows = await session.scalars(
        select(Signup)
        .where(Signup.workshop_id == workshop_id, Signup.status == "waiting")
        .order_by(Signup.position, Signup.id)
        .limit(n)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def active_workshops_of(session: AsyncSession, member_id: int) -> list[int]:
    """Workshops where the member holds a place or waits for one."""
    rows = await session.scalars(
        select(Signup.workshop_id)
        .where(Signup.member_id == member_id, Signup.status.in_(("confirmed", "waiting")))
        .order_by(Signup.workshop_id)
    )
    return list(rows)


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
