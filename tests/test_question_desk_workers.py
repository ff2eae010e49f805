"""20 volunteers press Claim on the same card at once, through the real Dispatchers of two
bot processes' worth (two Apps: their own engines, middlewares and per-chat ordering) sharing
one database and one sandbox: exactly one gets the question, the 19 others are told who has
it, and the card shows the one who holds it. Then the winner's answer, delivered to both
workers at once, reaches the member once."""

from __future__ import annotations

import asyncio

from aiogram.types import Update

from bot import clock, outbox
from bot import question_cards as cards
from bot.app import App, build_app
from bot.settings import SANDBOX_TOKEN
from sandbox import Limits, Sandbox
from storage.models import Member
from storage.repositories import questions as repo
from storage.repositories import roles as roles_repo
from tests.botrunner import sandbox_settings, t

GROUP, MEMBER, FIRST = -100840, 8400, 8401


async def test_twenty_claims_through_two_dispatchers_at_once(database_url: str) -> None:
    async with Sandbox(default_token=SANDBOX_TOKEN, limits=Limits.relaxed()) as sandbox:
        settings = sandbox_settings(sandbox, database_url)
        apps = [await build_app(settings), await build_app(settings, migrate=False)]
        await forget_senders(apps)
        try:
            group = sandbox.group(GROUP, "Vrijwilligers")
            noor = sandbox.user(MEMBER, "Noor")
            volunteers = [sandbox.user(FIRST + n, f"Vrijwilliger{n}") for n in range(20)]
            async with apps[0].sessions() as session:
                for person in volunteers:
                    roles_repo.add(session, person.id, "volunteer", None, 1)
                member = Member(telegram_id=MEMBER, locale="nl", first_name="Noor")
                session.add(member)
                await session.flush()
                await repo.link_chat(session, "volunteers", GROUP, "Vrijwilligers", 1, clock.now())
                qid = await repo.create(session, member_id=member.id, language="nl",
                                        region_code=None, identity="name", state="open",
                                        knowledge_id=None, now=clock.now())  # fmt: skip
                await repo.add_message(session, qid, author="member", kind="text",
                                       text="Waar vind ik de notulen?", file_id=None,
                                       now=clock.now())  # fmt: skip
                await session.commit()
            await cards.announce(apps[0].bot, apps[0].sessions, settings, qid)
            card = await group.expect_text("Waar vind ik de notulen?")

            state = sandbox.bot()
            for person in volunteers:  # 20 taps before any is handled
                await person.press("🙋 " + t("nl", "Claim"), message=card)
            updates = list(state.pending)
            state.pending.clear()
            assert len(updates) == 20

            async def feed(n: int, raw: dict[str, object]) -> None:
                app = apps[n % 2]
                update = Update.model_validate(raw, context={"bot": app.bot})
                await app.dp.feed_update(app.bot, update)

            await asyncio.gather(*(feed(n, raw) for n, raw in enumerate(updates)))
            await sandbox.idle()

            holders = [p for p in volunteers if any(m.from_bot for m in p.messages)]
            assert len(holders) == 1
            winner = holders[0]  # the others are told who has it (Telegram's first name)
            async with apps[0].sessions() as session:
                question = await repo.get(session, qid)
                assert question is not None
                assert (question.state, question.volunteer_id) == ("claimed", winner.id)
            refused = t("nl", "Already taken by {name}.", name=winner.first_name)
            for person in volunteers:
                if person is not winner:
                    assert person.alerts == [refused]
            assert winner.alerts == [
                t("nl", "It is yours: the question is in your private chat with me.")
            ]
            shown = await group.expect_text(t("nl", "Taken by {name}.", name=winner.first_name))
            assert shown.buttons == []
            assert sandbox.unanswered_callbacks() == []

            # the winner's answer (a reply to the thread), delivered to both workers at once
            # (as a webhook retried elsewhere would be): the member gets it once
            thread = next(m for m in winner.messages if m.from_bot)
            await winner.send_text("In de ledenomgeving, onder Documenten.", reply_to=thread)
            [raw] = list(state.pending)
            state.pending.clear()
            await asyncio.gather(feed(0, raw), feed(1, raw))
            await sandbox.idle()
            relayed = [m for m in noor.messages if "Documenten" in m.text]
            assert len(relayed) == 1
            assert relayed[0].text.startswith("💬 " + t("nl", "Answer from {name}",
                                                        name=winner.first_name))  # fmt: skip
            confirmations = [m for m in winner.messages if m.from_bot and m.text.startswith("✓")]
            assert len(confirmations) == 1
        finally:
            await forget_senders(apps)
            for app in apps:
                await app.close()


async def forget_senders(apps: list[App]) -> None:
    """Outbox senders are kept per bot, and bots with one token are equal: one left by an
    earlier test (another database) must not deliver, nor report on, this test's rows."""
    for app in apps:
        await outbox.sender_for(app.bot, app.sessions).stop()
