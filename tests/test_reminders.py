"""Reminders: claimed once across workers, never for the waiting list, released after a
crash, sent end to end in the member's language and not repeated after a restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import clock, outbox
from bot.services import reminders, signups
from bot.services.places import default_gazetteer
from bot.services.workshops import Draft, create
from storage.models import Member, Signup, utcnow
from tests import factories
from tests.botrunner import running_bot, t
from tests.chat_faults import block_unnoticed, fail_chat

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


async def setup(session: AsyncSession, starts_in: timedelta, now: datetime = NOW) -> int:
    people = [
        Member(telegram_id=600 + i, locale=("nl", "sv")[i], kind="member", onboarding_step="done")
        for i in range(2)
    ]
    session.add_all(people)
    await session.commit()
    workshop = await create(
        session,
        Draft(
            title="Moties schrijven", starts_at=now + starts_in,
            ends_at=now + starts_in + timedelta(hours=2), capacity=1,
            place=default_gazetteer().search("Arnhem")[0].place, venue="Volkshuis",
        ),
    )  # fmt: skip
    for person in people:  # the first gets the place, the second waits
        await signups.sign_up(session, person, workshop.id, now=now)
    return workshop.id


async def test_claimed_once_confirmed_only_and_within_the_lead(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await setup(session, timedelta(hours=30))
    async with sessions() as session:
        assert await reminders.claim(session, NOW, DAY) == []  # 30 h away: not yet
    later = NOW + timedelta(hours=8)

    async def worker() -> list[reminders.Due]:
        async with sessions() as session:
            return await reminders.claim(session, later, DAY)

    first, second = await asyncio.gather(worker(), worker())
    claimed = first + second
    assert [d.telegram_id for d in claimed] == [600]  # one claim, the confirmed member only


async def test_a_claim_never_marked_sent_is_released_after_the_timeout(
    session: AsyncSession,
) -> None:
    await setup(session, timedelta(hours=20))
    (due,) = await reminders.claim(session, NOW, DAY)  # the worker dies before sending
    assert await reminders.claim(session, NOW + timedelta(minutes=5), DAY) == []
    retried = await reminders.claim(session, NOW + reminders.CLAIM_TIMEOUT * 2, DAY)
    assert [d.signup_id for d in retried] == [due.signup_id]
    await reminders.mark_sent(session, due.signup_id, NOW)
    assert await reminders.claim(session, NOW + timedelta(hours=1), DAY) == []


@pytest.mark.e2e
async def test_reminder_arrives_once_in_the_members_language(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, reminder_interval=0.2) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            await setup(session, timedelta(hours=20), now=utcnow())
        member = bot.sandbox.user(600, "Nina", language_code="nl")
        waiting = bot.sandbox.user(601, "Sven", language_code="sv")
        reminder = await member.expect_text("⏰", timeout=10)
        assert "Moties schrijven" in reminder.text and "Volkshuis" in reminder.text
        assert (
            t("nl", "Can you not come after all? Cancel in /workshops, so someone else can go.")
            in reminder.text
        )
        await bot.restart()
        await asyncio.sleep(0.8)  # several passes of the new worker
        await member.expect_silence()
        assert waiting.bot_messages == []
        async with bot.app.sessions() as session:
            rows = (await session.scalars(select(Signup).order_by(Signup.id))).all()
        assert [r.reminded_at is not None for r in rows] == [True, False]


@pytest.mark.e2e
async def test_a_blocked_and_failing_chats_do_not_stop_the_other_reminders(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "BACKOFF", 0.01)
    people = ((8301, "Anna"), (8302, "Bo"), (8303, "Cilla"), (8304, "Dirk"), (8305, "Emma"))
    async with running_bot(sqlite_url, reminder_interval=0.2) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            members = [await factories.onboarded(session, tid, n, "Arnhem") for tid, n in people]
            item = await factories.workshop(session, "Moties schrijven", "Arnhem", capacity=5,
                                            starts_in=timedelta(hours=30))  # fmt: skip
            await factories.signed_up(session, item, members)
        users = {tid: bot.sandbox.user(tid, name, language_code="nl") for tid, name in people}
        await block_unnoticed(bot, 8302, "Bo")  # the 2nd: blocked, the bot never heard
        fail_chat(bot, 8303, times=outbox.ATTEMPTS)  # the 3rd: 5xx on every try of a pass
        fail_chat(bot, 8304, times=1, error_code=400)  # the 4th: a Bad Request, once
        with clock.travel_to(clock.now() + timedelta(hours=10)):  # 20 h before: due
            for tid in (8301, 8303, 8304, 8305):  # the failed two in a later pass
                await users[tid].expect_text("⏰", timeout=10)
            await asyncio.sleep(0.8)  # several more passes: nobody is reminded twice
            for tid in (8301, 8303, 8304, 8305):
                await users[tid].expect_silence()
        assert not any("⏰" in m.text for m in users[8302].bot_messages)
        async with bot.app.sessions() as session:
            rows = (await session.scalars(select(Signup).order_by(Signup.id))).all()
            assert all(r.reminded_at is not None for r in rows)  # Bo's too: he cannot get it
            bo = await session.scalar(select(Member).where(Member.telegram_id == 8302))
            assert bo is not None and bo.unreachable_since is not None
