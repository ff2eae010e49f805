"""End to end: the real bot polls the sandbox over HTTP; simulated people talk to it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import clock
from bot.services.onboarding import Step
from bot.services.profile import Level
from sandbox.limits import Limits
from storage.engine import create_engine, create_session_factory
from storage.models import Consent, Member
from tests import factories
from tests.botrunner import RunningBot, running_bot, t

pytestmark = pytest.mark.e2e


async def member_row(bot: RunningBot, telegram_id: int) -> Member | None:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        return await session.scalar(select(Member).where(Member.telegram_id == telegram_id))


async def count(bot: RunningBot, model: type) -> int:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


JOURNEYS = [
    # language, name, typed town, expected town, region button (None: no region asked)
    ("nl", "Anna", "Groningn", "Groningen", "noord"),
    ("en", "Emma", "Den Bosch", "'s-Hertogenbosch", "zuid"),
    ("sv", "Sanna", "Goteborg", "Göteborg", None),
]


@pytest.mark.parametrize(("lang", "name", "typed", "town", "region"), JOURNEYS)
async def test_full_onboarding_in_each_language(
    database_url: str, lang: str, name: str, typed: str, town: str, region: str | None
) -> None:
    async with running_bot(database_url) as bot:
        user = bot.sandbox.user(7001, name, language_code=lang)
        await user.send_text("/start")
        welcome = await user.next()
        assert t(lang, "Hello {name}! 👋", name=name) in welcome.text
        assert t(lang, "<b>Do you agree that I store this?</b>") in welcome.text
        assert await member_row(bot, 7001) is None  # nothing stored before consent

        await user.press("✅ " + t(lang, "Yes, I agree"))
        q1 = await user.expect_text(t(lang, "Question {number} of {total}", number=1, total=3))
        assert (
            t(lang, "Thank you! A few short questions follow; you can skip any of them.") in q1.text
        )
        assert [b.text for row in q1.inline_keyboard for b in row] == [
            t(lang, "I am a member"),
            t(lang, "I am a sympathiser"),
            t(lang, "Skip"),
        ]
        await user.press(t(lang, "I am a member"))
        q2 = await user.expect_text(t(lang, "Question {number} of {total}", number=2, total=3))
        assert q2.reply_keyboard is not None

        await user.send_text(typed)
        noted = await user.expect_text(town)
        assert t(lang, "{town} — noted.", town="").strip() in noted.text
        if region is not None:
            q3 = await user.expect_text(t(lang, "Question {number} of {total}", number=3, total=3))
            assert q3.inline_keyboard[0][0].text.startswith("⭐")  # the suggestion comes first
            await user.press(q3.inline_keyboard[0][0].text)
        summary = await user.expect_text(t(lang, "Thank you, that is all for now! 🎉"))
        assert t(lang, "Town: {value}", value=town) in summary.text
        await user.expect_silence()  # every question was asked exactly once
        assert "✏️ " + t(lang, "Change my details") in summary.button_texts

        member = await member_row(bot, 7001)
        assert member is not None
        assert (member.locale, member.kind, member.town) == (lang, "member", town)
        assert member.region_code == region
        assert member.onboarding_step == Step.DONE
        assert await count(bot, Consent) == 1


async def test_refusing_consent_stores_nothing_and_help_still_works(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        user = bot.sandbox.user(7002, "Piet", language_code="nl")
        await user.send_text("/start")
        await user.next()
        await user.press(t("nl", "No, thank you"))
        await user.expect_text(
            t(
                "nl",
                "All right: nothing about you has been stored. You can still use /help to read "
                "what I do. If you change your mind, send /start.",
            )
        )
        await user.send_text("/help")
        help_text = await user.next()
        assert "/taal" in help_text.text and "/rol" not in help_text.text
        await user.send_text("hallo?")
        await user.expect_text(
            t("nl", "I do not know you yet. Send /start to begin, or /help to read what I do.")
        )
        await bot.sandbox.idle()
        assert await count(bot, Member) == 0
        assert await count(bot, Consent) == 0


async def test_interrupted_onboarding_resumes_after_a_restart(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        user = bot.sandbox.user(7003, "Fatima", language_code="nl")
        await user.send_text("/start")
        await user.next()
        await user.press("✅ " + t("nl", "Yes, I agree"))
        await user.expect_text(t("nl", "Question {number} of {total}", number=1, total=3))
        await user.press(t("nl", "I am a sympathiser"))
        await user.expect_text(t("nl", "Question {number} of {total}", number=2, total=3))

        await bot.restart()  # the bot process goes away mid-conversation
        user.drain()

        await user.send_text("/start")
        await user.expect_text(t("nl", "Welcome back! Let us pick up where we left off."))
        await user.expect_text(t("nl", "Question {number} of {total}", number=2, total=3))
        await user.send_text("Utreht")
        await user.expect_text("Utrecht")
        member = await member_row(bot, 7003)
        assert member is not None and (member.kind, member.town) == ("sympathiser", "Utrecht")


async def onboard_until_place(bot: RunningBot, user_id: int, lang: str = "nl"):  # type: ignore[no-untyped-def]
    user = bot.sandbox.user(user_id, "Kim", language_code=lang)
    await user.send_text("/start")
    await user.next()
    await user.press("✅ " + t(lang, "Yes, I agree"))
    await user.expect_text(t(lang, "Question {number} of {total}", number=1, total=3))
    await user.press(t(lang, "Skip"))
    await user.expect_text(t(lang, "Question {number} of {total}", number=2, total=3))
    return user


async def test_sharing_a_location_keeps_only_the_nearest_town(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        user = await onboard_until_place(bot, 7004)
        await user.send_location(10.0, -30.0)  # the middle of the Atlantic
        await user.expect_text(
            t(
                "nl",
                "That location is outside the area I know (the Netherlands, Belgium and "
                "Sweden). Please type your town instead.",
            )
        )
        assert (await member_row(bot, 7004)).onboarding_step == Step.PLACE  # type: ignore[union-attr]
        await user.send_location(53.2194, 6.5665)
        await user.expect_text("Groningen")
        member = await member_row(bot, 7004)
        assert member is not None and member.town == "Groningen"
        assert (member.latitude, member.longitude) != (53.2194, 6.5665)


async def test_ambiguous_town_offers_choices(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        user = await onboard_until_place(bot, 7005)
        await user.send_text("Hengelo")
        choices = await user.expect_text(t("nl", "Did you mean one of these?"))
        labels = choices.button_texts
        assert "Hengelo (Overijssel, NL)" in labels and "Hengelo (Gelderland, NL)" in labels
        await user.press("Hengelo (Gelderland, NL)")
        await user.expect_text(t("nl", "Question {number} of {total}", number=3, total=3))
        member = await member_row(bot, 7005)
        assert member is not None and member.town == "Hengelo"
        assert member.onboarding_step == Step.REGION


async def test_bad_input_at_every_step_changes_nothing(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        user = bot.sandbox.user(7006, "Ruud", language_code="nl")
        await user.send_text("/start")
        await user.next()
        await user.press("✅ " + t("nl", "Yes, I agree"))
        await user.expect_text(t("nl", "Question {number} of {total}", number=1, total=3))
        # kind: a sticker and a 4,096-character text
        for send in (user.send_sticker(), user.send_text("x" * 4096)):
            await send
            await user.expect_text(t("nl", "Please answer with one of the buttons, or tap Skip."))
        assert (await member_row(bot, 7006)).onboarding_step == Step.KIND  # type: ignore[union-attr]
        await user.press(t("nl", "Skip"))
        await user.expect_text(t("nl", "Question {number} of {total}", number=2, total=3))
        # place: a sticker, a 4,096-character text, nonsense
        await user.send_sticker()
        await user.expect_text(
            t(
                "nl",
                "Please type the name of your town, or use the button below to share your "
                "location.",
            )
        )
        await user.send_text("y" * 4096)
        await user.expect_text(
            t(
                "nl",
                "That does not look like the name of a town. "
                "Please type just the name of your town.",
            )
        )
        await user.send_text("xqzzv")
        await user.expect_text(
            t(
                "nl",
                "I could not find a town called “{text}”. Check the spelling, try a larger town "
                "nearby, or share your location.",
                text="xqzzv",
            )
        )
        member = await member_row(bot, 7006)
        assert member is not None and (member.town, member.onboarding_step) == (None, Step.PLACE)
        # region: free text instead of a button
        await user.send_text(t("nl", "Skip"))
        await user.expect_text(t("nl", "Question {number} of {total}", number=3, total=3))
        await user.send_text("oost")
        await user.expect_text(t("nl", "Please answer with one of the buttons, or tap Skip."))
        member = await member_row(bot, 7006)
        assert member is not None and (member.region_code, member.onboarding_step) == (
            None,
            Step.REGION,
        )


async def test_stale_and_forged_buttons_are_refused(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        stranger = bot.sandbox.user(7100, "Zoë", language_code="en")
        await stranger.send_text("/start")
        await stranger.next()
        await stranger.press_raw(stranger.last.message_id, "kind:member")
        await bot.sandbox.idle()
        assert stranger.alerts[-1] == t("en", "Please give your consent first: send /start.")

        user = bot.sandbox.user(7007, "Lars", language_code="sv")
        await user.send_text("/start")
        await user.next()
        await user.press("✅ " + t("sv", "Yes, I agree"))
        question = await user.expect_text(
            t("sv", "Question {number} of {total}", number=1, total=3)
        )
        await user.press(t("sv", "I am a member"))
        await user.expect_text(t("sv", "Question {number} of {total}", number=2, total=3))
        # the old question's button, replayed
        await user.press_raw(question.message_id, "kind:sympathiser")
        await bot.sandbox.idle()
        assert user.alerts[-1] == t("sv", "This question has already been answered.")
        await user.send_text("Utrecht")
        q3 = await user.expect_text(t("sv", "Question {number} of {total}", number=3, total=3))
        for data, alert in [
            ("region:atlantis", "That region no longer exists."),
            ("place:123", "This question has already been answered."),
            ("consent:1", "You have already given your consent."),
            ("nonsense", "That button is no longer valid."),
        ]:
            await user.press_raw(q3.message_id, data)
            await bot.sandbox.idle()
            assert user.alerts[-1] == t("sv", alert), data
        member = await member_row(bot, 7007)
        assert member is not None
        assert (member.kind, member.region_code, member.onboarding_step) == (
            "member",
            None,
            Step.REGION,
        )
        assert await count(bot, Member) == 1


async def test_forged_place_id_is_refused(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        user = await onboard_until_place(bot, 7008)
        await user.press_raw(user.last.message_id, "place:999999999")
        await bot.sandbox.idle()
        assert user.alerts[-1] == t("nl", "That button is no longer valid.")
        member = await member_row(bot, 7008)
        assert member is not None and member.place_id is None


async def test_language_chosen_before_consent_is_used_and_then_stored(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        user = bot.sandbox.user(7009, "Jan", language_code="de")  # a language we do not speak
        await user.send_text("/taal")
        picker = await user.expect_text(t("nl", "Choose your language:"))
        assert picker.button_texts == ["Nederlands", "English", "Svenska"]
        await user.press("English")
        await user.expect_text("I will speak English with you from now on.")
        await user.expect_text(t("en", "Hello {name}! 👋", name="Jan"))
        assert await count(bot, Member) == 0
        await user.press("✅ " + t("en", "Yes, I agree"))
        await user.expect_text(t("en", "Question {number} of {total}", number=1, total=3))
        member = await member_row(bot, 7009)
        assert member is not None and member.locale == "en"


async def test_language_chosen_before_consent_is_forgotten_after_a_day(sqlite_url: str) -> None:
    """Before consent the choice is kept nowhere but in memory, and not for ever."""
    async with running_bot(sqlite_url) as bot:
        assert bot.app is not None
        chosen_at = clock.now()
        user = bot.sandbox.user(7014, "Jan", language_code="de")  # a language we do not speak
        await user.send_text("/taal")
        await user.next()
        await user.press("English")
        await user.expect_text(t("en", "Hello {name}! 👋", name="Jan"))
        with clock.travel_to(chosen_at + timedelta(hours=23)):
            await user.send_text("/start")
            await user.expect_text(t("en", "Hello {name}! 👋", name="Jan"))
        with clock.travel_to(chosen_at + timedelta(days=2)):
            await user.send_text("/start")
            await user.expect_text(t("nl", "Hello {name}! 👋", name="Jan"))  # the default again
            assert not bot.app.dp.storage.records  # type: ignore[attr-defined]
        assert await count(bot, Member) == 0


async def test_data_survives_on_disk(sqlite_url: str) -> None:
    """The member row is committed, not just flushed: another engine sees it."""
    async with running_bot(sqlite_url) as bot:
        user = bot.sandbox.user(7010, "Ali", language_code="nl")
        await user.send_text("/start")
        await user.next()
        await user.press("✅ " + t("nl", "Yes, I agree"))
        await user.expect_text(t("nl", "Question {number} of {total}", number=1, total=3))
    engine = create_engine(sqlite_url)
    async with create_session_factory(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 1
    await engine.dispose()


async def test_blocking_the_bot_marks_the_member_unreachable_until_unblocked(
    sqlite_url: str,
) -> None:
    async with running_bot(sqlite_url) as bot:
        user = await onboard_until_place(bot, 7011)
        user.block()
        await bot.sandbox.idle()
        member = await member_row(bot, 7011)
        assert member is not None and member.unreachable_since is not None
        user.unblock()
        await bot.sandbox.idle()
        member = await member_row(bot, 7011)
        assert member is not None and member.unreachable_since is None


async def test_returning_member_is_welcomed_by_name_even_an_awkward_one(sqlite_url: str) -> None:
    """Under Telegram's real per-chat limits: the bot waits out every 429, nothing is lost."""
    async with running_bot(sqlite_url, limits=Limits()) as bot:
        user = bot.sandbox.user(7012, "<Bob & Co>", language_code="en")
        await user.send_text("/start")
        welcome = await user.next()
        assert t("en", "Hello {name}! 👋", name="<Bob & Co>") in welcome.text
        await user.press("✅ " + t("en", "Yes, I agree"))
        for round_ in range(2):
            await user.expect_text(t("en", "Question {number} of {total}", number=1, total=3))
            await user.press(t("en", "Skip"))
            await user.expect_text(t("en", "Question {number} of {total}", number=2, total=3))
            await user.send_text(t("en", "Skip"))
            await user.expect_text(t("en", "Question {number} of {total}", number=3, total=3))
            await user.press(t("en", "Skip"))
            done = await user.expect_text(t("en", "Thank you, that is all for now! 🎉"))
            assert t("en", "Town: {value}", value=t("en", "not given")) in done.text
            if round_ == 0:
                await user.press("✏️ " + t("en", "Change my details"))  # the questions again
        user.drain()
        await user.send_text("/start")
        back = await user.expect_text(t("en", "Welcome back, {name}! 👋", name="<Bob & Co>"))
        assert t("en", "Thank you, that is all for now! 🎉") not in back.text
        assert t("en", "What I know about you:") in back.text


