"""The volunteers' side in the sandbox (questions made through the repository, as the
member's side would): the group linked, a card with Claim, the second volunteer refused,
the thread in private, answers relayed (the Answer button, a reply, a canned answer, a
photo), a 5xx on the way retried through the outbox and delivered once, release, resolve,
/mijnvragen and /wachtrij, a claim without a private chat undone, rotation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot import clock
from bot import question_cards as cards
from bot.services import knowledge
from storage.models import Member, questions
from storage.repositories import questions as repo
from tests.botrunner import RunningBot, running_bot, t
from tests.chat_faults import fail_chat

pytestmark = pytest.mark.e2e

ADMIN, SANNA, PIM, FATIMA, LARS = 8301, 8302, 8303, 8310, 8311
GROUP = -100830


async def ask(
    bot: RunningBot,
    telegram_id: int,
    name: str,
    text: str,
    *,
    language: str = "nl",
    identity: str = "name",
    region: str | None = None,
    announce: bool = True,
) -> int:
    """A queued question, as the member's side stores it, then announced."""
    assert bot.app is not None
    async with bot.app.sessions() as session:
        member = await session.scalar(select(Member).where(Member.telegram_id == telegram_id))
        if member is None:
            member = Member(telegram_id=telegram_id, locale=language, first_name=name,
                            username=f"{name.lower()}_tg", kind="member",
                            onboarding_step="done")  # fmt: skip
            session.add(member)
            await session.flush()
        qid = await repo.create(session, member_id=member.id, language=language,
                                region_code=region, identity=identity, state="open",
                                knowledge_id=None, now=clock.now())  # fmt: skip
        await repo.add_message(session, qid, author="member", kind="text", text=text,
                               file_id=None, now=clock.now())  # fmt: skip
        await session.commit()
    if announce:
        await cards.announce(bot.app.bot, bot.app.sessions, bot.settings, qid)
    return qid


async def set_up(bot: RunningBot):  # type: ignore[no-untyped-def]
    admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
    sanna = bot.sandbox.user(SANNA, "Sanna", language_code="nl")
    pim = bot.sandbox.user(PIM, "Pim", language_code="en")
    group = bot.sandbox.group(GROUP, "Vrijwilligers")
    for person in (admin, sanna, pim):
        group.add_member(person)
    for volunteer in (SANNA, PIM):
        await admin.send_text(f"/rol {volunteer} vrijwilliger")
        await admin.next()
    await sanna.send_text("/help")  # a private chat with the bot
    await pim.send_text("/help")
    await bot.sandbox.idle()
    await pim.send_text_in(group, "/koppel vrijwilligers")
    await group.expect_text(t("en", "Only an administrator can link this group."))
    await admin.send_text_in(group, "/koppel vrijwilligers")
    linked = t("en", "This is now the volunteers' group: new questions appear here with a Claim"
               " button. Volunteers need the role (/rol ID vrijwilliger) and a private chat with"
               " me, where they answer.")  # fmt: skip
    await group.expect_text("✅ " + linked)
    sanna.drain()
    pim.drain()
    return sanna, pim, group


