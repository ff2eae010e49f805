"""End to end: a regional organiser creates, imports and exports workshops of their own
region only; the import report survives HTML in the cells and hundreds of errors; no CSV
the bot sends holds a cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.services.profile import Level
from bot.services.roles import RoleName
from storage.models import Member, Workshop
from tests import factories
from tests.botrunner import I18N, RunningBot, running_bot, t

pytestmark = pytest.mark.e2e

ADMIN, OOST, OOST_NOORD = 8400, 8401, 8402
WHERE = (
    "Where? Send the town and, after a comma, the venue (Zwolle, Partijhuis), "
    "or a link for an online workshop."
)


async def give_role(bot: RunningBot, telegram_id: int, role: RoleName, region: str | None) -> None:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        await factories.give_role(session, telegram_id, role, region)


async def all_workshops(bot: RunningBot) -> list[Workshop]:
    assert bot.app is not None
    async with bot.app.sessions() as session:
        return list(await session.scalars(select(Workshop).order_by(Workshop.id)))


async def test_a_regional_organiser_creates_workshops_in_their_region(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        await give_role(bot, OOST, RoleName.ORGANISER, "oost")
        bram = bot.sandbox.user(OOST, "Bram", language_code="nl")
        await bram.send_text("/nieuw")
        await bram.expect_text("/stop")
        await bram.send_text("Campagne voeren")
        await bram.expect_text("2027-03-14 19:30 21:30")
        await bram.send_text("2031-04-02 19:30 21:30")
        await bram.expect_text("Zwolle, Partijhuis")
        await bram.send_text("Utrecht, Stadhuis")  # in West
        refusal = "{town} is not in your region ({regions}). Send a town in your region, "
        refusal += "or a link for an online workshop."
        await bram.expect_text(t("nl", refusal, town="Utrecht", regions="Oost"))
        await bram.send_text("Gent")  # in no region at all
        await bram.expect_text(t("nl", refusal, town="Gent", regions="Oost"))
        await bram.send_text("Deventer, De Hip")
        await bram.expect_text(t("nl", "How many places? Send a number."))
        await bram.send_text("12")
        await bram.expect_text("- ")
        await bram.send_text("-")
        summary = await bram.expect_text(t("nl", "Publish it?"))
        await bram.press("✅ " + t("nl", "Publish"), message=summary)
        await bram.expect_text("?start=w_")

        # online: their one region, without asking
        await bram.send_text("/nieuw")
        await bram.expect_text("/stop")
        await bram.send_text("Online campagne")
        await bram.expect_text("2027-03-14 19:30 21:30")
        await bram.send_text("2031-04-03 19:30 21:30")
        await bram.expect_text("Zwolle, Partijhuis")
        await bram.send_text("https://meet.example.org/campagne")
        await bram.expect_text(t("nl", "How many places? Send a number."))
        await bram.send_text("30")
        await bram.expect_text("- ")
        await bram.send_text("-")
        summary = await bram.expect_text(t("nl", "Publish it?"))
        await bram.press("✅ " + t("nl", "Publish"), message=summary)
        await bram.expect_text("?start=w_")
        made = await all_workshops(bot)
        assert [(w.town, w.region_code) for w in made] == [("Deventer", "oost"), (None, "oost")]


async def test_an_organiser_of_two_regions_picks_one_for_an_online_workshop(
    sqlite_url: str,
) -> None:
    async with running_bot(sqlite_url) as bot:
        await give_role(bot, OOST_NOORD, RoleName.ORGANISER, "oost")
        await give_role(bot, OOST_NOORD, RoleName.ORGANISER, "noord")
        sanna = bot.sandbox.user(OOST_NOORD, "Sanna", language_code="sv")
        await sanna.send_text("/ny")
        await sanna.expect_text("/stop")
        await sanna.send_text("Debatt online")
        await sanna.expect_text("2027-03-14 19:30 21:30")
        await sanna.send_text("2031-04-03 19:30 21:30")
        await sanna.expect_text(t("sv", WHERE))
        await sanna.send_text("https://meet.example.org/debatt")
        question = await sanna.expect_text(
            t("sv", "Which of your regions is this online workshop for?")
        )
        assert question.button_texts == ["Noord", "Oost"]
        await sanna.press_raw(question.message_id, "wnewr:west")  # forged: not hers
        await bot.sandbox.idle()
        assert sanna.alerts[-1] == t("sv", "That button is no longer valid.")
        await sanna.press("Noord", message=question)
        await sanna.expect_text(t("sv", "How many places? Send a number."))
        await sanna.send_text("20")
        await sanna.expect_text("- ")
        await sanna.send_text("-")
        summary = await sanna.expect_text(t("sv", "Publish it?"))
        await sanna.press("✅ " + t("sv", "Publish"), message=summary)
        await sanna.expect_text("?start=w_")
        assert [w.region_code for w in await all_workshops(bot)] == ["noord"]


HEADER = "title;starts_at;ends_at;town;capacity;trainer\n"


async def test_a_regional_organiser_imports_and_exports_only_their_region(
    sqlite_url: str,
) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        await give_role(bot, OOST, RoleName.ORGANISER, "oost")
        assert bot.app is not None
        async with bot.app.sessions() as session:
            await factories.onboarded(session, 8410, "Fleur", "Utrecht")  # did not agree
            await factories.onboarded(
                session, 8411, "Gijs", "Zwolle", talents="debatteren", level=Level.TEACH,
                findable=True,
            )  # fmt: skip
            utrecht = await factories.workshop(
                session, "Utrechtse avond", "Utrecht", region_code="west"
            )
            await factories.workshop(session, "Zwolse avond", "Zwolle", region_code="oost")
            west_trainer = await session.scalar(select(Member.id).where(Member.telegram_id == 8410))
            (await session.get(Workshop, utrecht)).trainer_id = west_trainer  # type: ignore[union-attr]
            await session.commit()
        bram = bot.sandbox.user(OOST, "Bram", language_code="en")

        await bram.send_text("/workshops_csv")
        sheet = await bram.next()
        assert sheet.document is not None
        exported = sheet.document.data.decode("utf-8-sig")
        assert "Zwolse avond" in exported
        assert "Utrechtse avond" not in exported and "8410" not in exported

        plan = HEADER + "Lokaal;2031-05-01 10:00;2031-05-01 12:00;Deventer;10;\n"
        plan += "Elders;2031-05-02 10:00;2031-05-02 12:00;Utrecht;10;\n"
        plan += "Met Fleur;2031-05-03 10:00;2031-05-03 12:00;Zwolle;10;8410\n"
        plan += "Met een vreemde;2031-05-04 10:00;2031-05-04 12:00;Zwolle;10;8499\n"
        await bram.send_document("plan.csv", plan.encode())
        report = await bram.expect_text(
            t("en", "Nothing was imported. Please correct these and send the file again:")
        )
        outside = "Line {line}, column {column}: “{value}” is not in your region; "
        outside += "you can import workshops of your own region only."
        assert t("en", outside, line=3, column="town", value="Utrecht") in report.text
        trainer = "Line {line}, column {column}: {value} cannot be named as trainer. "
        trainer += "Name someone with the trainer role, or a member who marked a talent "
        trainer += "they can teach."
        # a member who did not agree reads exactly like a stranger
        assert t("en", trainer, line=4, column="trainer", value="8410") in report.text
        assert t("en", trainer, line=5, column="trainer", value="8499") in report.text
        assert "Lokaal" not in {w.title for w in await all_workshops(bot)}

        good = HEADER + "Lokaal;2031-05-01 10:00;2031-05-01 12:00;Deventer;10;8411\n"
        await bram.send_document("plan.csv", good.encode())
        await bram.expect_text(t("en", "{count} workshop imported.", count=1))

        # the admin exports every region
        eva = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        await eva.send_text("/workshops_csv")
        everything = (await eva.next()).document
        assert everything is not None
        text = everything.data.decode("utf-8-sig")
        assert all(title in text for title in ("Utrechtse avond", "Zwolse avond", "Lokaal"))


async def test_the_import_report_survives_html_and_hundreds_of_errors(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        eva = bot.sandbox.user(ADMIN, "Eva", language_code="nl")
        html = HEADER + "Debat;2031-05-01 10:00;2031-05-01 12:00;<b>Atlantis & co;10;\n"
        await eva.send_document("plan.csv", html.encode())
        report = await eva.expect_text(
            t("nl", "Nothing was imported. Please correct these and send the file again:")
        )
        template = t("nl", "Line {line}, column {column}: “{value}” is not a town I know.")
        expected = template.format(line=2, column="town", value="<b>Atlantis & co")
        assert expected in report.text  # as typed: escaped for Telegram, not taken as HTML

        rows = "".join(
            f"Debat {n};2031-05-01 10:00;2031-05-01 12:00;Zwolle;veel;\n" for n in range(500)
        )
        eva.drain()
        await eva.send_document("plan.csv", (HEADER + rows).encode())
        header = t("nl", "Nothing was imported. Please correct these and send the file again:")
        messages = [await eva.expect_text(header)]
        while "…" not in messages[-1].text.splitlines()[-1]:
            messages.append(await eva.next())
        assert len(messages) > 1
        assert all(len(m.text) <= 4096 for m in messages)
        shown = sum(line.startswith("• ") for m in messages for line in m.text.splitlines())
        hidden = 500 - shown
        more = I18N.gettext(
            "…and {count} more problem.", "…and {count} more problems.", hidden, locale="nl"
        )
        assert messages[-1].text.endswith(more.format(count=hidden))
        assert shown > 25  # the old report stopped at 25
        assert await all_workshops(bot) == []


async def test_the_attendance_list_keeps_names_as_text(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        assert bot.app is not None
        async with bot.app.sessions() as session:
            trainer = await factories.onboarded(session, 8420, "Jet", "Utrecht")
            trainer_id = trainer.id
            item = await factories.workshop(
                session, "Train de trainer", "Utrecht", starts_in=timedelta(days=3),
                trainer_id=trainer_id,
            )  # fmt: skip
            for tid, name in ((8421, '=HYPERLINK("http://evil.example","Kai")'), (8422, "@Lot")):
                await factories.onboarded(session, tid, name, "Utrecht")
        for tid in (8421, 8422):
            person = bot.sandbox.user(tid, "x", language_code="nl")
            await person.send_text(f"/start w_{item}")
            detail = await person.expect_text("Train de trainer")
            await person.press("✅ " + t("nl", "Sign me up"), message=detail)
            await person.next()
        jet = bot.sandbox.user(8420, "Jet", language_code="nl")
        await jet.send_text(f"/workshop {item}")
        view = await jet.expect_text("Train de trainer")
        await jet.press("📄 " + t("nl", "Attendance list (CSV)"), message=view)
        sheet = await jet.next()
        assert sheet.document is not None
        text = sheet.document.data.decode("utf-8-sig")
        names = [row[0] for row in csv.reader(io.StringIO(text, newline=""), delimiter=";")]
        assert names == ["name", '\'=HYPERLINK("http://evil.example","Kai")', "'@Lot"]
