"""Signing up, the waiting list, and freeing places: one transaction each, under the
workshop's lock (storage/locking.py), so that no number of concurrent taps or workers can
overbook a workshop.

Like pretix's quota handling: every change takes the workshop lock first, then reads the
current counts, then decides. A place comes free in one way only, `free_places`: a member
cancels, is erased, is taken off the list by a trainer, or the workshop gets more places; in
the same transaction the first on the waiting list move up, and the caller learns whom to tell.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
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

    locale: str | None = None  # the member's language, where the decision read it


class WorkshopGone(SignupError):
    """Deleted, cancelled or a forged id."""


class AlreadyStarted(SignupError):
    pass


class DeadlinePassed(SignupError):
    def __init__(self, workshop_id: int, deadline: datetime | None = None) -> None:
        super().__init__(workshop_id)
        self.deadline = deadline  # the member is told when sign-up closed


class MembersOnly(SignupError):
    pass


class NotSignedUp(SignupError):
    pass


class NotConsented(SignupError):
    """No member behind this Telegram account (never consented, or erased)."""


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


@dataclass(frozen=True, slots=True)
class Tap:
    """One person asking for a place, by Telegram account: the decision reads who they are
    in its own transaction, so that a tap costs its update no database work of its own."""

    telegram_id: int


@dataclass(frozen=True, slots=True)
class Decided:
    """A tap's outcome and the workshop as the lock read it (title, link): all the answer
    to the member needs, without reading the workshop again."""

    outcome: Outcome
    workshop: locking.WorkshopRow
    locale: str  # the member's language, for the answer
    confirmed: int  # the workshop's counts just after this tap: what the card shows
    waiting: int


async def sign_up(
    session: AsyncSession, member: Member, workshop_id: int, now: datetime | None = None
) -> Outcome:
    """One member, one tap: a batch of one (see `Desk` for taps that arrive together)."""
    [decided] = await decide(session, workshop_id, [Tap(member.telegram_id)], now)
    if isinstance(decided, SignupError):
        raise decided
    return decided.outcome


async def decide(
    session: AsyncSession,
    workshop_id: int,
    taps: Sequence[Tap],
    now: datetime | None = None,
) -> list[Decided | SignupError]:
    """Decide taps on one workshop together, in arrival order, in one transaction: one lock,
    one count, one insert. Each tap gets its own outcome or refusal; a refusal of one (the
    deadline, members only) does not touch the others."""
    try:
        return await _decide(session, workshop_id, taps, now or clock.now())
    except WorkshopGone:  # no such workshop (deleted, or a forged button)
        tapped = await repo.tappers(session, workshop_id, {t.telegram_id for t in taps})
        await session.commit()  # ends the read; unlike a rollback it expires nothing
        people = {tid: person for tid, (person, _row) in tapped.items()}
        return [_refused(WorkshopGone(workshop_id), people.get(t.telegram_id)) for t in taps]


def _refused(error: SignupError, person: member_repo.Brief | None) -> SignupError:
    error.locale = person.locale if person else None
    return error


async def _decide(
    session: AsyncSession, workshop_id: int, taps: Sequence[Tap], now: datetime
) -> list[Decided | SignupError]:
    async with _locked(session, workshop_id) as workshop:
        tapped = await repo.tappers(session, workshop_id, {t.telegram_id for t in taps})
        people = {tid: person for tid, (person, _row) in tapped.items()}
        if workshop.status != "published":
            return [_refused(WorkshopGone(workshop_id), people.get(t.telegram_id)) for t in taps]
        if workshop.starts_at <= now:
            return [_refused(AlreadyStarted(workshop_id), people.get(t.telegram_id)) for t in taps]
        held = {person.id: row for person, row in tapped.values() if row is not None}
        counts = await repo.tally(session, workshop_id)
        confirmed, waiting, last = counts.confirmed, counts.waiting, counts.last_position
        closed = workshop.signup_deadline is not None and now > workshop.signup_deadline
        results: list[tuple[member_repo.Brief, Outcome, int, int] | SignupError] = []
        here: dict[int, Outcome] = {}  # decided in this batch: a double tap is "already"
        new: list[tuple[int, str, int]] = []  # member, status, position: inserted together
        for tap in taps:
            person = people.get(tap.telegram_id)
            if person is None:
                results.append(NotConsented(workshop_id))
                continue
            before = held.get(person.id)
            if person.id in here:
                outcome = replace(here[person.id], already=True)
                results.append((person, outcome, confirmed, waiting))
            elif before is not None and before.status != "cancelled":
                outcome = await _held_outcome(session, workshop_id, before, already=True)
                results.append((person, outcome, confirmed, waiting))
            elif closed:
                results.append(
                    _refused(DeadlinePassed(workshop_id, workshop.signup_deadline), person)
                )
            elif workshop.members_only and person.kind != "member":
                results.append(_refused(MembersOnly(workshop_id), person))
            else:
                last += 1
                full = confirmed >= workshop.capacity
                if full:
                    waiting += 1
                else:
                    confirmed += 1
                status = "waiting" if full else "confirmed"
                # Everyone waiting is ahead of a new position: the queue place is the count.
                outcome = Outcome(0, status, waiting if full else 0, already=False)
                if before is None:
                    new.append((person.id, status, last))
                else:  # signing up again after cancelling: to the back of the queue
                    await repo.requeue(session, before.id, status, last)
                    outcome = replace(outcome, signup_id=before.id)
                here[person.id] = outcome
                results.append((person, outcome, confirmed, waiting))
        ids = await repo.add_many(session, workshop_id, new)
    return [r if isinstance(r, SignupError) else _decided(r, ids, workshop) for r in results]


def _decided(
    result: tuple[member_repo.Brief, Outcome, int, int],
    ids: dict[int, int],
    workshop: locking.WorkshopRow,
) -> Decided:
    person, outcome, confirmed, waiting = result
    signup_id = outcome.signup_id or ids[person.id]  # new rows learn their id on insert
    outcome = replace(outcome, signup_id=signup_id)
    return Decided(outcome, workshop, person.locale, confirmed, waiting)


async def _held_outcome(
    session: AsyncSession, workshop_id: int, held: repo.Held, *, already: bool
) -> Outcome:
    """A sign-up row as the member's place: confirmed, or waiting at its place in the queue."""
    if held.status == "confirmed":
        return Outcome(held.id, "confirmed", 0, already)
    ahead = await repo.waiting_ahead(session, workshop_id, held.position)
    return Outcome(held.id, "waiting", ahead + 1, already)


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
    held = repo.Held(signup.id, signup.status, signup.position)
    return await _held_outcome(session, workshop_id, held, already=True)
