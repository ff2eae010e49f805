"""The outbox, on both databases and over HTTP to the sandbox: what a crash left half done
goes out once, urgent messages overtake a broadcast, a chat's messages keep their order, and
each failure ends where it should (403 unreachable, 400 failed at once, 5xx retried)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiogram.types import BufferedInputFile
from sqlalchemy import select

from bot import clock, outbox
from bot.budget import Priority
from bot.services import onboarding, reachability
from sandbox.limits import Limits
from storage.models import Member, OutboxRow
from storage.repositories import outbox as repo
from tests.botrunner import running_bot

pytestmark = pytest.mark.e2e


async def _members(bot, ids: list[int]) -> dict[int, int]:  # type: ignore[no-untyped-def]
    """Members who consented (telegram id -> member id), each a sandbox person."""
    async with bot.app.sessions() as session:
        for tid in ids:
            await onboarding.give_consent(session, tid, "nl", f"Lid {tid}")
            bot.sandbox.user(tid, f"Lid {tid}", language_code="nl")
        rows = await session.execute(select(Member.telegram_id, Member.id))
        return {tid: mid for tid, mid in rows.all() if tid in ids}


async def _states(bot) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with bot.app.sessions() as session:
        rows = (await session.scalars(select(OutboxRow.state))).all()
    counts: dict[str, int] = {}
    for state in rows:
        counts[state] = counts.get(state, 0) + 1
    return counts


async def _until_done(bot, expected: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(200):
        states = await _states(bot)
        if sum(states.get(s, 0) for s in repo.FINAL) == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"outbox not done: {await _states(bot)}")


async def test_a_crash_between_claim_and_send_loses_nobody(database_url: str) -> None:
    async with running_bot(database_url) as bot:
        assert bot.app is not None
        members = await _members(bot, list(range(9401, 9407)))
        sender = outbox.sender_for(bot.app.bot, bot.app.sessions)
        await sender.stop()  # the running sender is gone, as if the process had died
        async with bot.app.sessions() as session:
            letters = [
                outbox.Letter(tid, f"Trainingsdag voor {tid}", member_id=mid)
                for tid, mid in members.items()
            ]
            await outbox.post(session, letters, Priority.BULK)
            await session.commit()
            # It had claimed three when it died: they are `sending` and nobody sent them.
            claimed = await repo.claim(session, clock.now(), 3)
        assert len(claimed) == 3
        sender.start()  # the restart
        await _until_done(bot, 6)
        assert await _states(bot) == {"sent": 6}
        for tid in members:
            person = bot.sandbox.user(tid)
            assert [m.text for m in person.bot_messages] == [f"Trainingsdag voor {tid}"]


async def test_failures_end_where_they_should(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        assert bot.app is not None
        members = await _members(bot, [9411, 9412, 9413])
        bot.sandbox.user(9412).block()
        await bot.sandbox.idle()
        async with bot.app.sessions() as session:
            blocked = await session.scalar(select(Member).where(Member.telegram_id == 9412))
            assert blocked is not None
            blocked.unreachable_since = None  # the block not heard of yet
            await session.commit()
        bot.sandbox.faults.fail_next("sendMessage", 502)  # the first try: a bad gateway
        async with bot.app.sessions() as session:
            letters = [outbox.Letter(tid, "Nieuws", member_id=mid) for tid, mid in members.items()]
            letters.append(outbox.Letter(9999, "Nieuws"))  # nobody: chat not found
            ids = await outbox.post(session, letters, Priority.PERSONAL)
            await session.commit()
        states = await outbox.sender_for(bot.app.bot, bot.app.sessions).deliver_now(ids)
        assert [states[i] for i in ids] == ["sent", "unreachable", "sent", "failed"]
        async with bot.app.sessions() as session:
            rows = {r.id: r for r in await session.scalars(select(OutboxRow))}
            blocked = await session.scalar(select(Member).where(Member.telegram_id == 9412))
        assert rows[ids[0]].attempts == 1  # the 502 was tried again
        assert rows[ids[3]].attempts == 0 and rows[ids[3]].error == "TelegramBadRequest"
        assert blocked is not None and blocked.unreachable_since is not None
        assert [m.text for m in bot.sandbox.user(9411).bot_messages] == ["Nieuws"]


async def test_a_notice_overtakes_a_broadcast_and_a_chat_keeps_its_order(sqlite_url: str) -> None:
    # Telegram's own limits, at a bot rate of 10 a second: the broadcast takes seconds.
    async with running_bot(sqlite_url, limits=Limits(), broadcast_rate=10) as bot:
        assert bot.app is not None
        crowd = await _members(bot, list(range(9500, 9540)))
        me = await _members(bot, [9420])
        async with bot.app.sessions() as session:
            letters = [outbox.Letter(t, "Aankondiging", member_id=m) for t, m in crowd.items()]
            await outbox.post(session, letters, Priority.BULK)
            await session.commit()
        sender = outbox.sender_for(bot.app.bot, bot.app.sessions)
        sender.wake()
        await asyncio.sleep(0.5)  # the broadcast is under way
        ics = BufferedInputFile(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "workshop.ics")
        async with bot.app.sessions() as session:
            ids = await outbox.post(
                session,
                [
                    outbox.Letter(9420, "Je bent doorgeschoven!", member_id=me[9420]),
                    outbox.Letter(9420, document=ics, caption="Agenda", member_id=me[9420]),
                ],
                Priority.PERSONAL,
            )
            await session.commit()
        states = await sender.deliver_now(ids)
        assert list(states.values()) == ["sent", "sent"]
        left = await _states(bot)
        assert left.get("queued", 0) + left.get("sending", 0) >= 20  # overtook most of it
        mine = bot.sandbox.user(9420).bot_messages
        assert [m.text or m.caption for m in mine] == ["Je bent doorgeschoven!", "Agenda"]
        await _until_done(bot, 42)
        assert bot.sandbox.rate_limited.total() == 0  # Telegram never had to refuse


async def test_personal_messages_are_forgotten_two_weeks_after(database_url: str) -> None:
    async with running_bot(database_url) as bot:
        assert bot.app is not None
        members = await _members(bot, [9431])
        sender = outbox.sender_for(bot.app.bot, bot.app.sessions)
        await sender.stop()
        now = clock.now()
        async with bot.app.sessions() as session:
            ids = await outbox.post(
                session,
                [outbox.Letter(9431, f"Bericht {n}", member_id=members[9431]) for n in range(3)],
                Priority.PERSONAL,
            )
            rows = {r.id: r for r in await session.scalars(select(OutboxRow))}
            for row_id, days in zip(ids, (15, 13, 0), strict=True):
                rows[row_id].state = "sent"
                rows[row_id].done_at = now - timedelta(days=days)
            await session.commit()
        sender.start()  # its first pass forgets what is older than two weeks
        for _ in range(100):
            async with bot.app.sessions() as session:
                left = list(await session.scalars(select(OutboxRow.id).order_by(OutboxRow.id)))
            if len(left) < 3:
                break
            await asyncio.sleep(0.05)
        assert left == ids[1:]


async def test_a_member_marked_unreachable_who_writes_again_is_reachable(sqlite_url: str) -> None:
    """Marked after a 403 (their unblocking never heard of): writing to the bot undoes it,
    so the next announcement reaches them again."""
    async with running_bot(sqlite_url) as bot:
        assert bot.app is not None
        await _members(bot, [9441])
        async with bot.app.sessions() as session:
            await reachability.mark_unreachable(session, 9441)
        person = bot.sandbox.user(9441)
        await person.send_text("/help")
        await person.next()
        async with bot.app.sessions() as session:
            member = await session.scalar(select(Member).where(Member.telegram_id == 9441))
        assert member is not None and member.unreachable_since is None
