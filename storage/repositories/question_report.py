"""Queries for the organisers' side of the questions: escalating the ones nobody answered,
whom to tell, and the figures of `/vragenrapport`.

The escalation is ONE conditional UPDATE that both picks and marks what is due: of two
workers running the pass at once, each question lands with exactly one of them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, Role, question_messages, questions

q = questions.c
qm = question_messages.c

WAITING = ("open", "claimed")  # queued, and nobody has answered yet (see `first_answer_at`)


@dataclass(frozen=True, slots=True)
class Waiting:
    """An escalated question as an organiser is told about it."""

    id: int
    language: str
    region_code: str | None
    queued_at: datetime
    text: str | None  # the member's first message (a photo's caption; None without text)


@dataclass(frozen=True, slots=True)
class Staff:
    """Someone who may be told: their Telegram id and, when they have one, their member row's
    id and language."""

    telegram_id: int
    member_id: int | None
    locale: str | None


@dataclass(frozen=True, slots=True)
class Figures:
    """One question as the weekly report counts it."""

    created_at: datetime
    state: str
    queued_at: datetime | None
    first_answer_at: datetime | None
    escalated_at: datetime | None
    rating: str | None


async def escalate_due(session: AsyncSession, queued_before: datetime, now: datetime) -> list[int]:
    """Mark escalated every question still waiting for a first answer that was queued before
    `queued_before` and not escalated yet; the ids this call marked (in the caller's
    transaction: commit together with the notices)."""
    result = await session.execute(
        update(questions)
        .where(
            q.state.in_(WAITING),
            q.first_answer_at.is_(None),
            q.escalated_at.is_(None),
            q.queued_at.is_not(None),
            q.queued_at <= queued_before,
        )
        .values(escalated_at=now)
        .returning(q.id)
    )
    return sorted(int(row[0]) for row in result.all())


async def waiting(session: AsyncSession, ids: Collection[int]) -> list[Waiting]:
    """The questions `ids`, oldest queued first, each with its member's first message."""
    if not ids:
        return []
    first = (
        select(qm.question_id, qm.text)
        .where(qm.question_id.in_(list(ids)), qm.author == "member")
        .order_by(qm.question_id, qm.created_at, qm.id)
    )
    texts: dict[int, str | None] = {}
    for question_id, text in await session.execute(first):
        texts.setdefault(int(question_id), text)
    rows = await session.execute(
        select(q.id, q.language, q.region_code, q.queued_at)
        .where(q.id.in_(list(ids)))
        .order_by(q.queued_at, q.id)
    )
    return [Waiting(int(i), lang, region, queued, texts.get(int(i))) for i, lang, region, queued
            in rows]  # fmt: skip


async def staff(session: AsyncSession) -> list[tuple[int, str, str | None]]:
    """Every granted organiser and admin role: (telegram id, role, region or None)."""
    rows = await session.execute(
        select(Role.telegram_id, Role.role, Role.region_code).where(
            Role.role.in_(("organiser", "admin"))
        )
    )
    return [(int(t), role, region) for t, role, region in rows]


async def people(session: AsyncSession, telegram_ids: Collection[int]) -> dict[int, Staff]:
    """Each of `telegram_ids` with their member row's id and language when there is one
    (an admin from ADMIN_IDS may never have started the bot)."""
    found = {tid: Staff(tid, None, None) for tid in telegram_ids}
    if not found:
        return found
    rows = await session.execute(
        select(Member.telegram_id, Member.id, Member.locale).where(
            Member.telegram_id.in_(list(found))
        )
    )
    for tid, member_id, locale in rows:
        found[int(tid)] = Staff(int(tid), int(member_id), locale)
    return found


async def figures(
    session: AsyncSession, since: datetime, regions: Collection[str] | None
) -> list[Figures]:
    """Every question asked since `since` (within `regions`, unless None: everywhere)."""
    query = select(
        q.created_at, q.state, q.queued_at, q.first_answer_at, q.escalated_at, q.rating
    ).where(q.created_at >= since)
    if regions is not None:
        query = query.where(and_(q.region_code.is_not(None), q.region_code.in_(list(regions))))
    return [Figures(*row) for row in await session.execute(query)]
