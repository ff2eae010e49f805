"""The member's side of questions end to end, in the sandbox, in Dutch, English and Swedish:
a known answer deflects (or not), a question without one is queued after the member chose
how volunteers see them, follow-ups go to the thread, the answer is rated and the question
closed; harassment gets the confidential pointer before anything is stored; bad input and
another member's buttons are refused.

The volunteers' side (bot/question_cards.py) is replaced by recorders: what it is told, with
which ids, is what these tests check of it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot import question_cards
from bot.question_keys import QuestionCb, answered_markup
from storage.models import questions
from storage.repositories import questions as repo
from tests import factories
from tests.botrunner import RunningBot, running_bot, t

pytestmark = pytest.mark.e2e

MEMBER, OTHER = 8301, 8302
KNOWN = {
    "nl": "hoe wijzig ik mijn iban",
    "en": "new IBAN for direct debit",
    "sv": "hur byter jag kontonummer för medlemsavgiften",
}
UNKNOWN = {
    "nl": "ik zoek een goed recept voor erwtensoep",
    "en": "what do you think of the prime minister",
    "sv": "var ligger närmaste pizzeria",
}
UNSAFE = {
    "nl": "Ik word steeds lastiggevallen door iemand van het bestuur",
    "en": "Someone in my branch keeps harassing me after meetings",
    "sv": "Jag blir trakasserad av en person i föreningen",
}
ASK_Q = (
    "What is your question? Type it in one message. I first look for a known answer; "
    "otherwise a volunteer answers you, here in this chat."
)
IDENTITY_Q = (
    "I will pass your question on to the volunteers. How may they see you? They never see "
    "your Telegram account unless you choose so."
)
THREAD_Q = (
    "Write what you want to add to question #{id}: text, a photo or a file. Tap Done when "
    "you have finished."
)
GONE = "That question is no longer waiting. Send /vraag to ask it again."
TYPE_IT = "Please type your question in words (a photo or a file can follow once it is sent)."
FALLBACK = "I did not understand that. What would you like to do?"
NAMES = {"nl": "Noor", "en": "Emma", "sv": "Saga"}


class Cards:
    """Records what the volunteers' side is asked to do."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def announce(self, bot: Any, sessions: Any, settings: Any, qid: int) -> None:
        self.calls.append(("announce", qid))

    async def follow_up(
        self, bot: Any, sessions: Any, settings: Any, qid: int, message_row_id: int
    ) -> None:
        self.calls.append(("follow_up", qid, message_row_id))

    async def closed(self, bot: Any, sessions: Any, settings: Any, qid: int) -> None:
        self.calls.append(("closed", qid))


@pytest.fixture
def cards(monkeypatch: pytest.MonkeyPatch) -> Cards:
    recorder = Cards()
    for name in ("announce", "follow_up", "closed"):
        monkeypatch.setattr(question_cards, name, getattr(recorder, name))
    return recorder


async def member_in(bot: RunningBot, telegram_id: int, name: str, lang: str):  # type: ignore[no-untyped-def]
    assert bot.app is not None
    async with bot.app.sessions() as session:
        await factories.onboarded(session, telegram_id, name, "Zwolle", locale=lang, region="oost")
    return bot.sandbox.user(telegram_id, name, language_code=lang)


async def rows(bot: RunningBot) -> list[repo.Question]:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        ids = await session.scalars(select(questions.c.id).order_by(questions.c.id))
        found = [await repo.get(session, qid) for qid in ids]
    return [q for q in found if q is not None]


async def thread(bot: RunningBot, qid: int) -> list[repo.Message]:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        return await repo.messages(session, qid, notes=True)


async def volunteer_answers(bot: RunningBot, user_id: int, qid: int, lang: str) -> None:
    """What the volunteers' side does when it relays an answer (helper B's), in short."""
    assert bot.app is not None
    async with bot.app.sessions() as session:
        await session.execute(
            update(questions)
            .where(questions.c.id == qid)
            .values(state="claimed", volunteer_id=5001, first_answer_at=func.now())
        )
        await session.commit()
    with bot.app.i18n.context(), bot.app.i18n.use_locale(lang):
        markup = answered_markup(qid)
    sent = await bot.app.bot.send_message(
        user_id, "Answer from Sanna: see the website.", reply_markup=markup
    )
    async with bot.app.sessions() as session:  # so that a reply to it continues the thread
        await repo.add_route(session, user_id, sent.message_id, qid)
        await session.commit()


