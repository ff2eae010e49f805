"""Learning tracks: a series of sessions (e.g. member education step 1, then step 2).

Applying checks the prerequisite (every session of the earlier track attended). Places go
first come first served, or — for a lottery track — by a draw at `draw_at`, weighted towards
members who had fewer track places before (bot/services/lottery.py). The seed stays secret
until the draw; only its SHA-256 (the commitment) is shown before. The draw numbers the
applications as tickets in the order they were made, so no member id counts. The weights are
stored with each application, so anyone can re-run the draw later with the revealed seed
(`ledenbot lottery verify TRACK SEED`) and get the same.

A place comes free in one way only, `free_places` (like bot/services/signups.py): a member
withdraws, or an organiser gives the track more places; under the track's lock the first on
the waiting list move up in the same transaction, and the caller learns whom to tell. So no
number of concurrent applications and withdrawals hands out more places than the track has.

Organisers create and edit tracks (`create`, `edit`) within their scope: a regional
organiser's tracks are of their region; a track without a region is national. A member who
attended every session of a track is told once (`claim_completions`); after a track that
follows another ("step 2") they are asked whether they would like to train others, and a
yes (`answer_teach`) gives them the level "teach" on the track's skills.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.services import lottery
from bot.services.roles import ALL_REGIONS, Scope
from storage import locking
from storage.models import Member, Signup, Skill, Track, TrackPlace, Workshop
from storage.repositories import tracks as repo

_T = TypeVar("_T")
TITLE_MAX, DESCRIPTION_MAX, QUESTION_MAX, PLACES_MAX = 200, 2000, 500, 10_000


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


class NotAllowed(TrackError):
    """Not an organiser of the track's region (or of the region asked for)."""


class NotApplied(TrackError):
    """Withdrawing without an application (a stale or forged button)."""


class TooFewPlaces(TrackError):
    """Fewer places than members already placed: the organiser is told how many."""

    def __init__(self, taken: int) -> None:
        super().__init__(taken)
        self.taken = taken


class BadPrerequisite(TrackError):
    """An unknown track, the track itself, or one that needs this track (a circle)."""


class BadSessions(TrackError):
    """Workshops that do not exist, or not in the organiser's region: their numbers."""

    def __init__(self, ids: Iterable[int]) -> None:
        self.ids = tuple(sorted(ids))
        super().__init__(self.ids)


class Invalid(TrackError):
    """An empty or too long text, or places out of range: the field's name."""


class NotCompleted(TrackError):
    """A train-the-trainer answer from someone not told they completed the track."""


class Field(StrEnum):
    """What an organiser can change of a track in the chat."""

    TITLE = "title"
    DESCRIPTION = "description"
    PLACES = "places"
    PREREQUISITE = "prerequisite"
    INTAKE = "intake"
    SKILLS = "skills"
    SESSIONS = "sessions"
    REGION = "region"


@dataclass(frozen=True, slots=True)
class Withdrew:
    was: str  # placed | waiting | applied
    promoted: tuple[int, ...]  # member ids who moved up into the freed place: tell them


@dataclass(frozen=True, slots=True)
class Edited:
    promoted: tuple[int, ...]  # more places: the first waiting moved up


@dataclass(frozen=True, slots=True)
class Completed:
    """Members told once that they completed a track: what the notice names."""

    track: Track
    member_ids: tuple[int, ...]
    unlocks: tuple[Track, ...]  # tracks that need this one first
    skills: tuple[Skill, ...]
    asks_to_teach: bool  # "step 2": would they like to train others in these skills?


@dataclass(frozen=True, slots=True)
class Applied:
    status: str  # applied (waits for the draw) | placed | waiting
    position: int  # on the waiting list, 1-based; 0 otherwise


def clean_text(field: Field, text: str | None) -> str:
    """A title, description or intake question as stored: spaces folded, within its limit;
    Invalid for an empty title or a text over the limit (never silently cut)."""
    limit = {Field.TITLE: TITLE_MAX, Field.DESCRIPTION: DESCRIPTION_MAX}.get(field, QUESTION_MAX)
    cleaned = (text or "").strip() if field == Field.DESCRIPTION else " ".join((text or "").split())
    if len(cleaned) > limit or (field == Field.TITLE and not cleaned):
        raise Invalid(field)
    return cleaned


def check_places(places: int) -> int:
    if not 0 <= places <= PLACES_MAX:
        raise Invalid(Field.PLACES)
    return places


