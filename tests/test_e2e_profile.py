"""End to end: a member builds their profile of talents and wishes, changes it, exports it
and erases it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from sandbox.state import SandboxMessage
from storage.models import Consent, Member, MemberSkill
from tests import factories
from tests.botrunner import RunningBot, running_bot, t

pytestmark = pytest.mark.e2e

TALENTS_Q = (
    "What are you good at? Type your talents, separated by commas — for example: "
    "debating, reading budgets, social media. Any language is fine."
)
WISHES_Q = (
    "And what would you like to learn? Type your learning wishes, separated by "
    "commas — for example: writing motions, public speaking."
)
FINDABLE_Q = (
    "May organisers find you when they look for someone with your talents? Only "
    "organisers of your organisation can search, and every search is recorded. "
    "You can pause this at any time."
)
CONTACT_Q = (
    "How may an organiser reach you? Through the bot, you first get their request "
    "and decide yourself."
)
AVAILABLE_Q = "When are you usually available? Tap all that apply, then Done."
ERASE_Q = (
    "Do you want me to erase everything I store about you? Your profile, talents and "
    "wishes, and your consent are deleted at once. This cannot be undone."
)


async def onboarded(bot: RunningBot, user_id: int, name: str, lang: str, town: str):  # type: ignore[no-untyped-def]
    user = bot.sandbox.user(user_id, name, language_code=lang)
    await user.send_text("/start")
    await user.next()
    await user.press("✅ " + t(lang, "Yes, I agree"))
    await user.expect_text(t(lang, "Question {number} of {total}", number=1, total=3))
    await user.press(t(lang, "I am a member"))
    await user.expect_text(t(lang, "Question {number} of {total}", number=2, total=3))
    await user.send_text(town)
    await user.next()  # the town, noted
    question = await user.next()
    if t(lang, "Question {number} of {total}", number=3, total=3) in question.text:
        await user.press(question.inline_keyboard[0][0].text, message=question)
        await user.expect_text(t(lang, "What I know about you:"))
    else:
        assert t(lang, "What I know about you:") in question.text
    user.drain()
    return user


async def rows(bot: RunningBot, user_id: int) -> list[tuple[str, str | None, str | None, str]]:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        member = await session.scalar(select(Member).where(Member.telegram_id == user_id))
        assert member is not None
        found = await session.scalars(
            select(MemberSkill).where(MemberSkill.member_id == member.id).order_by(MemberSkill.id)
        )
        return [(r.kind, r.skill.key if r.skill else None, r.level, r.typed_text) for r in found]


async def test_a_swedish_member_builds_a_profile(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        sv = "sv"
        user = await onboarded(bot, 7201, "Sanna", sv, "Goteborg")
        await user.send_text("/profiel")
        await user.expect_text(t(sv, TALENTS_Q))
        # bad input first: a sticker, a 4,096-character text, a forged level button
        await user.send_sticker()
        await user.expect_text(t(sv, "Please type your answer, or tap Skip."))
        await user.send_text("å" * 4096)
        await user.expect_text(
            t(
                sv,
                "That is rather long. Please use a few words per talent or wish, separated by "
                "commas.",
            )
        )
        await user.press_raw(user.last.message_id, "lvl:999:teach")
        await bot.sandbox.idle()
        assert user.alerts[-1] == t(sv, "That button is no longer valid.")
        assert await rows(bot, 7201) == []
        await user.send_text("debatt, tala inför publik, korvgrillning")
        noted = await user.expect_text(
            t(sv, "Noted: {names}", names="Debattera, Tala inför publik")
        )
        assert "korvgrillning" in noted.text
        level = await user.expect_text(
            t(sv, "How much experience do you have with <b>{skill}</b>?", skill="Debattera")
        )
        await user.press(t(sv, "I can teach it"), message=level)
        level = await user.expect_text(
            t(sv, "How much experience do you have with <b>{skill}</b>?", skill="Tala inför publik")
        )
        await user.press(t(sv, "Experienced"), message=level)
        level = await user.expect_text("korvgrillning")
        await user.press(t(sv, "Some experience"), message=level)

        await user.expect_text(t(sv, WISHES_Q))
        await user.send_text("läsa budget")
        await user.expect_text(t(sv, "Noted: {names}", names="Läsa budgetar"))

        slots = await user.expect_text(
            t(sv, "When are you usually available? Tap all that apply, then Done.")
        )
        await user.press(t(sv, "Weekday evenings"), message=slots)
        edited = await user.next()
        assert "✅ " + t(sv, "Weekday evenings") in edited.button_texts
        await user.press(t(sv, "Online"), message=edited)
        edited = await user.next()
        await user.press("✔️ " + t(sv, "Done"), message=edited)

        ask = await user.expect_text(t(sv, FINDABLE_Q))
        await user.press(t(sv, "Yes, organisers may find me"), message=ask)
        ask = await user.expect_text(t(sv, CONTACT_Q))
        assert ask.button_texts == [t(sv, "Only through the bot")]  # Sanna has no username
        await user.press(t(sv, "Only through the bot"), message=ask)

        card = await user.expect_text(t(sv, "Your talents and learning wishes"))
        assert "Debattera — " + t(sv, "I can teach it") in card.text
        assert "Läsa budgetar" in card.text
        assert t(sv, "Findable by organisers: {answer}", answer=t(sv, "yes")) in card.text
        await user.expect_silence()

        assert await rows(bot, 7201) == [
            ("talent", "debating", "teach", "debatt"),
            ("talent", "public_speaking", "experienced", "tala inför publik"),
            ("talent", None, "some", "korvgrillning"),
            ("wish", "reading_budgets", None, "läsa budget"),
        ]
        assert bot.app is not None
        async with bot.app.sessions() as session:
            member = await session.scalar(select(Member).where(Member.telegram_id == 7201))
            assert member is not None
            assert (member.findable, member.contact_direct, member.username) == (True, False, None)
            assert (member.available_evenings, member.available_online) == (True, True)
            assert member.available_weekends is False and member.profile_step is None


async def test_unsure_matches_are_offered_and_a_skill_can_be_removed(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        nl = "nl"
        user = await onboarded(bot, 7202, "Mees", nl, "Zwolle")
        await user.press("🧩 " + t(nl, "My talents and wishes"))
        await user.expect_text(t(nl, TALENTS_Q))
        await user.send_text("debateren, speechen en begroting lezen, vergader")
        await user.expect_text(
            t(nl, "Noted: {names}", names="Debatteren, Spreken in het openbaar, Begrotingen lezen")
        )
        unsure = await user.expect_text(
            t(nl, "Which one did you mean by “{typed}”?", typed="vergader")
        )
        offered = unsure.button_texts
        assert offered[-1] == t(nl, "Keep “{typed}” as I typed it", typed="vergader")
        await user.press(offered[0], message=unsure)
        for skill in ("Debatteren", "Spreken in het openbaar", "Begrotingen lezen", offered[0]):
            level = await user.expect_text(
                t(nl, "How much experience do you have with <b>{skill}</b>?", skill=skill)
            )
            await user.press(t(nl, "Experienced"), message=level)
        await user.expect_text(t(nl, WISHES_Q))
        await user.press(t(nl, "Skip"))
        slots = await user.expect_text(t(nl, AVAILABLE_Q))
        await user.press("✔️ " + t(nl, "Done"), message=slots)
        ask = await user.expect_text(t(nl, FINDABLE_Q))
        await user.press(t(nl, "No, not now"), message=ask)
        ask = await user.expect_text(t(nl, CONTACT_Q))
        await user.press(t(nl, "Only through the bot"), message=ask)
        card = await user.expect_text(t(nl, "Your talents and learning wishes"))

        await user.press("🗑 " + t(nl, "Remove something"), message=card)
        pick = await user.expect_text(t(nl, "Which one should I remove?"))
        await user.press("🗑 Debatteren (" + t(nl, "talent") + ")", message=pick)
        card = await user.expect_text(t(nl, "Your talents and learning wishes"))
        assert [r[1] for r in await rows(bot, 7202)] == [
            "public_speaking",
            "reading_budgets",
            "chairing",
        ]

        # a level changed afterwards
        await user.press("🎚 " + t(nl, "Change a level"), message=card)
        listing = await user.expect_text(t(nl, "Which talent's level would you like to change?"))
        await user.press("Spreken in het openbaar — " + t(nl, "Experienced"), message=listing)
        level = await user.expect_text(
            t(nl, "How much experience do you have with <b>{skill}</b>?", skill="Spreken")[:20]
        )
        await user.press(t(nl, "I can teach it"), message=level)
        card = await user.expect_text(t(nl, "Your talents and learning wishes"))
        assert "Spreken in het openbaar — " + t(nl, "I can teach it") in card.text
        assert ("talent", "public_speaking", "teach", "speechen") in await rows(bot, 7202)

        # someone else's row id, forged, and the same button pressed again
        await user.press_raw(pick.message_id, "rm:999999")
        await bot.sandbox.idle()
        assert user.alerts[-1] == t(nl, "That button is no longer valid.")
        assert len(await rows(bot, 7202)) == 3


async def test_my_data_and_forget_me(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        en = "en"
        user = await onboarded(bot, 7203, "Ruth", en, "Leiden")
        other = await onboarded(bot, 7204, "Otto", "nl", "Delft")
        await user.send_text("/mijngegevens")
        file = await user.next()
        assert file.document is not None
        data = json.loads(file.document.data)
        assert data["members"][0]["telegram_id"] == 7203
        assert data["members"][0]["first_name"] == "Ruth"
        assert data["members"][0]["town"] == "Leiden"
        summary = await user.next()
        assert t(en, "Town: {value}", value="Leiden") in summary.text

        await user.send_text("/vergeetmij")
        confirm = await user.expect_text(t(en, ERASE_Q))
        await user.press(t(en, "Yes, erase everything"), message=confirm)
        await user.expect_text(t(en, "You are welcome back any time: send /start."))
        assert bot.app is not None
        async with bot.app.sessions() as session:
            ids = set(await session.scalars(select(Member.telegram_id)))
            assert ids == {7204}
            assert await session.scalar(select(func.count()).select_from(Consent)) == 1
        await user.send_text("/mijngegevens")
        await user.expect_text(t(en, "I store nothing about you."))
        await other.expect_silence()


async def test_a_username_is_offered_and_stored_only_when_chosen(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        nl = "nl"
        user = bot.sandbox.user(7205, "Vera", language_code=nl, username="vera_v")
        await user.send_text("/start")
        await user.next()
        await user.press("✅ " + t(nl, "Yes, I agree"))
        await user.expect_text(t(nl, "Question {number} of {total}", number=1, total=3))
        await user.press(t(nl, "Skip"))
        await user.expect_text(t(nl, "Question {number} of {total}", number=2, total=3))
        await user.send_text("Goteborg")
        await user.expect_text(t(nl, "What I know about you:"))
        await user.send_text("/profiel")
        await user.expect_text(t(nl, TALENTS_Q))
        await user.press(t(nl, "Skip"))
        await user.expect_text(t(nl, WISHES_Q))
        await user.press(t(nl, "Skip"))
        slots = await user.expect_text(t(nl, AVAILABLE_Q))
        await user.press("✔️ " + t(nl, "Done"), message=slots)
        ask = await user.expect_text(t(nl, FINDABLE_Q))
        await user.press(t(nl, "Yes, organisers may find me"), message=ask)
        ask = await user.expect_text(t(nl, CONTACT_Q))
        show = t(nl, "Show my Telegram name @{username}", username="vera_v")
        assert ask.button_texts == [show, t(nl, "Only through the bot")]
        assert bot.app is not None
        async with bot.app.sessions() as session:
            member = await session.scalar(select(Member).where(Member.telegram_id == 7205))
            assert member is not None and member.username is None  # not before choosing
        await user.press(show, message=ask)
        await user.expect_text(t(nl, "Your talents and learning wishes"))
        async with bot.app.sessions() as session:
            member = await session.scalar(select(Member).where(Member.telegram_id == 7205))
            assert member is not None
            assert (member.contact_direct, member.username) == (True, "vera_v")


def fits_telegram(message: SandboxMessage) -> None:
    assert len(message.text) <= 4096 and len(message.buttons) <= 100, message.message_id


async def test_a_full_profile_fits_telegram(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        sv = "sv"
        assert bot.app is not None
        async with bot.app.sessions() as session:
            member = await factories.onboarded(session, 7206, "Alva", "Goteborg", locale=sv)
            talents, wishes = await factories.full_profile(session, member)
        user = bot.sandbox.user(7206, "Alva", language_code=sv)
        await user.send_text("/profiel")
        await bot.sandbox.idle()
        card = [m for m in user.bot_messages]
        assert len(card) > 1  # split: 120 long lines do not fit one message
        for message in card:
            fits_telegram(message)
        shown = "\n".join(m.text for m in card)
        assert all(typed in shown for typed in talents + wishes)  # escaped, so shown as typed
        assert card[-1].button_texts[0] == "➕ " + t(sv, "Talents")  # buttons under the last

        await user.press("🗑 " + t(sv, "Remove something"), message=card[-1])
        first = await user.expect_text(t(sv, "Which one should I remove?"))
        fits_telegram(first)
        await user.press("▶️", message=first)
        second = await user.next()
        assert second.message_id == first.message_id  # the same message, edited
        fits_telegram(second)
        target = next(b.text for b in second.buttons if talents[25] in b.text)
        await user.press(target, message=second)
        await user.expect_text(t(sv, "Your talents and learning wishes"))
        await bot.sandbox.idle()
        left = [typed for kind, _key, _level, typed in await rows(bot, 7206)]
        assert talents[25] not in left and len(left) == 119
        for message in user.bot_messages:
            fits_telegram(message)

        await user.press("🎚 " + t(sv, "Change a level"), message=user.bot_messages[-1])
        levels = await user.expect_text(t(sv, "Which talent's level would you like to change?"))
        fits_telegram(levels)
        await user.press("▶️", message=levels)
        fits_telegram(await user.next())
        for forged in ("profpg:other:1", "prof:bogus"):
            await user.press_raw(levels.message_id, forged)
            await bot.sandbox.idle()
            assert user.alerts[-1] == t(sv, "That button is no longer valid.")
        stranger = bot.sandbox.user(7207, "Nils", language_code=sv)
        await stranger.press_raw(levels.message_id, "profpg:remove:1")
        await bot.sandbox.idle()
        assert stranger.alerts[-1] == t(sv, "Please give your consent first: send /start.")
