"""Group commit: taps for one workshop that arrive together are decided together, with the
guarantees of a single sign-up (never overbooked, the queue in arrival order), on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import clock
from bot.services import signup_desk, signups
from bot.services.signup_desk import SignupDesk
from storage.models import Member, Signup, Workshop
from tests import factories
from tests.test_signups import make_members, make_workshop

NOW = factories.NOW


async def telegram_ids(sessions: async_sessionmaker[AsyncSession], n: int) -> list[int]:
    """`n` consented members: their Telegram ids, which is what a tap carries."""
    members = await make_members(sessions, n)
    async with sessions() as session:
        found = dict((await session.execute(select(Member.id, Member.telegram_id))).all())
    return [found[m] for m in members]


@pytest.fixture(autouse=True)
def at_now() -> object:
    with clock.travel_to(NOW):
        yield


async def test_2000_taps_for_100_places_in_arrival_order_in_few_transactions(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    members = await telegram_ids(sessions, 2000)
    async with sessions() as session:
        workshop = await make_workshop(session, 100)
    desk = SignupDesk(sessions)
    taps = [desk.sign_up(workshop, signups.Tap(m)) for m in members]
    results = await asyncio.gather(*taps)
    assert all(isinstance(r, signups.Decided) for r in results)
    decided = [r for r in results if isinstance(r, signups.Decided)]
    assert [d.outcome.status for d in decided] == ["confirmed"] * 100 + ["waiting"] * 1900
    assert [d.outcome.position for d in decided[100:]] == list(range(1, 1901))
    assert decided[-1].confirmed == 100 and decided[-1].waiting == 1900
    assert decided[0].workshop.title == "Debattraining"  # the card needs no second read
    async with sessions() as session:
        rows = list(
            await session.scalars(
                select(Signup).where(Signup.workshop_id == workshop).order_by(Signup.position)
            )
        )
        locked = await session.scalar(select(Workshop.lock_version).where(Workshop.id == workshop))
        by_id = dict((await session.execute(select(Member.id, Member.telegram_id))).all())
    assert [by_id[r.member_id] for r in rows] == members  # the queue is the order of the taps
    assert {d.outcome.signup_id for d in decided} == {r.id for r in rows}
    assert [r.status for r in rows].count("confirmed") == 100
    assert locked is not None and locked < 200  # decided in batches, not one lock per tap


async def test_one_batch_holds_refusals_double_taps_and_the_already_waiting(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, second, sympathiser, early = await telegram_ids(sessions, 4)
    async with sessions() as session:
        workshop = await make_workshop(session, 1, members_only=True)
        await session.execute(
            update(Member).where(Member.telegram_id == sympathiser).values(kind="sympathiser")
        )
        await session.commit()
    desk = SignupDesk(sessions)
    assert isinstance(await desk.sign_up(workshop, signups.Tap(early)), signups.Decided)
    results = await asyncio.gather(
        desk.sign_up(workshop, signups.Tap(first)),
        desk.sign_up(workshop, signups.Tap(sympathiser)),
        desk.sign_up(workshop, signups.Tap(first)),
        desk.sign_up(workshop, signups.Tap(second)),
        desk.sign_up(workshop, signups.Tap(early)),
    )
    a, refused, again, b, old = results
    assert isinstance(refused, signups.MembersOnly)
    assert isinstance(a, signups.Decided) and isinstance(again, signups.Decided)
    assert (a.outcome.status, a.outcome.position, a.outcome.already) == ("waiting", 1, False)
    assert (again.outcome.signup_id, again.outcome.already) == (a.outcome.signup_id, True)
    assert isinstance(b, signups.Decided) and b.outcome.position == 2
    assert isinstance(old, signups.Decided)
    assert (old.outcome.status, old.outcome.already) == ("confirmed", True)
    async with sessions() as session:
        rows = list(await session.scalars(select(Signup).order_by(Signup.position)))
        by_id = dict((await session.execute(select(Member.id, Member.telegram_id))).all())
    assert [(by_id[r.member_id], r.status) for r in rows] == [
        (early, "confirmed"),
        (first, "waiting"),
        (second, "waiting"),
    ]


async def test_a_failed_batch_fails_its_taps_and_the_next_tap_is_decided(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = await telegram_ids(sessions, 2)
    async with sessions() as session:
        workshop = await make_workshop(session, 5)
    real = signup_desk.decide

    async def broken(*args: object, **kwargs: object) -> object:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(signup_desk, "decide", broken)
    desk = SignupDesk(sessions)
    with pytest.raises(ConnectionError):
        await desk.sign_up(workshop, signups.Tap(one))
    monkeypatch.setattr(signup_desk, "decide", real)
    result = await desk.sign_up(workshop, signups.Tap(two))
    assert isinstance(result, signups.Decided) and result.outcome.status == "confirmed"
    async with sessions() as session:
        assert [r.id for r in await session.scalars(select(Signup))] == [result.outcome.signup_id]


async def test_a_cancelled_workshop_refuses_the_whole_batch(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    members = await telegram_ids(sessions, 3)
    async with sessions() as session:
        workshop = await make_workshop(session, 5)
        await session.execute(update(Workshop).values(status="cancelled"))
        await session.commit()
    desk = SignupDesk(sessions)
    results = await asyncio.gather(
        *(desk.sign_up(workshop, signups.Tap(m)) for m in members),
        desk.sign_up(999_999, signups.Tap(members[0])),
        desk.sign_up(workshop, signups.Tap(42)),  # nobody: never consented
    )
    assert all(isinstance(r, signups.WorkshopGone) for r in results)
    assert [r.locale for r in results] == ["nl"] * 4 + [None]  # told in their language
