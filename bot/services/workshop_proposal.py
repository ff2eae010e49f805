"""From a gap to a workshop: propose one, ask a trainer, plan it, tell the wishers first.

A gap is a skill members of a region wish to learn with no workshop planned there soon
(bot/services/demand.py). `proposal_for` names the members who could teach it and agreed to
be asked (a "can teach" talent while findable, or the trainer role; never those who asked
never to be asked), nearest to the wishers first, and how many members wished for it — a
count, never their names. The organiser asks one trainer (`ask`: the same pestering rules
and daily budget as the talent base's contact requests); the trainer answers (`answer`);
the organiser sets a date and a place (`plan`): the workshop is created and the caller tells
the wishers before anything else is announced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import regions, workshops
from bot.services.places import Gazetteer, Place, default_gazetteer, haversine_km
from bot.services.roles import Grant, organiser_scope
from storage.models import Member, Skill, Workshop
from storage.repositories import members, skills
from storage.repositories import proposals as repo
from storage.repositories.proposals import Teacher

SHOWN = 8  # candidates on one proposal (the house style's page)
HORIZON = timedelta(days=90)  # "planned soon": the demand report's three months
DECLINE_PAUSE = timedelta(days=90)  # as the talent base's
DEFAULT_HOURS = 3
DEFAULT_CAPACITY = 20
FURTHEST = timedelta(days=366)  # a date further ahead is more likely a typo


class ProposalError(Exception):
    """Something an organiser or trainer cannot do; the handler explains which."""


class NotAllowed(ProposalError):
    pass


class OutOfScope(ProposalError):
    pass


class NotCandidate(ProposalError):
    """Not (any more) someone who can teach this and agreed to be asked."""


class NoRequests(ProposalError):
    pass


class AlreadyAsked(ProposalError):
    pass


class DeclinedRecently(ProposalError):
    def __init__(self, declined_at: datetime) -> None:
        super().__init__(declined_at)
        self.again_from = declined_at + DECLINE_PAUSE


class DailyLimit(ProposalError):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class NotPending(ProposalError):
    """Already answered, planned, or not addressed to this member."""


class BadWhen(ProposalError):
    """A date and time that cannot be read, or lies in the past or too far ahead."""


class BadWhere(ProposalError):
    """A town that is not known, or "online" without a link."""


@dataclass(frozen=True, slots=True)
class Candidate:
    member_id: int
    first_name: str | None
    region_code: str | None
    distance_km: float | None
    asked: str | None  # this organiser's last ask: asked | accepted | declined | ...
    proposal_id: int | None = None  # that ask


@dataclass(frozen=True, slots=True)
class Proposal:
    skill: Skill
    region_code: str
    wishers: int
    planned: int  # workshops on it in the region within HORIZON
    candidates: list[Candidate]  # the first SHOWN, nearest first
    teachers: int  # all candidates


def _centre(points: list[tuple[float | None, float | None]]) -> tuple[float, float] | None:
    """Where the wishers live, on average (a few hundred km at most: plain means do)."""
    placed = [(lat, lon) for lat, lon in points if lat is not None and lon is not None]
    if not placed:
        return None
    return sum(p[0] for p in placed) / len(placed), sum(p[1] for p in placed) / len(placed)


def rank(
    teachers: list[Teacher], region_code: str, centre: tuple[float, float] | None
) -> list[tuple[Teacher, float | None]]:
    """Nearest to the wishers first; without places, the region's own first; then by id
    (stable, so the same question gets the same answer)."""

    def distance(t: Teacher) -> float | None:
        if centre is None or t.latitude is None or t.longitude is None:
            return None
        return haversine_km(centre[0], centre[1], t.latitude, t.longitude)

    def key(tk: tuple[Teacher, float | None]) -> tuple[bool, float, bool, int]:
        return (tk[1] is None, tk[1] or 0.0, tk[0].region_code != region_code, tk[0].member_id)

    return sorted(((t, distance(t)) for t in teachers), key=key)


async def proposal_for(
    session: AsyncSession,
    skill_id: int,
    region_code: str,
    now: datetime,
    *,
    grants: frozenset[Grant] | None = None,
    organiser_id: int | None = None,
) -> Proposal:
    """A workshop proposal for a gap. With `grants`, candidates come only from the regions
    the organiser may act in (and a region outside them is refused); without, from all."""
    skill = await skills.get(session, skill_id)
    if skill is None or not await regions.known(session, region_code):
        raise OutOfScope(region_code)
    allowed: frozenset[str] | None = None
    if grants is not None:
        scope = organiser_scope(grants)
        if scope is None:
            raise NotAllowed
        if not scope.allows(region_code):
            raise OutOfScope(region_code)
        allowed = scope.regions
    wish = await repo.wishers(session, skill_id, region_code)
    teachers = await repo.teachers(session, skill_id, allowed)
    ranked = rank(teachers, region_code, _centre([(lat, lon) for _id, lat, lon in wish]))
    asked = await repo.asked_of(session, organiser_id) if organiser_id is not None else {}
    shown = []
    for t, km in ranked[:SHOWN]:
        proposal_id, status = asked.get(t.member_id, (None, None))
        shown.append(Candidate(t.member_id, t.first_name, t.region_code, km, status, proposal_id))
    planned = await repo.planned(session, skill_id, region_code, now, now + HORIZON)
    return Proposal(skill, region_code, len(wish), planned, shown, len(teachers))


async def ask(
    session: AsyncSession,
    *,
    actor_id: int,
    grants: frozenset[Grant],
    skill_id: int,
    region_code: str,
    trainer_id: int,
    now: datetime,
    per_day: int,
) -> int:
    """Record an organiser's ask to a trainer (the caller sends it); refused, with a typed
    error, unless the trainer is a candidate and the ask would not pester them."""
    scope = organiser_scope(grants)
    if scope is None:
        raise NotAllowed
    if not scope.allows(region_code):
        raise OutOfScope(region_code)
    trainer = await members.by_id(session, trainer_id)
    if trainer is None or trainer.unreachable_since is not None:
        raise NotCandidate(trainer_id)
    if not scope.allows(trainer.region_code):
        raise OutOfScope(trainer.region_code)
    if not await repo.is_teacher(session, trainer_id, skill_id):
        raise NotCandidate(trainer_id)
    if trainer.no_contact_requests:
        raise NoRequests(trainer_id)
    if await repo.pending(session, actor_id, trainer_id):
        raise AlreadyAsked(trainer_id)
    declined = await repo.last_declined(session, actor_id, trainer_id)
    if declined is not None and now < declined + DECLINE_PAUSE:
        raise DeclinedRecently(declined)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if await repo.asks_since(session, actor_id, midnight) >= per_day:
        raise DailyLimit(per_day)
    proposal_id = await repo.add(
        session,
        skill_id=skill_id,
        region_code=region_code,
        organiser_id=actor_id,
        trainer_id=trainer_id,
        now=now,
    )
    await session.commit()
    return proposal_id


@dataclass(frozen=True, slots=True)
class Asked:
    """A proposal and who it is between, for the messages about it."""

    id: int
    status: str
    skill: Skill | None
    region_code: str | None
    organiser_id: int | None
    organiser: Member | None
    trainer: Member
    wishers: int
    workshop_id: int | None


async def get(session: AsyncSession, proposal_id: int) -> Asked | None:
    row = await repo.get(session, proposal_id)
    if row is None:
        return None
    trainer = await members.by_id(session, row.trainer_id)
    assert trainer is not None  # proposals go with their trainer
    organiser = (
        await members.by_telegram_id(session, row.organiser_id) if row.organiser_id else None
    )
    wish = await repo.wishers(session, row.skill_id, row.region_code)
    return Asked(
        row.id, row.status, await skills.get(session, row.skill_id), row.region_code,
        row.organiser_id, organiser, trainer, len(wish), row.workshop_id,
    )  # fmt: skip


async def undelivered(session: AsyncSession, proposal_id: int, now: datetime) -> None:
    """The ask never reached the trainer: closed, so it blocks nothing."""
    await repo.move(session, proposal_id, "asked", "undelivered", now)
    await session.commit()


async def answer(
    session: AsyncSession, *, member_id: int, proposal_id: int, yes: bool, now: datetime
) -> Asked:
    """The trainer's yes or no, once, and only to an ask addressed to them."""
    new = "accepted" if yes else "declined"
    if not await repo.move(session, proposal_id, "asked", new, now, trainer_id=member_id):
        await session.rollback()
        raise NotPending(proposal_id)
    await session.commit()
    found = await get(session, proposal_id)
    assert found is not None
    return found


