"""Learning tracks: a series of sessions (e.g. member education step 1, then step 2).

Applying checks the prerequisite (every session of the earlier track attended). Places go
first come first served, or — for a lottery track — by a draw at `draw_at` with the seed
published when the track was made, weighted towards members who had fewer track places
before (bot/services/lottery.py). The weights used are stored with each application, so
anyone can re-run the draw later (`ledenbot lottery verify TRACK SEED`) and get the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.services import lottery
from storage import locking
from storage.models import Member, Signup, Track, TrackPlace, Workshop


class TrackError(Exception):
    """Why an application cannot be made; the handler explains each."""


class TrackGone(TrackError):
    pass


class PrerequisiteMissing(TrackError):
    def __init__(self, prerequisite: Track) -> None:
        super().__init__(prerequisite.id)
        self.prerequisite = prerequisite


class AlreadyApplied(TrackError):
    pass


class NotDrawnYet(TrackError):
    pass


@dataclass(frozen=True, slots=True)
class Applied:
    status: str  # applied (waits for the draw) | placed | waiting
    position: int  # on the waiting list, 1-based; 0 otherwise


async def create(
    session: AsyncSession,
    *,
    title: str,
    places: int,
    lottery_at: datetime | None = None,
    prerequisite_id: int | None = None,
    intake_question: str | None = None,
    description: str = "",
) -> Track:
    """A track; a lottery track gets its seed now, to be published before the draw."""
    if places < 0 or not title.strip():
        raise TrackError("invalid")
    track = Track(
        title=title.strip()[:200],
        description=description,
        places=places,
        prerequisite_id=prerequisite_id,
        intake_question=intake_question,
        allocation="lottery" if lottery_at else "fcfs",
        draw_at=lottery_at,
        seed=lottery.new_seed() if lottery_at else None,
    )
    session.add(track)
    await session.commit()
    return track


async def add_session(session: AsyncSession, track_id: int, workshop_id: int) -> None:
    workshop = await session.get(Workshop, workshop_id)
    if workshop is None or await session.get(Track, track_id) is None:
        raise TrackGone(track_id)
    workshop.track_id = track_id
    await session.commit()


async def completed(session: AsyncSession, member_id: int, track_id: int) -> bool:
    """Every session of the track attended (checked in); a track without sessions is not."""
    sessions = list(
        await session.scalars(
            select(Workshop.id).where(Workshop.track_id == track_id, Workshop.status == "published")
        )
    )
    if not sessions:
        return False
    attended = await session.scalar(
        select(func.count()).where(
            Signup.member_id == member_id,
            Signup.workshop_id.in_(sessions),
            Signup.checked_in_at.is_not(None),
        )
    )
    return int(attended or 0) == len(sessions)


async def _lock(session: AsyncSession, track_id: int) -> Track:
    """The track's lock (storage/locking.py), held until this transaction ends."""
    track = await locking.hold_track(session, track_id)
    if track is None:
        await session.commit()  # nothing changed; a rollback would expire the caller's objects
        raise TrackGone(track_id)
    return track


async def apply(
    session: AsyncSession, member: Member, track_id: int, answer: str | None = None
) -> Applied:
    track = await session.get(Track, track_id)
    if track is None:
        raise TrackGone(track_id)
    if track.prerequisite_id is not None and not await completed(
        session, member.id, track.prerequisite_id
    ):
        prerequisite = await session.get(Track, track.prerequisite_id)
        assert prerequisite is not None
        raise PrerequisiteMissing(prerequisite)
    member_id = member.id
    track = await _lock(session, track_id)
    mine = await session.scalar(
        select(TrackPlace).where(TrackPlace.track_id == track_id, TrackPlace.member_id == member_id)
    )
    if mine is not None and mine.status != "withdrawn":
        await session.commit()  # releases the lock; only lock_version moved
        raise AlreadyApplied(track_id)
    placed, waiting, last = (
        await session.execute(
            select(
                func.count().filter(TrackPlace.status == "placed"),
                func.count().filter(TrackPlace.status == "waiting"),
                func.coalesce(func.max(TrackPlace.position), 0),
            ).where(TrackPlace.track_id == track_id)
        )
    ).one()
    if track.allocation == "lottery" and track.drawn_at is None:
        status, position, shown = "applied", 0, 0
    elif placed < track.places:
        status, position, shown = "placed", 0, 0
    else:
        status, position, shown = "waiting", int(last) + 1, int(waiting) + 1
    answer = (answer or "").strip()[:1000] or None
    if mine is None:
        session.add(
            TrackPlace(
                track_id=track_id,
                member_id=member_id,
                status=status,
                position=position,
                intake_answer=answer,
            )
        )
    else:
        mine.status, mine.position, mine.intake_answer = status, position, answer
    await session.commit()
    return Applied(status, shown)


@dataclass(frozen=True, slots=True)
class DrawResult:
    track: Track
    placed: tuple[int, ...]  # member ids
    waiting: tuple[int, ...]


async def due_draws(session: AsyncSession, now: datetime) -> list[int]:
    rows = await session.scalars(
        select(Track.id).where(
            Track.allocation == "lottery", Track.drawn_at.is_(None), Track.draw_at <= now
        )
    )
    return list(rows)


async def run_draw(session: AsyncSession, track_id: int, now: datetime | None = None) -> DrawResult:
    """Draw once: the applicants, each weighed by places they had in earlier tracks."""
    now = now or clock.now()
    track = await _lock(session, track_id)
    if track.allocation != "lottery" or track.drawn_at is not None or track.seed is None:
        await session.commit()  # releases the lock; only lock_version moved
        raise TrackError("not due")
    applications = list(
        await session.scalars(
            select(TrackPlace).where(
                TrackPlace.track_id == track_id, TrackPlace.status == "applied"
            )
        )
    )
    for application in applications:
        earlier = await session.scalar(
            select(func.count()).where(
                TrackPlace.member_id == application.member_id,
                TrackPlace.track_id != track_id,
                TrackPlace.status == "placed",
            )
        )
        application.previous_places = int(earlier or 0)
    result = lottery.draw(
        [lottery.Applicant(a.member_id, a.previous_places or 0) for a in applications],
        track.places,
        track.seed,
    )
    by_member = {a.member_id: a for a in applications}
    for member_id in result.winners:
        by_member[member_id].status = "placed"
    for n, member_id in enumerate(result.waiting, start=1):
        by_member[member_id].status, by_member[member_id].position = "waiting", n
    track.drawn_at = now
    await session.commit()
    return DrawResult(track, result.winners, result.waiting)


async def verify(session: AsyncSession, track_id: int, seed: str) -> tuple[bool, lottery.Draw]:
    """Re-run a track's draw from the published seed and the stored weights; True when it
    gives exactly the stored order."""
    track = await session.get(Track, track_id)
    if track is None or track.drawn_at is None:
        raise NotDrawnYet(track_id)
    applications = list(
        await session.scalars(
            select(TrackPlace).where(
                TrackPlace.track_id == track_id, TrackPlace.previous_places.is_not(None)
            )
        )
    )
    again = lottery.draw(
        [lottery.Applicant(a.member_id, a.previous_places or 0) for a in applications],
        track.places,
        seed.strip(),
    )
    stored_winners = {a.member_id for a in applications if a.status == "placed"}
    stored_waiting = [
        a.member_id for a in sorted(applications, key=lambda a: a.position) if a.status == "waiting"
    ]
    same = set(again.winners) == stored_winners and list(again.waiting) == stored_waiting
    return same, again
