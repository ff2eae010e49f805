"""End to end: members say they are available for project teams; an organiser asks for a
team, swaps someone out, invites them with one tap, and sees the answers."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot import clock
from bot.services import teams
from bot.services.roles import RoleName
from sandbox.users import SandboxUser
from storage.models import team_members
from storage.repositories import members
from tests import factories
from tests.botrunner import I18N, RunningBot, running_bot, t

pytestmark = pytest.mark.e2e

ADMIN, OOST = 8101, 8102
SKILLS = (
    "Which skills does the team need? Type them separated by commas, or send <b>-</b> for none."
)
TOO_FEW = (
    "Only {available} member who said they are available for project teams can be "
    "asked by you, and you asked for {size}. Ask for a smaller team, or invite "
    "members to say they are available with /projectteam.",
    "Only {available} members who said they are available for project teams can be "
    "asked by you, and you asked for {size}. Ask for a smaller team, or invite "
    "members to say they are available with /projectteam.",
)
ASK = (
    "Project teams: organisers form teams of 5 to 8 people of different backgrounds "
    "for a topic. Would you like to be invited? They would see your first name, "
    "region, whether you are a member or a sympathiser, and your talents. You decide "
    "on every invitation."
)
ON = (
    "You are available for project teams: organisers may invite you to a team of 5 to "
    "8 people. They see your first name, region, whether you are a member or a "
    "sympathiser, and your talents. You decide on every invitation."
)
TOWNS = {"Zwolle": "oost", "Deventer": "oost", "Enschede": "oost", "Utrecht": "west"}


async def next_alert(user: SandboxUser, before: int) -> str:
    """The first alert after the `before` ones (the bot may answer after the sandbox idles)."""
    for _ in range(50):
        if len(user.alerts) > before:
            return user.alerts[before]
        await asyncio.sleep(0.1)
    raise AssertionError("no alert")


async def seed(bot: RunningBot, n: int) -> list[SandboxUser]:
    """`n` members in oost (and one in west) who are not yet available; their chats."""
    assert bot.app is not None
    people = []
    async with bot.app.sessions() as session:
        for i in range(n):
            tid = 9600 + i
            town = list(TOWNS)[i % 3]
            await factories.onboarded(
                session, tid, f"Lid{i}", town, region="oost", talents="debatteren",
                kind=factories.Kind.SYMPATHISER if i % 4 == 0 else factories.Kind.MEMBER,
            )  # fmt: skip
            people.append(bot.sandbox.user(tid, f"Lid{i}", language_code="nl"))
        await factories.onboarded(session, 9700, "Wim", "Utrecht", region="west")
        await factories.give_role(session, OOST, RoleName.ORGANISER, "oost")
    return people


async def test_a_team_from_available_members(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        people = await seed(bot, 7)
        organiser = bot.sandbox.user(OOST, "Bram", language_code="nl")
        await organiser.send_text("/team 6 debatteren")
        too_few = I18N.gettext(*TOO_FEW, 0, locale="nl").format(available=0, size=6)
        await organiser.expect_text(too_few)

        for member in people:  # everyone says yes to being available
            await member.send_text("/projectteam")
            card = await member.expect_text(t("nl", ASK))
            await member.press(t("nl", "Yes, I am available"), message=card)
            await member.expect_text(t("nl", ON))
        wim = bot.sandbox.user(9700, "Wim", language_code="nl")
        await wim.send_text("/projectteam")
        await wim.expect_text(t("nl", ASK))

        member = people[0]
        await member.send_text("/team 5 debatteren")
        await member.expect_text(t("nl", "This command is for organisers only."))
        await organiser.send_text("/team 9 debatteren")
        await organiser.expect_text(t("nl", "A team has 5 to 8 people."))

        await organiser.send_text("/team 6 debatteren")
        card = await organiser.expect_text("👥")
        lines = [line for line in card.text.splitlines() if line[:2].rstrip(".").isdigit()]
        assert len(lines) == 6 and "Wim" not in card.text  # the west member is not theirs
        names = {line.split(" — ")[0].split(". ")[1] for line in lines}
        assert len(names) == 6  # nobody twice
        assert t("nl", "sympathiser") in card.text and t("nl", "member") in card.text

        out = sorted(names)[0]
        await organiser.press("🔄 " + t("nl", "Swap {name}", name=out), message=card)
        swapped = await organiser.next()
        assert swapped.message_id == card.message_id  # the card, edited
        assert f"<b>{out}</b>" not in swapped.html
        await organiser.press("✉️ " + t("nl", "Invite them"), message=swapped)
        invited = await next_alert(organiser, 1)
        assert invited == t(
            "nl", "Invited: {count}. You will hear from me as they answer.", count=6
        )

        on_team = [p for p in people if f"<b>{p.name}</b>" in swapped.html]
        assert len(on_team) == 6
        first, second = on_team[0], on_team[1]
        q1 = await first.expect_text("Bram")
        await first.press(t("nl", "Yes, count me in"), message=q1)
        said = "{name} said yes to the team <b>{topic}</b>."
        told = await organiser.expect_text(t("nl", said, name=first.name, topic="debatteren"))
        assert t(
            "nl", "Answers: {yes} yes, {no} no, {waiting} not yet", yes=1, no=0, waiting=5
        ) in (told.text)
        question = await second.expect_text("Bram")
        await second.press(t("nl", "No, not this time"), message=question)
        said = "{name} said no to the team <b>{topic}</b>."
        told = await organiser.expect_text(t("nl", said, name=second.name, topic="debatteren"))
        assert t(
            "nl", "Answers: {yes} yes, {no} no, {waiting} not yet", yes=1, no=1, waiting=4
        ) in (told.text)
        before = len(first.alerts)
        await first.press_raw(q1.message_id, "tans:1:0")  # a change of mind: too late
        assert await next_alert(first, before) == t(
            "nl", "This question has already been answered."
        )

        assert bot.app is not None
        async with bot.app.sessions() as session:
            rows = (await session.execute(select(team_members.c.status))).scalars().all()
        assert sorted(rows) == ["invited"] * 4 + ["no", "removed", "yes"]


async def test_the_guided_way(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        people = await seed(bot, 5)
        assert bot.app is not None
        async with bot.app.sessions() as session:
            for tid in (p.id for p in people):
                member = await members.by_telegram_id(session, tid)
                assert member is not None
                await teams.set_available(session, member, True, clock.now())
        admin = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        await admin.send_text("/team")
        sizes = await admin.expect_text(t("en", "How many people should the team have?"))
        assert [b.text for b in sizes.buttons] == ["5", "6", "7", "8"]
        await admin.press("5", message=sizes)
        await admin.expect_text(t("en", SKILLS))
        await admin.send_text("debating")
        card = await admin.expect_text("👥")
        assert all(f"<b>{p.name}</b>" in card.html for p in people)
        assert "Debating" in card.text
