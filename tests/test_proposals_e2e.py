"""End to end: an organiser goes from a gap to a planned workshop — the proposal, one tap to
ask a trainer, the trainer's yes, a typed date and place — and the members who wished for
it hear of it first, each in their language."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select, update

from bot.services.profile import Level
from bot.services.roles import RoleName
from sandbox.users import SandboxUser
from storage.models import Member, Workshop, workshop_proposals
from tests import factories
from tests.botrunner import I18N, RunningBot, running_bot, t

pytestmark = pytest.mark.e2e

ADMIN, OOST, WEST = 8101, 8102, 8103
JOOST, KEES = 9302, 9303
WHEN = (
    "When? Type the date and time, for example <b>14-03-2027 19:30</b> "
    "(or <b>14-03-2027 19:30-22:00</b> with the end). Send /stop to stop."
)
WHERE = (
    "Where? Type the town, and after a comma the venue (<b>Zwolle, Partijhuis</b>), "
    "or <b>online</b> and the link."
)
PLANNED = (
    "Planned: <b>{title}</b>, {when}, {place}. I told the {count} member who wished "
    "for it first; you can announce it to others now.",
    "Planned: <b>{title}</b>, {when}, {place}. I told the {count} members who wished "
    "for it first; you can announce it to others now.",
)
GAPS = "Wishes in this region with no workshop planned (and how many wish for each):"
WISHERS = {9201: "nl", 9202: "sv", 9203: "en"}


def plural(lang: str, singular: str, many: str, n: int) -> str:
    """A plural text as the member reads it (tags stripped), not yet formatted."""
    return re.sub(r"</?[a-z]+>", "", I18N.gettext(singular, many, n, locale=lang))


async def next_alert(user: SandboxUser, before: int) -> str:
    """The first alert after the `before` ones (the bot may answer after the sandbox idles)."""
    for _ in range(50):
        if len(user.alerts) > before:
            return user.alerts[before]
        await asyncio.sleep(0.1)
    raise AssertionError("no alert")


async def seed(bot: RunningBot) -> None:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        for tid, locale in WISHERS.items():
            await factories.onboarded(session, tid, f"Wens{tid}", "Zwolle", locale=locale,
                                      region="oost", wishes="debatteren")  # fmt: skip
        teach = {"region": "oost", "talents": "debatteren", "level": Level.TEACH, "findable": True}
        await factories.onboarded(session, JOOST, "Joost", "Deventer", locale="sv", **teach)  # type: ignore[arg-type]
        kees = await factories.onboarded(session, KEES, "Kees", "Kampen", **teach)  # type: ignore[arg-type]
        await session.execute(
            update(Member).where(Member.id == kees.id).values(no_contact_requests=True)
        )
        await session.commit()
        await factories.give_role(session, OOST, RoleName.ORGANISER, "oost")
        await factories.give_role(session, WEST, RoleName.ORGANISER, "west")


async def test_from_a_gap_to_a_planned_workshop(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        await seed(bot)
        organiser = bot.sandbox.user(OOST, "Bram", language_code="nl")
        joost = bot.sandbox.user(JOOST, "Joost", language_code="sv")
        wishers = {
            tid: bot.sandbox.user(tid, f"Wens{tid}", language_code=locale)
            for tid, locale in WISHERS.items()
        }
        await organiser.send_text("/voorstel debatteren")  # their one region: oost
        card = await organiser.expect_text("💡")
        assert t("nl", "Members who wish to learn it: {count}", count=3) in card.text
        assert "Joost" in card.text and "Kees" not in card.text  # Kees never wants to be asked
        assert "Wens" not in card.text  # the wishers are a count, never names

        await organiser.press("✉️ " + t("nl", "Ask {name}", name="Joost"), message=card)
        asked = await joost.expect_text("Bram")
        assert "Debattera" in asked.text  # in Joost's language
        assert await next_alert(organiser, 0) == t(
            "nl", "I asked {name}. You will hear from me when they answer.", name="Joost"
        )
        await organiser.press("✉️ " + t("nl", "Ask {name}", name="Joost"), message=card)
        again = await next_alert(organiser, 1)
        assert again == t("nl", "You already asked; they have not answered yet.")

        await joost.press(t("sv", "Yes, I would like to"), message=asked)
        yes = await organiser.expect_text("Joost")
        assert "tg://user?id=9302" in yes.html
        await organiser.send_text("/voorstel debatteren")  # the card again: Joost said yes
        again = await organiser.expect_text("💡")
        assert t("nl", "said yes") in again.text
        assert "📅 " + t("nl", "Set the date") + " · Joost" in [b.text for b in again.buttons]
        await organiser.press("📅 " + t("nl", "Set the date"), message=yes)
        await organiser.expect_text(t("nl", WHEN))
        await organiser.send_text("morgen ergens")
        await organiser.expect_text(t("nl", "I cannot read that as a date and time in the future."))
        await organiser.send_text("14-03-2027 19:30")
        await organiser.expect_text(t("nl", WHERE))
        await organiser.send_text("Xqzvwk")
        await organiser.expect_text(t("nl", "I do not know that place."))
        await organiser.send_text("Zwolle, Partijhuis")
        planned = plural("nl", *PLANNED, 3).format(title="Debatteren", when="W", place="P", count=3)
        done = await organiser.expect_text(planned.split(",")[0])  # "Gepland: Debatteren"
        assert planned.split("P. ", 1)[1] in done.text  # told the 3 members first
        # The wishers were told before the organiser's confirmation: already in their chats.
        for tid, locale in WISHERS.items():
            told = [m for m in wishers[tid].bot_messages if "Debat" in m.text]
            assert told, tid
            assert told[0].date <= done.date
            assert t(locale, "Show the workshop") in [b.text for b in told[0].buttons]
        first = wishers[9201]
        notice = next(m for m in first.bot_messages if "Debat" in m.text)
        await first.press(t("nl", "Show the workshop"), message=notice)
        detail = await first.next()
        assert "Debatteren" in detail.text and "Partijhuis" in detail.text

        assert bot.app is not None
        async with bot.app.sessions() as session:
            workshop = await session.scalar(select(Workshop))
            joost_id = await session.scalar(select(Member.id).where(Member.telegram_id == JOOST))
            status = await session.scalar(select(workshop_proposals.c.status))
        assert workshop is not None
        assert (workshop.town, workshop.venue, workshop.region_code) == (
            "Zwolle",
            "Partijhuis",
            "oost",
        )
        assert workshop.trainer_id == joost_id and status == "planned"

        # Planned once: the button again is refused.
        before = len(organiser.alerts)
        await organiser.press("📅 " + t("nl", "Set the date"), message=yes)
        assert await next_alert(organiser, before) == t(
            "nl", "This workshop has already been planned."
        )


async def test_rights(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        await seed(bot)
        member = bot.sandbox.user(9201, "Wens", language_code="nl")
        await member.send_text("/voorstel debatteren oost")
        await member.expect_text(t("nl", "This command is for organisers only."))
        west = bot.sandbox.user(WEST, "Wim", language_code="nl")
        await west.send_text("/voorstel debatteren oost")
        await west.expect_text(t("nl", "You can only propose workshops in your own region."))
        # A forged ask for a trainer of another region, from the west organiser.
        assert bot.app is not None
        async with bot.app.sessions() as session:
            skill_id = (await factories.skill_ids(session, "debatteren"))[0]
            joost_id = await session.scalar(select(Member.id).where(Member.telegram_id == JOOST))
        page = await west.send_text("/voorstel debatteren west")
        await west.expect_text("💡")
        await west.press_raw(page.message_id, f"propask:{skill_id}:west:{joost_id}")
        assert await next_alert(west, 0) == t(
            "nl", "You can only propose workshops in your own region."
        )
        admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        await admin.send_text("/propose debating")
        await admin.expect_text(t("en", "For which region?"))
        await admin.press("Oost")
        card = await admin.expect_text("💡")
        assert "Joost" in card.text
        # Only a region: its gaps (demand.gaps), most wished first; one tap to a proposal.
        await admin.send_text("/voorstel oost")
        gaps = await admin.expect_text(t("en", GAPS))
        await admin.press("Debating · 3", message=gaps)
        card = await admin.expect_text("💡")
        assert t("en", "Members who wish to learn it: {count}", count=3) in card.text
        await west.send_text("/voorstel oost")
        await west.expect_text(t("nl", "You can only propose workshops in your own region."))