def may_plan(grants: frozenset[Grant], actor_id: int, asked: Asked) -> bool:
    """The organiser who asked, or another who may act in the region (an admin, say)."""
    scope = organiser_scope(grants)
    if scope is None:
        return False
    return asked.organiser_id == actor_id or scope.allows(asked.region_code)


_WHEN = re.compile(
    r"^\s*(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})\s+(\d{1,2})[:.](\d{2})"
    r"(?:\s*[-–]\s*(\d{1,2})[:.](\d{2}))?\s*$"
)


def parse_when(text: str, tz: tzinfo, now: datetime) -> tuple[datetime, datetime]:
    """'14-03-2027 19:30', '2027-03-14 19:30' or '14/3/2027 19:30-22:00', in the
    organisation's time zone, as UTC: in the future, within a year; three hours by default."""
    found = _WHEN.match(text or "")
    if not found:
        raise BadWhen(text)
    a, month, c, hour, minute, end_hour, end_minute = found.groups()
    year, day = (int(a), int(c)) if len(a) == 4 else (int(c), int(a))
    try:
        start = datetime(year, int(month), day, int(hour), int(minute), tzinfo=tz)
        if end_hour is None:
            end = start + timedelta(hours=DEFAULT_HOURS)
        else:
            end = start.replace(hour=int(end_hour), minute=int(end_minute))
    except ValueError:
        raise BadWhen(text) from None
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start <= now or start > now + FURTHEST or end <= start:
        raise BadWhen(text)
    return start, end


