"""Queries about goals: the targets per region and year, and the counts they are measured
against, each for every region at once (one grouped query per figure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, insert, literal, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, MemberSkill, Role, Signup, goals, welcomes

g = goals.c
w = welcomes.c


async def targets(session: AsyncSession, year: int) -> dict[tuple[str, str], int]:
    """(region, metric) -> target for one year."""
    rows = await session.execute(select(g.region_code, g.metric, g.target).where(g.year == year))
    return {(region, metric): target for region, metric, target in rows.all()}


async def put(
    session: AsyncSession, year: int, region: str, metric: str, target: int, at: datetime
) -> None:
    """Set a target (insert or replace); a target of 0 removes it."""
    key = and_(g.year == year, g.region_code == region, g.metric == metric)
    if target == 0:
        await session.execute(delete(goals).where(key))
        return
    result = await session.execute(update(goals).where(key).values(target=target, set_at=at))
    if not result.rowcount:  # type: ignore[attr-defined]
        await session.execute(
            insert(goals).values(
                year=year, region_code=region, metric=metric, target=target, set_at=at
            )
        )


async def _by_region(session: AsyncSession, query) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {region: int(n) for region, n in (await session.execute(query)).all() if region}


async def with_profile(session: AsyncSession) -> dict[str, int]:
    """Members with a profile (at least one talent or learning wish), per region: now."""
    has = select(MemberSkill.member_id).where(MemberSkill.member_id == Member.id).exists()
    query = select(Member.region_code, func.count()).where(has).group_by(Member.region_code)
    return await _by_region(session, query)


async def attended(session: AsyncSession, start: datetime, end: datetime) -> dict[str, int]:
    """Members who checked in at a workshop in the period, per (their) region."""
    query = (
        select(Member.region_code, func.count(func.distinct(Member.id)))
        .join(Signup, Signup.member_id == Member.id)
        .where(Signup.checked_in_at >= start, Signup.checked_in_at < end)
        .group_by(Member.region_code)
    )
    return await _by_region(session, query)


async def new_trainers(session: AsyncSession, start: datetime, end: datetime) -> dict[str, int]:
    """Members who became trainers in the period: their first sign of it (the trainer role,
    or a talent they can teach) falls in it."""
    signs = union_all(
        select(Member.id.label("member_id"), Role.granted_at.label("at")).join(
            Role, and_(Role.telegram_id == Member.telegram_id, Role.role == literal("trainer"))
        ),
        select(MemberSkill.member_id.label("member_id"), MemberSkill.created_at.label("at")).where(
            MemberSkill.kind == "talent", MemberSkill.level == "teach", MemberSkill.status == "ok"
        ),
    ).subquery()
    first = (
        select(signs.c.member_id, func.min(signs.c.at).label("first"))
        .group_by(signs.c.member_id)
        .subquery()
    )
    query = (
        select(Member.region_code, func.count())
        .join(first, first.c.member_id == Member.id)
        .where(first.c.first >= start, first.c.first < end)
        .group_by(Member.region_code)
    )
    return await _by_region(session, query)


async def welcomed_in_time(
    session: AsyncSession, start: datetime, end: datetime, within: timedelta
) -> dict[str, int]:
    """New members who joined in the period and were contacted within `within`, per region
    (the difference is taken here: date arithmetic differs between the databases)."""
    query = select(w.region_code, w.joined_at, w.done_at).where(
        w.state == "contacted", w.joined_at >= start, w.joined_at < end
    )
    counts: dict[str, int] = {}
    for region, joined, done in (await session.execute(query)).all():
        if region and done is not None and done - joined <= within:
            counts[region] = counts.get(region, 0) + 1
    return counts