def buttons(message: Any) -> list[str]:
    return [b.text for row in message.inline_keyboard for b in row]


@pytest.mark.parametrize("lang", ["nl", "en", "sv"])
async def test_known_answer_queue_thread_rating_close(
    database_url: str, lang: str, cards: Cards
) -> None:
    async with running_bot(database_url) as bot:
        name = NAMES[lang]
        member = await member_in(bot, MEMBER, name, lang)
        other = await member_in(bot, OTHER, "Olle", "sv")

        # a known answer, and it helped
        await member.send_text("/vraag")
        await member.expect_text(t(lang, ASK_Q))
        await member.send_text(KNOWN[lang])
        shown = await member.expect_text(t(lang, "Maybe this answers your question:"))
        assert buttons(shown) == [
            "✅ " + t(lang, "Yes, thanks"),
            "🙋 " + t(lang, "No, ask a volunteer"),
        ]
        await member.press("✅ " + t(lang, "Yes, thanks"))
        await bot.sandbox.idle()
        assert member.alerts[-1] == t(lang, "Glad it helped! Ask again any time with /vraag.")
        [helped] = await rows(bot)
        assert (helped.state, helped.knowledge_id) == ("helped", "change_bank_account")
        stale = QuestionCb(action="ask", qid=helped.id).pack()  # its buttons are gone; forged
        await member.press_raw(shown.message_id, stale)
        await bot.sandbox.idle()
        assert member.alerts[-1] == t(lang, "That question has already been dealt with.")
        member.drain()  # the answer's buttons, replaced by the choice (an edit)

        # a known answer that did not help: the same question goes to the volunteers
        await member.send_text(f"/vraag {KNOWN[lang]}")
        await member.expect_text(t(lang, "Maybe this answers your question:"))
        await member.press("🙋 " + t(lang, "No, ask a volunteer"))
        who = await member.expect_text(t(lang, IDENTITY_Q))
        assert buttons(who) == [
            "🙂 " + t(lang, "With my first name ({name})", name=name),
            "🕶 " + t(lang, "Anonymously (“a member”)"),
            "📇 " + t(lang, "First name and my Telegram contact"),
        ]
        await member.press("🕶 " + t(lang, "Anonymously (“a member”)"))
        received = await member.expect_text(t(lang, "The answer comes here, in this chat."))
        deflected = (await rows(bot))[-1]
        assert t(lang, "Your question has been received (#{id}).", id=deflected.id) in received.text
        assert (deflected.state, deflected.identity) == ("open", "anonymous")
        assert cards.calls == [("announce", deflected.id)]

        # no known answer: the identity choice, then queued with the text as typed
        await member.send_text(f"/vraag {UNKNOWN[lang]}")
        await member.expect_text(t(lang, IDENTITY_Q))
        assert [q.state for q in await rows(bot)] == ["helped", "open"]  # nothing stored yet
        await member.press("🙂 " + t(lang, "With my first name ({name})", name=name))
        received = await member.expect_text(t(lang, "The answer comes here, in this chat."))
        assert t(lang, "A volunteer usually answers within a day.") in received.text
        queued = (await rows(bot))[-1]
        assert (queued.state, queued.identity, queued.language, queued.region_code) == (
            "open", "name", lang, "oost",
        )  # fmt: skip
        assert [m.text for m in await thread(bot, queued.id)] == [UNKNOWN[lang]]
        assert cards.calls[-1] == ("announce", queued.id)

        # follow-ups while it is open: text and a photo; a sticker is refused
        await member.press("➕ " + t(lang, "Add something"), message=received)
        await member.expect_text(t(lang, THREAD_Q, id=queued.id))
        await member.send_text("Met erwten uit blik?")
        await member.expect_text(t(lang, "Added to your question #{id}.", id=queued.id))
        await member.send_photo(caption="recept")
        await member.expect_text(t(lang, "Added to your question #{id}.", id=queued.id))
        await member.send_sticker()
        await member.expect_text(t(lang, "I can pass on text, photos and files."))
        added = await thread(bot, queued.id)
        assert [(m.author, m.kind, m.text) for m in added] == [
            ("member", "text", UNKNOWN[lang]),
            ("member", "text", "Met erwten uit blik?"),
            ("member", "photo", "recept"),
        ]
        assert cards.calls[-2:] == [
            ("follow_up", queued.id, added[1].id),
            ("follow_up", queued.id, added[2].id),
        ]
        await member.press("✔️ " + t(lang, "Done"))
        await member.expect_text(
            t(lang, "Fine. Question #{id} stays open; the answer comes here.", id=queued.id)
        )
        await member.send_text("/vraag")  # lists the open questions to add to
        listing = await member.expect_text(
            t(lang, "Your open questions: tap one to add something to it.")
        )
        assert [b.split(" · ")[0] for b in buttons(listing)] == [
            f"➕ #{queued.id}",
            f"➕ #{deflected.id}",
        ]

        # another member's buttons are refused, and change nothing
        for action in ("close", "rate_yes", "more", "helped"):
            await other.press_raw(1, QuestionCb(action=action, qid=queued.id).pack())
            await bot.sandbox.idle()
            assert other.alerts[-1] == t("sv", "That question is not yours, or no longer exists.")

        # the answer arrives; rated with one tap, changed with another; then closed
        await volunteer_answers(bot, MEMBER, queued.id, lang)
        answer = await member.expect_text("Answer from Sanna")
        await member.send_text("En met spek?", reply_to=answer)  # a reply goes to its thread
        await member.expect_text(t(lang, "Added to your question #{id}.", id=queued.id))
        replied = (await thread(bot, queued.id))[-1]
        assert replied.text == "En met spek?"
        assert cards.calls[-1] == ("follow_up", queued.id, replied.id)
        await member.press("👍 " + t(lang, "This helped"), message=answer)
        await bot.sandbox.idle()
        assert member.alerts[-1] == "👍 " + t(lang, "Thank you! Glad the answer helped.")
        await member.press("👍 " + t(lang, "This helped"), message=answer)
        await bot.sandbox.idle()
        assert member.alerts[-1] == t(lang, "Already noted, thank you.")
        await member.press("👎 " + t(lang, "Not really"), message=answer)
        await bot.sandbox.idle()
        assert member.alerts[-1].endswith(
            t(lang, "Thank you for telling us. Tap Reply to ask more.")
        )
        assert (await rows(bot))[-1].rating == "unhelpful"
        await member.press(t(lang, "Close my question"), message=answer)
        await member.expect_text(t(lang, "Your question #{id} is closed. Thank you!", id=queued.id))
        closed = (await rows(bot))[-1]
        assert (closed.state, closed.closed_by, closed.rating) == ("closed", "member", "unhelpful")
        assert cards.calls[-1] == ("closed", queued.id)
        await member.press(t(lang, "Close my question"), message=answer)
        await bot.sandbox.idle()
        assert member.alerts[-1] == t(lang, "That question has already been dealt with.")
        await member.press("➕ " + t(lang, "Add something"), message=received)
        await bot.sandbox.idle()
        assert member.alerts[-1] == t(
            lang, "That question is closed. Send /vraag to ask a new one."
        )
        assert sum(1 for call in cards.calls if call[0] == "closed") == 1


