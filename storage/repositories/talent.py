"""The talent base query: findable members with a given talent, ranked."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, MemberSkill

KM_PER_DEGREE = 111.2
UNPLACED = 1e18  # km²: members without a place rank after every placed one


@dataclass(frozen=True, slots=True)
class Row:
    member_id: int
    first_name: str | None
    level: str | None
    region_code: str | None
    latitude: float | None
    longitude: float | None
    availability: tuple[bool, bool, bool, bool]
    contact_direct: bool
    username: str | None
    no_requests: bool = False


def _base(skill_id: int, regions: Collection[str] | None) -> Select[tuple[int]]:
    query = (
        select(MemberSkill.member_id)
        .join(Member, Member.id == MemberSkill.member_id)
        .where(
            MemberSkill.skill_id == skill_id,
            MemberSkill.kind == "talent",
            MemberSkill.status == "ok",
            Member.findable.is_(True),
            Member.unreachable_since.is_(None),
        )
    )
    return query.where(Member.region_code.in_(regions)) if regions is not None else query


async def page(
    session: AsyncSession,
    skill_id: int,
    regions: Collection[str] | None,
    near: tuple[float, float] | None,
    offset: int,
    limit: int,
) -> tuple[list[Row], int]:
    """Teachers first, then the experienced, then the rest; nearest first within a level.

    Distance is ranked on a flat projection around `near` (plain arithmetic, so SQLite and
    PostgreSQL rank alike); the handler shows the exact haversine distance. The total comes
    from a window count in the same pass, not from a second query. Ranking reads only what
    the indexes hold (0009); the page's few members are then read in full, in the same query.
    """
    rank = case((MemberSkill.level == "teach", 0), (MemberSkill.level == "experienced", 1), else_=2)
    keys = [rank.label("rank")]
    if near is not None:
        lat, lon = near
        shrink = math.cos(math.radians(lat))
        dy = (Member.latitude - lat) * KM_PER_DEGREE
        dx = (Member.longitude - lon) * (KM_PER_DEGREE * shrink)
        keys.append(func.coalesce(dy * dy + dx * dx, UNPLACED).label("far"))  # once; unplaced last
    ranked = (
        _base(skill_id, regions)
        .add_columns(MemberSkill.level, *keys, func.count().over().label("total"))
        .order_by(*keys, MemberSkill.member_id)
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    query = (
        select(
            ranked.c.member_id,
            Member.first_name,
            ranked.c.level,
            Member.region_code,
            Member.latitude,
            Member.longitude,
            Member.available_evenings,
            Member.available_weekends,
            Member.available_daytime,
            Member.available_online,
            Member.contact_direct,
            Member.username,
            Member.no_contact_requests,
            ranked.c.total,
        )
        .join(Member, Member.id == ranked.c.member_id)
        .order_by(*(ranked.c[key.name] for key in keys), ranked.c.member_id)
    )
    rows = (await session.execute(query)).all()
    total = int(rows[0][13]) if rows else 0
    hits = [
        Row(r[0], r[1], r[2], r[3], r[4], r[5], (r[6], r[7], r[8], r[9]), r[10], r[11], bool(r[12]))
        for r in rows
    ]
    return hits, total


async def lists_talent(session: AsyncSession, member_id: int, skill_id: int) -> bool:
    """Whether the member listed this skill as a talent (confirmed, not a pending guess)."""
    found = await session.scalar(
        select(MemberSkill.id)
        .where(
            MemberSkill.member_id == member_id,
            MemberSkill.skill_id == skill_id,
            MemberSkill.kind == "talent",
            MemberSkill.status == "ok",
        )
        .limit(1)
    )
    return found is not None
