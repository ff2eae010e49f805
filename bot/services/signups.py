"""Signing up, the waiting list, and cancelling: one transaction each, under the workshop's
lock, so that no number of concurrent taps or workers can overbook a workshop.

Like pretix's quota handling: every change takes the workshop lock first, then reads the
current counts, then decides. A cancellation of a confirmed place promotes the first on the
waiting list in the same transaction, and tells the caller whom to notify.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from storage.models import Member, Signup
from storage.repositories import signups as repo
from storage.repositories import workshops as workshop_repo


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
    promoted_member_id: int | None  # whom to tell "you have a place now"


async def _abort(session: AsyncSession, member: Member, error: SignupError) -> SignupError:
    """Release the lock at once; the rollback expires the caller's member, so reload it."""
    await session.rollback()
    await session.refresh(member)
    return error


_sqlite_writers: weakref.WeakKeyDictionary[object, asyncio.Lock] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def _writer(session: AsyncSession) -> AsyncIterator[None]:
    """On SQLite, queue this process's writers ourselves: SQLite's own busy handler backs off
    with sleeps of up to 100 ms when writers collide, which a burst of taps turns into
    seconds. (SQLite means one process; PostgreSQL workers rely on the row lock alone.)"""
    bind = session.bind
    if bind.dialect.name != "sqlite":
        yield
        return
    lock = _sqlite_writers.setdefault(bind, asyncio.Lock())
    async with lock:
        yield


async def sign_up(
    session: AsyncSession, member: Member, workshop_id: int, now: datetime | None = None
) -> Outcome:
    now = now or clock.now()
    async with _writer(session):
        return await _sign_up(session, member, workshop_id, now)


async def _sign_up(
    session: AsyncSession, member: Member, workshop_id: int, now: datetime
) -> Outcome:
    workshop = await repo.lock_and_read(session, workshop_id)
    if workshop is None or workshop.status != "published":
        raise await _abort(session, member, WorkshopGone(workshop_id))
    if workshop.starts_at <= now:
        raise await _abort(session, member, AlreadyStarted(workshop_id))
    existing = await repo.of_member(session, workshop_id, member.id)
    if existing is not None and existing.status != "cancelled":
        outcome = await _outcome(session, existing, already=True)
        await session.commit()
        return outcome
    if workshop.signup_deadline is not None and now > workshop.signup_deadline:
        raise await _abort(session, member, DeadlinePassed(workshop_id))
    if workshop.members_only and member.kind != "member":
        raise await _abort(session, member, MembersOnly(workshop_id))
    counts = await repo.tally(session, workshop_id)
    full = counts.confirmed >= workshop.capacity
    status = "waiting" if full else "confirmed"
    position = counts.last_position + 1
    if existing is None:
        signup = Signup(
            workshop_id=workshop_id, member_id=member.id, status=status, position=position
        )
        session.add(signup)
        await session.flush()
    else:  # signing up again after cancelling: to the back of the queue
        signup = existing
        signup.status, signup.position = status, position
        await session.flush()
    # Everyone waiting is ahead of a new position: the queue place is the waiting count + 1.
    outcome = Outcome(signup.id, status, 0 if not full else counts.waiting + 1, already=False)
    await session.commit()
    return outcome


async def _outcome(session: AsyncSession, signup: Signup, *, already: bool) -> Outcome:
    if signup.status == "confirmed":
        return Outcome(signup.id, "confirmed", 0, already)
    ahead = await repo.waiting_ahead(session, signup.workshop_id, signup.position)
    return Outcome(signup.id, "waiting", ahead + 1, already)


async def cancel(
    session: AsyncSession, member: Member, workshop_id: int, now: datetime | None = None
) -> Cancelled:
    """Give up a place (or leave the waiting list); a freed place goes to the first waiting."""
    async with _writer(session):
        return await _cancel(session, member, workshop_id)


async def _cancel(session: AsyncSession, member: Member, workshop_id: int) -> Cancelled:
    if not await repo.lock_workshop(session, workshop_id):
        raise await _abort(session, member, WorkshopGone(workshop_id))
    signup = await repo.of_member(session, workshop_id, member.id)
    if signup is None or signup.status == "cancelled":
        raise await _abort(session, member, NotSignedUp(workshop_id))
    was = signup.status
    signup.status = "cancelled"
    signup.reminder_claimed_at = signup.reminded_at = None
    promoted = None
    if was == "confirmed":
        await session.flush()
        promoted = await promote(session, workshop_id)
    await session.commit()
    return Cancelled(was, promoted)


async def promote(session: AsyncSession, workshop_id: int) -> int | None:
    """Within a locked transaction: give a free place to the first on the waiting list."""
    workshop = await workshop_repo.get(session, workshop_id)
    if workshop is None:
        return None
    await session.refresh(workshop)  # the identity map may hold an older copy
    if workshop.status != "published":
        return None
    if await repo.confirmed_count(session, workshop_id) >= workshop.capacity:
        return None
    first = await repo.first_waiting(session, workshop_id)
    if first is None:
        return None
    first.status = "confirmed"
    return first.member_id


async def status_of(session: AsyncSession, member: Member, workshop_id: int) -> Outcome | None:
    signup = await repo.of_member(session, workshop_id, member.id)
    if signup is None or signup.status == "cancelled":
        return None
    return await _outcome(session, signup, already=True)
