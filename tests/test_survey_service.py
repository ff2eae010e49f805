"""The anonymous survey as a service: one response per member (also when submits race),
nothing in the response tables that names a member, and results only per group of five,
also against recovery by subtraction. Database tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import BigInteger, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import outbox
from bot.sealing import Keyring, new_key
from bot.services import privacy, survey, survey_results
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import (
    Base,
    Member,
    OutboxRow,
    SurveyAnswer,
    SurveyParticipation,
    SurveyResponse,
)
from tests import factories

KEYS = Keyring.from_text(new_key())
START = 770_000
# The template's answers: scale, scale, scale, choice(4), choice(3), choice(3), scale, text.
ANSWERS: list[int | str | None] = [4, 5, 3, 0, 1, 2, 4, "Meer trainingen graag"]


def render(s: object, locale: str) -> outbox.Letter:
    return outbox.Letter(chat_id=0, text=f"invite {locale}")


async def open_template(session: AsyncSession) -> int:
    created = await survey.create(session, survey.template())
    await survey.publish(session, created.id, render, ("nl", "en", "sv"))
    return created.id


async def answer(
    session: AsyncSession,
    survey_id: int,
    telegram_id: int,
    region: str | None = "noord",
    group: str = "member",
    answers: list[int | str | None] | None = None,
) -> None:
    await survey.submit(
        session, KEYS, survey_id, telegram_id, region_code=region, group=group,
        answers=answers or ANSWERS,
    )  # fmt: skip


def test_the_template_keeps_the_rules_in_every_language() -> None:
    template = survey.template()
    survey.validate(template)
    assert len(template.questions) == 8
    assert [q.kind for q in template.questions].count("text") == 1
    for q in template.questions:
        assert set(q.texts) == {"nl", "en", "sv"}
        if q.kind == "choice":
            assert set(q.options) == {"nl", "en", "sv"}


@pytest.mark.parametrize(
    "change",
    [
        lambda qs: qs[:4],  # too few
        lambda qs: [*qs, *qs[:3]],  # 11: too many
        lambda qs: [*qs[:6], qs[7], qs[7]],  # two free texts
        lambda qs: [*qs[:3], dataclasses.replace(qs[3], options={"nl": ["Ja"]}), *qs[4:]],
    ],
)
def test_a_survey_outside_the_rules_is_refused(change) -> None:  # type: ignore[no-untyped-def]
    template = survey.template()
    bad = dataclasses.replace(template, questions=change(list(template.questions)))
    with pytest.raises(survey.BadSurvey):
        survey.validate(bad)


async def test_answer_once_and_nothing_names_the_member(session: AsyncSession) -> None:
    me = START + 1
    survey_id = await open_template(session)
    await survey.may_answer(session, KEYS, survey_id, me)
    await answer(session, survey_id, me)
    with pytest.raises(survey.AlreadyAnswered):
        await survey.may_answer(session, KEYS, survey_id, me)
    with pytest.raises(survey.AlreadyAnswered):
        await answer(session, survey_id, me)
    assert await session.scalar(select(func.count()).select_from(SurveyResponse)) == 1
    # No column of the response tables can hold a person: no member id, no Telegram id.
    for model in (SurveyResponse, SurveyAnswer, SurveyParticipation):
        for column in model.__table__.columns:
            assert not isinstance(column.type, BigInteger), column
            assert not any(fk.target_fullname == "members.id" for fk in column.foreign_keys)
    for model in (SurveyResponse, SurveyAnswer, SurveyParticipation):
        for row in (await session.execute(select(model.__table__))).all():
            for value in row:
                assert value != me
                assert not (isinstance(value, str) and str(me) in value)
                assert not (isinstance(value, bytes) and str(me).encode() in value)
    stored = (await session.execute(select(SurveyResponse.__table__))).one()
    assert set(stored._mapping) == {"id", "survey_id", "region_code", "role_group"}
    assert len(stored.id) == 32 and int(stored.id, 16) >= 0  # random, not a sequence
    tag = await session.scalar(select(SurveyParticipation.tag))
    assert tag is not None and len(tag) == 32
    assert await survey.answered_by(session, KEYS, me) == [survey_id]
    assert await survey.answered_by(session, Keyring.from_text(new_key()), me) == []


async def test_concurrent_submits_give_one_response(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    me = START + 2
    async with sessions() as session:
        survey_id = await open_template(session)

    async def one() -> str:
        async with sessions() as session:
            try:
                await answer(session, survey_id, me)
            except survey.AlreadyAnswered:
                return "refused"
            return "stored"

    outcomes = await asyncio.gather(*(one() for _ in range(8)))
    assert sorted(outcomes) == ["refused"] * 7 + ["stored"]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(SurveyResponse)) == 1
        assert await session.scalar(select(func.count()).select_from(SurveyParticipation)) == 1


async def test_bad_answers_and_closed_surveys_change_nothing(session: AsyncSession) -> None:
    survey_id = await open_template(session)
    for bad in ([6, *ANSWERS[1:]], [*ANSWERS[:3], 4, *ANSWERS[4:]], ANSWERS[:-1],
                [*ANSWERS[:-1], "x" * 1001], [*ANSWERS[:-1], 3]):  # fmt: skip
        with pytest.raises(survey.BadAnswers):
            await answer(session, survey_id, START + 3, answers=bad)
    await answer(session, survey_id, START + 3, answers=[*ANSWERS[:-1], None])  # text skipped
    with pytest.raises(survey.Unavailable):
        await survey.submit(session, None, survey_id, 1, region_code=None, group="member",
                            answers=ANSWERS)  # fmt: skip
    await survey.close(session, survey_id)
    with pytest.raises(survey.NotOpen):
        await answer(session, survey_id, START + 4)
    with pytest.raises(survey.WrongStatus):
        await survey.close(session, survey_id)
    assert await session.scalar(select(func.count()).select_from(SurveyResponse)) == 1


async def test_publishing_invites_each_member_in_their_language(session: AsyncSession) -> None:
    await factories.bare_members(session, 2, START + 10, locale="en")
    await factories.bare_members(session, 1, START + 20, locale="sv")
    await factories.bare_members(session, 1, START + 30, mute_news=True)  # opted out
    survey_id = (await survey.create(session, survey.template())).id
    assert await survey.publish(session, survey_id, render, ("nl", "en", "sv")) == 3
    rows = (await session.execute(select(OutboxRow.chat_id, OutboxRow.payload))).all()
    assert sorted((c, p["parts"][0]["text"]) for c, p in rows) == [
        (START + 10, "invite en"), (START + 11, "invite en"), (START + 20, "invite sv"),
    ]  # fmt: skip
    with pytest.raises(survey.WrongStatus):  # published twice: nobody invited twice
        await survey.publish(session, survey_id, render, ("nl",))


@pytest.mark.parametrize(
    ("sizes", "hidden"),
    [
        ({"noord": 6, "oost": 7}, set()),
        ({"noord": 6, "oost": 4}, {"noord", "oost"}),  # one hidden: its neighbour too
        ({"noord": 6, "oost": 7, "west": 2}, {"noord", "west"}),  # the next smallest
        ({"noord": 9, "oost": 2, "west": 3}, {"oost", "west"}),  # together five: enough
        ({"noord": 9, "oost": 1, "west": 1, None: 1}, {"oost", "west", None, "noord"}),
        ({"noord": 4}, {"noord"}),
        ({"noord": 5}, set()),
    ],
)
def test_small_groups_are_hidden_also_against_subtraction(
    sizes: dict[str | None, int], hidden: set[str | None]
) -> None:
    found = survey_results.hidden_groups(sizes)
    assert found == hidden
    concealed = sum(n for k, n in sizes.items() if k in found)
    # what subtraction can give: nothing, or a group of five or more, or everything
    assert concealed in (0, sum(sizes.values())) or concealed >= survey.MIN_GROUP


async def test_results_per_group_of_five(session: AsyncSession) -> None:
    survey_id = await open_template(session)
    people = [("noord", "member")] * 6 + [("oost", "member")] * 3 + [("west", "active")] * 3
    for i, (region, group) in enumerate(people):
        scale = 5 if region == "noord" else 1
        text = f"opmerking {i}" if i % 4 == 0 else None
        await answer(session, survey_id, START + 100 + i, region, group,
                     [scale, scale, scale, 1, 0, 0, scale, text])  # fmt: skip
    with pytest.raises(survey.WrongStatus):  # open: no figures yet
        await survey_results.results(session, survey_id)
    await survey.close(session, survey_id)
    found = await survey_results.results(session, survey_id, ["noord", "oost", "west", "zuid"])
    assert found.respondents == 12 and found.overall is not None
    assert found.overall.stats[0].counts == (6, 0, 0, 0, 6)
    assert found.overall.stats[0].average == 3.0
    assert found.overall.stats[3].counts == (0, 12, 0, 0)
    assert found.overall.stats[7].answered == 3
    regions = found.by_region
    assert regions is not None
    assert [(g.key, g.respondents) for g in regions.shown] == [("noord", 6)]
    assert regions.others is not None and regions.others.respondents == 6
    assert regions.others.stats[0].average == 1.0
    assert regions.hidden == 2
    roles = found.by_role
    assert roles is not None
    # active 3 is hidden, so member 9 is too (else 12 - 9 gives the three away): nothing
    assert roles.shown == () and roles.others is None and roles.hidden == 2
    assert found.texts == ("opmerking 0", "opmerking 4", "opmerking 8")


async def test_fewer_than_five_show_nothing(session: AsyncSession) -> None:
    survey_id = await open_template(session)
    for i in range(4):
        await answer(session, survey_id, START + 200 + i)
    await survey.close(session, survey_id)
    found = await survey_results.results(session, survey_id)
    assert found.respondents == 4
    assert found.overall is None and found.by_region is None and found.texts == ()


async def test_forgetting_deletes_the_tag_and_keeps_the_anonymous_response(
    session: AsyncSession,
) -> None:
    me = START + 300
    await factories.bare_members(session, 1, me)
    survey_id = await open_template(session)
    await answer(session, survey_id, me)
    assert await survey.forget(session, KEYS, me) == 1
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(SurveyParticipation)) == 0
    assert await session.scalar(select(func.count()).select_from(SurveyResponse)) == 1
    assert await survey.answered_by(session, KEYS, me) == []
    assert await session.scalar(select(func.count()).select_from(Member)) == 1
    assert "survey_responses" in Base.metadata.tables


async def test_my_data_shows_participation_and_forget_me_deletes_it(session: AsyncSession) -> None:
    me = START + 400
    await factories.bare_members(session, 1, me)
    survey_id = await open_template(session)
    await answer(session, survey_id, me)
    assert (await privacy.export(session, me, KEYS))["survey_participation"] == [
        {"survey_id": survey_id}
    ]
    assert (await privacy.export(session, me))["survey_participation"] == []  # no key: unknown
    erased = await privacy.erase(session, me, KEYS)
    assert erased.rows_deleted >= 2  # the member and the tag
    assert await session.scalar(select(func.count()).select_from(SurveyParticipation)) == 0
    assert await session.scalar(select(func.count()).select_from(SurveyResponse)) == 1


async def test_the_sqlite_file_holds_no_respondents_telegram_id(sqlite_url: str) -> None:
    """Byte for byte: neither the digits nor SQLite's integer encodings of the respondents'
    Telegram ids are anywhere in the database file after they answered."""
    engine = create_engine(sqlite_url)
    await upgrade(engine)
    respondents = [7_123_456_789 + 7919 * i for i in range(6)]
    async with create_session_factory(engine)() as session:
        survey_id = await open_template(session)
        for tid in respondents:
            await answer(session, survey_id, tid)
        tables = await session.execute(
            text("SELECT name, sql FROM sqlite_master WHERE name LIKE 'survey_%' AND type='table'")
        )
        unordered = {name for name, sql in tables if sql.rstrip().endswith("WITHOUT ROWID")}
        assert unordered == {"survey_responses", "survey_answers", "survey_participation"}
    await engine.dispose()
    raw = await asyncio.to_thread(Path(sqlite_url.removeprefix("sqlite+aiosqlite:///")).read_bytes)
    assert b"Meer trainingen graag" in raw  # the answers are there
    for tid in respondents:
        assert str(tid).encode() not in raw
        assert tid.to_bytes(8, "big") not in raw and tid.to_bytes(6, "big") not in raw
