"""Learning tracks: a series of sessions (e.g. member education step 1, then step 2).

Applying checks the prerequisite (every session of the earlier track attended). Places go
first come first served, or — for a lottery track — by a draw at `draw_at`, weighted towards
members who had fewer track places before (bot/services/lottery.py). The seed stays secret
until the draw; only its SHA-256 (the commitment) is shown before. The draw numbers the
applications as tickets in the order they were made, so no member id counts. The weights are
stored with each application, so anyone can re-run the draw later with the revealed seed
(`ledenbot lottery verify TRACK SEED`) and get the same.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.services import lottery
from storage import locking
from storage.models import Member, Signup, Track, TrackPlace, Workshop
from storage.repositories import tracks as repo


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
    """A track; a lottery track gets its secret seed now, and the commitment to publish."""
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
    )
    if lottery_at:
        track.seed = lottery.new_seed()
        track.seed_commitment = lottery.commitment(track.seed)
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
                created_at=clock.now(),  # the application time numbers the lottery tickets
            )
        )
    else:
        mine.status, mine.position, mine.intake_answer = status, position, answer
        mine.created_at = clock.now()  # applying again: a new ticket, at the back
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
    """Draw once: the applicants as tickets, each weighed by places they had in earlier
    tracks; `result.track.seed` is revealed from now on."""
    now = now or clock.now()
    track = await _lock(session, track_id)
    if track.allocation != "lottery" or track.drawn_at is not None or track.seed is None:
        await session.commit()  # releases the lock; only lock_version moved
        raise TrackError("not due")
    applications = _numbered(await repo.in_the_pot(session, track_id))
    for application in applications.values():
        application.previous_places = await repo.places_elsewhere(
            session, application.member_id, track_id
        )
    result = lottery.draw(_pot(applications), track.places, track.seed)
    for ticket in result.winners:
        applications[ticket].status = "placed"
    for n, ticket in enumerate(result.waiting, start=1):
        applications[ticket].status, applications[ticket].position = "waiting", n
    track.drawn_at = now
    await session.commit()
    return DrawResult(
        track,
        tuple(applications[t].member_id for t in result.winners),
        tuple(applications[t].member_id for t in result.waiting),
    )


def _numbered(applications: list[TrackPlace]) -> dict[int, TrackPlace]:
    """Ticket numbers 1..n in the order the applications were made (equal times: stored
    first), which every observer can reproduce and no member id influences."""
    ordered = sorted(applications, key=lambda a: (a.created_at, a.id))
    return dict(enumerate(ordered, start=1))


def _pot(applications: dict[int, TrackPlace]) -> list[lottery.Applicant]:
    return [lottery.Applicant(ticket, a.previous_places or 0) for ticket, a in applications.items()]


@dataclass(frozen=True, slots=True)
class TicketLine:
    """One ticket of a verified draw, in draw order, for the auditor's printout."""

    ticket: int
    member_id: int
    previous_places: int
    u: float
    key: float


@dataclass(frozen=True, slots=True)
class Verification:
    """What `ledenbot lottery verify` reports: both checks, and the re-run draw."""

    commitment_ok: bool
    draw_ok: bool
    published: str | None  # the commitment shown before the draw
    winners: tuple[int, ...]  # member ids, in draw order
    waiting: tuple[int, ...]
    tickets: tuple[TicketLine, ...]

    @property
    def ok(self) -> bool:
        return self.commitment_ok and self.draw_ok


async def verify(session: AsyncSession, track_id: int, seed: str) -> Verification:
    """Check a revealed seed against the published commitment, and re-run the draw from it
    and the stored weights: both must match what was stored."""
    track = await session.get(Track, track_id)
    if track is None or track.drawn_at is None:
        raise NotDrawnYet(track_id)
    seed = seed.strip()
    applications = _numbered(await repo.drawn(session, track_id))
    pot = _pot(applications)
    again = lottery.draw(pot, track.places, seed)
    winners = tuple(applications[t].member_id for t in again.winners)
    waiting = tuple(applications[t].member_id for t in again.waiting)
    stored_winners, stored_waiting = _stored_outcome(applications.values())
    lines = tuple(
        TicketLine(t.ticket, applications[t.ticket].member_id, t.previous_places, t.u, t.key)
        for t in lottery.explain(pot, seed)
    )
    return Verification(
        commitment_ok=track.seed_commitment == lottery.commitment(seed),
        draw_ok=set(winners) == stored_winners and waiting == stored_waiting,
        published=track.seed_commitment,
        winners=winners,
        waiting=waiting,
        tickets=lines,
    )


def _stored_outcome(applications: Collection[TrackPlace]) -> tuple[set[int], tuple[int, ...]]:
    """What the database says the draw gave: the placed members, the waiting list in order."""
    placed = {a.member_id for a in applications if a.status == "placed"}
    waiting = sorted((a for a in applications if a.status == "waiting"), key=lambda a: a.position)
    return placed, tuple(a.member_id for a in waiting)


async def get(session: AsyncSession, track_id: int) -> Track | None:
    return await session.get(Track, track_id)


async def overview(
    session: AsyncSession, member_id: int
) -> tuple[list[Track], dict[int, TrackPlace]]:
    """Every track, and the member's application for each (by track id), for /leergangen."""
    listed = await repo.all_tracks(session)
    mine = {p.track_id: p for p in await repo.places_of(session, member_id)}
    return listed, mine


def seed_revealed(track: Track) -> bool:
    """The seed may be shown only once the draw is done: before, only the commitment."""
    return track.drawn_at is not None