@pytest.mark.parametrize("lang", ["nl", "en", "sv"])
async def test_unsafe_words_point_to_the_counsellor_first(
    sqlite_url: str, lang: str, cards: Cards
) -> None:
    async with running_bot(sqlite_url) as bot:
        member = await member_in(bot, MEMBER, NAMES[lang], lang)
        pointer_start = t(lang, "I have not stored your question. What would you like to do?")

        # talk in confidence: the question is dropped, never stored
        await member.send_text(f"/vraag {UNSAFE[lang]}")
        pointer = await member.expect_text(pointer_start)
        assert buttons(pointer) == [
            "🔒 " + t(lang, "Talk to a counsellor in confidence"),
            "❓ " + t(lang, "Ask the volunteers here anyway"),
        ]
        assert await rows(bot) == []
        await member.press("🔒 " + t(lang, "Talk to a counsellor in confidence"))
        await member.expect_text(t(lang, "Confidential conversations are not available in this "
                                 "bot at the moment. Please contact your organisation's "
                                 "confidential counsellor in another way."))  # fmt: skip
        assert await rows(bot) == []
        await member.press_raw(pointer.message_id, QuestionCb(action="ask", qid=0).pack())
        await bot.sandbox.idle()
        assert member.alerts[-1] == t(lang, GONE)

        # asked here anyway: on the usual way (a known answer about reporting, or the queue)
        await member.send_text("/vraag")
        await member.next()
        await member.send_text(UNSAFE[lang])
        await member.expect_text(pointer_start)
        assert await rows(bot) == []
        await member.press("❓ " + t(lang, "Ask the volunteers here anyway"))
        await bot.sandbox.idle()
        after = member.last
        assert after is not None
        member.drain()
        if t(lang, "Maybe this answers your question:") in after.text:
            await member.press("🙋 " + t(lang, "No, ask a volunteer"))
            await member.expect_text(t(lang, IDENTITY_Q))
        else:
            assert t(lang, IDENTITY_Q) in after.text
        await member.press("🙂 " + t(lang, "With my first name ({name})", name=NAMES[lang]))
        await member.expect_text(t(lang, "The answer comes here, in this chat."))
        [queued] = await rows(bot)
        assert queued.state == "open"
        assert [m.text for m in await thread(bot, queued.id)] == [UNSAFE[lang]]
        assert cards.calls == [("announce", queued.id)]