async def test_double_taps_and_quick_answers_count_once(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        user = bot.sandbox.user(7013, "Daan", language_code="nl")
        await user.send_text("/start")
        welcome = await user.next()
        yes = "✅ " + t("nl", "Yes, I agree")
        await user.press(yes, message=welcome)
        await user.press(yes, message=welcome)
        question = await user.expect_text(
            t("nl", "Question {number} of {total}", number=1, total=3)
        )
        await user.expect_silence()
        await user.press(t("nl", "I am a member"), message=question)
        await user.press(t("nl", "I am a sympathiser"), message=question)
        await user.expect_text(t("nl", "Question {number} of {total}", number=2, total=3))
        await user.send_text("Zwolle")
        await user.send_text("Utrecht")
        await user.expect_text(t("nl", "Question {number} of {total}", number=3, total=3))
        await bot.sandbox.idle()
        # The second town lands on question 2 (ignored) or, when the first was stored before
        # it was read, on question 3, which asks for its buttons: never a step of its own.
        hint = t("nl", "Please answer with one of the buttons, or tap Skip.")
        assert all(m.text == hint for m in user.unseen), [m.text for m in user.unseen]
        member = await member_row(bot, 7013)
        assert member is not None and member.onboarding_step == Step.REGION
        assert member.kind in ("member", "sympathiser") and member.town in ("Zwolle", "Utrecht")
        assert await count(bot, Member) == 1 and await count(bot, Consent) == 1


async def test_a_changed_telegram_username_is_followed_on_the_next_update(
    sqlite_url: str,
) -> None:
    """An abandoned @name can be claimed by someone else: organisers must see the current one."""
    organiser_id = 7030
    async with running_bot(sqlite_url, admin_ids=str(organiser_id)) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            await factories.onboarded(
                session, 7031, "Noor", "Zwolle", region="oost", talents="debatteren",
                level=Level.TEACH, findable=True, username="noor_old",
            )  # fmt: skip
            await factories.onboarded(session, 7032, "Ruben", "Zwolle", region="oost")
        organiser = bot.sandbox.user(organiser_id, "Eva", language_code="en")
        noor = bot.sandbox.user(7031, "Noor", language_code="nl", username="noor_new")
        await noor.send_text("/help")
        await noor.next()
        assert (await member_row(bot, 7031)).username == "noor_new"  # type: ignore[union-attr]
        await organiser.send_text("/zoek debatteren")
        page = await organiser.expect_text("🔎")
        assert "@noor_new" in page.text and "noor_old" not in page.text

        noor.person.username = None  # she gave up her username in Telegram
        await noor.send_text("/help")
        await noor.next()
        assert (await member_row(bot, 7031)).username is None  # type: ignore[union-attr]
        await organiser.send_text("/zoek debatteren")
        page = await organiser.expect_text("🔎")
        assert "@noor" not in page.text
        assert t("en", "contact through the bot") in page.text

        # someone who never allowed direct contact: the name is not collected at all
        ruben = bot.sandbox.user(7032, "Ruben", language_code="nl", username="ruben_r")
        await ruben.send_text("/help")
        await ruben.next()
        assert (await member_row(bot, 7032)).username is None  # type: ignore[union-attr]
