"""The volunteers' writes to questions, and the reads of the desk (a volunteer's threads, the
queue, who is free for rotation).

Every change of state is one conditional UPDATE whose rowcount decides: `claim` only takes a
question that is still open, from a volunteer still under their cap; `release` and `resolve`
only act for the volunteer who holds it. That is what makes them safe across workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, Role, question_routes, questions
from storage.repositories.questions import _QUESTION, Question

q = questions.c


async def _hold_volunteer(session: AsyncSession, volunteer_id: int) -> None:
    """PostgreSQL: one claim at a time per volunteer (until this transaction ends), so two
    taps on two questions cannot both pass the cap. SQLite writes one at a time anyway."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"),
            {"space": 11, "key": volunteer_id % 2_147_483_647},
        )


async def claim(
    session: AsyncSession, question_id: int, volunteer_id: int, now: datetime, cap: int, how: str
) -> bool:
    """Take an open question if the volunteer holds fewer than `cap`; whether it was taken."""
    await _hold_volunteer(session, volunteer_id)
    other = questions.alias("held")
    held = (
        select(func.count())
        .select_from(other)
        .where(other.c.volunteer_id == volunteer_id, other.c.state == "claimed")
        .scalar_subquery()
    )
    result = await session.execute(
        update(questions)
        .where(q.id == question_id, q.state == "open", held < cap)
        .values(state="claimed", volunteer_id=volunteer_id, claimed_at=now, claimed_how=how)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def unclaim(session: AsyncSession, question_id: int, volunteer_id: int) -> bool:
    """Undo a claim the volunteer could not be told of: open again, as if never taken."""
    result = await session.execute(
        update(questions)
        .where(q.id == question_id, q.state == "claimed", q.volunteer_id == volunteer_id)
        .values(state="open", volunteer_id=None, claimed_at=None, claimed_how=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release(
    session: AsyncSession, question_id: int, volunteer_id: int, now: datetime
) -> bool:
    """Back to the queue. `claimed_at` becomes the moment it changed hands, so rotation
    waits its full time again before assigning it."""
    result = await session.execute(
        update(questions)
        .where(q.id == question_id, q.state == "claimed", q.volunteer_id == volunteer_id)
        .values(state="open", volunteer_id=None, claimed_at=now, claimed_how=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def resolve(
    session: AsyncSession, question_id: int, volunteer_id: int, now: datetime
) -> bool:
    result = await session.execute(
        update(questions)
        .where(q.id == question_id, q.state == "claimed", q.volunteer_id == volunteer_id)
        .values(state="closed", closed_at=now, closed_by="volunteer")
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_answered(session: AsyncSession, question_id: int, now: datetime) -> None:
    """The first volunteer answer relayed: kept once."""
    await session.execute(
        update(questions)
        .where(q.id == question_id, q.first_answer_at.is_(None))
        .values(first_answer_at=now)
        .execution_options(synchronize_session=False)
    )


async def set_card(session: AsyncSession, question_id: int, message_id: int) -> None:
    await session.execute(
        update(questions)
        .where(q.id == question_id)
        .values(card_message_id=message_id)
        .execution_options(synchronize_session=False)
    )


async def held_by(
    session: AsyncSession, volunteer_id: int, offset: int = 0, limit: int = 8
) -> tuple[list[Question], int]:
    """A volunteer's claimed questions, the longest held first, and how many there are."""
    where = and_(q.state == "claimed", q.volunteer_id == volunteer_id)
    total = await session.scalar(select(func.count()).select_from(questions).where(where))
    rows = await session.execute(
        _QUESTION.where(where).order_by(q.claimed_at, q.id).offset(offset).limit(limit)
    )
    return [Question(*row) for row in rows], int(total or 0)


async def waiting(
    session: AsyncSession,
    language: str | None,
    region: str | None,
    offset: int = 0,
    limit: int = 8,
) -> tuple[list[Question], int]:
    """The open questions, oldest first, of one language and region when asked."""
    conditions = [q.state == "open"]
    if language is not None:
        conditions.append(q.language == language)
    if region is not None:
        conditions.append(q.region_code == region)
    where = and_(*conditions)
    total = await session.scalar(select(func.count()).select_from(questions).where(where))
    rows = await session.execute(
        _QUESTION.where(where).order_by(q.queued_at, q.id).offset(offset).limit(limit)
    )
    return [Question(*row) for row in rows], int(total or 0)


async def due_for_rotation(session: AsyncSession, before: datetime, limit: int = 20) -> list[int]:
    """Open questions nobody took since `before` (queued, or last released, then)."""
    since = func.coalesce(q.claimed_at, q.queued_at)
    rows = await session.scalars(
        select(q.id)
        .where(q.state == "open", since <= before)
        .order_by(q.queued_at, q.id)
        .limit(limit)
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class Volunteer:
    """Someone with the volunteer role, as rotation weighs them."""

    telegram_id: int
    region_code: str | None  # as a member, if they are one
    open_threads: int
    last_claimed_at: datetime | None


async def volunteers(session: AsyncSession) -> list[Volunteer]:
    """Everyone with the volunteer role who is not known to be unreachable, with their load."""
    ids = select(Role.telegram_id).where(Role.role == "volunteer").distinct().subquery()
    load = (
        select(
            q.volunteer_id.label("vid"),
            func.count().filter(q.state == "claimed").label("open"),
            func.max(q.claimed_at).label("last"),
        )
        .where(q.volunteer_id.is_not(None))
        .group_by(q.volunteer_id)
        .subquery()
    )
    rows = await session.execute(
        select(ids.c.telegram_id, Member.region_code, load.c.open, load.c.last)
        .outerjoin(Member, Member.telegram_id == ids.c.telegram_id)
        .outerjoin(load, load.c.vid == ids.c.telegram_id)
        .where(Member.unreachable_since.is_(None))
    )
    return [Volunteer(tid, region, int(count or 0), last) for tid, region, count, last in rows]


async def copies_of_member(
    session: AsyncSession, member_id: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
    """Where a member's words were shown: (question, card message) in the group, and
    (question, chat, message) of every routed copy (the member's own chat included)."""
    cards = await session.execute(
        select(q.id, q.card_message_id).where(
            q.member_id == member_id, q.card_message_id.is_not(None)
        )
    )
    r = question_routes.c
    routes = await session.execute(
        select(r.question_id, r.chat_id, r.message_id)
        .join(questions, q.id == r.question_id)
        .where(q.member_id == member_id)
    )
    return [(int(a), int(b)) for a, b in cards], [(int(a), int(b), int(c)) for a, b, c in routes]
