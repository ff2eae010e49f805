"""End to end: organisers ask /rapport and get the chart, the CSV and a summary in their
language; a regional organiser only their region; members not at all."""

from __future__ import annotations

import csv
import io
import struct

import pytest

from bot import clock
from bot.services.roles import RoleName
from tests import demand_data, factories
from tests.botrunner import RunningBot, running_bot, t

pytestmark = pytest.mark.e2e

NATIONAL, OOST, MEMBER = 8700, 8701, 8702


async def setup(bot: RunningBot) -> dict[str, int]:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        ids = await demand_data.fill(session, clock.now())
        await factories.give_role(session, NATIONAL, RoleName.ORGANISER)
        await factories.give_role(session, OOST, RoleName.ORGANISER, "oost")
    return ids


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


async def test_a_regional_organiser_gets_their_region_at_once(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        await setup(bot)
        bram = bot.sandbox.user(OOST, "Bram", language_code="nl")
        await bram.send_text("/rapport")
        chart = await bram.next(timeout=30)  # the first chart imports matplotlib
        assert chart.photo is not None
        assert chart.text == t("nl", "Learning wishes and trainers — {region}", region="Oost")
        assert chart.photo.data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", chart.photo.data[16:24])[0] == 1000
        sheet = await bram.next()
        assert sheet.document is not None and sheet.document.filename.endswith(".csv")
        rows = csv_rows(sheet.document.data)
        skills = [(r["skill_or_workshop"], r["wishes"], r["teachers"], r["gap"]) for r in rows]
        assert skills[:4] == [
            ("Alfa nl", "6", "1", "yes"),
            (demand_data.LONG, "4", "3", "no"),
            ("Gamma", "2", "0", "no"),
            ("Delta", "0", "2", "no"),
        ]
        past = [r for r in rows if r["section"] == "workshop"]
        assert [(r["skill_or_workshop"], r["signed_up"], r["attended"]) for r in past] == [
            ("Beta before", "4", "3")
        ]
        assert past[0]["average_rating"] == "4.50"
        summary = await bram.next()
        assert "1. Alfa nl — 6 · 1" in summary.text
        gaps = "<b>No workshop planned</b> in the coming 3 months: {skills}"
        assert t("nl", gaps, skills="Alfa nl") in summary.text.split("\n")
        assert "1 workshop, 4 aangemeld, 3 aanwezig (75%)" in summary.text
        assert "gemiddeld cijfer 4,5 (2 beoordelingen)" in summary.text
        assert len(summary.raw) <= 4096
        # a gap is one tap from a proposed workshop (whom to ask, how many wish for it)
        propose = "💡 " + t("nl", "Propose a workshop: {skill}", skill="Alfa nl")
        assert [b.text for b in summary.buttons] == [propose]
        await bram.press(propose, message=summary)
        proposal = await bram.expect_text("Alfa nl")
        assert proposal.text.startswith("💡") and proposal is not summary

        await bram.send_text("/rapport west")
        await bram.expect_text(t("nl", "You can only see the report of your own region."))
        # forged buttons: another region, a region that does not exist
        await bram.press_raw(chart.message_id, "rprt:west")
        await bram.expect_text(t("nl", "You can only see the report of your own region."))
        await bram.press_raw(chart.message_id, "rprt:atlantis")
        await bram.expect_text(t("nl", "I do not know the region “{text}”.", text="atlantis"))
        await bram.send_text("/help")
        menu = t("nl", "What members want to learn, who can teach it, the gaps")
        await bram.expect_text(f"/rapport — {menu}")


async def test_a_national_organiser_picks_a_region_and_members_are_refused(
    sqlite_url: str,
) -> None:
    async with running_bot(sqlite_url) as bot:
        await setup(bot)
        eva = bot.sandbox.user(NATIONAL, "Eva", language_code="en")
        await eva.send_text("/report")
        choice = await eva.expect_text(t("en", "Which region?"))
        labels = [b.text for row in choice.inline_keyboard for b in row]
        assert labels == ["Noord", "Oost", "West", "Zuid", t("en", "All regions")]
        await eva.press("West", message=choice)
        edited = await eva.next()
        assert edited.edited and edited.text == t("en", "Making the report…")
        assert edited.inline_keyboard == []
        chart = await eva.next(timeout=30)
        assert chart.photo is not None and "West" in chart.text
        sheet = await eva.next()
        assert sheet.document is not None
        summary = await eva.next()
        assert "1. Gamma — 5 · 0" in summary.text
        assert "Epsilon" in summary.text

        await eva.send_text("/report atlantis")
        await eva.expect_text(t("en", "I do not know the region “{text}”.", text="atlantis"))

        member = bot.sandbox.user(MEMBER, "Mo", language_code="sv")
        await member.send_text("/rapport")
        await member.expect_text(t("sv", "This command is for organisers only."))