ONLINE_WORDS = ("online", "digitaal", "digital", "på nätet")


@dataclass(frozen=True, slots=True)
class Where:
    place: Place | None
    venue: str | None
    online_url: str | None


def parse_where(text: str, gazetteer: Gazetteer | None = None) -> Where:
    """'Zwolle' or 'Zwolle, Partijhuis' (a town, then the venue), or 'online https://…'."""
    text = " ".join((text or "").split())[:300]
    lowered = text.casefold()
    for word in ONLINE_WORDS:
        if lowered.startswith(word):
            url = text[len(word) :].strip()
            if not re.match(r"^https?://\S+$", url):
                raise BadWhere(text)
            return Where(None, None, url[:500])
    town, _sep, venue = text.partition(",")
    found = (gazetteer or default_gazetteer()).search(town.strip(), limit=1) if town else []
    if not found:
        raise BadWhere(text)
    return Where(found[0].place, venue.strip()[:200] or None, None)


@dataclass(frozen=True, slots=True)
class Planned:
    workshop: Workshop
    wisher_ids: list[int]  # to be told first, by the caller


async def plan(
    session: AsyncSession,
    *,
    actor_id: int,
    grants: frozenset[Grant],
    proposal_id: int,
    starts_at: datetime,
    ends_at: datetime,
    where: Where,
    title: str,
    language: str,
) -> Planned:
    """Create the workshop the trainer agreed to give, once: the proposal moves from
    accepted to planned in the same transaction as the workshop is saved."""
    asked = await get(session, proposal_id)
    if asked is None or not may_plan(grants, actor_id, asked):
        raise NotAllowed
    if asked.status != "accepted" or asked.skill is None:
        raise NotPending(proposal_id)
    if not await repo.move(session, proposal_id, "accepted", "planned"):
        await session.rollback()
        raise NotPending(proposal_id)
    draft = workshops.Draft(
        title=title, starts_at=starts_at, ends_at=ends_at, capacity=DEFAULT_CAPACITY,
        venue=where.venue, place=where.place, online_url=where.online_url,
        region_code=asked.region_code, language=language, trainer_id=asked.trainer.id,
        skill_ids=(asked.skill.id,),
    )  # fmt: skip
    try:
        workshop = await workshops.create(session, draft)  # commits both
    except workshops.WorkshopError:
        await session.rollback()
        raise BadWhere(title) from None
    await repo.move(session, proposal_id, "planned", "planned", workshop_id=workshop.id)
    await session.commit()
    wish = await repo.wishers(session, asked.skill.id, asked.region_code)
    return Planned(workshop, [member_id for member_id, _lat, _lon in wish])
