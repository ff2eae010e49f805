"""The anonymous survey end to end, in nl, en and sv: an admin publishes the template, members
answer it by button (one types a remark), a second try is refused kindly, and after closing
the admin reads results with small groups hidden, also from subtraction."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import sealing
from bot.sealing import new_key
from bot.services import survey
from bot.services.roles import RoleName
from sandbox.users import SandboxUser
from storage.models import SurveyAnswer, SurveyResponse
from tests import factories
from tests.botrunner import RunningBot, running_bot, t

pytestmark = pytest.mark.e2e

ADMIN, BRAM = 9101, 9102
PEOPLE = ((9111, "Anna", "nl"), (9112, "Eric", "en"), (9113, "Sanna", "sv"))
KEY = new_key()
THANKS = "Thank you! Your answers are stored anonymously. Nobody can see which answers were yours."
ALREADY = "You have already answered this survey: thank you! Everyone answers once."
PROMISE = (
    "Your answers are stored without your name or Telegram id. I only note that you took "
    "part, so that everyone answers once; that note does not point to your answers. "
    "Afterwards nobody, you included, can see or change which answers were yours. Admins "
    "see results only for groups of at least 5 people."
)
NO_KEY = (
    "The survey needs CONFIDENTIAL_KEY: with it I can make sure everyone answers once "
    "without storing who gave which answers. Make one with "
    "<code>ledenbot confidential-key</code>, set CONFIDENTIAL_KEY in the environment and "
    "restart the bot."
)
LATER = "Lost this message? /enquete brings it back until you have answered."
REMARKS = {"nl": "Meer aandacht voor nieuwe leden", "sv": "Bra möten, men för sent på kvällen"}


async def setup(bot: RunningBot) -> None:
    """Three members in noord who will chat; an organiser who may not see results."""
    assert bot.app is not None
    async with bot.app.sessions() as session:
        for tid, name, lang in PEOPLE:
            await factories.onboarded(session, tid, name, "Groningen", locale=lang, region="noord")
        await factories.give_role(session, BRAM, RoleName.ORGANISER, None)


async def seed_responses(bot: RunningBot, survey_id: int) -> None:
    """Ten people who answered elsewhere: 3 more in noord, 5 in zuid, 2 in oost."""
    assert bot.app is not None
    keys = sealing.keyring(KEY)
    regions = ["noord"] * 3 + ["zuid"] * 5 + ["oost"] * 2
    async with bot.app.sessions() as session:
        for i, region in enumerate(regions):
            await survey.submit(
                session, keys, survey_id, 5_000_000_000 + i, region_code=region, group="member",
                answers=[2, 2, 2, 1, 1, 0, 2, None],
            )  # fmt: skip


async def answer_all(user: SandboxUser, lang: str, remark: str | None) -> None:
    """From the invitation's button to the thanks: the first option, 4 on every scale."""
    invitation = await user.expect_text(survey.template().titles[lang], timeout=10)
    assert t(lang, PROMISE) in invitation.text
    await user.press("📝 " + t(lang, "Answer the survey"), message=invitation)
    questions = survey.template().questions
    for number, q in enumerate(questions, start=1):
        view = await user.expect_text(
            t(lang, "Question {number} of {count}", number=number, count=len(questions))
        )
        assert q.texts[lang] in view.text
        if q.kind == "scale":
            await user.press("4", message=view)
        elif q.kind == "choice":
            await user.press(q.options[lang][0], message=view)
        elif remark is None:
            await user.press("⏭ " + t(lang, "Skip"), message=view)
        else:
            await user.send_sticker()  # not text: asked again, nothing stored
            await user.expect_text(
                t(lang, "Type your answer (at most 1,000 characters), or tap Skip.")
            )
            await user.send_text(remark)
    await user.expect_text(t(lang, THANKS))
    # Again from the same invitation: refused kindly, nothing asked.
    await user.press("📝 " + t(lang, "Answer the survey"), message=invitation)
    await user.sandbox.idle()
    assert user.alerts[-1] == t(lang, ALREADY)


