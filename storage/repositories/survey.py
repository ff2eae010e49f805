"""Queries about surveys. The response tables are written and read only here, and never
together with anything that names a person."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Survey,
    SurveyAnswer,
    SurveyParticipation,
    SurveyQuestion,
    SurveyResponse,
)


@dataclass(frozen=True, slots=True)
class Row:
    """One response as results read it: its grouping keys and its answers by question id."""

    region_code: str | None
    role_group: str
    answers: dict[int, int | str | None]


async def get(session: AsyncSession, survey_id: int) -> Survey | None:
    return await session.get(Survey, survey_id)


async def all_surveys(session: AsyncSession) -> list[Survey]:
    return list(await session.scalars(select(Survey).order_by(Survey.id.desc())))


async def questions(session: AsyncSession, survey_id: int) -> list[SurveyQuestion]:
    query = (
        select(SurveyQuestion)
        .where(SurveyQuestion.survey_id == survey_id)
        .order_by(SurveyQuestion.position)
    )
    return list(await session.scalars(query))


async def move(session: AsyncSession, survey_id: int, frm: str, to: str, **values: object) -> bool:
    """One step of a survey's life, taken once however many ask at the same time."""
    result = await session.execute(
        update(Survey)
        .where(Survey.id == survey_id, Survey.status == frm)
        .values(status=to, **values)
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def has_participated(session: AsyncSession, survey_id: int, tag: bytes) -> bool:
    query = select(SurveyParticipation.tag).where(
        SurveyParticipation.survey_id == survey_id, SurveyParticipation.tag == tag
    )
    return (await session.scalar(query)) is not None


async def add_participation(session: AsyncSession, survey_id: int, tag: bytes) -> None:
    """The first write of a submit: the primary key refuses a second one (IntegrityError)."""
    await session.execute(insert(SurveyParticipation).values(survey_id=survey_id, tag=tag))


async def add_response(
    session: AsyncSession,
    response_id: str,
    survey_id: int,
    region_code: str | None,
    role_group: str,
    answers: Sequence[tuple[int, int | None, str | None]],
) -> None:
    await session.execute(
        insert(SurveyResponse).values(
            id=response_id, survey_id=survey_id, region_code=region_code, role_group=role_group
        )
    )
    await session.execute(
        insert(SurveyAnswer),
        [
            {"response_id": response_id, "question_id": q, "value": v, "text": t}
            for q, v, t in answers
        ],
    )


async def respondents(session: AsyncSession, survey_ids: Collection[int]) -> dict[int, int]:
    """Responses per survey (from the participation rows: the same number)."""
    query = (
        select(SurveyParticipation.survey_id, func.count())
        .where(SurveyParticipation.survey_id.in_(list(survey_ids)))
        .group_by(SurveyParticipation.survey_id)
    )
    return {int(s): int(n) for s, n in (await session.execute(query)).all()}


async def responses(session: AsyncSession, survey_id: int) -> list[Row]:
    """Every response with its answers, in the order of their random ids."""
    query = (
        select(
            SurveyResponse.id,
            SurveyResponse.region_code,
            SurveyResponse.role_group,
            SurveyAnswer.question_id,
            SurveyAnswer.value,
            SurveyAnswer.text,
        )
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .where(SurveyResponse.survey_id == survey_id)
        .order_by(SurveyResponse.id)
    )
    rows: dict[str, Row] = {}
    for rid, region, group, question_id, value, text in (await session.execute(query)).all():
        row = rows.get(rid)
        if row is None:
            row = rows[rid] = Row(region, group, {})
        row.answers[question_id] = text if text is not None else value
    return list(rows.values())


async def participation_of(session: AsyncSession, tags: Collection[tuple[int, bytes]]) -> list[int]:
    """The surveys among (survey id, tag) pairs that have a participation row."""
    if not tags:
        return []
    query = select(SurveyParticipation.survey_id).where(
        tuple_(SurveyParticipation.survey_id, SurveyParticipation.tag).in_(list(tags))
    )
    return sorted(int(s) for s in await session.scalars(query))


async def forget_participation(session: AsyncSession, tags: Collection[tuple[int, bytes]]) -> int:
    if not tags:
        return 0
    result = await session.execute(
        delete(SurveyParticipation).where(
            tuple_(SurveyParticipation.survey_id, SurveyParticipation.tag).in_(list(tags))
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def survey_ids(session: AsyncSession) -> list[int]:
    return [int(i) for i in await session.scalars(select(Survey.id))]
