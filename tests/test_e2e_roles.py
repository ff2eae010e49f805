"""Roles end to end: /rol for admins only, /help and the command menu follow the role."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Role
from tests.botrunner import RunningBot, running_bot, t

pytestmark = pytest.mark.e2e

ADMIN = 8001


async def grants(bot: RunningBot) -> list[tuple[int, str, str | None]]:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        rows = await session.scalars(select(Role).order_by(Role.id))
        return [(r.telegram_id, r.role, r.region_code) for r in rows]


async def test_admin_gives_and_takes_a_regional_role(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        await admin.send_text("/rol 8002 organisator oost")
        await admin.expect_text(
            t("en", "{user} now has the role {role}.", user=8002, role="organiser (oost)")
        )
        assert await grants(bot) == [(8002, "organiser", "oost")]

        await admin.send_text("/rol")
        await admin.expect_text(t("en", "The number is the person's Telegram user id."))
        overview = await admin.next()
        assert "8002: organiser (oost)" in overview.text
        assert t("en", "<b>Current roles</b>") in overview.text

        await admin.send_text("/rol 8002 -organiser west")  # not that region: nothing changes
        await admin.expect_text(t("en", "That person does not have this role."))

        await admin.send_text("/rol 8002 -organiser")
        await admin.expect_text(
            t("en", "{user} no longer has the role {role}.", user=8002, role="organiser")
        )
        assert await grants(bot) == []


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("/rol 8003 koning", "I do not know that role."),
        ("/rol 8003 organiser atlantis", "There is no region with the code “{code}”."),
        ("/rol 8003 volunteer oost", "Only organisers can be limited to one region."),
        ("/rol abc volunteer", "I did not understand that."),
        ("/rol 8003 -counsellor", "That person does not have this role."),
    ],
)
async def test_bad_role_commands_explain_and_change_nothing(
    sqlite_url: str, command: str, reply: str
) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        admin = bot.sandbox.user(ADMIN, "Eva", language_code="nl")
        await admin.send_text(command)
        expected = t("nl", reply, code="atlantis")
        await admin.expect_text(expected)
        assert await grants(bot) == []


async def test_non_admins_cannot_give_roles(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        volunteer = bot.sandbox.user(8004, "Sanna", language_code="sv")
        await volunteer.send_text("/rol 8004 admin")
        await volunteer.expect_text(t("sv", "This command is for administrators only."))
        assert await grants(bot) == []


async def test_help_and_command_menu_follow_the_role(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        member = bot.sandbox.user(8005, "Anna", language_code="nl")
        await member.send_text("/help")
        member_help = await member.next()
        assert "/taal" in member_help.text and "/rol" not in member_help.text

        admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        await admin.send_text("/help")
        admin_help = await admin.next()
        assert "/rol — " + t("en", "Give or take away a role") in admin_help.text

        await bot.sandbox.idle()
        names = lambda cmds: [c for c, _ in cmds]  # noqa: E731
        member_menu = bot.sandbox.commands_for(8005, language_code="nl")
        everyone = [
            "start", "help", "vraag", "workshops", "leergangen", "profiel", "taal",
            "mijngegevens", "vergeetmij", "instellingen", "vertrouwelijk", "welkom", "projectteam",
        ]  # fmt: skip
        assert names(member_menu) == everyone
        assert dict(member_menu)["taal"] == t("nl", "Change the language")
        sv_menu = bot.sandbox.commands_for(8006, language_code="sv")
        assert sv_menu[1][1] == t("sv", "What I can do for you")
        admin_menu = names(bot.sandbox.commands_for(ADMIN, language_code="en"))
        staff = [
            "zoek", "nieuw", "workshop", "workshops_csv", "leergang", "bericht", "berichten",
            "vaardigheden", "rapport", "vragenrapport", "kennisbank", "doelen", "voorstel", "team",
            "rol", "vertrouwenspersonen", "enquete",
        ]  # fmt: skip
        assert admin_menu == [*everyone, *staff]

        # a new admin's menu changes when the role is given, and back when it is taken
        await admin.send_text("/rol 8005 admin")
        await admin.next()
        await bot.sandbox.idle()
        assert "rol" in names(bot.sandbox.commands_for(8005, language_code="nl"))
        await admin.send_text("/rol 8005 -admin")
        await admin.next()
        await bot.sandbox.idle()
        assert "rol" not in names(bot.sandbox.commands_for(8005, language_code="nl"))
