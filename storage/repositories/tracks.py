"""Queries about learning tracks and the applications for them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from storage.models import MemberSkill, Signup, Skill, Track, TrackPlace, Workshop, track_skills


async def all_tracks(session: AsyncSession) -> list[Track]:
    return list(await session.scalars(select(Track).order_by(Track.id)))


async def places_of(session: AsyncSession, member_id: int) -> list[TrackPlace]:
    """Every application of one member, in any state."""
    return list(await session.scalars(select(TrackPlace).where(TrackPlace.member_id == member_id)))


async def in_the_pot(session: AsyncSession, track_id: int) -> list[TrackPlace]:
    """The applications waiting for the track's draw."""
    query = select(TrackPlace).where(
        TrackPlace.track_id == track_id, TrackPlace.status == "applied"
    )
    return list(await session.scalars(query))


async def drawn(session: AsyncSession, track_id: int) -> list[TrackPlace]:
    """The applications that were in the draw: the draw stored their weights."""
    query = select(TrackPlace).where(
        TrackPlace.track_id == track_id, TrackPlace.previous_places.is_not(None)
    )
    return list(await session.scalars(query))


async def places_elsewhere(session: AsyncSession, member_id: int, track_id: int) -> int:
    """Places the member got in other tracks: what the lottery weighs."""
    count = await session.scalar(
        select(func.count()).where(
            TrackPlace.member_id == member_id,
            TrackPlace.track_id != track_id,
            TrackPlace.status == "placed",
        )
    )
    return int(count or 0)


async def place_of(session: AsyncSession, track_id: int, member_id: int) -> TrackPlace | None:
    return await session.scalar(
        select(TrackPlace).where(TrackPlace.track_id == track_id, TrackPlace.member_id == member_id)
    )


async def counts(session: AsyncSession, track_id: int) -> tuple[int, int]:
    """(placed, waiting) of one track: read under its lock when a decision follows."""
    placed, waiting = (
        await session.execute(
            select(
                func.count().filter(TrackPlace.status == "placed"),
                func.count().filter(TrackPlace.status == "waiting"),
            ).where(TrackPlace.track_id == track_id)
        )
    ).one()
    return int(placed), int(waiting)


async def first_waiting(session: AsyncSession, track_id: int, n: int) -> list[TrackPlace]:
    """The first `n` on the track's waiting list, in the order they joined it."""
    query = (
        select(TrackPlace)
        .where(TrackPlace.track_id == track_id, TrackPlace.status == "waiting")
        .order_by(TrackPlace.position, TrackPlace.id)
        .limit(n)
    )
    return list(await session.scalars(query))


async def waiting_ahead(session: AsyncSession, track_id: int, position: int) -> int:
    count = await session.scalar(
        select(func.count()).where(
            TrackPlace.track_id == track_id,
            TrackPlace.status == "waiting",
            TrackPlace.position < position,
        )
    )
    return int(count or 0)


async def skill_ids_of(session: AsyncSession, track_id: int) -> list[int]:
    query = select(track_skills.c.skill_id).where(track_skills.c.track_id == track_id)
    return sorted(await session.scalars(query))


async def skills_of(session: AsyncSession, track_id: int) -> list[Skill]:
    """The catalogue skills a track teaches, by their Dutch name."""
    query = (
        select(Skill)
        .join(track_skills, track_skills.c.skill_id == Skill.id)
        .where(track_skills.c.track_id == track_id)
        .order_by(Skill.name_nl)
    )
    return list(await session.scalars(query))


async def set_skills(session: AsyncSession, track_id: int, skill_ids: Iterable[int]) -> None:
    await session.execute(delete(track_skills).where(track_skills.c.track_id == track_id))
    rows = [{"track_id": track_id, "skill_id": s} for s in sorted(set(skill_ids))]
    if rows:
        await session.execute(insert(track_skills), rows)