async def test_publish_answer_once_and_results_per_group_of_five(database_url: str) -> None:
    async with running_bot(database_url, admin_ids=str(ADMIN), confidential_key=KEY) as bot:
        await setup(bot)
        bram = bot.sandbox.user(BRAM, "Bram", language_code="nl")
        await bram.send_text("/enquete")  # an organiser, not a member: no results, no survey
        await bram.expect_text(t("nl", "Please give your consent first: send /start."))

        eva = bot.sandbox.user(ADMIN, "Eva", language_code="en")
        await eva.send_text("/enquete")
        await eva.expect_text(t("en", "No surveys yet."))
        await eva.press("➕ " + t("en", "New: the social-safety survey"))
        preview = await eva.expect_text(
            t("en", "Draft #{id}: {title}", id=1, title="Social safety survey")
        )
        assert survey.template().questions[0].texts["en"] in preview.text
        await eva.press("📨 " + t("en", "Publish #{id}", id=1))
        await bot.sandbox.idle()
        assert eva.alerts[-1] == t("en", "Survey #{id} is open: {count} members invited.", id=1,
                                   count=3)  # fmt: skip

        users = {
            lang: bot.sandbox.user(tid, name, language_code=lang) for tid, name, lang in PEOPLE
        }
        for lang, user in users.items():
            await answer_all(user, lang, REMARKS.get(lang))
        await seed_responses(bot, 1)

        # Nothing the members wrote is tied to them: no column for it, no Telegram id in a row.
        assert bot.app is not None
        async with bot.app.sessions() as session:
            rows = (await session.execute(select(SurveyResponse.__table__))).all()
            answers = (await session.execute(select(SurveyAnswer.__table__))).all()
        assert len(rows) == 13 and len(answers) == 13 * 8
        ids = {tid for tid, _n, _l in PEOPLE}
        assert not any(value in ids for row in [*rows, *answers] for value in row)

        await eva.send_text("/enquete")
        overview = await eva.expect_text(t("en", "<b>Surveys</b>"))
        await eva.press("⏹ " + t("en", "Close #{id}", id=1), message=overview)
        await bot.sandbox.idle()
        assert eva.alerts[-1] == t("en", "Survey #{id} is closed: the results are ready.", id=1)
        overview = await eva.expect_text(t("en", "<b>Surveys</b>"))  # the overview, edited
        assert overview.edited and t("en", "closed") in overview.text
        await eva.press("📊 " + t("en", "Results #{id}", id=1), message=overview)
        first = await eva.expect_text(t("en", "<b>Results of survey #{id}: {title}</b>", id=1,
                                        title="Social safety survey"))  # fmt: skip
        await bot.sandbox.idle()
        shown = "\n".join(m.text for m in [first, *eva.unseen])
        assert t("en", "Everyone ({count})", count=13) in shown
        assert "Noord (6)" in shown  # 3 who chatted and 3 more
        # oost (2) is hidden, and so is zuid (5): else 13 - 6 - 5 would give oost away
        assert "Oost" not in shown and "Zuid" not in shown
        assert t("en", "The other groups together ({count})", count=7) in shown
        assert "Not shown on their own: 2 groups" in shown
        assert t("en", "members") + " (13)" in shown
        for remark in REMARKS.values():  # all together, after the groups
            assert shown.index(remark) > shown.index(t("en", "Per role group"))
        assert all(len(m.text) <= 4096 for m in eva.bot_messages)
        # An organiser with a forged results button sees nothing.
        await bram.press_raw(1, "svadm:results:1:0")
        await bot.sandbox.idle()
        assert bram.alerts[-1] == t("nl", "This command is for administrators only.")
        assert not any("Noord (6)" in m.text for m in bram.bot_messages)


async def test_without_the_key_the_admin_is_told_what_to_set(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN)) as bot:
        eva = bot.sandbox.user(ADMIN, "Eva", language_code="sv")
        await eva.send_text("/enkat")
        reply = await eva.expect_text("CONFIDENTIAL_KEY")
        assert reply.text == t("sv", NO_KEY)


async def test_stop_forgets_the_answers_so_far(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN), confidential_key=KEY) as bot:
        await setup(bot)
        assert bot.app is not None
        async with bot.app.sessions() as session:
            created = await survey.create(session, survey.template())
            await survey.publish(session, created.id, lambda s, loc: _letter(), ("nl",))
        anna = bot.sandbox.user(PEOPLE[0][0], "Anna", language_code="nl")
        await anna.press_raw(1, f"svy:go:{created.id}")  # the button, wherever it was
        view = await anna.expect_text(t("nl", "Question {number} of {count}", number=1, count=8))
        await anna.press("4", message=view)
        view = await anna.expect_text(t("nl", "Question {number} of {count}", number=2, count=8))
        await anna.press_raw(view.message_id, f"sva:{created.id}:0:5")  # a stale question
        await bot.sandbox.idle()
        assert anna.alerts[-1] == t("nl", "That button is no longer valid.")
        await anna.press("✖️ " + t("nl", "Stop"), message=view)
        await bot.sandbox.idle()
        assert anna.alerts[-1] == t("nl", "Stopped: I kept none of your answers.")
        await anna.press_raw(view.message_id, f"sva:{created.id}:1:3")  # after stopping
        await bot.sandbox.idle()
        assert anna.alerts[-1] == t("nl", "That button is no longer valid.")
        async with bot.app.sessions() as session:
            assert (await session.execute(select(SurveyResponse.id))).all() == []
        # Stopped is not answered: /enquete brings the invitation back, and she starts again.
        await anna.send_text("/enquete")
        invitation = await anna.expect_text(survey.template().titles["nl"])
        assert t("nl", LATER) in invitation.text
        await anna.press("📝 " + t("nl", "Answer the survey"), message=invitation)
        await anna.expect_text(t("nl", "Question {number} of {count}", number=1, count=8))
        eric = bot.sandbox.user(PEOPLE[1][0], "Eric", language_code="en")
        async with bot.app.sessions() as session:
            await survey.submit(
                session, sealing.keyring(KEY), created.id, PEOPLE[1][0], region_code=None,
                group="member", answers=[3, 3, 3, 0, 0, 0, 3, None],
            )  # fmt: skip
        await eric.send_text("/enquete")  # answered: nothing waits
        await eric.expect_text(t("en", "No survey is waiting for you."))


