"""No overbooking, ever: concurrent sign-ups, cancellations and promotions, on SQLite and
PostgreSQL, each tap in its own session as it would be in its own update or worker."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import signups, workshops
from storage.models import Member, Signup
from tests import factories

NOW = factories.NOW


async def make_members(
    sessions: async_sessionmaker[AsyncSession], n: int, start: int = 0
) -> list[int]:
    async with sessions() as session:
        return [m.id for m in await factories.bare_members(session, n, 1_000_000 + start)]


async def make_workshop(session: AsyncSession, capacity: int, **changes: object) -> int:
    return await factories.workshop(
        session, capacity=capacity, now=NOW, region_code="oost", **changes
    )


async def tap(
    sessions: async_sessionmaker[AsyncSession], member_id: int, workshop_id: int
) -> signups.Outcome:
    async with sessions() as session:
        member = await session.get(Member, member_id)
        assert member is not None
        return await signups.sign_up(session, member, workshop_id, now=NOW)


async def leave(
    sessions: async_sessionmaker[AsyncSession], member_id: int, workshop_id: int
) -> signups.Cancelled:
    async with sessions() as session:
        member = await session.get(Member, member_id)
        assert member is not None
        return await signups.cancel(session, member, workshop_id)


async def states(session: AsyncSession, workshop_id: int) -> list[Signup]:
    return list(
        await session.scalars(
            select(Signup).where(Signup.workshop_id == workshop_id).order_by(Signup.position)
        )
    )


async def test_500_concurrent_signups_for_20_places(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    members = await make_members(sessions, 500)
    async with sessions() as session:
        workshop = await make_workshop(session, 20)
    outcomes = await asyncio.gather(*(tap(sessions, m, workshop) for m in members))
    confirmed = [o for o in outcomes if o.status == "confirmed"]
    waiting = sorted(o.position for o in outcomes if o.status == "waiting")
    assert len(confirmed) == 20
    assert waiting == list(range(1, 481))  # 480 waiting, each told a distinct place in line
    async with sessions() as session:
        rows = await states(session, workshop)
    assert sum(r.status == "confirmed" for r in rows) == 20
    queue = [r for r in rows if r.status == "waiting"]
    assert len(queue) == 480
    assert [r.position for r in queue] == sorted(r.position for r in queue)
    # the order of the queue is the order in which the taps got the lock
    assert min(r.position for r in queue) > max(r.position for r in rows if r.status == "confirmed")
    print(f"{database_url.split(':')[0]}: 20 confirmed, 480 waiting")


async def test_cancellations_and_signups_interleaved_never_overbook(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    members = await make_members(sessions, 300)
    async with sessions() as session:
        workshop = await make_workshop(session, 20)
    await asyncio.gather(*(tap(sessions, m, workshop) for m in members[:200]))
    async with sessions() as session:
        before = await states(session, workshop)
    leaving = random.Random(3).sample([r.member_id for r in before], 120)
    results = await asyncio.gather(
        *(leave(sessions, m, workshop) for m in leaving),
        *(tap(sessions, m, workshop) for m in members[200:]),
    )
    cancelled = [r for r in results if isinstance(r, signups.Cancelled)]
    async with sessions() as session:
        rows = await states(session, workshop)
    active = [r for r in rows if r.status != "cancelled"]
    confirmed = [r for r in rows if r.status == "confirmed"]
    assert len(active) == 200 - 120 + 100
    assert len(confirmed) == 20  # full again, never more
    promoted = [m for c in cancelled for m in c.promoted]
    assert len(promoted) == len(set(promoted))
    # promoted people hold their place, unless they were among those leaving afterwards
    assert set(promoted) <= {r.member_id for r in confirmed} | set(leaving)
    # whoever is confirmed signed up no later than anyone still waiting (first come, first served)
    waiting_positions = [r.position for r in rows if r.status == "waiting"]
    if waiting_positions:
        assert max(r.position for r in confirmed) < min(waiting_positions)


async def test_rules_deadline_members_only_started_and_gone(session: AsyncSession) -> None:
    member = Member(telegram_id=42, locale="nl", kind="sympathiser", onboarding_step="done")
    session.add(member)
    await session.commit()
    members_only = await make_workshop(session, 5, members_only=True)
    with pytest.raises(signups.MembersOnly):
        await signups.sign_up(session, member, members_only, now=NOW)
    closed = await make_workshop(session, 5, signup_deadline=NOW - timedelta(days=1))
    with pytest.raises(signups.DeadlinePassed):
        await signups.sign_up(session, member, closed, now=NOW)
    open_one = await make_workshop(session, 5)
    with pytest.raises(signups.AlreadyStarted):
        await signups.sign_up(session, member, open_one, now=NOW + timedelta(days=20))
    with pytest.raises(signups.WorkshopGone):
        await signups.sign_up(session, member, 999_999, now=NOW)
    with pytest.raises(signups.NotSignedUp):
        await signups.cancel(session, member, open_one)
    assert await states(session, members_only) == []


async def test_tapping_twice_keeps_one_place_and_rejoining_goes_to_the_back(
    session: AsyncSession,
) -> None:
    people = []
    for i in range(3):
        person = Member(telegram_id=50 + i, locale="nl", kind="member", onboarding_step="done")
        session.add(person)
        people.append(person)
    await session.commit()
    workshop = await make_workshop(session, 1)
    first = await signups.sign_up(session, people[0], workshop, now=NOW)
    again = await signups.sign_up(session, people[0], workshop, now=NOW)
    assert (first.status, again.status, again.already) == ("confirmed", "confirmed", True)
    assert (await signups.sign_up(session, people[1], workshop, now=NOW)).position == 1
    assert (await signups.sign_up(session, people[2], workshop, now=NOW)).position == 2
    cancelled = await signups.cancel(session, people[0], workshop)
    assert cancelled.promoted == (people[1].id,)
    back = await signups.sign_up(session, people[0], workshop, now=NOW)
    assert (back.status, back.position) == ("waiting", 2)  # behind people[2]


async def full_with_queue(session: AsyncSession, capacity: int, waiting: int) -> tuple[int, list]:
    """A workshop with every place taken and `waiting` more in line, in sign-up order."""
    people = await factories.bare_members(session, capacity + waiting, 2_000_000)
    workshop = await make_workshop(session, capacity)
    for person in people:
        await signups.sign_up(session, person, workshop, now=NOW)
    return workshop, people


async def test_raising_capacity_promotes_as_many_as_fit_and_lowering_removes_nobody(
    session: AsyncSession,
) -> None:
    workshop, people = await full_with_queue(session, 2, 5)
    promoted = await workshops.set_capacity(session, workshop, 5)
    assert promoted == tuple(p.id for p in people[2:5])  # the first three waiting, in order
    rows = await states(session, workshop)
    assert [r.status for r in rows] == ["confirmed"] * 5 + ["waiting"] * 2
    assert await workshops.set_capacity(session, workshop, 1) == ()
    assert [r.status for r in await states(session, workshop)].count("confirmed") == 5
    assert await workshops.set_capacity(session, workshop, 5) == ()  # 5 of 5: full again
    assert await workshops.set_capacity(session, workshop, 6) == (people[5].id,)
    with pytest.raises(workshops.WorkshopError):
        await workshops.set_capacity(session, 999_999, 10)


async def test_a_trainer_taking_someone_off_the_list_promotes_the_first_waiting(
    session: AsyncSession,
) -> None:
    workshop, people = await full_with_queue(session, 2, 2)
    rows = await states(session, workshop)
    removed = await signups.remove(session, workshop, rows[0].id)
    assert (removed.member_id, removed.was, removed.promoted) == (
        people[0].id, "confirmed", (people[2].id,),
    )  # fmt: skip
    waiting = await signups.remove(session, workshop, rows[3].id)  # leaves the queue only
    assert (waiting.was, waiting.promoted) == ("waiting", ())
    with pytest.raises(signups.NotSignedUp):
        await signups.remove(session, workshop, rows[0].id)  # already off the list
    elsewhere = await make_workshop(session, 1)
    with pytest.raises(signups.NotSignedUp):  # a sign-up of another workshop: a forged button
        await signups.remove(session, elsewhere, rows[1].id)
    assert await signups.on_list(session, elsewhere, rows[1].id) is None
    assert [r.status for r in await states(session, workshop)] == [
        "cancelled", "confirmed", "confirmed", "cancelled",
    ]  # fmt: skip
