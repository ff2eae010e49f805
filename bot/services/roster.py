"""Who is on a workshop, as its organiser sees it: the counts and the list of sign-ups.

The organiser's view reads these instead of the repositories, so handlers stay thin; the
attendance list (who has a place, who is ticked present) is here for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import checkin
from storage.repositories import roster as roster_repo
from storage.repositories import signups as signup_repo


@dataclass(frozen=True, slots=True)
class Entry:
    """One active sign-up: the member's first name (None if not known), and their place."""

    name: str | None
    confirmed: bool
    queue: int  # 1 for the first on the waiting list; 0 for a confirmed place


async def counts(session: AsyncSession, workshop_id: int) -> tuple[int, int]:
    """(confirmed, waiting)."""
    return await signup_repo.counts(session, workshop_id)


async def roster(session: AsyncSession, workshop_id: int) -> list[Entry]:
    """Everyone with a place or on the waiting list, in sign-up order, in one query."""
    entries: list[Entry] = []
    queue = 0
    for status, name in await roster_repo.active_with_names(session, workshop_id):
        confirmed = status == "confirmed"
        queue += not confirmed
        entries.append(Entry(name, confirmed, 0 if confirmed else queue))
    return entries


@dataclass(frozen=True, slots=True)
class Attendee:
    """One confirmed place on the attendance list, for a tick button."""

    signup_id: int
    name: str | None
    present: bool


async def attendance(session: AsyncSession, workshop_id: int) -> list[Attendee]:
    """Everyone with a confirmed place, in list order, and whether they are ticked present."""
    rows = await roster_repo.confirmed_with_names(session, workshop_id)
    return [Attendee(signup_id, name, at is not None) for signup_id, name, at in rows]


async def toggle_attendance(session: AsyncSession, workshop_id: int, signup_id: int) -> bool:
    """A tap on a name flips present/absent; returns the new state. Raises
    checkin.NotOnList for a sign-up that is not a confirmed place at this workshop."""
    signup = await signup_repo.by_id(session, signup_id)
    present = signup is not None and signup.checked_in_at is None
    await checkin.set_attendance(session, workshop_id, signup_id, present)
    return present
