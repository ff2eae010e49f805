"""The survey's views within Telegram's limits: results of the largest survey (10 questions,
six long options each, a 1,000-character remark from everyone, 30 regions) split into
messages of at most 4,096 characters, nothing lost; the invitation and every question too."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot import survey_views
from bot.formatting import split_lines
from bot.services import survey, survey_results
from bot.services.survey import QuestionDef, SurveyDef
from handlers.survey import question_view
from storage.models import Region
from tests.botrunner import I18N
from tests.test_survey_service import KEYS

LANGS = ("nl", "en", "sv")
REGIONS = [f"r{i:02d}" for i in range(30)]


def largest() -> SurveyDef:
    option = "Ø" * (survey.MAX_OPTION - 3)
    choice = QuestionDef(
        "choice",
        {lang: "Vraag " + "x" * (survey.MAX_QUESTION - 6) for lang in LANGS},
        {lang: [f"{i}. {option}" for i in range(survey.MAX_OPTIONS)] for lang in LANGS},
    )
    text = QuestionDef("text", {lang: "&" * survey.MAX_QUESTION for lang in LANGS}, {})
    return SurveyDef({lang: "T" * survey.MAX_TITLE for lang in LANGS}, {}, [choice] * 9 + [text])


async def test_the_largest_results_fit_in_messages(session: AsyncSession) -> None:
    session.add_all(Region(code=code, name=f"Regio {code}", position=9) for code in REGIONS)
    await session.commit()
    survey.validate(largest())
    created = await survey.create(session, largest())
    await survey.publish(session, created.id, lambda s, loc: _letter(), ("nl",))
    people = [(region, n) for region in REGIONS for n in range(5)]
    for i, (region, n) in enumerate(people):
        group = survey.ROLE_GROUPS[i % 3]
        remark = ("&<" * 500)[: survey.TEXT_LIMIT - 4] + f"{i:04d}"
        await survey.submit(
            session, KEYS, created.id, 6_000_000_000 + i, region_code=region, group=group,
            answers=[n % survey.MAX_OPTIONS] * 9 + [remark],
        )  # fmt: skip
    await survey.close(session, created.id)
    results = await survey_results.results(session, created.id, REGIONS)
    names = {code: f"Regio {code}" for code in REGIONS}
    for lang in LANGS:
        with I18N.context(), I18N.use_locale(lang):
            chunks = split_lines(survey_views.result_lines(results, lang, names))
            data = survey_views.results_csv(results, lang, names)
        assert len(chunks) > 10 and all(len(c) <= 4096 for c in chunks)
        whole = "\n".join(chunks)
        assert all(f"Regio {code} (5)" in whole for code in REGIONS)
        assert all(f"{i:04d}" in whole for i in range(len(people)))  # every remark, whole
        rows = list(csv.reader(io.StringIO(data.decode())))
        assert {r[1] for r in rows[1:] if r[0] == "region"} == {f"Regio {c}" for c in REGIONS}
        assert not any(r[0] == "region" and r[5] == "" for r in rows[1:])  # no text per group


def test_every_question_and_the_invitation_fit() -> None:
    biggest = largest()
    for lang in LANGS:
        with I18N.context(), I18N.use_locale(lang):
            for position, q in enumerate(biggest.questions):
                row = _question(q, position)
                text, markup = question_view(row, len(biggest.questions), lang)
                assert len(text) <= 4096
                buttons = [b for line in markup.inline_keyboard for b in line]
                assert len(buttons) <= 100
                assert all(len((b.callback_data or "").encode()) <= 64 for b in buttons)


def _question(q: QuestionDef, position: int):  # type: ignore[no-untyped-def]
    from storage.models import SurveyQuestion

    return SurveyQuestion(
        id=position + 1, survey_id=123456, position=position, kind=q.kind,
        texts=dict(q.texts), options={k: list(v) for k, v in q.options.items()},
    )  # fmt: skip


def _letter():  # type: ignore[no-untyped-def]
    from bot.outbox import Letter

    return Letter(chat_id=0, text="-")


def test_the_survey_loads_no_cryptography_at_start() -> None:
    """Idle memory is a target: `cryptography` (~8 MiB) comes with the first survey use."""
    code = (
        "import sys; import bot.app; from handlers import root_router; root_router(); "
        "from bot.services import privacy, survey; print('cryptography' in sys.modules)"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert done.stdout.strip() == "False"
