"""Members' questions end to end in the sandbox, both sides, in Dutch, English and Swedish: a
member, two volunteers and the volunteers' group. A known answer deflects a question; one
without goes to the queue and appears as a card in the group; Sanna claims it and Pim is
refused; her answer is relayed; the member's follow-up reaches her and her reply comes back;
she releases it, Pim claims it from the card, resolves it and proposes the answer for the
knowledge base; the member rates the answer. The member's Telegram id and username never
reach the volunteers, their notes never reach the member. A later question nobody answers
for a day goes to the organiser of the member's region, once, in the organiser's language."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import clock, question_escalation
from bot.question_cards import flag
from bot.services.roles import RoleName
from storage.models import knowledge_entries, questions
from storage.repositories import questions as repo
from tests import factories
from tests.botrunner import RunningBot, running_bot, t

pytestmark = pytest.mark.e2e

ADMIN, SANNA, PIM, MEMBER, ORGANISER = 8501, 8502, 8503, 8510, 8520
GROUP = -100850
NAMES = {"nl": "Noor", "en": "Emma", "sv": "Saga"}
KNOWN = {
    "nl": "hoe wijzig ik mijn iban",
    "en": "new IBAN for direct debit",
    "sv": "hur byter jag kontonummer för medlemsavgiften",
}
UNKNOWN = {
    "nl": "Mag ik mijn hond meenemen naar de fractievergadering?",
    "en": "May I bring my dog to the council group's meeting?",
    "sv": "Får jag ta med min hund till gruppmötet i fullmäktige?",
}
LATER = {
    "nl": "Mag mijn fiets in de kelder van het partijkantoor staan?",
    "en": "Can I park my bike in the basement of the party office?",
    "sv": "Kan jag ställa cykeln i källaren på partikontoret?",
}
MORE = {"nl": "En als ik in Zwolle woon?", "en": "And if I live in Zwolle?",
        "sv": "Och om jag bor i Zwolle?"}  # fmt: skip
IDENTITY_Q = (
    "I will pass your question on to the volunteers. How may they see you? They never see "
    "your Telegram account unless you choose so."
)
THREAD_Q = (
    "Write what you want to add to question #{id}: text, a photo or a file. Tap Done when "
    "you have finished."
)


async def question_of(bot: RunningBot, qid: int) -> repo.Question:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        found = await repo.get(session, qid)
    assert found is not None
    return found


async def open_questions(bot: RunningBot) -> list[repo.Question]:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        ids = await session.scalars(select(questions.c.id).where(questions.c.state == "open"))
        return [q for q in [await repo.get(session, i) for i in ids.all()] if q is not None]


async def volunteers_and_group(bot: RunningBot):  # type: ignore[no-untyped-def]
    """An admin gives two people the volunteer role and links the group; both have a
    private chat with the bot (Sanna is a member too, so the bot knows her name)."""
    assert bot.app is not None
    admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
    async with bot.app.sessions() as session:
        await factories.onboarded(session, SANNA, "Sanna", "Utrecht", locale="nl", region="west")
    sanna = bot.sandbox.user(SANNA, "Sanna", language_code="nl")
    pim = bot.sandbox.user(PIM, "Pim", language_code="en")
    group = bot.sandbox.group(GROUP, "Vrijwilligers")
    for person in (admin, sanna, pim):
        group.add_member(person)
    for volunteer in (SANNA, PIM):
        await admin.send_text(f"/rol {volunteer} vrijwilliger")
        await admin.next()
    for volunteer in (sanna, pim):
        await volunteer.send_text("/help")
        await volunteer.next()
    await admin.send_text_in(group, "/koppel vrijwilligers")
    await group.expect_text("✅")
    return sanna, pim, group


@pytest.mark.parametrize("lang", ["nl", "en", "sv"])
async def test_a_question_from_member_to_volunteers_and_back(database_url: str, lang: str) -> None:
    async with running_bot(database_url, admin_ids=str(ADMIN)) as bot:
        assert bot.app is not None
        sanna, pim, group = await volunteers_and_group(bot)
        name = NAMES[lang]
        async with bot.app.sessions() as session:
            await factories.onboarded(session, MEMBER, name, "Zwolle", locale=lang,
                                      region="oost", username="noor_private")  # fmt: skip
        member = bot.sandbox.user(MEMBER, name, language_code=lang, username="noor_private")

        # deflection: a known answer helps, and the volunteers never hear of it
        await member.send_text(f"/vraag {KNOWN[lang]}")
        await member.expect_text(t(lang, "Maybe this answers your question:"))
        await member.press("✅ " + t(lang, "Yes, thanks"))
        await bot.sandbox.idle()
        assert member.alerts[-1] == t(lang, "Glad it helped! Ask again any time with /vraag.")
        assert group.bot_messages[-1].text.startswith("✅")  # only the link confirmation

        # the queue: no known answer; the member chooses to be seen by first name
        await member.send_text(f"/vraag {UNKNOWN[lang]}")
        await member.expect_text(t(lang, IDENTITY_Q))
        await member.press("🙂 " + t(lang, "With my first name ({name})", name=name))
        received = await member.expect_text(t(lang, "The answer comes here, in this chat."))

        # the card in the group: first name, region, language, the question; no account
        card = await group.expect_text(UNKNOWN[lang])
        qid = int(card.text.split("#")[1].split(" ")[0])
        assert t(lang, "Your question has been received (#{id}).", id=qid) in received.text
        assert name in card.text and flag(lang) in card.text
        assert str(MEMBER) not in card.text and "noor_private" not in card.text
        assert [b.text for b in card.buttons] == ["🙋 " + t("nl", "Claim")]

        # claim: Sanna has it, Pim is refused with her name
        await sanna.press("🙋 " + t("nl", "Claim"), message=card)
        thread = await sanna.expect_text(UNKNOWN[lang])
        assert str(MEMBER) not in thread.text and "noor_private" not in thread.text
        await group.expect_text(t("nl", "Taken by {name}.", name="Sanna"))
        claim = card.buttons[0].data
        assert claim is not None
        await pim.press_raw(card.message_id, claim, chat=group)
        await bot.sandbox.idle()
        assert pim.alerts[-1] == t("en", "Already taken by {name}.", name="Sanna")
        assert (await question_of(bot, qid)).volunteer_id == SANNA

        # the answer, relayed in the member's language with rating and reply buttons
        await sanna.press("✍️ " + t("nl", "Answer"), message=thread)
        await sanna.expect_text("✍️")
        await sanna.send_text("Ja, als hij rustig is: de vergadering is openbaar.")
        await sanna.expect_text("✓ ")
        answer = await member.expect_text("Ja, als hij rustig is: de vergadering is openbaar.")
        assert answer.text.startswith("💬 " + t(lang, "Answer from {name}", name="Sanna"))
        assert [b.text for b in answer.buttons] == [
            "↩️ " + t(lang, "Reply"), "👍 " + t(lang, "This helped"),
            "👎 " + t(lang, "Not really"), t(lang, "Close my question"),
        ]  # fmt: skip
        assert (await question_of(bot, qid)).first_answer_at is not None

        # a private note stays with the volunteers
        await sanna.press("📝 " + t("nl", "Note"), message=thread)
        await sanna.expect_text("📝")
        await sanna.send_text("Wijs haar ook op de nieuwsbrief")
        await sanna.expect_text(
            t("nl", "Note kept on #{qid}. The member does not see it.", qid=qid)
        )

        # follow-up: the member adds something; it reaches Sanna, her reply comes back
        await member.press("↩️ " + t(lang, "Reply"), message=answer)
        await member.expect_text(t(lang, THREAD_Q, id=qid))
        await member.send_text(MORE[lang])
        await member.expect_text(t(lang, "Added to your question #{id}.", id=qid))
        more = await sanna.expect_text(MORE[lang])
        await member.send_photo(caption="📍")
        await member.expect_text(t(lang, "Added to your question #{id}.", id=qid))
        photo = await sanna.expect_text("📍")
        assert photo.photo is not None and photo.text.startswith("💬 ")
        await member.press("✔️ " + t(lang, "Done"))
        about = f"#{qid} · {flag(lang)} · {name}"
        assert more.text.startswith("💬 " + t("nl", "More from {about}:", about=about))
        await sanna.send_text("Dan kun je in Zwolle terecht.", reply_to=more)
        await sanna.expect_text("✓ ")
        zwolle = await member.expect_text("Dan kun je in Zwolle terecht.")
        # a Telegram reply to a relayed answer continues the thread too (its route was kept)
        await member.send_text("Dank je, en in Deventer?", reply_to=zwolle)
        await member.expect_text(t(lang, "Added to your question #{id}.", id=qid))
        await sanna.expect_text("Dank je, en in Deventer?")

        # release: back in the queue, the card offers Claim again; Pim takes it, resolves
        await sanna.press("↩️ " + t("nl", "Release"), message=thread)
        await group.expect_text(t("nl", "Waiting for a volunteer."))
        assert (await question_of(bot, qid)).state == "open"
        await pim.press("🙋 " + t("nl", "Claim"), message=card)
        pims = await pim.expect_text(UNKNOWN[lang])
        assert "Wijs haar ook op de nieuwsbrief" in pims.text  # notes go with the thread
        assert MORE[lang] in pims.text and "Dan kun je in Zwolle terecht." in pims.text
        assert "Dank je, en in Deventer?" in pims.text
        await pim.press("✅ " + t("en", "Resolve"), message=pims)
        rate = await member.expect_text(
            t(lang, "{name} marked your question as answered. Did the answer help you?",
              name="Pim")
        )  # fmt: skip
        await group.expect_text(t("nl", "Closed."))
        # Pim proposes the answers for the knowledge base: an organiser approves them later
        await pim.press("💡 " + t("en", "Propose this answer for the knowledge base"))
        await bot.sandbox.idle()
        assert pim.alerts[-1] == t("en", "Thank you! An organiser checks it before members see it.")
        async with bot.app.sessions() as session:
            proposed = (
                await session.execute(
                    select(knowledge_entries.c.language, knowledge_entries.c.answer).where(
                        knowledge_entries.c.state == "proposed"
                    )
                )
            ).all()
        assert len(proposed) == 1 and proposed[0].language == lang
        assert "Dan kun je in Zwolle terecht." in proposed[0].answer

        # rating: one tap, answered at once, stored
        await member.press("👍 " + t(lang, "This helped"), message=rate)
        await bot.sandbox.idle()
        assert member.alerts[-1] == "👍 " + t(lang, "Thank you! Glad the answer helped.")
        done = await question_of(bot, qid)
        assert (done.state, done.closed_by, done.rating) == ("closed", "volunteer", "helpful")

        # what each side saw
        seen_by_member = " ".join(m.text for m in member.messages if m.from_bot)
        assert "nieuwsbrief" not in seen_by_member
        for volunteer in (sanna, pim):
            seen = " ".join(m.text for m in volunteer.messages if m.from_bot)
            assert str(MEMBER) not in seen and "noor_private" not in seen

        # escalation: a question nobody answers for a day goes to the organiser of the
        # member's region, in the organiser's language
        async with bot.app.sessions() as session:
            await factories.onboarded(session, ORGANISER, "Olle", "Deventer", locale=lang,
                                      region="oost")  # fmt: skip
            await factories.give_role(session, ORGANISER, RoleName.ORGANISER, "oost")
        olle = bot.sandbox.user(ORGANISER, "Olle", language_code=lang)
        await member.send_text(f"/vraag {LATER[lang]}")
        first = await member.next()
        if first.text.startswith("💡"):  # a known answer that does not fit: ask anyway
            await member.press("🙋 " + t(lang, "No, ask a volunteer"), message=first)
            await member.expect_text(t(lang, IDENTITY_Q))
        else:
            assert first.text == t(lang, IDENTITY_Q)
        await member.press("🙂 " + t(lang, "With my first name ({name})", name=name))
        await member.expect_text("✅")
        later = await group.expect_text(LATER[lang])
        assert later.buttons  # waiting to be claimed
        with clock.travel_to(clock.now() + timedelta(hours=25)):
            await question_escalation.escalate_due(
                bot.app.bot, bot.app.sessions, bot.app.i18n, bot.settings
            )  # as the scheduler's pass does (it may run it first: once either way)
            told = await olle.expect_text("⏰")
            assert LATER[lang] in told.text
            assert t(lang, "Volunteers can claim them in /wachtrij; you can too, or ask "
                     "someone to.") in told.text  # fmt: skip
            waiting = [q for q in await open_questions(bot) if q.escalated_at is not None]
            assert len(waiting) == 1
            await olle.expect_silence(0.3)  # told once
        assert bot.sandbox.unanswered_callbacks() == []
