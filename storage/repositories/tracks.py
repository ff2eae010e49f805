"""Queries about learning tracks and the applications for them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Track, TrackPlace


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
