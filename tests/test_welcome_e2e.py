"""End to end in the sandbox: a new member is given to a volunteer, who gets the card in
their language, introduces themselves and taps "Contacted"; a forged tap from another
volunteer is refused; the member opts out; organisers see the overview (nl, en, sv)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import clock
from bot.services.roles import RoleName
from handlers import welcome as welcome_views
from storage.models import welcomes
from tests import factories
from tests.botrunner import RunningBot, running_bot, t

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def no_scheduler(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests run the pass themselves: the scheduler's own first pass waits an hour."""
    monkeypatch.setattr("bot.scheduler.FIRST_PASS_AFTER", 3600.0)


ADMIN, VOLUNTEER, OTHER_VOLUNTEER, NEWCOMER, SHY = 8801, 8802, 8803, 8804, 8805


async def seed(bot: RunningBot, lang: str) -> None:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        with clock.travel_to(clock.now() - timedelta(days=90)):  # not new themselves
            await factories.onboarded(session, VOLUNTEER, "Vera", "Zwolle", region="oost",
                                      locale=lang)  # fmt: skip
            await factories.onboarded(session, OTHER_VOLUNTEER, "Otto", "Groningen",
                                      region="noord", locale="nl")  # fmt: skip
        await factories.give_role(session, VOLUNTEER, RoleName.VOLUNTEER)
        await factories.give_role(session, OTHER_VOLUNTEER, RoleName.VOLUNTEER)
        await factories.onboarded(
            session, NEWCOMER, "Noor", "Deventer", region="oost", locale=lang,
            wishes="debatteren", findable=True,
        )  # fmt: skip
        await factories.onboarded(session, SHY, "Sam", "Zwolle", region="oost", locale=lang,
                                  wishes="begroting lezen", findable=False)  # fmt: skip


async def run_pass(bot: RunningBot) -> int:
    assert bot.app is not None
    app = bot.app
    return await welcome_views.run_pass(app.bot, app.sessions, app.i18n, app.settings)


INTRO = t(
    "nl",
    "New members are welcomed personally by a volunteer from their region: a short message "
    "or call, to get to know you and answer your questions.",
)
WISH = {"nl": "Debatteren", "en": "Debating", "sv": "Debattera"}


@pytest.mark.parametrize("lang", ["nl", "en", "sv"])
async def test_the_volunteer_gets_the_card_and_marks_contacted(sqlite_url: str, lang: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN), reminder_interval=3600) as bot:
        await seed(bot, lang)
        volunteer = bot.sandbox.user(VOLUNTEER, "Vera", language_code=lang)
        newcomer = bot.sandbox.user(NEWCOMER, "Noor", language_code=lang)
        other = bot.sandbox.user(OTHER_VOLUNTEER, "Otto", language_code="nl")
        assert await run_pass(bot) == 2
        cards = [await volunteer.expect_text(t(lang, "A new member to welcome")) for _ in "12"]
        card = next(c for c in cards if "Noor" in c.text)
        shy = next(c for c in cards if "Sam" in c.text)
        assert t(lang, "Region: {region}", region="Oost") in card.text
        assert t(lang, "Learning wishes: {wishes}", wishes=WISH[lang]) in card.text
        assert t(lang, "Learning wishes: not shared") in shy.text  # she keeps them to herself
        for text in (card.text, shy.text):
            assert str(NEWCOMER) not in text and str(SHY) not in text and "@" not in text
        labels = [b.text for row in card.inline_keyboard for b in row]
        assert labels == [
            "✅ " + t(lang, "Contacted"), "📵 " + t(lang, "Could not reach"),
            "👋 " + t(lang, "Introduce me"),
        ]  # fmt: skip
        assert len(card.text) <= 4096
        other.drain()

        await volunteer.press("👋 " + t(lang, "Introduce me"), message=card)
        hello = await newcomer.expect_text("👋")
        assert "Vera" in hello.text
        assert [b.text for row in hello.inline_keyboard for b in row] == [
            "🙅 " + t(lang, "Please do not contact me")
        ]
        welcome_id = int(card.inline_keyboard[0][0].data.split(":")[2])  # type: ignore[union-attr]
        await other.press_raw(card.message_id, f"wlc:c:{welcome_id}:0")  # forged
        await bot.sandbox.idle()
        assert other.alerts[-1] == t("nl", "That button is no longer valid.")

        await volunteer.press("✅ " + t(lang, "Contacted"), message=card)
        edited = await volunteer.expect_text("✔️ " + t(lang, "Contacted"))
        assert edited.inline_keyboard == []
        assert volunteer.alerts[-1] == t(
            lang, "Thank you! Marked: {outcome}.", outcome=t(lang, "Contacted")
        )
        await volunteer.press_raw(card.message_id, f"wlc:u:{welcome_id}:0")  # again
        await bot.sandbox.idle()
        assert volunteer.alerts[-1] == t(lang, "This welcome has already been marked.")
        assert bot.app is not None
        async with bot.app.sessions() as session:
            states = dict((await session.execute(select(welcomes.c.id, welcomes.c.state))).all())
        assert states[welcome_id] == "contacted"