async def create(
    session: AsyncSession,
    *,
    title: str,
    places: int,
    lottery_at: datetime | None = None,
    prerequisite_id: int | None = None,
    intake_question: str | None = None,
    description: str = "",
    region_code: str | None = None,
    skill_ids: Iterable[int] = (),
    scope: Scope = ALL_REGIONS,
) -> Track:
    """A track; a lottery track gets its secret seed now, and the commitment to publish.
    Within `scope` only (the command line acts everywhere)."""
    if places < 0 or not title.strip():
        raise TrackError("invalid")
    if not scope.allows(region_code):
        raise NotAllowed(region_code)
    if prerequisite_id is not None and await session.get(Track, prerequisite_id) is None:
        raise BadPrerequisite(prerequisite_id)
    skills = set(skill_ids)
    if await repo.known_skills(session, skills) != skills:
        raise Invalid(Field.SKILLS)
    track = Track(
        title=title.strip()[:200],
        description=description,
        places=places,
        prerequisite_id=prerequisite_id,
        intake_question=intake_question or None,
        allocation="lottery" if lottery_at else "fcfs",
        draw_at=lottery_at,
        region_code=region_code,
    )
    if lottery_at:
        track.seed = lottery.new_seed()
        track.seed_commitment = lottery.commitment(track.seed)
    session.add(track)
    await session.flush()
    await repo.set_skills(session, track.id, skills)
    await session.commit()
    return track


async def add_session(
    session: AsyncSession, track_id: int, workshop_id: int, scope: Scope = ALL_REGIONS
) -> None:
    workshop = await session.get(Workshop, workshop_id)
    track = await session.get(Track, track_id)
    if workshop is None or track is None:
        raise TrackGone(track_id)
    if not scope.allows(track.region_code) or not scope.allows(workshop.region_code):
        raise NotAllowed(track_id)
    workshop.track_id = track_id
    await session.commit()


def may_edit(scope: Scope | None, track: Track) -> bool:
    """Organisers of the track's region, or of every region for a national track."""
    return scope is not None and scope.allows(track.region_code)


async def edit(
    session: AsyncSession, scope: Scope, track_id: int, field: Field, value: object
) -> Edited:
    """Change one thing of a track, checked again under its lock: the organiser's region,
    the value's limits, no fewer places than members placed, no prerequisite circle, only
    workshops of the organiser's region as sessions. More places go to the first waiting."""

    async def release() -> None:
        track = await session.get(Track, track_id)
        assert track is not None  # the lock found it
        if not may_edit(scope, track):
            raise NotAllowed(track_id)
        await _change(session, scope, track, field, value)

    _none, promoted = await free_places(session, track_id, release)
    return Edited(promoted)


async def _change(
    session: AsyncSession, scope: Scope, track: Track, field: Field, value: object
) -> None:
    if field in (Field.TITLE, Field.DESCRIPTION, Field.INTAKE):
        text = clean_text(field, value if isinstance(value, str) else None)
        if field == Field.TITLE:
            track.title = text
        elif field == Field.DESCRIPTION:
            track.description = text
        else:
            track.intake_question = text or None
    elif field == Field.PLACES:
        places = check_places(value if isinstance(value, int) else -1)
        placed, _waiting = await repo.counts(session, track.id)
        if places < placed:
            raise TooFewPlaces(placed)
        track.places = places
    elif field == Field.PREREQUISITE:
        await _set_prerequisite(session, track, value if isinstance(value, int) else None)
    elif field == Field.SKILLS:
        skills = set(value) if isinstance(value, tuple | list | set) else set()
        if await repo.known_skills(session, skills) != skills:
            raise Invalid(Field.SKILLS)
        await repo.set_skills(session, track.id, skills)
    elif field == Field.SESSIONS:
        ids = set(value) if isinstance(value, tuple | list | set) else set()
        await _set_sessions(session, scope, track, ids)
    elif field == Field.REGION:
        region = value if isinstance(value, str) else None
        if not scope.allows(region):
            raise NotAllowed(region)
        track.region_code = region


async def _set_prerequisite(session: AsyncSession, track: Track, before: int | None) -> None:
    if before is None:
        track.prerequisite_id = None
        return
    if await session.get(Track, before) is None or track.id in await repo.chain_above(
        session, before
    ):
        raise BadPrerequisite(before)
    track.prerequisite_id = before


async def _set_sessions(session: AsyncSession, scope: Scope, track: Track, ids: set[int]) -> None:
    """The track's sessions become exactly these workshops; each added or removed one must
    exist and be in the organiser's region."""
    current = {w.id: w for w in await repo.sessions_of(session, track.id)}
    found = await repo.workshops_by_id(session, ids)
    refused = {i for i in ids if i not in found or found[i].status != "published"}
    changed = [found[i] for i in ids - current.keys() if i in found]
    changed += [w for i, w in current.items() if i not in ids]
    refused |= {w.id for w in changed if not scope.allows(w.region_code)}
    if refused:
        raise BadSessions(refused)
    for workshop in changed:
        workshop.track_id = track.id if workshop.id in ids else None


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


