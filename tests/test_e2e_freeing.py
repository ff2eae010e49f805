"""End to end: a place comes free by erasure, by a trainer taking someone off the list, or by
more places, and the first waiting are told at once; forged remove buttons are refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from sandbox.users import SandboxUser
from storage.models import Member, Signup
from tests import factories
from tests.botrunner import RunningBot, running_bot, t

pytestmark = pytest.mark.e2e
PROMOTED = "Good news: a place came free at <b>{title}</b> ({when}). You are in!"


async def people(bot: RunningBot, *who: tuple[int, str, str]) -> dict[int, int]:
    """Onboarded members (Telegram id, name, locale); their member ids by Telegram id."""
    assert bot.app is not None
    async with bot.app.sessions() as session:
        made = [
            await factories.onboarded(session, tid, n, "Utrecht", locale=lc) for tid, n, lc in who
        ]
        return {m.telegram_id: m.id for m in made}


async def sign_up_in_order(bot: RunningBot, item: int, title: str, *who: tuple[int, str]) -> None:
    for tid, name in who:
        person = bot.sandbox.user(tid, name)
        await person.send_text(f"/start w_{item}")
        detail = await person.expect_text(title)
        await person.press(detail.buttons[0].text, message=detail)
        await person.next()
        person.drain()


async def forged(bot: RunningBot, user: SandboxUser, message_id: int, data: str) -> str:
    """Press made-up callback data; the alert it got (one is required)."""
    before = len(user.alerts)
    await user.press_raw(message_id, data)
    await bot.sandbox.idle()
    assert len(user.alerts) == before + 1, "no alert"
    return user.alerts[-1]


async def signup_id(bot: RunningBot, item: int, member_id: int) -> int:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        found = await session.scalar(
            select(Signup.id).where(Signup.workshop_id == item, Signup.member_id == member_id)
        )
        assert found is not None
        return found


async def test_erasure_gives_the_place_to_the_first_waiting_who_is_told(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        await people(bot, (7801, "Ada", "nl"), (7802, "Bea", "sv"))
        assert bot.app is not None
        async with bot.app.sessions() as session:
            item = await factories.workshop(session, "Spreken", "Utrecht", capacity=1)
        await sign_up_in_order(bot, item, "Spreken", (7801, "Ada"), (7802, "Bea"))
        ada, bea = bot.sandbox.user(7801, "Ada"), bot.sandbox.user(7802, "Bea")
        await ada.send_text("/vergeetmij")
        confirm = await ada.expect_text("?")
        await ada.press(t("nl", "Yes, erase everything"), message=confirm)
        told = await bea.expect_text("🎉")
        assert t("sv", PROMOTED, title="Spreken", when="").split("Spreken")[0] in told.text
        ics = await bea.next()
        assert ics.document is not None  # the calendar file, with what it is for
        assert ics.text == "📅 " + t("sv", "Add it to your calendar")
        async with bot.app.sessions() as session:
            rows = (
                await session.execute(select(Member.first_name, Signup.status).join(Member))
            ).all()
        assert rows == [("Bea", "confirmed")]


async def test_trainer_takes_someone_off_and_organiser_adds_places(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids="7810") as bot:
        ids = await people(
            bot, (7811, "Jet", "nl"), (7812, "Kai", "nl"), (7813, "Lot", "sv"), (7814, "Mo", "en")
        )
        assert bot.app is not None
        async with bot.app.sessions() as session:
            item = await factories.workshop(
                session, "Voorzitten", "Utrecht", capacity=1, trainer_id=ids[7811],
                starts_in=timedelta(days=5),
            )  # fmt: skip
            other = await factories.workshop(session, "Elders", "Utrecht", capacity=5)
        await sign_up_in_order(bot, item, "Voorzitten", (7812, "Kai"), (7813, "Lot"), (7814, "Mo"))
        await sign_up_in_order(bot, other, "Elders", (7814, "Mo"))
        kai, lot, mo = (
            bot.sandbox.user(tid, n) for tid, n in ((7812, "Kai"), (7813, "Lot"), (7814, "Mo"))
        )

        # an organiser raises the number of places: Lot, first waiting, moves up and is told
        admin = bot.sandbox.user(7810, "Eva", language_code="en")
        await admin.send_text(f"/workshop {item} places 2")
        await admin.expect_text(
            t("en", "{capacity} places now. {count} person moved up from the waiting list and "
              "was told.", capacity=2, count=1)
        )  # fmt: skip
        assert "Voorzitten" in (await lot.expect_text("🎉")).text
        await admin.send_text(f"/workshop {item} places veel")
        await admin.expect_text(t("en", "Give the number of places, like: /workshop 12 places 30"))

        # the trainer takes Kai off the list, after confirming; Mo moves up
        trainer = bot.sandbox.user(7811, "Jet")
        await trainer.send_text(f"/workshop {item}")
        view = await trainer.expect_text("Voorzitten")
        await trainer.press("✅ " + t("nl", "Attendance"), message=view)
        attendance = await trainer.expect_text("Voorzitten")
        await trainer.press("✖️ " + t("nl", "Take someone off the list"), message=attendance)
        picking = await trainer.next()
        assert picking.button_texts == ["✖️ Kai", "✖️ Lot", "↩️ " + t("nl", "Back")]
        await trainer.press("✖️ Kai", message=picking)
        confirm = await trainer.expect_text("Kai")
        await trainer.press(t("nl", "Yes, take them off"), message=confirm)
        removed = await kai.expect_text("❌")
        assert "Voorzitten" in removed.text
        assert "Voorzitten" in (await mo.expect_text("🎉")).text
        await trainer.expect_text(
            t("nl", "Done. {count} person moved up from the waiting list and was told.", count=1)
        )

        # forged and stale buttons: the same tap again, another workshop's sign-up, a stranger
        invalid = t("nl", "That button is no longer valid.")
        at = confirm.message_id
        kai_signup = await signup_id(bot, item, ids[7812])
        assert await forged(bot, trainer, at, f"watt:{item}:{kai_signup}:remove") == invalid
        elsewhere = await signup_id(bot, other, ids[7814])
        assert await forged(bot, trainer, at, f"watt:{item}:{elsewhere}:remove") == invalid
        assert await forged(bot, trainer, at, f"watt:{other}:{elsewhere}:remove") == invalid
        lot_signup = await signup_id(bot, item, ids[7813])
        refused = await forged(bot, lot, at, f"watt:{item}:{lot_signup}:remove")
        assert refused == t("sv", "That button is no longer valid.")  # not her workshop
        assert await forged(bot, trainer, at, f"watt:{item}:{lot_signup}:explode") == invalid
        async with bot.app.sessions() as session:
            rows = dict((await session.execute(select(Signup.id, Signup.status))).all())
        assert (rows[kai_signup], rows[lot_signup], rows[elsewhere]) == (
            "cancelled", "confirmed", "confirmed",
        )  # fmt: skip
