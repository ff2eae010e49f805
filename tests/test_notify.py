"""The one sending path: each member in their own language, a 403 marks them unreachable,
429 and 5xx are retried, one failure never stops the rest, and the counts come back."""

from __future__ import annotations

import pytest
from aiogram.types import BufferedInputFile
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select

from bot import notify
from bot.services import onboarding
from storage.models import Member
from tests.botrunner import running_bot

pytestmark = pytest.mark.e2e


async def test_everyone_is_told_whatever_fails_for_one_of_them(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        assert bot.app is not None
        people = {9301: ("Anna", "nl"), 9302: ("Bo", "en"), 9303: ("Cilla", "sv"),
                  9304: ("Dirk", "nl"), 9305: ("Emma", "nl")}  # fmt: skip
        async with bot.app.sessions() as session:
            for tid, (name, locale) in people.items():
                await onboarding.give_consent(session, tid, locale, name)
            ids = list(await session.scalars(select(Member.id).order_by(Member.telegram_id)))
        users = {tid: bot.sandbox.user(tid, name, language_code=loc)
                 for tid, (name, loc) in people.items()}  # fmt: skip
        for user in users.values():
            await user.send_text("/help")
        await bot.sandbox.idle()
        for user in users.values():
            user.drain()
        users[9302].block()  # blocked without the bot hearing of it (a missed my_chat_member)
        await bot.sandbox.idle()
        async with bot.app.sessions() as session:  # forget the block, as after a missed update
            bo = await session.scalar(select(Member).where(Member.telegram_id == 9302))
            assert bo is not None
            bo.unreachable_since = None
            await session.commit()

        bot.sandbox.faults.fail_next("sendMessage", 500)  # Anna's first try: a server error
        calls = 0

        def compose(member: Member) -> notify.Notice:
            nonlocal calls
            calls += 1
            if member.telegram_id == 9303:  # Cilla's turn: Telegram is overloaded for a moment
                bot.sandbox.faults.fail_next("sendMessage", 429, retry_after=1)
            return notify.Notice(_("Only organisers can import workshops."))

        async with bot.app.sessions() as session:
            delivery = await notify.deliver(bot.app.bot, session, ids, compose, bot.app.i18n)
        assert (delivery.sent, delivery.unreachable, delivery.failed) == (4, 1, 0)
        expected = {
            "nl": "Alleen organisatoren kunnen workshops importeren.",
            "en": "Only organisers can import workshops.",
            "sv": "Bara organisatörer kan importera workshoppar.",
        }
        for tid, (_name, locale) in people.items():
            if tid == 9302:
                continue
            message = await users[tid].next()
            assert message.text == expected[locale]
            await users[tid].expect_silence(0.2)  # exactly once, also after a retry
        async with bot.app.sessions() as session:
            bo = await session.scalar(select(Member).where(Member.telegram_id == 9302))
            assert bo is not None and bo.unreachable_since is not None

        # now Bo is known to be unreachable: skipped without a call, still counted
        bot.sandbox.faults.fail_next("sendMessage", 500, count=10)  # Anna: down for good
        async with bot.app.sessions() as session:
            delivery = await notify.deliver(bot.app.bot, session, ids[:2], compose, bot.app.i18n)
        assert (delivery.sent, delivery.unreachable, delivery.failed) == (0, 1, 1)


async def test_a_file_goes_with_its_caption_in_each_language(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        assert bot.app is not None
        people = {9311: ("Anna", "nl"), 9312: ("Bo", "en"), 9313: ("Cilla", "sv")}
        async with bot.app.sessions() as session:
            for tid, (name, locale) in people.items():
                await onboarding.give_consent(session, tid, locale, name)
            ids = list(await session.scalars(select(Member.id).order_by(Member.telegram_id)))
        users = {tid: bot.sandbox.user(tid, name, language_code=loc)
                 for tid, (name, loc) in people.items()}  # fmt: skip

        def compose(member: Member) -> notify.Notice:
            document = BufferedInputFile(b"BEGIN:VCALENDAR", filename="workshop-1.ics")
            return notify.Notice(
                _("Only organisers can import workshops."),
                document=document,
                caption="📅 " + _("Add it to your calendar"),
            )

        async with bot.app.sessions() as session:
            delivery = await notify.deliver(bot.app.bot, session, ids, compose, bot.app.i18n)
        assert delivery.sent == 3
        captions = {
            "nl": "📅 Zet het in je agenda",
            "en": "📅 Add it to your calendar",
            "sv": "📅 Lägg in det i din kalender",
        }
        for tid, (_name, locale) in people.items():
            await users[tid].next()  # the text
            file = await users[tid].next()
            assert file.document is not None and file.document.filename == "workshop-1.ics"
            assert file.text == captions[locale]