def _letter():  # type: ignore[no-untyped-def]
    from bot.outbox import Letter

    return Letter(chat_id=0, text="uitnodiging")


TOOK_PART = (
    "You took part in {count} survey. Your answers are anonymous: I cannot tell which were "
    "yours, so they are not in this file.",
    "You took part in {count} surveys. Your answers are anonymous: I cannot tell which were "
    "yours, so they are not in this file.",
)


async def test_my_data_tells_and_forget_me_deletes_the_participation(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN), confidential_key=KEY) as bot:
        await setup(bot)
        assert bot.app is not None
        tid, name, lang = PEOPLE[2]
        async with bot.app.sessions() as session:
            created = await survey.create(session, survey.template())
            await survey.publish(session, created.id, lambda s, loc: _letter(), ("nl",))
            await survey.submit(
                session, sealing.keyring(KEY), created.id, tid, region_code="noord",
                group="member", answers=[3, 3, 3, 0, 0, 0, 3, "Hej"],
            )  # fmt: skip
        sanna = bot.sandbox.user(tid, name, language_code=lang)
        await sanna.send_text("/mijngegevens")
        summary = await sanna.expect_text(t(lang, TOOK_PART[0], count=1)[:40])
        assert t(lang, TOOK_PART[0], count=1) in summary.text
        await sanna.send_text("/vergeetmij")
        confirm = await sanna.next()
        await sanna.press(t(lang, "Yes, erase everything"), message=confirm)
        await bot.sandbox.idle()
        async with bot.app.sessions() as session:
            assert await survey.answered_by(session, sealing.keyring(KEY), tid) == []
            assert len((await session.execute(select(SurveyResponse.id))).all()) == 1


async def test_an_admin_makes_a_survey_from_a_csv_file(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, admin_ids=str(ADMIN), confidential_key=KEY) as bot:
        eva = bot.sandbox.user(ADMIN, "Eva", language_code="nl")
        await eva.send_text("/enquete")
        overview = await eva.expect_text(t("nl", "<b>Surveys</b>"))
        await eva.press("📥 " + t("nl", "New: from a CSV file"), message=overview)
        example = await eva.next()
        assert example.document is not None
        assert example.document.data.decode().startswith("kind,nl,en,sv")
        mine = example.document.data.decode().replace("scale,", "schaal,", 1)
        await eva.send_document("peiling.csv", mine.encode())
        report = await eva.expect_text(
            t("nl", "No survey made. Please correct these and send the file again:")
        )
        assert t("nl", "Line {line}: {problem}", line=4, problem="") in report.text
        await eva.send_document("peiling.csv", GOOD_FILE.encode())
        preview = await eva.expect_text(t("nl", "Draft #{id}: {title}", id=1, title="Peiling"))
        assert "Ken je de vertrouwenspersoon?" in preview.text
        assert "📨 " + t("nl", "Publish #{id}", id=1) in preview.button_texts
        # the workshop import did not see it, and the state is over: a CSV now is workshops
        await eva.send_document("workshops.csv", b"title\n")
        await eva.expect_text(
            t("nl", "Nothing was imported. Please correct these and send the file again:")
        )


GOOD_FILE = """kind;nl;en
title;Peiling;Survey
scale;Voel je je veilig?;Do you feel safe?
scale;Word je gehoord?;Are you heard?
choice;Ken je de vertrouwenspersoon?;Do you know the counsellor?
option;Ja;Yes
option;Nee;No
scale;Vertrouw je de klachtencommissie?;Do you trust the complaints committee?
text;Nog iets?;Anything else?
"""
