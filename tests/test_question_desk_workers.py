"""20 volunteers press Claim on the same card at once, through the real Dispatchers of two
bot processes' worth (two Apps: their own engines, middlewares and per-chat ordering) sharing
one database and one sandbox: exactly one gets the question, the 19 others are told who has
it, and the card shows the one who holds it."""

from __future__ import annotations

import asyncio

from aiogram.types import Update

from bot import clock
from bot import question_cards as cards
from bot.app import build_app
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
        try:
            group = sandbox.group(GROUP, "Vrijwilligers")
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
            winner = holders[0]
            async with apps[0].sessions() as session:
                question = await repo.get(session, qid)
                assert question is not None
                assert (question.state, question.volunteer_id) == ("claimed", winner.id)
            refused = t("nl", "Already taken by {name}.", name=t("nl", "another volunteer"))
            for person in volunteers:
                if person is not winner:
                    assert person.alerts == [refused]
            assert winner.alerts == [
                t("nl", "It is yours: the question is in your private chat with me.")
            ]
            shown = await group.expect_text(t("nl", "Taken by {name}.", name=winner.first_name))
            assert shown.buttons == []
            assert sandbox.unanswered_callbacks() == []
        finally:
            for app in apps:
                await app.close()