async def known_skills(session: AsyncSession, skill_ids: Iterable[int]) -> set[int]:
    wanted = set(skill_ids)
    if not wanted:
        return set()
    return set(await session.scalars(select(Skill.id).where(Skill.id.in_(wanted))))


async def sessions_of(session: AsyncSession, track_id: int) -> list[Workshop]:
    """A track's workshops (any status), in time order."""
    query = select(Workshop).where(Workshop.track_id == track_id).order_by(Workshop.starts_at)
    return list(await session.scalars(query))


async def workshops_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, Workshop]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.scalars(select(Workshop).where(Workshop.id.in_(wanted)))
    return {w.id: w for w in rows}


async def unlocked_by(session: AsyncSession, track_id: int) -> list[Track]:
    """The tracks that need this one first: what completing it opens."""
    query = select(Track).where(Track.prerequisite_id == track_id).order_by(Track.id)
    return list(await session.scalars(query))


async def chain_above(session: AsyncSession, track_id: int) -> set[int]:
    """The track and every track it needs, directly or not (to refuse a circle)."""
    seen: set[int] = set()
    current: int | None = track_id
    while current is not None and current not in seen:
        seen.add(current)
        current = await session.scalar(select(Track.prerequisite_id).where(Track.id == current))
    return seen


async def finished_tracks(session: AsyncSession, now: datetime) -> list[int]:
    """Tracks whose published sessions have all ended, with placed members not yet told."""
    ended = (
        select(Workshop.track_id)
        .where(Workshop.track_id.is_not(None), Workshop.status == "published")
        .group_by(Workshop.track_id)
        .having(func.max(Workshop.ends_at) <= now)
    )
    query = (
        select(TrackPlace.track_id)
        .where(
            TrackPlace.status == "placed",
            TrackPlace.completed_at.is_(None),
            TrackPlace.track_id.in_(ended),
        )
        .distinct()
    )
    return sorted(await session.scalars(query))


async def claim_completers(session: AsyncSession, track_id: int, now: datetime) -> list[int]:
    """Mark the placed members who attended every session of the track as told, once (a
    concurrent worker's claim finds them marked); their member ids."""
    sessions = select(Workshop.id).where(
        Workshop.track_id == track_id, Workshop.status == "published"
    )
    total = select(func.count()).select_from(sessions.subquery()).scalar_subquery()
    attended = (
        select(func.count())
        .select_from(Signup)
        .where(
            Signup.member_id == TrackPlace.member_id,
            Signup.workshop_id.in_(sessions),
            Signup.checked_in_at.is_not(None),
        )
        .scalar_subquery()
    )
    result = await session.execute(
        update(TrackPlace)
        .where(
            TrackPlace.track_id == track_id,
            TrackPlace.status == "placed",
            TrackPlace.completed_at.is_(None),
            attended == total,
            total > 0,
        )
        .values(completed_at=now)
        .returning(TrackPlace.member_id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result.scalars())


async def teach(session: AsyncSession, member_id: int, skills: list[Skill], locale: str) -> None:
    """Level "teach" on these skills as the member's talents: an existing talent row is
    raised, a missing one added under the skill's name in the member's language."""
    table = MemberSkill.__table__
    have = set(
        await session.scalars(
            select(MemberSkill.skill_id).where(
                MemberSkill.member_id == member_id,
                MemberSkill.kind == "talent",
                MemberSkill.skill_id.in_([s.id for s in skills]),
            )
        )
    )
    if have:
        await session.execute(
            update(table)
            .where(
                table.c.member_id == member_id,
                table.c.kind == "talent",
                table.c.skill_id.in_(have),
            )
            .values(level="teach", status="ok")
        )
    missing = [s for s in skills if s.id not in have]
    if missing:
        await session.execute(
            insert(table),
            [
                {
                    "member_id": member_id,
                    "skill_id": s.id,
                    "typed_text": s.name(locale)[:100],
                    "kind": "talent",
                    "level": "teach",
                    "status": "ok",
                    "created_at": clock.now(),
                }
                for s in missing
            ],
        )
