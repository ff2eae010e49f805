"""Queries for proposing a workshop from a gap: who could teach it, who wished for it, and
the organisers' asks to trainers (the `workshop_proposals` table)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ContactRequest,
    Member,
    MemberSkill,
    Role,
    Workshop,
    workshop_proposals,
    workshop_topics,
)

P = workshop_proposals.c


@dataclass(frozen=True, slots=True)
class Teacher:
    member_id: int
    first_name: str | None
    region_code: str | None
    latitude: float | None
    longitude: float | None


def _teaches(skill_id: int) -> Any:
    return exists().where(
        MemberSkill.member_id == Member.id,
        MemberSkill.skill_id == skill_id,
        MemberSkill.kind == "talent",
        MemberSkill.status == "ok",
        MemberSkill.level == "teach",
    )


def _trainer_role() -> Any:
    return exists().where(Role.telegram_id == Member.telegram_id, Role.role == "trainer")


async def teachers(
    session: AsyncSession, skill_id: int, regions: Collection[str] | None
) -> list[Teacher]:
    """Members who can teach the skill and agreed to be asked: a "can teach" talent, and
    findable or given the trainer role (as `roles.agreed_to_train`); reachable, and not
    among those who asked never to be asked. `regions` None: every region."""
    query = select(
        Member.id, Member.first_name, Member.region_code, Member.latitude, Member.longitude
    ).where(
        _teaches(skill_id),
        or_(Member.findable.is_(True), _trainer_role()),
        Member.unreachable_since.is_(None),
        Member.no_contact_requests.is_(False),
    )
    if regions is not None:
        query = query.where(Member.region_code.in_(list(regions)))
    rows = await session.execute(query.order_by(Member.id))
    return [Teacher(*row) for row in rows]


async def is_teacher(session: AsyncSession, member_id: int, skill_id: int) -> bool:
    found = await session.scalar(
        select(Member.id).where(
            Member.id == member_id,
            _teaches(skill_id),
            or_(Member.findable.is_(True), _trainer_role()),
        )
    )
    return found is not None


async def wishers(
    session: AsyncSession, skill_id: int, region_code: str | None
) -> list[tuple[int, float | None, float | None]]:
    """(member id, latitude, longitude) of the members of the region who wish to learn the
    skill and can be reached."""
    query = (
        select(Member.id, Member.latitude, Member.longitude)
        .where(
            exists().where(
                MemberSkill.member_id == Member.id,
                MemberSkill.skill_id == skill_id,
                MemberSkill.kind == "wish",
                MemberSkill.status == "ok",
            ),
            Member.region_code == region_code,
            Member.unreachable_since.is_(None),
        )
        .order_by(Member.id)
    )
    return [(row[0], row[1], row[2]) for row in await session.execute(query)]


async def planned(
    session: AsyncSession, skill_id: int, region_code: str | None, since: datetime, until: datetime
) -> int:
    """Published workshops on the skill in the region between the two moments."""
    found = await session.scalar(
        select(func.count(func.distinct(Workshop.id)))
        .join(workshop_topics, workshop_topics.c.workshop_id == Workshop.id)
        .where(
            workshop_topics.c.skill_id == skill_id,
            Workshop.region_code == region_code,
            Workshop.status == "published",
            Workshop.starts_at >= since,
            Workshop.starts_at < until,
        )
    )
    return int(found or 0)


async def add(
    session: AsyncSession,
    *,
    skill_id: int,
    region_code: str | None,
    organiser_id: int,
    trainer_id: int,
    now: datetime,
) -> int:
    result = await session.execute(
        insert(workshop_proposals).values(
            skill_id=skill_id,
            region_code=region_code,
            organiser_id=organiser_id,
            trainer_id=trainer_id,
            status="asked",
            created_at=now,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def get(session: AsyncSession, proposal_id: int) -> Any:
    return (await session.execute(select(workshop_proposals).where(P.id == proposal_id))).first()


async def asked_of(session: AsyncSession, organiser_id: int) -> dict[int, tuple[int, str]]:
    """The organiser's latest ask per trainer: member id -> (proposal id, status)."""
    rows = await session.execute(
        select(P.trainer_id, P.id, P.status).where(P.organiser_id == organiser_id).order_by(P.id)
    )
    return {trainer: (proposal_id, status) for trainer, proposal_id, status in rows}


async def pending(session: AsyncSession, organiser_id: int, trainer_id: int) -> bool:
    found = await session.scalar(
        select(P.id).where(
            P.organiser_id == organiser_id, P.trainer_id == trainer_id, P.status == "asked"
        )
    )
    return found is not None


async def last_declined(
    session: AsyncSession, organiser_id: int, trainer_id: int
) -> datetime | None:
    return await session.scalar(
        select(func.max(P.answered_at)).where(
            P.organiser_id == organiser_id, P.trainer_id == trainer_id, P.status == "declined"
        )
    )


async def asks_since(session: AsyncSession, organiser_id: int, since: datetime) -> int:
    """Asks to trainers and contact requests together: one daily budget per organiser."""
    asks = await session.scalar(
        select(func.count()).where(P.organiser_id == organiser_id, P.created_at >= since)
    )
    requests = await session.scalar(
        select(func.count())
        .select_from(ContactRequest)
        .where(ContactRequest.requester_id == organiser_id, ContactRequest.created_at >= since)
    )
    return int(asks or 0) + int(requests or 0)


async def move(
    session: AsyncSession,
    proposal_id: int,
    old: str,
    new: str,
    when: datetime | None = None,
    *,
    trainer_id: int | None = None,
    workshop_id: int | None = None,
) -> bool:
    """A conditional state change (two quick taps cannot both make it); False if the
    proposal is not in `old` (or not the trainer's)."""
    query = update(workshop_proposals).where(P.id == proposal_id, P.status == old)
    if trainer_id is not None:
        query = query.where(P.trainer_id == trainer_id)
    values: dict[str, Any] = {"status": new}
    if when is not None:
        values["answered_at"] = when
    if workshop_id is not None:
        values["workshop_id"] = workshop_id
    result = await session.execute(query.values(values))
    return bool(result.rowcount)  # type: ignore[attr-defined]