async def test_claim_answer_follow_up_release_resolve(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    proposed: list[tuple[object, ...]] = []

    async def propose(session: object, *args: object) -> int:
        proposed.append(args)
        return 1

    monkeypatch.setattr(knowledge, "propose", propose, raising=False)
    async with running_bot(database_url, admin_ids=str(ADMIN)) as bot:
        assert bot.app is not None
        sanna, pim, group = await set_up(bot)
        fatima = bot.sandbox.user(FATIMA, "Fatima", language_code="nl")
        qid = await ask(bot, FATIMA, "Fatima", "Hoe word ik kandidaat voor de gemeenteraad?")

        card = await group.expect_text("Hoe word ik kandidaat")
        assert f"#{qid}" in card.text and "Fatima" in card.text
        assert str(FATIMA) not in card.text and "fatima_tg" not in card.text
        assert [b.text for b in card.buttons] == ["🙋 " + t("nl", "Claim")]

        # a member without the role is refused; Sanna claims; Pim is told it is taken
        await fatima.press("🙋 " + t("nl", "Claim"), message=card)
        await bot.sandbox.idle()
        assert fatima.alerts[-1] == t(
            "nl", "Only volunteers can take questions. An administrator can give you the role."
        )
        await sanna.press("🙋 " + t("nl", "Claim"), message=card)
        thread = await sanna.expect_text("Hoe word ik kandidaat")
        await bot.sandbox.idle()
        assert sanna.alerts[-1] == t(
            "nl", "It is yours: the question is in your private chat with me."
        )
        assert [b.text for b in thread.buttons] == [
            "✍️ " + t("nl", "Answer"), "📚 " + t("nl", "Canned answer"),
            "📝 " + t("nl", "Note"), "↩️ " + t("nl", "Release"), "✅ " + t("nl", "Resolve"),
        ]  # fmt: skip
        edited = await group.expect_text(t("nl", "Taken by {name}.", name="Sanna"))
        assert edited.buttons == []
        claim = card.buttons[0].data
        assert claim is not None
        await pim.press_raw(card.message_id, claim, chat=group)  # a stale card's button
        await bot.sandbox.idle()
        assert pim.alerts[-1] == t("en", "Already taken by {name}.", name="Sanna")

        # the answer, through the Answer button; the member gets it with rate and reply
        await sanna.press("✍️ " + t("nl", "Answer"), message=thread)
        await sanna.expect_text("✍️")
        await sanna.send_text("Meld je aan bij de <b>selectiecommissie</b> vóór 1 maart.")
        done = await sanna.expect_text("✓ ")
        answer = await fatima.expect_text("selectiecommissie")
        assert t("nl", "Answer from {name}", name="Sanna") in answer.text
        assert "<b>" in answer.text  # as typed: not formatting, but kept safely
        assert [b.text for b in answer.buttons] == [
            "↩️ " + t("nl", "Reply"), "👍 " + t("nl", "This helped"),
            "👎 " + t("nl", "Not really"), t("nl", "Close my question"),
        ]  # fmt: skip

        # a follow-up from the member reaches Sanna; her reply to it is relayed
        async with bot.app.sessions() as session:
            row = await repo.add_message(session, qid, author="member", kind="text",
                                         text="En als ik in Zwolle woon?", file_id=None,
                                         now=clock.now())  # fmt: skip
            await session.commit()
        await cards.follow_up(bot.app.bot, bot.app.sessions, bot.settings, qid, row)
        more = await sanna.expect_text("En als ik in Zwolle woon?")
        await sanna.send_text("Dan bij afdeling Zwolle.", reply_to=more)
        await sanna.expect_text("✓ ")
        assert "Dan bij afdeling Zwolle." in (await fatima.expect_text("Zwolle")).text
        await sanna.send_text("Nog één ding.", reply_to=done)  # a reply to the confirmation
        await fatima.expect_text("Nog één ding.")

        # a private note never reaches the member; /mijnvragen lists the thread
        await sanna.press("📝 " + t("nl", "Note"), message=thread)
        await sanna.expect_text("📝")
        await sanna.send_text("Belt waarschijnlijk nog terug")
        await sanna.expect_text(
            t("nl", "Note kept on #{qid}. The member does not see it.", qid=qid)
        )
        await sanna.send_text("/mijnvragen")
        mine = await sanna.expect_text(
            t(
                "nl",
                "Your open questions ({count}), page {page} of {pages}:",
                count=1,
                page=1,
                pages=1,
            )
        )
        await sanna.press(mine.buttons[0].text, message=mine)
        view = await sanna.expect_text("Belt waarschijnlijk nog terug")
        assert t("nl", "Note (only volunteers see this)") in view.text

        # release: back in the queue, the card offers Claim again; Pim takes it and resolves
        await sanna.press("↩️ " + t("nl", "Release"), message=view)
        await group.expect_text(t("nl", "Waiting for a volunteer."))
        await pim.press("🙋 " + t("nl", "Claim"), message=card)  # offered again
        pims = await pim.expect_text("Hoe word ik kandidaat")
        assert "selectiecommissie" in pims.text  # the whole thread goes with it
        await sanna.press("✍️ " + t("nl", "Answer"), message=thread)  # an older copy
        await bot.sandbox.idle()
        assert sanna.alerts[-1] == t("nl", "That question is not yours (any more).")
        await pim.press("✅ " + t("en", "Resolve"), message=pims)
        rate = await fatima.expect_text(
            t(
                "nl",
                "{name} marked your question as answered. Did the answer help you?",
                name="Pim",
            )
        )
        assert [b.text for b in rate.buttons] == [
            "👍 " + t("nl", "This helped"), "👎 " + t("nl", "Not really"),
        ]  # fmt: skip
        await group.expect_text(t("nl", "Closed."))
        resolved = await pim.expect_text(t("en", "Resolved."))
        await pim.press("💡 " + t("en", "Propose this answer for the knowledge base"),
                        message=resolved)  # fmt: skip
        await pim.expect_text(t("en", "Proposed for the knowledge base."))
        assert proposed == [
            ("nl", "Hoe word ik kandidaat voor de gemeenteraad?",
             "Meld je aan bij de <b>selectiecommissie</b> vóór 1 maart.\n\n"
             "Dan bij afdeling Zwolle.\n\nNog één ding.", PIM)
        ]  # fmt: skip
        fatima_saw = [m.text for m in fatima.messages if m.from_bot]
        assert not any("Belt waarschijnlijk" in text for text in fatima_saw)
        assert bot.sandbox.unanswered_callbacks() == []


async def test_relay_failure_is_retried_and_delivered_once(database_url: str) -> None:
    async with running_bot(database_url, admin_ids=str(ADMIN)) as bot:
        assert bot.app is not None
        sanna, _pim, group = await set_up(bot)
        fatima = bot.sandbox.user(FATIMA, "Fatima", language_code="nl")
        await fatima.send_text("/help")
        await bot.sandbox.idle()
        fatima.drain()
        qid = await ask(bot, FATIMA, "Fatima", "Wanneer is de volgende cursus?")
        card = await group.expect_text("volgende cursus")
        await sanna.press("🙋 " + t("nl", "Claim"), message=card)
        thread = await sanna.expect_text("volgende cursus")
        await sanna.press("✍️ " + t("nl", "Answer"), message=thread)
        await sanna.expect_text("✍️")
        fail_chat(bot, FATIMA, times=2, error_code=502)
        await sanna.send_text("Op 14 maart in Utrecht.")
        await sanna.expect_text(t("nl", "Sent to {about}. Reply to this message to write more.",
                                  about=f"#{qid} (Fatima)"), timeout=10)  # fmt: skip
        await fatima.expect_text("Op 14 maart in Utrecht.")
        await bot.sandbox.idle()
        copies = [m for m in fatima.messages if m.from_bot and "14 maart" in m.text]
        assert len(copies) == 1
        failed = [c for c in bot.sandbox.calls("sendMessage") if c.failed]
        assert len(failed) >= 2

        # a photo goes as a photo, the header in its caption, the buttons under it
        await sanna.press("✍️ " + t("nl", "Answer"), message=thread)
        await sanna.expect_text("✍️")
        await sanna.send_photo(caption="De zaal")
        await sanna.expect_text("✓ ")
        photo = await fatima.next()
        assert photo.photo is not None
        assert photo.text == "💬 " + t("nl", "Answer from {name}", name="Sanna") + "\n\nDe zaal"
        assert photo.buttons[0].text == "↩️ " + t("nl", "Reply")


async def test_claim_needs_a_private_chat_and_the_queue(database_url: str) -> None:
    async with running_bot(database_url, admin_ids=str(ADMIN)) as bot:
        assert bot.app is not None
        sanna, pim, group = await set_up(bot)
        sanna.block()
        first = await ask(bot, FATIMA, "Fatima", "Hoe betaal ik contributie?")
        second = await ask(bot, LARS, "Lars", "Hur blir jag aktiv?", language="sv",
                           identity="anonymous")  # fmt: skip
        card = await group.expect_text("contributie")
        await sanna.press("🙋 " + t("nl", "Claim"), message=card)
        await bot.sandbox.idle()
        assert sanna.alerts[-1] == t(
            "nl",
            "I cannot write to you privately yet: open a chat with me first (tap my name, then "
            "Start), then claim again.",
        )
        async with bot.app.sessions() as session:
            stored = await repo.get(session, first)
        assert stored is not None and stored.state == "open" and stored.volunteer_id is None

        await pim.send_text("/wachtrij sv")
        only = await pim.expect_text("Hur blir jag aktiv?")
        assert "contributie" not in only.text
        await pim.send_text("/wachtrij")
        queue = await pim.expect_text("Hoe betaal ik contributie?")
        assert "Hur blir jag aktiv?" in queue.text and t("en", "a member") in queue.text
        assert "Lars" not in queue.text
        await pim.press("🇸🇪", message=queue)
        swedish = await pim.expect_text("Hur blir jag aktiv?")
        assert "contributie" not in swedish.text
        await pim.press("🙋 " + t("en", "Claim #{qid}", qid=second), message=swedish)
        await pim.expect_text("Hur blir jag aktiv?")
        relisted = await pim.expect_text("🎉")
        assert relisted.edited

        # a canned answer: the list, a preview, then sent once
        thread = [m for m in pim.messages if m.from_bot and m.buttons and "🧵" in m.text][-1]
        await pim.press("📚 " + t("en", "Canned answer"), message=thread)
        listing = await pim.expect_text("📚")
        await pim.press(listing.buttons[0].text, message=listing)
        preview = await pim.expect_text(t("en", "Send this to {about}?",
                                          about=f"#{second} ({t('en', 'a member')})"))  # fmt: skip
        await pim.press("📤 " + t("en", "Send this answer"), message=preview)
        lars = bot.sandbox.user(LARS, "Lars", language_code="sv")
        got = await lars.expect_text(t("sv", "Answer from {name}", name="Pim"))
        assert preview.text.split("\n\n")[1][:30] in got.text
        await bot.sandbox.idle()
        assert bot.sandbox.unanswered_callbacks() == []


async def test_rotation_assigns_to_the_least_busy(database_url: str) -> None:
    """A question nobody took goes to whoever has the fewest open threads; one the bot
    cannot reach (Pim blocked it) is skipped, and the card says who has it."""
    async with running_bot(database_url, admin_ids=str(ADMIN)) as bot:
        assert bot.app is not None
        sanna, pim, group = await set_up(bot)
        busy = await ask(bot, LARS, "Lars", "Eerste vraag")
        card = await group.expect_text("Eerste vraag")
        await sanna.press("🙋 " + t("nl", "Claim"), message=card)
        await sanna.expect_text("Eerste vraag")
        skipped = await ask(bot, FATIMA, "Fatima", "Wie pakt mij op?")
        await group.expect_text("Wie pakt mij op?")
        pim.block()
        with clock.travel_to(clock.now() + timedelta(minutes=61)):
            assert await cards.rotate(bot.app.bot, bot.app.sessions, bot.app.i18n, bot.settings)
        told = await sanna.expect_text("Wie pakt mij op?")
        assert told.text.startswith("🔄")
        await group.expect_text(t("nl", "Taken by {name}.", name="Sanna"))

        pim.unblock()
        waiting = await ask(bot, FATIMA, "Fatima", "Niemand pakt mij op")
        await group.expect_text("Niemand pakt mij op")
        with clock.travel_to(clock.now() + timedelta(minutes=59)):  # not yet
            assert (
                await cards.rotate(bot.app.bot, bot.app.sessions, bot.app.i18n, bot.settings) == 0
            )
        with clock.travel_to(clock.now() + timedelta(minutes=61)):
            assigned = await cards.rotate(bot.app.bot, bot.app.sessions, bot.app.i18n, bot.settings)
        assert assigned == 1
        told = await pim.expect_text("Niemand pakt mij op")
        assert told.text.startswith("🔄")
        async with bot.app.sessions() as session:
            stored = await repo.get(session, waiting)
            first = await repo.get(session, busy)
            second = await repo.get(session, skipped)
        assert stored is not None and (stored.volunteer_id, stored.claimed_how) == (PIM, "rotation")
        assert first is not None and first.volunteer_id == SANNA
        assert second is not None and (second.volunteer_id, second.claimed_how) == (
            SANNA, "rotation",
        )  # fmt: skip


async def test_without_a_group_forged_buttons_and_the_member_closing(database_url: str) -> None:
    """No linked group: each volunteer hears privately and claims from there. Stale and forged
    buttons change nothing; a sticker is not relayed; the member closing tells the volunteer."""
    async with running_bot(database_url, admin_ids=str(ADMIN)) as bot:
        assert bot.app is not None
        admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        sanna = bot.sandbox.user(SANNA, "Sanna", language_code="nl")
        pim = bot.sandbox.user(PIM, "Pim", language_code="en")
        for volunteer in (SANNA, PIM):
            await admin.send_text(f"/rol {volunteer} vrijwilliger")
            await admin.next()
        await sanna.send_text("/start")  # Sanna is a member too: her notices are in Dutch
        await bot.sandbox.idle()
        async with bot.app.sessions() as session:
            session.add(Member(telegram_id=SANNA, locale="nl", first_name="Sanna", kind="member",
                               onboarding_step="done"))  # fmt: skip
            await session.commit()
        sanna.drain()
        await pim.send_text("/help")
        await bot.sandbox.idle()
        pim.drain()
        qid = await ask(bot, FATIMA, "Fatima", "Waar is het partijbureau?", identity="anonymous")
        notice = await sanna.expect_text("Waar is het partijbureau?")
        assert notice.text.startswith("🔔 " + t("nl", "A new question is waiting."))
        assert "Fatima" not in notice.text and t("nl", "a member") in notice.text
        pims = await pim.expect_text("Waar is het partijbureau?")
        await sanna.press("🙋 " + t("nl", "Claim"), message=notice)
        thread = await sanna.expect_text("🧵")
        mine = await sanna.expect_text(t("nl", "Taken by {name}.", name="Sanna"))
        assert mine.message_id == notice.message_id and mine.buttons == []
        await pim.press("🙋 " + t("nl", "Claim"), message=pims)  # not a member: the default
        await bot.sandbox.idle()
        assert pim.alerts[-1] == t("en", "Already taken by {name}.", name="Sanna")

        # forged and stale buttons: another's thread, an unknown answer, a page of nonsense
        release = next(b.data for b in thread.buttons if "↩️" in b.text)
        assert release is not None
        pressed = len(pim.callback_answers)
        await pim.press_raw(thread.message_id, release)
        alerts = await pim.answered(pressed + 1)
        assert alerts[-1] == t("en", "That question is not yours (any more).")
        pressed = len(sanna.callback_answers)
        await sanna.press_raw(thread.message_id, f"q:cv.no_such_entry:{qid}")
        await sanna.press_raw(thread.message_id, f"q:release:{qid + 50}")
        await pim.press_raw(thread.message_id, "q:w.xx.<b>.999999999:0")
        await sanna.answered(pressed + 2)
        await bot.sandbox.idle()
        assert sanna.alerts[-2:] == [
            t("nl", "That answer is no longer in the knowledge base."),
            t("nl", "That question no longer exists."),
        ]
        fatima = bot.sandbox.user(FATIMA, "Fatima", language_code="nl")
        admin.drain()
        await admin.send_text("/wachtrij")
        await admin.expect_text(t("en", "Nobody is waiting for an answer. 🎉"))  # admins may

        # a sticker is not relayed; the answering state stays for the real answer
        await sanna.press("✍️ " + t("nl", "Answer"), message=thread)
        await sanna.expect_text("✍️")
        await sanna.send_sticker()
        await sanna.expect_text(t("nl", "I can pass on text, photos and files."))
        await sanna.send_text("Aan de Herengracht.")
        await sanna.expect_text("✓ ")
        await fatima.expect_text("Aan de Herengracht.")

        # the member closes it (as the member's side does), and Sanna is told
        async with bot.app.sessions() as session:
            question = await repo.get(session, qid)
            assert question is not None
            await session.execute(
                update(questions).where(questions.c.id == qid).values(state="closed",
                                                                      closed_by="member")
            )  # fmt: skip
            await session.commit()
        await cards.closed(bot.app.bot, bot.app.sessions, bot.settings, qid)
        closed = await sanna.expect_text(
            t("nl", "{about} closed their question. Thank you for your help!",
              about=f"#{qid} · 🇳🇱 · {t('nl', 'a member')}")
        )  # fmt: skip
        assert closed.buttons == []
        await sanna.press("✍️ " + t("nl", "Answer"), message=thread)
        await bot.sandbox.idle()
        assert sanna.alerts[-1] == t("nl", "That question is closed.")
        assert bot.sandbox.unanswered_callbacks() == []


async def test_erasure_takes_the_members_words_out_of_the_volunteers_chats(
    database_url: str,
) -> None:
    async with running_bot(database_url, admin_ids=str(ADMIN)) as bot:
        assert bot.app is not None
        sanna, _pim, group = await set_up(bot)
        qid = await ask(bot, FATIMA, "Fatima", "Mijn adres is Dorpsstraat 1, klopt dat?")
        card = await group.expect_text("Dorpsstraat")
        await sanna.press("🙋 " + t("nl", "Claim"), message=card)
        thread = await sanna.expect_text("Dorpsstraat")
        await bot.sandbox.idle()  # the card says who has it
        fatima = bot.sandbox.user(FATIMA, "Fatima")
        await fatima.send_text("/vergeetmij")
        await fatima.expect_text(t("nl", "Do you want me to erase everything I store about you? "
                                   "Your profile, talents and wishes, and your consent are "
                                   "deleted at once. This cannot be undone."))  # fmt: skip
        await fatima.press(t("nl", "Yes, erase everything"))
        await fatima.expect_text(t("nl", "You are welcome back any time: send /start."))
        gone = t("nl", "Question #{qid}: erased at the member's request.", qid=qid)
        await bot.sandbox.idle()
        for chat, message in ((group, card), (sanna, thread)):
            now = next(m for m in chat.messages if m.message_id == message.message_id)
            assert now.text == "🗑 " + gone and now.buttons == []
        async with bot.app.sessions() as session:
            assert await repo.get(session, qid) is None  # and the question itself is gone
            assert await cards.erase_copies(bot.app.bot, session, bot.settings, 999) == 0
