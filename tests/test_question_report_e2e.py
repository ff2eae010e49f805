"""End to end in the sandbox: an unanswered question reaches its region's organiser from the
bot's own scheduler, through the outbox, in their language and once; the organiser reads
`/fragerapport` for their region and taps for the CSV; a member is refused."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from bot import clock
from bot.question_keys import QuestionCb
from bot.services import onboarding
from bot.services.roles import RoleName
from storage.repositories import questions as repo
from tests import factories
from tests.botrunner import RunningBot, running_bot, t

pytestmark = pytest.mark.e2e

ADMIN, SANNA, MIRA = 8600, 8601, 8602
FOOT = "Volunteers can claim them in /wachtrij; you can too, or ask someone to."
TITLE = "<b>Questions, the last {weeks} weeks</b> ({where})"
RATED = "Helpful: {helpful} of {rated} ratings · escalated {escalated} · still open {open}"


async def question(bot: RunningBot, member_id: int, text: str, region: str | None) -> int:
    """Queued two hours ago, as the member's side would have stored it."""
    assert bot.app is not None
    at = clock.now() - timedelta(hours=2)
    async with bot.app.sessions() as session:
        qid = await repo.create(
            session, member_id=member_id, language="nl", region_code=region, identity="name",
            state="open", knowledge_id=None, now=at,
        )  # fmt: skip
        await repo.add_message(
            session, qid, author="member", kind="text", text=text, file_id=None, now=at
        )
        await session.commit()
    return qid


async def test_escalation_and_the_report_in_the_sandbox(sqlite_url: str) -> None:
    async with running_bot(
        sqlite_url, admin_ids=str(ADMIN), reminder_interval=0.2, question_escalate_hours=1
    ) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            await onboarding.give_consent(session, SANNA, "sv", "Sanna")
            mira, _created = await onboarding.give_consent(session, MIRA, "nl", "Mira")
            await factories.give_role(session, SANNA, RoleName.ORGANISER, "noord")
        sanna = bot.sandbox.user(SANNA, "Sanna", language_code="sv")
        eva = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        member = bot.sandbox.user(MIRA, "Mira", language_code="nl")
        for user in (sanna, eva, member):
            await user.send_text("/help")
        await bot.sandbox.idle()
        for user in (sanna, eva, member):
            user.drain()

        noord = await question(bot, mira.id, "Hoe word ik kandidaat voor de gemeenteraad?",
                               "noord")  # fmt: skip
        told = await sanna.expect_text("⏰")
        head = t("sv", "<b>{count} question</b> has waited more than {time} for an answer:",
                 count=1, time="60 minuter")  # fmt: skip
        assert told.text.startswith("⏰ " + head)
        assert f"#{noord} · nederländska · har väntat 2 timmar" in told.text
        assert "Hoe word ik kandidaat voor de gemeenteraad?" in told.text
        nowhere = await question(bot, mira.id, "Waar vind ik mijn contributie?", None)
        # an admin from ADMIN_IDS who never consented: in the default language (nl)
        to_eva = await eva.expect_text(f"#{nowhere}")
        assert t("nl", FOOT) in to_eva.text
        await sanna.expect_silence(0.8)  # told once, and not of another region's question
        await eva.expect_silence(0.2)

        await sanna.send_text("/fragerapport")
        shown = await sanna.expect_text(t("sv", TITLE, weeks=8, where="Noord"))
        assert t("sv", RATED, helpful=0, rated=0, escalated=1, open=1) in shown.text
        await sanna.press("📄 " + t("sv", "As a CSV file"), message=shown)
        sheet = await sanna.next()
        assert sheet.document is not None and sheet.document.filename.endswith(".csv")
        assert sheet.text == t("sv", "The questions per week, as in /vragenrapport.")
        rows = list(csv.DictReader(io.StringIO(sheet.document.data.decode("utf-8-sig")),
                                   delimiter=";"))  # fmt: skip
        assert len(rows) == 8
        assert sum(int(r["asked"]) for r in rows) == 1  # Noord's only: not the one without
        assert sum(int(r["escalated"]) for r in rows) == 1

        await eva.send_text("/questionreport")
        everything = await eva.expect_text(t("en", "all regions"))
        assert t("en", RATED, helpful=0, rated=0, escalated=2, open=2) in everything.text

        await member.send_text("/vragenrapport")
        await member.expect_text(t("nl", "This command is for organisers only."))
        # the CSV button forged by a member: refused at once, no file
        await member.press_raw(1, QuestionCb(action="report_csv", qid=0).pack())
        await bot.sandbox.idle()
        assert member.alerts[-1:] == [t("nl", "This command is for organisers only.")]
        await member.expect_silence(0.2)
        assert sanna.alerts == [t("sv", "Here is the file.")]  # her tap answered with its outcome
