"""Workshops: creating them and reading what a member needs to decide.

Sign-ups, the waiting list and cancellations live in bot/services/signups.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import signups
from bot.services.places import Place
from storage import locking
from storage.models import Signup, Workshop
from storage.repositories import signups as signup_repo
from storage.repositories import skills as skill_repo
from storage.repositories import workshops as repo


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


@dataclass(frozen=True, slots=True)
class Affected:
    """Who must hear of a change: members with a place or on the waiting list."""

    member_ids: tuple[int, ...]


async def _change(session: AsyncSession, workshop_id: int) -> tuple[Workshop, list[Signup]]:
    """Lock a published workshop for a change (until `_done` commits); with its active
    sign-ups (whom to tell)."""
    row = await locking.hold_workshop(session, workshop_id)
    if row is None or row.status != "published":
        await session.rollback()
        raise WorkshopError("gone")
    workshop = await repo.get(session, workshop_id)
    assert workshop is not None
    await session.refresh(workshop)
    rows = await signup_repo.of_workshop(session, workshop_id)
    return workshop, [s for s in rows if s.status != "cancelled"]


async def _done(session: AsyncSession, active: list[Signup]) -> Affected:
    """Commit the change, which releases the lock."""
    await session.commit()
    return Affected(tuple(s.member_id for s in active))


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
    workshop, active = await _change(session, workshop_id)
    workshop.status = "cancelled"
    for signup in active:
        signup.status = "cancelled"
    return await _done(session, active)


async def reschedule(
    session: AsyncSession, workshop_id: int, starts_at: datetime, ends_at: datetime
) -> Affected:
    """Move a published workshop in time; everyone signed up or waiting is told."""
    if starts_at.tzinfo is None or ends_at <= starts_at:
        raise WorkshopError("ends_at")
    workshop, active = await _change(session, workshop_id)
    workshop.starts_at, workshop.ends_at = starts_at, ends_at
    if workshop.signup_deadline is not None and workshop.signup_deadline > starts_at:
        workshop.signup_deadline = starts_at
    workshop.checkin_token = None  # a code printed for the old date stops working
    for signup in active:  # a new date deserves a new reminder
        signup.reminder_claimed_at = None
        signup.reminded_at = None
    return await _done(session, active)


async def relocate(
    session: AsyncSession, workshop_id: int, place: Place, venue: str | None
) -> Affected:
    """Move a published workshop to another town (and venue); everyone on it is told."""
    workshop, active = await _change(session, workshop_id)
    workshop.place_id, workshop.town = place.id, place.name
    workshop.latitude, workshop.longitude = place.lat, place.lon
    workshop.venue, workshop.address = venue, None
    workshop.checkin_token = None  # a code shown at the old venue stops working
    return await _done(session, active)
