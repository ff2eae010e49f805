"""Signing up, the waiting list, and freeing places: one transaction each, under the
workshop's lock (storage/locking.py), so that no number of concurrent taps or workers can
overbook a workshop.

Like pretix's quota handling: every change takes the workshop lock first, then reads the
current counts, then decides. A place comes free in one way only, `free_places`: a member
cancels, is erased, is taken off the list by a trainer, or the workshop gets more places; in
the same transaction the first on the waiting list move up, and the caller learns whom to tell.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from storage import locking
from storage.models import Member, Signup
from storage.repositories import members as member_repo
from storage.repositories import signups as repo

_T = TypeVar("_T")


class SignupError(Exception):
    """Why a sign-up or cancellation cannot happen; the handler explains each."""


class WorkshopGone(SignupError):
    """Deleted, cancelled or a forged id."""


class AlreadyStarted(SignupError):
    pass


class DeadlinePassed(SignupError):
    pass


class MembersOnly(SignupError):
    pass


class NotSignedUp(SignupError):
    pass


@dataclass(frozen=True, slots=True)
class Outcome:
    """The member's place after signing up: confirmed, or waiting at `position` (1-based)."""

    signup_id: int
    status: str
    position: int
    already: bool  # they were signed up (or waiting) before this tap


@dataclass(frozen=True, slots=True)
class Cancelled:
    was: str
    promoted: tuple[int, ...]  # member ids to tell "you have a place now"


@dataclass(frozen=True, slots=True)
class Removed:
    """A sign-up a trainer or organiser took off the list: whom to tell what."""

    member_id: int
    was: str
    promoted: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """An erased member's sign-up, gone; `promoted` moved up into their place."""

    workshop_id: int
    promoted: tuple[int, ...]


@asynccontextmanager
async def _locked(session: AsyncSession, workshop_id: int) -> AsyncIterator[locking.WorkshopRow]:
    """The workshop lock, with a missing workshop as this module's WorkshopGone."""
    try:
        async with locking.workshop(session, workshop_id) as row:
            yield row
    except locking.Gone:
        raise WorkshopGone(workshop_id) from None


async def sign_up(
    session: AsyncSession, member: Member, workshop_id: int, now: datetime | None = None
) -> Outcome:
    now = now or clock.now()
    async with _locked(session, workshop_id) as workshop:
        return await _sign_up(session, member, workshop_id, workshop, now)


async def _sign_up(
    session: AsyncSession,
    member: Member,
    workshop_id: int,
    workshop: locking.WorkshopRow,
    now: datetime,
) -> Outcome:
    if workshop.status != "published":
        raise WorkshopGone(workshop_id)
    if workshop.starts_at <= now:
        raise AlreadyStarted(workshop_id)
    existing = await repo.of_member(session, workshop_id, member.id)
    if existing is not None and existing.status != "cancelled":
        return await _outcome(session, existing, already=True)
    if workshop.signup_deadline is not None and now > workshop.signup_deadline:
        raise DeadlinePassed(workshop_id)
    if workshop.members_only and member.kind != "member":
        raise MembersOnly(workshop_id)
    counts = await repo.tally(session, workshop_id)
    full = counts.confirmed >= workshop.capacity
    status = "waiting" if full else "confirmed"
    position = counts.last_position + 1
    if existing is None:
        signup = Signup(
            workshop_id=workshop_id, member_id=member.id, status=status, position=position
        )
        session.add(signup)
    else:  # signing up again after cancelling: to the back of the queue
        signup = existing
        signup.status, signup.position = status, position
    await session.flush()
    # Everyone waiting is ahead of a new position: the queue place is the waiting count + 1.
    return Outcome(signup.id, status, 0 if not full else counts.waiting + 1, already=False)


async def _outcome(session: AsyncSession, signup: Signup, *, already: bool) -> Outcome:
    if signup.status == "confirmed":
        return Outcome(signup.id, "confirmed", 0, already)
    ahead = await repo.waiting_ahead(session, signup.workshop_id, signup.position)
    return Outcome(signup.id, "waiting", ahead + 1, already)


async def free_places(
    session: AsyncSession, workshop_id: int, release: Callable[[], Awaitable[_T]]
) -> tuple[_T, tuple[int, ...]]:
    """The one way places come free: lock the workshop, `release` (cancel a sign-up, delete
    it, raise the capacity), then give every place now free to the first on the waiting
    list, and commit. Returns what `release` returned and the member ids promoted."""
    async with _locked(session, workshop_id):
        released = await release()
        await session.flush()
        return released, await _promote(session, workshop_id)


async def _promote(session: AsyncSession, workshop_id: int) -> tuple[int, ...]:
    """Within the lock: the first waiting take every free place of an upcoming workshop."""
    free = await repo.places_free(session, workshop_id, clock.now())
    if free <= 0:
        return ()
    moving = await repo.first_waiting(session, workshop_id, free)
    for signup in moving:
        signup.status = "confirmed"
    await session.flush()
    return tuple(s.member_id for s in moving)


def _cancel_row(signup: Signup) -> str:
    was = signup.status
    signup.status = "cancelled"
    signup.reminder_claimed_at = signup.reminded_at = None
    return was


async def cancel(session: AsyncSession, member: Member, workshop_id: int) -> Cancelled:
    """Give up a place (or leave the waiting list); a freed place goes to the first waiting."""
    member_id = member.id

    async def release() -> str:
        signup = await repo.of_member(session, workshop_id, member_id)
        if signup is None or signup.status == "cancelled":
            raise NotSignedUp(workshop_id)
        return _cancel_row(signup)

    was, promoted = await free_places(session, workshop_id, release)
    return Cancelled(was, promoted)


async def remove(session: AsyncSession, workshop_id: int, signup_id: int) -> Removed:
    """A trainer or organiser takes someone off the list (the caller checked who may)."""

    async def release() -> tuple[int, str]:
        signup = await repo.by_id(session, signup_id)
        if signup is None or signup.workshop_id != workshop_id or signup.status == "cancelled":
            raise NotSignedUp(workshop_id)
        return signup.member_id, _cancel_row(signup)

    (member_id, was), promoted = await free_places(session, workshop_id, release)
    return Removed(member_id, was, promoted)


async def withdraw_everywhere(session: AsyncSession, member_id: int) -> list[Withdrawn]:
    """Erasure: delete the member's places and waiting-list spots, each freed place going to
    the first waiting, one workshop (one lock) at a time."""
    done = []
    for workshop_id in await repo.active_workshops_of(session, member_id):

        async def release(workshop_id: int = workshop_id) -> None:
            signup = await repo.of_member(session, workshop_id, member_id)
            if signup is not None:
                await session.delete(signup)

        try:
            _none, promoted = await free_places(session, workshop_id, release)
        except WorkshopGone:
            continue
        done.append(Withdrawn(workshop_id, promoted))
    return done


async def on_list(session: AsyncSession, workshop_id: int, signup_id: int) -> Member | None:
    """The person behind an active sign-up of this very workshop; None for a stale or forged
    button (another workshop's sign-up, a cancelled one, a made-up id)."""
    signup = await repo.by_id(session, signup_id)
    if signup is None or signup.workshop_id != workshop_id or signup.status == "cancelled":
        return None
    return await member_repo.by_id(session, signup.member_id)


async def status_of(session: AsyncSession, member: Member, workshop_id: int) -> Outcome | None:
    signup = await repo.of_member(session, workshop_id, member.id)
    if signup is None or signup.status == "cancelled":
        return None
    return await _outcome(session, signup, already=True)