async def free_places(
    session: AsyncSession, track_id: int, release: Callable[[], Awaitable[_T]]
) -> tuple[_T, tuple[int, ...]]:
    """The one way track places come free: lock the track, `release` (a withdrawal, more
    places), give every free place to the first on the waiting list, commit. Returns what
    `release` returned and the member ids who moved up; on a refusal nothing changed."""
    try:
        async with locking.track(session, track_id) as track:
            released = await release()
            await session.flush()
            return released, await _promote(session, track)
    except locking.Gone:
        raise TrackGone(track_id) from None


async def _promote(session: AsyncSession, track: Track) -> tuple[int, ...]:
    """Within the lock: the first waiting take every free place (a lottery track before its
    draw has no places given yet: the draw gives them)."""
    if track.allocation == "lottery" and track.drawn_at is None:
        return ()
    placed, _waiting = await repo.counts(session, track.id)
    free = track.places - placed
    if free <= 0:
        return ()
    moving = await repo.first_waiting(session, track.id, free)
    for place in moving:
        place.status, place.position = "placed", 0
    await session.flush()
    return tuple(p.member_id for p in moving)


async def withdraw(session: AsyncSession, member: Member, track_id: int) -> Withdrew:
    """Give up a place, leave the waiting list or the draw; a freed place goes to the first
    waiting, who the caller tells."""
    member_id = member.id

    async def release() -> str:
        mine = await repo.place_of(session, track_id, member_id)
        if mine is None or mine.status == "withdrawn":
            raise NotApplied(track_id)
        was = mine.status
        mine.status, mine.position = "withdrawn", 0
        return was

    was, promoted = await free_places(session, track_id, release)
    return Withdrew(was, promoted)


async def withdraw_everywhere(
    session: AsyncSession, member_id: int
) -> list[tuple[int, tuple[int, ...]]]:
    """Erasure: leave every track, each freed place going to the first waiting, one track
    (one lock) at a time; (track id, promoted member ids) per track left."""
    done = []
    for place in await repo.places_of(session, member_id):
        if place.status == "withdrawn":
            continue
        track_id = place.track_id

        async def release(track_id: int = track_id) -> None:
            mine = await repo.place_of(session, track_id, member_id)
            if mine is not None:
                await session.delete(mine)

        try:
            _none, promoted = await free_places(session, track_id, release)
        except TrackGone:
            continue
        done.append((track_id, promoted))
    return done


async def position_of(session: AsyncSession, place: TrackPlace) -> int:
    """A waiting member's number on the list, 1-based."""
    return await repo.waiting_ahead(session, place.track_id, place.position) + 1


async def claim_completions(session: AsyncSession, now: datetime | None = None) -> list[Completed]:
    """Every placed member who attended all sessions of a track whose sessions have all
    ended, marked told (once, whatever the number of workers), with what to tell them."""
    now = now or clock.now()
    done = []
    for track_id in await repo.finished_tracks(session, now):
        member_ids = await repo.claim_completers(session, track_id, now)
        await session.commit()
        track = await session.get(Track, track_id)
        if not member_ids or track is None:
            continue
        skills = tuple(await repo.skills_of(session, track_id))
        done.append(
            Completed(
                track,
                tuple(member_ids),
                tuple(await repo.unlocked_by(session, track_id)),
                skills,
                asks_to_teach=track.prerequisite_id is not None and bool(skills),
            )
        )
    return done


async def answer_teach(
    session: AsyncSession, member: Member, track_id: int, yes: bool
) -> list[Skill]:
    """The answer to "would you like to train others?": checked against the member's own
    completed place (never the button); yes gives the level "teach" on the track's skills.
    Returns those skills."""
    place = await repo.place_of(session, track_id, member.id)
    if place is None or place.completed_at is None:
        raise NotCompleted(track_id)
    skills = await repo.skills_of(session, track_id)
    if yes and skills:
        await repo.teach(session, member.id, skills, member.locale)
    await session.commit()
    return skills


@dataclass(frozen=True, slots=True)
class Card:
    """An organiser's view of one track: the counts and what it is made of."""

    track: Track
    placed: int
    waiting: int
    prerequisite: Track | None
    skills: tuple[Skill, ...]
    sessions: tuple[Workshop, ...]


async def card(session: AsyncSession, track_id: int) -> Card | None:
    track = await session.get(Track, track_id)
    if track is None:
        return None
    await session.refresh(track)
    placed, waiting = await repo.counts(session, track_id)
    before = await session.get(Track, track.prerequisite_id) if track.prerequisite_id else None
    return Card(
        track,
        placed,
        waiting,
        before,
        tuple(await repo.skills_of(session, track_id)),
        tuple(await repo.sessions_of(session, track_id)),
    )


async def skill_ids_of(session: AsyncSession, track_id: int) -> list[int]:
    return await repo.skill_ids_of(session, track_id)


async def recent(session: AsyncSession, n: int = 8) -> list[Track]:
    """The newest tracks: the prerequisite buttons of the dialog."""
    return (await repo.all_tracks(session))[-n:][::-1]


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
