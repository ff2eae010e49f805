"""End to end: a moved online workshop's calendar file (it holds the online link) goes only
to members with a confirmed place; the waiting list hears of the move without it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import factories
from tests.botrunner import running_bot, t

pytestmark = pytest.mark.e2e

LINK = "meet.example.org"


async def test_a_moved_online_workshop_sends_the_calendar_file_only_to_the_placed(
    sqlite_url: str,
) -> None:
    async with running_bot(sqlite_url, admin_ids="7500") as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            await factories.onboarded(session, 7501, "Fleur", "Utrecht")
            await factories.onboarded(session, 7502, "Gijs", "Utrecht")
            item = await factories.workshop(
                session, "Webinar", None, starts_in=timedelta(days=9), hours=2, capacity=1
            )
        fleur = bot.sandbox.user(7501, "Fleur", language_code="nl")
        gijs = bot.sandbox.user(7502, "Gijs", language_code="sv")
        for person in (fleur, gijs):  # Fleur gets the place, Gijs the waiting list
            await person.send_text(f"/start w_{item}")
            detail = await person.expect_text("Webinar")
            await person.press("✅ " + t("nl", "Sign me up"), message=detail)
            await person.next()
        await bot.sandbox.idle()
        fleur.drain()
        gijs.drain()

        admin = bot.sandbox.user(7500, "Eva", language_code="en")
        await admin.send_text(f"/workshop {item} move 2031-05-06 19:30 21:30")
        await admin.expect_text("Moved. I told 2 people.")

        moved = await fleur.expect_text("🗓")
        assert "19:30" in moved.text
        ics = await fleur.next()
        assert ics.document is not None and LINK.encode() in ics.document.data
        assert ics.text == "📅 " + t("nl", "Add it to your calendar")

        told = await gijs.expect_text("🗓")
        assert "19:30" in told.text and LINK not in told.text
        await gijs.expect_silence(0.3)
        assert not [m for m in gijs.bot_messages if m.document is not None]
        assert not [m for m in gijs.bot_messages if LINK in m.text]
