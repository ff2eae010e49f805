"""The demand report's queries: counts per skill and per workshop, never a member's row.

Each is one grouped statement over the indexes the talent search already has
(`ix_member_skills_by_member`, `ix_members_findable`), so a region of 25,000 members is read
in one pass rather than member by member.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Feedback, Member, MemberSkill, Signup, Skill, Workshop, workshop_topics


async def members_in(session: AsyncSession, region: str | None) -> int:
    """Members who consented, in the region (or anywhere)."""
    query = select(func.count()).select_from(Member)
    if region is not None:
        query = query.where(Member.region_code == region)
    return int(await session.scalar(query) or 0)


async def wishes_and_teachers(
    session: AsyncSession, region: str | None
) -> dict[int, tuple[int, int]]:
    """skill id -> (members who wish to learn it, members who can teach it), in the region."""
    wish = MemberSkill.kind == "wish"
    teach = and_(MemberSkill.kind == "talent", MemberSkill.level == "teach")
    query = (
        select(
            MemberSkill.skill_id,
            func.count(func.distinct(case((wish, MemberSkill.member_id)))),
            func.count(func.distinct(case((teach, MemberSkill.member_id)))),
        )
        .join(Member, Member.id == MemberSkill.member_id)
        .where(
            MemberSkill.skill_id.is_not(None),
            MemberSkill.status == "ok",
            or_(wish, teach),
        )
        .group_by(MemberSkill.skill_id)
    )
    if region is not None:
        query = query.where(Member.region_code == region)
    rows = await session.execute(query)
    return {int(skill): (int(w), int(t)) for skill, w, t in rows}


async def planned(
    session: AsyncSession, region: str | None, start: datetime, end: datetime
) -> dict[int, int]:
    """skill id -> published workshops on it starting in [start, end) that the region's
    members can attend: in the region, or national (no region: online, or for everyone)."""
    query = (
        select(workshop_topics.c.skill_id, func.count(func.distinct(Workshop.id)))
        .join(Workshop, Workshop.id == workshop_topics.c.workshop_id)
        .where(
            Workshop.status == "published",
            Workshop.starts_at >= start,
            Workshop.starts_at < end,
        )
        .group_by(workshop_topics.c.skill_id)
    )
    if region is not None:
        query = query.where(or_(Workshop.region_code == region, Workshop.region_code.is_(None)))
    return {int(skill): int(n) for skill, n in await session.execute(query)}


async def skill_names(session: AsyncSession, ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """skill id -> (nl, en, sv) names."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Skill.id, Skill.name_nl, Skill.name_en, Skill.name_sv).where(Skill.id.in_(ids))
    )
    return {int(i): (nl, en or nl, sv or nl) for i, nl, en, sv in rows}


@dataclass(frozen=True, slots=True)
class PastRow:
    workshop_id: int
    title: str
    starts_at: datetime
    region_code: str | None
    capacity: int
    signed_up: int
    attended: int
    ratings: int
    average: float | None


async def past(
    session: AsyncSession, region: str | None, start: datetime, end: datetime
) -> list[PastRow]:
    """Published workshops of the region that started in [start, end), newest first, with
    their confirmed sign-ups, check-ins and feedback (counts and the average rating)."""
    where = [
        Workshop.status == "published",
        Workshop.starts_at >= start,
        Workshop.starts_at < end,
    ]
    if region is not None:
        where.append(Workshop.region_code == region)
    ids = select(Workshop.id).where(*where).scalar_subquery()
    signed = (
        select(
            Signup.workshop_id,
            func.count().label("signed_up"),
            func.count(Signup.checked_in_at).label("attended"),
        )
        .where(Signup.workshop_id.in_(ids), Signup.status == "confirmed")
        .group_by(Signup.workshop_id)
        .subquery()
    )
    rated = (
        select(
            Feedback.workshop_id,
            func.count().label("ratings"),
            func.avg(Feedback.rating).label("average"),
        )
        .where(Feedback.workshop_id.in_(ids))
        .group_by(Feedback.workshop_id)
        .subquery()
    )
    query = (
        select(
            Workshop.id,
            Workshop.title,
            Workshop.starts_at,
            Workshop.region_code,
            Workshop.capacity,
            func.coalesce(signed.c.signed_up, 0),
            func.coalesce(signed.c.attended, 0),
            func.coalesce(rated.c.ratings, 0),
            rated.c.average,
        )
        .outerjoin(signed, signed.c.workshop_id == Workshop.id)
        .outerjoin(rated, rated.c.workshop_id == Workshop.id)
        .where(*where)
        .order_by(Workshop.starts_at.desc(), Workshop.id.desc())
    )
    return [
        PastRow(
            int(r[0]),
            r[1],
            r[2],
            r[3],
            int(r[4]),
            int(r[5]),
            int(r[6]),
            int(r[7]),
            float(r[8]) if r[8] is not None else None,
        )
        for r in await session.execute(query)
    ]