async def test_member_opts_out_and_organisers_see_the_overview(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN), reminder_interval=3600) as bot:
        await seed(bot, "nl")
        shy = bot.sandbox.user(SHY, "Sam", language_code="nl")
        volunteer = bot.sandbox.user(VOLUNTEER, "Vera", language_code="nl")
        await shy.send_text("/welkom")
        setting = await shy.expect_text(INTRO)
        await shy.press("🙅 " + t("nl", "Please do not contact me"), message=setting)
        await shy.expect_text(t("nl", "You asked not to be contacted."))
        assert await run_pass(bot) == 1  # only Noor
        card = await volunteer.expect_text(t("nl", "A new member to welcome"))
        assert "Noor" in card.text and "Sam" not in card.text
        await volunteer.send_text("/welkom")
        await volunteer.expect_text(t("nl", "New members to welcome: {n}", n=1))

        # Noor changes her mind: the open welcome is withdrawn and Vera is told
        noor = bot.sandbox.user(NEWCOMER, "Noor", language_code="nl")
        await noor.send_text("/welkom")
        setting = await noor.expect_text(INTRO)
        await noor.press("🙅 " + t("nl", "Please do not contact me"), message=setting)
        told = t("nl", "{name} would rather not be contacted: there is nothing more to do.",
                 name="Noor")  # fmt: skip
        await volunteer.expect_text(told)
        await volunteer.press("✅ " + t("nl", "Contacted"), message=card)
        await bot.sandbox.idle()
        assert volunteer.alerts[-1] == t("nl", "This member asked not to be contacted.")
        await noor.press("👋 " + t("nl", "You may contact me after all"))
        await bot.sandbox.idle()
        assert noor.alerts[-1] == t(
            "nl", "Thank you: a volunteer from your region will get in touch."
        )
        assert await run_pass(bot) == 1  # welcomed after all
        again = await volunteer.expect_text(t("nl", "A new member to welcome"))
        assert "Noor" in again.text

        admin = bot.sandbox.user(ADMIN, "Ada", language_code="en")
        await admin.send_text("/welkom")
        await admin.expect_text(t("en", "Nobody: every new member has been contacted in time."))
        with clock.travel_to(clock.now() + timedelta(days=15)):
            await admin.send_text("/welkom")
            page = await admin.expect_text(t("en", "New members not contacted within 14 days"))
        assert "Noor" in page.text and "Sam" not in page.text
        async with bot.app.sessions() as session:  # type: ignore[union-attr]
            await factories.give_role(session, 8807, RoleName.ORGANISER, "noord")
            await factories.give_role(session, 8808, RoleName.ORGANISER, "oost")
        with clock.travel_to(clock.now() + timedelta(days=15)):
            for organiser_id, sees in ((8807, False), (8808, True)):
                organiser = bot.sandbox.user(organiser_id, "Org", language_code="sv")
                await organiser.send_text("/valkommen")
                seen = await organiser.expect_text("📋")
                assert ("Noor" in seen.text) is sees
        assert t("en", "with {name}", name="Vera") in page.text
        await admin.press("↪️ 1. " + t("en", "Reassign"), message=page)
        await bot.sandbox.idle()
        assert admin.alerts[-1] == t("en", "There is no other volunteer in that region.")

        member = bot.sandbox.user(NEWCOMER, "Noor", language_code="nl")
        await member.send_text("/doelen")
        await member.expect_text(t("nl", "This command is for organisers only."))


async def test_goals_set_and_shown_by_command(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN), reminder_interval=3600) as bot:
        await seed(bot, "nl")
        admin = bot.sandbox.user(ADMIN, "Ada", language_code="nl")
        year = clock.now().year
        await admin.send_text(f"/doelen {year} oost profielen 1500")
        await admin.expect_text(t("nl", "Goal saved."))
        shown = await admin.expect_text(t("nl", "Goals for {year}", year=year))
        # two members in oost have a profile (Noor and Sam; Vera has no talents or wishes)
        line = t("nl", "{what}: {count} of {target} ({share})", what=t("nl", "Members with a "
                 "profile"), count="2", target="1.500", share="0%")  # fmt: skip
        assert line in shown.text
        await admin.send_text(f"/doelen {year} oost geluk 5")
        await admin.expect_text(t("nl", "I do not know that goal."))
        volunteer = bot.sandbox.user(VOLUNTEER, "Vera", language_code="nl")
        await volunteer.send_text(f"/doelen {year} oost profielen 5")
        await volunteer.expect_text(t("nl", "This command is for organisers only."))
        await factories_give_organiser(bot)
        organiser = bot.sandbox.user(8806, "Olga", language_code="sv")
        await organiser.send_text(f"/mal {year} oost profiler 5")
        await organiser.expect_text(t("sv", "This command is for administrators only."))


async def factories_give_organiser(bot: RunningBot) -> None:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        await factories.give_role(session, 8806, RoleName.ORGANISER, "oost")