async def test_bad_input_and_a_long_question(sqlite_url: str, cards: Cards) -> None:
    async with running_bot(sqlite_url) as bot:
        member = await member_in(bot, MEMBER, "Noor", "nl")
        stranger = bot.sandbox.user(OTHER, "Piet", language_code="nl")

        # without consent nothing is stored
        await stranger.send_text("/vraag Hoe word ik lid?")
        await stranger.expect_text(t("nl", "Please give your consent first: send /start."))

        # the menu's button; empty text and a sticker are asked again
        await member.send_text("hallo")
        menu = await member.expect_text(t("nl", FALLBACK))
        await member.press("❓ " + t("nl", "Ask a question"), message=menu)
        await member.expect_text(t("nl", ASK_Q))
        await member.send_text("/vraag    ")
        await member.expect_text(t("nl", ASK_Q))
        await member.send_sticker()
        await member.expect_text(t("nl", TYPE_IT))  # fmt: skip
        assert await rows(bot) == []

        # 4,096 characters: stored whole (the volunteers' card cuts it)
        long = ("Qwerty zxcvb plonk frobnicate. " * 140)[:4096]
        await member.send_text(long)
        await member.expect_text(t("nl", IDENTITY_Q))
        await member.press("📇 " + t("nl", "First name and my Telegram contact"))
        await member.expect_text(t("nl", "The answer comes here, in this chat."))
        [queued] = await rows(bot)
        assert queued.identity == "contact"
        [message] = await thread(bot, queued.id)
        assert message.text == long and len(long) == 4096
        assert cards.calls == [("announce", queued.id)]
        # a forged identity button for a question that was never suggested changes nothing
        await member.press_raw(1, QuestionCb(action="as_anonymous", qid=queued.id).pack())
        await bot.sandbox.idle()
        assert member.alerts[-1] == t("nl", "That question has already been dealt with.")
        assert (await rows(bot))[0].identity == "contact"

        # the question is the member's data: in /mijngegevens, gone after /vergeetmij
        await member.send_text("/mijngegevens")
        await bot.sandbox.idle()
        [file] = [m for m in member.bot_messages if m.document is not None]
        assert file.document is not None
        data = json.loads(file.document.data)
        assert [q["id"] for q in data["questions"]] == [queued.id]
        assert [m["text"] for m in data["question_messages"]] == [long]
        await member.send_text("/vergeetmij")
        await bot.sandbox.idle()
        await member.press(t("nl", "Yes, erase everything"))
        await member.expect_text(t("nl", "You are welcome back any time: send /start."))
        assert await rows(bot) == []
        assert await thread(bot, queued.id) == []
