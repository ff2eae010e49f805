"""Workshops: creating them and reading what a member needs to decide.

Sign-ups, the waiting list and cancellations live in bot/services/signups.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import catalogue, regions, roles, signups, suggest
from bot.services.places import Place
from bot.services.roles import Grant
from storage import locking
from storage.models import Member, Signup, Workshop
from storage.repositories import members as member_repo
from storage.repositories import signups as signup_repo
from storage.repositories import skills as skill_repo
from storage.repositories import workshops as repo
from storage.repositories.regions import Configured

ONLINE = "-"  # the "region" of workshops without a place, when browsing
MAX_POSTER_ID = 999_999_999  # old `w_<id>` links: ids fit a 32-bit integer column


class WorkshopError(Exception):
    """A workshop that cannot be saved as given; the caller explains which field."""


@dataclass
class Draft:
    """A workshop as an organiser (or a CSV row) describes it, before it is saved."""

    title: str
    starts_at: datetime  # aware, any zone; stored as UTC
    ends_at: datetime
    capacity: int
    description: str = ""
    venue: str | None = None
    address: str | None = None
    place: Place | None = None
    region_code: str | None = None
    online_url: str | None = None
    language: str = "nl"
    members_only: bool = False
    signup_deadline: datetime | None = None
    trainer_id: int | None = None  # members.id
    skill_ids: Sequence[int] = field(default_factory=tuple)


def validate(draft: Draft) -> None:
    if not draft.title.strip():
        raise WorkshopError("title")
    if draft.starts_at.tzinfo is None or draft.ends_at.tzinfo is None:
        raise WorkshopError("starts_at")
    if draft.ends_at <= draft.starts_at:
        raise WorkshopError("ends_at")
    if draft.capacity < 0:
        raise WorkshopError("capacity")
    if draft.place is None and not draft.online_url:
        raise WorkshopError("town")
    if draft.signup_deadline is not None and draft.signup_deadline > draft.starts_at:
        raise WorkshopError("signup_deadline")


def build(draft: Draft) -> Workshop:
    """The model for a valid draft (not yet added to a session)."""
    validate(draft)
    place = draft.place
    return Workshop(
        title=draft.title.strip()[:200],
        description=draft.description.strip(),
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        venue=draft.venue,
        address=draft.address,
        place_id=place.id if place else None,
        town=place.name if place else None,
        latitude=place.lat if place else None,
        longitude=place.lon if place else None,
        region_code=draft.region_code,
        online_url=draft.online_url,
        capacity=draft.capacity,
        language=draft.language,
        members_only=draft.members_only,
        signup_deadline=draft.signup_deadline,
        trainer_id=draft.trainer_id,
        status="published",
    )


async def create_many(session: AsyncSession, drafts: Sequence[Draft]) -> list[Workshop]:
    """Save workshops in one transaction: all of them or, on any error, none."""
    built = [build(d) for d in drafts]
    for workshop, draft in zip(built, drafts, strict=True):
        workshop.topics = [
            s for sid in draft.skill_ids if (s := await skill_repo.get(session, sid))
        ]
        session.add(workshop)
    await session.commit()
    return built


async def create(session: AsyncSession, draft: Draft) -> Workshop:
    return (await create_many(session, [draft]))[0]


async def get(session: AsyncSession, workshop_id: int) -> Workshop | None:
    return await repo.get(session, workshop_id)


def is_member(member: Member | None) -> bool:
    """Only members (not sympathisers, not strangers) see members-only details."""
    return member is not None and member.kind == "member"


@dataclass(frozen=True, slots=True)
class Listing:
    """What /workshops shows: ranked workshops, and the regions to narrow down by."""

    hits: list[suggest.Suggestion]
    regions: list[Configured]


def _month_bounds(month: str, tz: tzinfo) -> tuple[datetime | None, datetime | None] | None:
    """The UTC instants a calendar month ("2026-12") starts and ends at in `tz`; None for
    anything that is not a month."""
    try:
        first = datetime.strptime(month, "%Y-%m")
    except ValueError:
        return None
    following = (first + timedelta(days=32)).replace(day=1)
    return (
        first.replace(tzinfo=tz).astimezone(UTC),
        following.replace(tzinfo=tz).astimezone(UTC),
    )


async def listing(
    session: AsyncSession,
    member: Member,
    now: datetime,
    tz: tzinfo,
    *,
    region: str = "",
    month: str = "",
    max_km: float | None = None,
) -> Listing:
    """Suggestions that fit the member (`max_km`) or, narrowed by region or month, everything.

    The region and the month narrow the query itself; language and distance are the ranking's.
    """
    bounds = _month_bounds(month, tz) if month else (None, None)
    if bounds is None:  # not a month: nothing is planned in it
        return Listing([], await regions.configured(session))
    upcoming, wishes = await repo.upcoming_with_wishes(
        session,
        now,
        member.id,
        online=region == ONLINE,
        region=region if region and region != ONLINE else None,
        starts_from=bounds[0],
        starts_before=bounds[1],
    )
    browsing = bool(region or month)
    hits = suggest.rank(upcoming, member, wishes, now, max_km=None if browsing else max_km)
    shown = [hit.workshop for hit in hits]
    names = await catalogue.topics(session, set().union(*(w.topic_ids for w in shown)))  # type: ignore[union-attr]
    for workshop in shown:  # names read only for the page the member sees
        workshop.names = names  # type: ignore[union-attr]
    return Listing(hits, await regions.configured(session))


async def known_region(session: AsyncSession, code: str) -> bool:
    return await regions.known(session, code)


@dataclass(frozen=True, slots=True)
class View:
    """A published workshop as one person may see it.

    `full` is False for a members-only workshop seen by a non-member: then only its title,
    date and "for members only" are theirs to see. The online link only with a confirmed place.
    """

    workshop: Workshop
    full: bool
    online_url: str | None
    trainer_name: str | None
    confirmed: int
    waiting: int
    status: signups.Outcome | None


async def visible_detail(
    session: AsyncSession, workshop_id: int, member: Member | None
) -> View | None:
    """None when there is no such published workshop."""
    workshop = await repo.get(session, workshop_id)
    if workshop is None or workshop.status != "published":
        return None
    full = not workshop.members_only or is_member(member)
    status = await signups.status_of(session, member, workshop_id) if member else None
    placed = status is not None and status.status == "confirmed"
    trainer = None
    if full and workshop.trainer_id is not None:
        trainer = await member_repo.by_id(session, workshop.trainer_id)
    confirmed, waiting = await signup_repo.counts(session, workshop_id)
    return View(
        workshop,
        full,
        workshop.online_url if placed else None,
        trainer.first_name if trainer is not None else None,
        confirmed,
        waiting,
        status,
    )


async def from_poster(session: AsyncSession, ref: str) -> int | None:
    """The workshop a poster's `w_<ref>` opens: any published one by its code; by its id
    (links printed before codes existed) only a published one open to everyone."""
    workshop = await repo.by_code(session, ref) if len(ref) <= 16 else None
    if workshop is None and ref.isdecimal() and int(ref) <= MAX_POSTER_ID:
        workshop = await repo.get(session, int(ref))
        if workshop is not None and workshop.members_only:
            workshop = None
    if workshop is None or workshop.status != "published":
        return None
    return workshop.id


async def with_place(
    session: AsyncSession, member: Member | None, workshop_id: int
) -> Workshop | None:
    """The published workshop, only when the member has a confirmed place (calendar file and
    online link are theirs then); None otherwise."""
    if member is None:
        return None
    workshop = await repo.get(session, workshop_id)
    if workshop is None or workshop.status != "published":
        return None
    status = await signups.status_of(session, member, workshop_id)
    return workshop if status is not None and status.status == "confirmed" else None


@dataclass(frozen=True, slots=True)
class Affected:
    """Who must hear of a change: members with a place or on the waiting list; only those
    with a place (`confirmed_ids`) may get what carries the online link."""

    member_ids: tuple[int, ...]
    confirmed_ids: frozenset[int] = frozenset()


@asynccontextmanager
async def _changing(
    session: AsyncSession, workshop_id: int
) -> AsyncIterator[tuple[Workshop, list[Signup]]]:
    """Lock a published workshop for one change (storage/locking.py: committed on leaving,
    rolled back on an error); yields it with its active sign-ups, whom to tell."""
    try:
        async with locking.workshop(session, workshop_id) as row:
            if row.status != "published":
                raise WorkshopError("gone")
            workshop = await repo.get(session, workshop_id)
            assert workshop is not None
            await session.refresh(workshop)
            rows = await signup_repo.of_workshop(session, workshop_id)
            yield workshop, [s for s in rows if s.status != "cancelled"]
    except locking.Gone:
        raise WorkshopError("gone") from None


def _affected(active: list[Signup]) -> Affected:
    confirmed = frozenset(s.member_id for s in active if s.status == "confirmed")
    return Affected(tuple(s.member_id for s in active), confirmed)


MAX_CAPACITY = 10_000


async def set_capacity(session: AsyncSession, workshop_id: int, capacity: int) -> tuple[int, ...]:
    """Change the number of places. More places go at once to the first waiting (their ids
    are returned, to be told); fewer never takes a place from anyone confirmed."""
    if not 0 <= capacity <= MAX_CAPACITY:
        raise WorkshopError("capacity")

    async def release() -> None:
        workshop = await repo.get(session, workshop_id)
        assert workshop is not None
        await session.refresh(workshop)
        if workshop.status != "published":
            raise WorkshopError("gone")
        workshop.capacity = capacity

    try:
        _none, promoted = await signups.free_places(session, workshop_id, release)
    except signups.WorkshopGone:
        raise WorkshopError("gone") from None
    return promoted


async def cancel_workshop(session: AsyncSession, workshop_id: int) -> Affected:
    """Cancel a workshop: every place and the waiting list are freed; returns whom to tell."""
    async with _changing(session, workshop_id) as (workshop, active):
        affected = _affected(active)  # who held a place, before the places are gone
        workshop.status = "cancelled"
        for signup in active:
            signup.status = "cancelled"
    return affected


async def reschedule(
    session: AsyncSession, workshop_id: int, starts_at: datetime, ends_at: datetime
) -> Affected:
    """Move a published workshop in time; everyone signed up or waiting is told."""
    if starts_at.tzinfo is None or ends_at <= starts_at:
        raise WorkshopError("ends_at")
    async with _changing(session, workshop_id) as (workshop, active):
        workshop.starts_at, workshop.ends_at = starts_at, ends_at
        if workshop.signup_deadline is not None and workshop.signup_deadline > starts_at:
            workshop.signup_deadline = starts_at
        workshop.checkin_token = None  # a code printed for the old date stops working
        for signup in active:  # a new date deserves a new reminder
            signup.reminder_claimed_at = None
            signup.reminded_at = None
    return _affected(active)


async def relocate(
    session: AsyncSession, workshop_id: int, place: Place, venue: str | None
) -> Affected:
    """Move a published workshop to another town (and venue); everyone on it is told."""
    async with _changing(session, workshop_id) as (workshop, active):
        workshop.place_id, workshop.town = place.id, place.name
        workshop.latitude, workshop.longitude = place.lat, place.lon
        workshop.venue, workshop.address = venue, None
        workshop.checkin_token = None  # a code shown at the old venue stops working
    return _affected(active)


async def managed(
    session: AsyncSession, grants: frozenset[Grant], member: Member | None, workshop_id: int
) -> Workshop | None:
    """The workshop if this person may manage it (its trainer, or an organiser of its region);
    None for a forged id, a workshop out of scope, or a stranger."""
    workshop = await get(session, workshop_id)
    if workshop is None or not roles.may_manage_workshop(grants, member, workshop):
        return None
    return workshop
