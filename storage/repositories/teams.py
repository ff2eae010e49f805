"""Queries for project teams: who is available, the pool an organiser may draw from, the
teams and who is on them (`team_available`, `teams`, `team_members`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, MemberSkill, team_available, team_members, teams

A, T, TM = team_available.c, teams.c, team_members.c
ON_A_TEAM = ("invited", "yes", "no")  # asked before: counts for "who had a chance"


@dataclass(frozen=True, slots=True)
class Person:
    """A member as the team choice sees them: where, what kind, which talents at what level,
    and how often they were invited to a team before (fewer first: an equal chance)."""

    member_id: int
    first_name: str | None
    region_code: str | None
    kind: str | None  # member | sympathiser
    levels: dict[int, str | None] = field(default_factory=dict)  # skill id -> talent level
    invited_before: int = 0


async def is_available(session: AsyncSession, member_id: int) -> bool:
    found = await session.scalar(select(A.member_id).where(A.member_id == member_id))
    return found is not None


async def set_available(session: AsyncSession, member_id: int, on: bool, now: datetime) -> None:
    if not on:
        await session.execute(delete(team_available).where(A.member_id == member_id))
    elif not await is_available(session, member_id):
        await session.execute(insert(team_available).values(member_id=member_id, since=now))


async def pool(session: AsyncSession, regions: Collection[str] | None) -> list[Person]:
    """Every available, reachable member (of these regions; None: all) who takes requests."""
    query = (
        select(Member.id, Member.first_name, Member.region_code, Member.kind)
        .join(team_available, A.member_id == Member.id)
        .where(Member.unreachable_since.is_(None), Member.no_contact_requests.is_(False))
        .order_by(Member.id)
    )
    if regions is not None:
        query = query.where(Member.region_code.in_(list(regions)))
    people = list(await session.execute(query))
    if not people:
        return []
    levels: dict[int, dict[int, str | None]] = defaultdict(dict)
    talents = await session.execute(
        select(MemberSkill.member_id, MemberSkill.skill_id, MemberSkill.level).where(
            MemberSkill.member_id.in_(select(A.member_id)),
            MemberSkill.kind == "talent",
            MemberSkill.status == "ok",
            MemberSkill.skill_id.is_not(None),
        )
    )
    for member_id, skill_id, level in talents:
        levels[member_id][skill_id] = level
    invited = dict(
        (
            await session.execute(
                select(TM.member_id, func.count())
                .where(TM.status.in_(ON_A_TEAM), TM.member_id.in_(select(A.member_id)))
                .group_by(TM.member_id)
            )
        ).all()
    )
    return [
        Person(mid, name, region, kind, levels.get(mid, {}), int(invited.get(mid, 0)))
        for mid, name, region, kind in people
    ]


async def create(
    session: AsyncSession,
    *,
    organiser_id: int,
    topic: str,
    size: int,
    skill_ids: Sequence[int],
    regions: Collection[str] | None,
    now: datetime,
) -> int:
    result = await session.execute(
        insert(teams).values(
            organiser_id=organiser_id,
            topic=topic[:200],
            size=size,
            skill_ids=list(skill_ids),
            regions=sorted(regions) if regions is not None else None,
            status="draft",
            created_at=now,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def get(session: AsyncSession, team_id: int) -> Any:
    return (await session.execute(select(teams).where(T.id == team_id))).first()


async def add_members(session: AsyncSession, team_id: int, member_ids: Sequence[int]) -> None:
    """Append to the team after whoever is on it (positions keep the organiser's order)."""
    last = await session.scalar(select(func.max(TM.position)).where(TM.team_id == team_id))
    start = int(last or 0) + 1
    if member_ids:
        await session.execute(
            insert(team_members),
            [
                {"team_id": team_id, "member_id": m, "status": "proposed", "position": start + i}
                for i, m in enumerate(member_ids)
            ],
        )


async def members_of(session: AsyncSession, team_id: int) -> list[tuple[int, str]]:
    """(member id, status) of everyone ever on the team, in the team's order."""
    rows = await session.execute(
        select(TM.member_id, TM.status).where(TM.team_id == team_id).order_by(TM.position)
    )
    return [(m, s) for m, s in rows]


async def move(
    session: AsyncSession,
    team_id: int,
    member_ids: Collection[int] | None,
    old: Collection[str],
    new: str,
    when: datetime | None = None,
) -> list[int]:
    """A conditional state change of team members (all with `member_ids` None); returns
    whom it changed (two quick taps cannot both change one)."""
    query = update(team_members).where(TM.team_id == team_id, TM.status.in_(list(old)))
    if member_ids is not None:
        query = query.where(TM.member_id.in_(list(member_ids)))
    values: dict[str, Any] = {"status": new}
    if when is not None:
        values["answered_at"] = when
    result = await session.execute(query.values(values).returning(TM.member_id))
    return [row[0] for row in result]


async def set_status(session: AsyncSession, team_id: int, status: str) -> None:
    await session.execute(update(teams).where(T.id == team_id).values(status=status))
