"""End to end: organisers search the talent base, page through it, and ask for contact."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot import clock
from bot.services.profile import Level
from bot.services.roles import RoleName
from storage.models import AuditEntry, ContactRequest
from storage.repositories import skills as skill_repo
from tests import factories
from tests.botrunner import RunningBot, running_bot, t
from tests.chat_faults import block_unnoticed

pytestmark = pytest.mark.e2e

ADMIN, OOST_ORGANISER = 8101, 8102


async def add_member(
    bot: RunningBot,
    telegram_id: int,
    name: str,
    town: str,
    region: str | None,
    talent: str,
    level: Level,
    *,
    findable: bool = True,
    locale: str = "nl",
) -> None:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        await factories.onboarded(
            session, telegram_id, name, town, locale=locale, region=region, talents=talent,
            level=level, findable=findable,
        )  # fmt: skip


async def give_role(bot: RunningBot, telegram_id: int, role: RoleName, region: str | None) -> None:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        await factories.give_role(session, telegram_id, role, region)


async def seed(bot: RunningBot) -> None:
    await add_member(bot, 9301, "Fenna", "Groningen", "noord", "debatteren", Level.TEACH)
    await add_member(bot, 9302, "Joost", "Zwolle", "oost", "debat", Level.EXPERIENCED, locale="sv")
    await add_member(bot, 9303, "Priya", "Den Haag", "west", "debating", Level.SOME, findable=False)
    await give_role(bot, OOST_ORGANISER, RoleName.ORGANISER, "oost")


async def test_search_ranks_scopes_and_audits(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        await seed(bot)
        admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        await admin.send_text("/zoek debatteren near Zwolle")
        page = await admin.expect_text("🔎")
        lines = page.text.splitlines()
        shown = "{total} found, showing {first}–{last}"
        assert lines[1] == t("en", shown, total=2, first=1, last=2)
        assert lines[3].startswith("1. Fenna — " + t("en", "I can teach it"))
        assert lines[4].startswith("2. Joost — " + t("en", "Experienced"))
        assert "Priya" not in page.text  # she did not want to be found
        assert t("en", "{km} km", km=0) in lines[4]  # Joost lives in Zwolle

        regional = bot.sandbox.user(OOST_ORGANISER, "Bram", language_code="nl")
        await regional.send_text("/zoek debatteren")
        page = await regional.expect_text("🔎")
        assert "Joost" in page.text and "Fenna" not in page.text
        await regional.send_text("/zoek debatteren noord")
        await regional.expect_text(t("nl", "You can only search in your own region."))

        member = bot.sandbox.user(9301, "Fenna", language_code="nl")
        await member.send_text("/zoek debatteren")
        await member.expect_text(t("nl", "This command is for organisers only."))
        await give_role(bot, 9310, RoleName.VOLUNTEER, None)
        volunteer = bot.sandbox.user(9310, "Sanna", language_code="sv")
        await volunteer.send_text("/zoek debatt")
        await volunteer.expect_text(t("sv", "This command is for organisers only."))

        assert bot.app is not None
        async with bot.app.sessions() as session:
            audit = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
        assert [(a.actor_id, a.action, a.query, a.results) for a in audit] == [
            (ADMIN, "search", "debatteren near Zwolle", 2),
            (OOST_ORGANISER, "search", "debatteren", 1),
        ]


async def test_asking_for_contact_through_the_bot(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        await seed(bot)
        organiser = bot.sandbox.user(OOST_ORGANISER, "Bram", language_code="nl")
        joost = bot.sandbox.user(9302, "Joost", language_code="sv")
        await organiser.send_text("/zoek debat")
        page = await organiser.expect_text("🔎")
        await organiser.press("✉️ " + t("nl", "Ask {name} via the bot", name="Joost"), message=page)
        asked = await joost.expect_text("Bram")
        assert "Debattera" in asked.text  # in Joost's language
        await bot.sandbox.idle()
        assert organiser.alerts[-1] == t(
            "nl", "I asked {name}. You will hear from me when they answer.", name="Joost"
        )

        await organiser.press("✉️ " + t("nl", "Ask {name} via the bot", name="Joost"), message=page)
        await bot.sandbox.idle()
        assert organiser.alerts[-1] == t("nl", "You already asked; they have not answered yet.")

        await joost.press(t("sv", "Yes, share my contact"), message=asked)
        answer = await organiser.expect_text("Joost")
        assert "tg://user?id=9302" in answer.html
        await joost.press_raw(asked.message_id, "askr:1:0")  # change of mind, too late
        await bot.sandbox.idle()
        assert joost.alerts[-1] == t("sv", "This question has already been answered.")

        # a forged button for someone who is not findable
        assert bot.app is not None
        async with bot.app.sessions() as session:
            skill = (await skill_repo.all_skills(session))[0]
        await organiser.press_raw(page.message_id, f"ask:3:{skill.id}")
        await bot.sandbox.idle()
        assert organiser.alerts[-1] == t("nl", "This person cannot be asked (any more).")
        async with bot.app.sessions() as session:
            requests = (await session.scalars(select(ContactRequest))).all()
        assert [(r.member_id, r.status) for r in requests] == [(2, "accepted")]


async def test_results_are_paged(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        for i in range(7):
            await add_member(bot, 9400 + i, f"Lid{i}", "Utrecht", "west", "fotografie", Level.SOME)
        admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        await admin.send_text("/zoek fotografie")
        page = await admin.expect_text("🔎")
        shown = "{total} found, showing {first}–{last}"
        assert t("en", shown, total=7, first=1, last=5) in page.text
        await admin.press("▶️", message=page)
        page2 = await admin.next()
        assert page2.message_id == page.message_id  # the same message, edited
        assert t("en", shown, total=7, first=6, last=7) in page2.text
        await admin.press("◀️", message=page2)
        back = await admin.next()
        assert "Lid0" in back.text


async def test_organisers_curate_the_skills_list(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        await add_member(bot, 9501, "Kees", "Delft", "west", "moestuinieren", Level.SOME)
        await add_member(bot, 9502, "Anouk", "Delft", "west", "Moestuinieren", Level.SOME)
        await add_member(bot, 9503, "Tim", "Delft", "west", "tuinieren", Level.SOME)
        await give_role(bot, OOST_ORGANISER, RoleName.ORGANISER, "oost")
        organiser = bot.sandbox.user(OOST_ORGANISER, "Bram", language_code="nl")
        await organiser.send_text("/vaardigheden")
        listing = await organiser.expect_text(
            t("nl", "<b>Words members typed that are not in the list</b>")
        )
        assert "1. moestuinieren (2 leden)" in listing.text  # typed by two, in any case
        await organiser.press(
            "➕ " + t("nl", "Add “{word}”", word="moestuinieren"), message=listing
        )
        await bot.sandbox.idle()
        assert organiser.alerts[-1] == t("nl", "Added to the list: {skill}.", skill="moestuinieren")

        await organiser.send_text("/vaardigheden merge tuinieren > moestuinieren")
        await organiser.expect_text("tuinieren")
        await organiser.send_text("/vaardigheden rename moestuinieren > en Vegetable gardening")
        await organiser.expect_text(
            t("nl", "Renamed ({locale}): {skill}.", locale="en", skill="Vegetable gardening")
        )
        await organiser.send_text("/vaardigheden merge x > qqqqqq")
        await organiser.expect_text(t("nl", "I could not find that skill in the list."))

        member = bot.sandbox.user(9501, "Kees", language_code="nl")
        await member.send_text("/vaardigheden")
        await member.expect_text(t("nl", "This command is for organisers only."))

        # the members' rows now point at the new skill; searching finds all three
        admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        await admin.send_text("/zoek vegetable gardening")
        page = await admin.expect_text("🔎")
        assert all(name in page.text for name in ("Kees", "Anouk", "Tim"))


def ask_label(lang: str, name: str) -> str:
    return "✉️ " + t(lang, "Ask {name} via the bot", name=name)


async def test_a_no_holds_for_90_days_and_refusals_are_explained(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        await seed(bot)
        organiser = bot.sandbox.user(OOST_ORGANISER, "Bram", language_code="nl")
        joost = bot.sandbox.user(9302, "Joost", language_code="sv")
        with clock.travel_to(datetime(2027, 3, 3, 10, 0, tzinfo=UTC)):
            await organiser.send_text("/zoek debat")
            page = await organiser.expect_text("🔎")
            await organiser.press(ask_label("nl", "Joost"), message=page)
            asked = await joost.expect_text("Bram")
            assert asked.button_texts == [
                t("sv", "Yes, share my contact"),
                t("sv", "No, thank you"),
                t("sv", "Never ask me again"),
            ]
            await joost.press(t("sv", "No, thank you"), message=asked)
            await organiser.expect_text("Joost")
        with clock.travel_to(datetime(2027, 5, 31, 10, 0, tzinfo=UTC)):  # day 89
            await organiser.press(ask_label("nl", "Joost"), message=page)
            await bot.sandbox.idle()
            assert organiser.alerts[-1] == t(
                "nl",
                "This member said no to you on {date}; you can ask them again from {again}.",
                date="3 maart 2027",
                again="1 juni 2027",
            )
        with clock.travel_to(datetime(2027, 6, 2, 10, 0, tzinfo=UTC)):  # day 91
            joost.drain()
            await organiser.press(ask_label("nl", "Joost"), message=page)
            await joost.expect_text("Bram")

        # a forged button about a skill Joost never listed
        assert bot.app is not None
        async with bot.app.sessions() as session:
            (photography,) = await factories.skill_ids(session, "fotografie")
        admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        await admin.press_raw(page.message_id, f"ask:2:{photography}")
        await bot.sandbox.idle()
        assert admin.alerts[-1] == t("en", "This member did not list that skill.")
        async with bot.app.sessions() as session:
            requests = (await session.scalars(select(ContactRequest))).all()
        assert [(r.requester_id, r.status) for r in requests] == [
            (OOST_ORGANISER, "declined"),
            (OOST_ORGANISER, "pending"),
        ]


async def test_a_daily_limit_per_organiser(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN), contact_requests_per_day=1) as bot:
        await seed(bot)
        fenna = bot.sandbox.user(9301, "Fenna", language_code="nl")
        admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        await admin.send_text("/zoek debatteren")
        page = await admin.expect_text("🔎")
        await admin.press(ask_label("en", "Fenna"), message=page)
        await fenna.expect_text("Eva")
        await admin.press(ask_label("en", "Joost"), message=page)
        await bot.sandbox.idle()
        assert admin.alerts[-1] == t(
            "en",
            "You have reached today's limit of {limit} contact requests. "
            "You can ask again tomorrow.",
            limit=1,
        )


async def test_a_member_who_cannot_be_reached_is_not_left_waiting(sqlite_url: str) -> None:
    """The question goes through the one sending path: a member who blocked the bot (unnoticed)
    makes the organiser's tap answer at once that they could not be reached, and the request
    does not stay pending, so asking again later works."""
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        await seed(bot)
        await block_unnoticed(bot, 9301, "Fenna")
        admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        await admin.send_text("/zoek debatteren")
        page = await admin.expect_text("🔎")
        await admin.press(ask_label("en", "Fenna"), message=page)
        await bot.sandbox.idle()
        assert admin.alerts[-1] == t(
            "en", "I could not reach {name} just now. Please try again later.", name="Fenna"
        )
        fenna = bot.sandbox.user(9301, "Fenna", language_code="nl")
        fenna.unblock()
        await bot.sandbox.idle()
        await admin.press(ask_label("en", "Fenna"), message=page)
        await fenna.expect_text("Eva")  # asked now; the undelivered request blocked nothing


async def test_never_ask_me_again_and_undoing_it_in_the_profile(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        await seed(bot)
        organiser = bot.sandbox.user(OOST_ORGANISER, "Bram", language_code="nl")
        joost = bot.sandbox.user(9302, "Joost", language_code="sv")
        await organiser.send_text("/zoek debat")
        page = await organiser.expect_text("🔎")
        await organiser.press(ask_label("nl", "Joost"), message=page)
        asked = await joost.expect_text("Bram")
        await joost.press(t("sv", "Never ask me again"), message=asked)
        await organiser.expect_text(
            t("nl", "{name} would rather not be contacted about <b>{skill}</b> now.", name="Joost",
              skill="Debatteren")
        )  # fmt: skip
        await bot.sandbox.idle()
        assert joost.alerts[-1].startswith(
            t("sv", "Done: nobody will ask you for contact through the bot.")[:-1]
        )

        admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        await admin.send_text("/zoek debatteren")
        results = await admin.expect_text("🔎")
        assert ask_label("en", "Joost") not in results.button_texts
        assert t("en", "takes no contact requests") in results.text
        await admin.press_raw(results.message_id, page.buttons[0].data or "")  # forged
        await bot.sandbox.idle()
        assert admin.alerts[-1] == t(
            "en", "This member does not want to be asked for contact through the bot."
        )

        await joost.send_text("/profiel")
        card = await joost.expect_text(t("sv", "Your talents and learning wishes"))
        never = t("sv", "Contact requests through the bot: {answer}", answer=t("sv", "never"))
        assert never in card.text
        await joost.press("📨 " + t("sv", "Allow contact requests again"), message=card)
        card = await joost.expect_text(t("sv", "Your talents and learning wishes"))
        yes = t("sv", "Contact requests through the bot: {answer}", answer=t("sv", "yes"))
        assert yes in card.text
        assert "🚫 " + t("sv", "Never ask me for contact") in card.button_texts
        await admin.send_text("/zoek debatteren")
        results = await admin.expect_text("🔎")
        await admin.press(ask_label("en", "Joost"), message=results)
        await joost.expect_text("Eva")
