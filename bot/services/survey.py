"""The anonymous social-safety survey: publish, answer once, results per group of five.

The promises, and how they are kept:

- **No link to a person.** A response is a random id (uuid4), the survey, two grouping keys
  (the member's region and role group) and the answers: no member id, no Telegram id, no
  time, no sequence. That someone answered is a separate participation row: the survey and
  an HMAC of their Telegram id with CONFIDENTIAL_KEY (`sealing.Purpose.SURVEY`), which only
  the key can match to a person, and which does not point at the response.
- **Once per member.** `submit` writes the participation row first; its primary key refuses a
  second one, also when two submits race (`AlreadyAnswered`).
- **Groups of at least `MIN_GROUP`.** Results (`survey_results.results`) show nothing for
  fewer respondents, and in a breakdown hide every smaller group, and then the next smallest
  too while the hidden ones together are fewer than `MIN_GROUP`, so no hidden group can be
  recovered by subtracting the shown ones from the total.
- **Results after closing.** Figures that grow while admins watch would show each newcomer's
  answers by difference, so an open survey shows only how many answered.

The answers given so far live only in the member's conversation state (handlers/survey.py)
until `submit`; the service never logs them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock, outbox
from bot.budget import Priority
from bot.sealing import Keyring, Purpose
from bot.services.roles import Grant
from storage.models import Member, Survey, SurveyQuestion
from storage.repositories import broadcasts as broadcast_repo
from storage.repositories import survey as repo
from storage.repositories.broadcasts import Filter

MIN_GROUP = 5
KINDS = ("scale", "choice", "text")
SCALE = range(1, 6)
MIN_QUESTIONS, MAX_QUESTIONS = 5, 10
MAX_OPTIONS = 6
MAX_TITLE, MAX_QUESTION, MAX_OPTION = 100, 500, 60  # characters: views and buttons stay small
TEXT_LIMIT = 1000  # characters of a free-text answer
ROLE_GROUPS = ("member", "sympathiser", "active")
TEMPLATE = Path(__file__).resolve().parent.parent / "data" / "survey_social_safety.json"


class SurveyError(Exception):
    """Base of the reasons a survey step is refused; the handler explains each."""


class Unavailable(SurveyError):
    """CONFIDENTIAL_KEY is not configured: no participation tags, so no survey."""


class NotOpen(SurveyError):
    """The survey does not exist, is still a draft, or is closed."""


class AlreadyAnswered(SurveyError):
    pass


class BadAnswers(SurveyError):
    """Answers that do not fit the questions (a forged button, a stale conversation)."""


class BadSurvey(SurveyError):
    """A definition outside the rules: 5-10 questions, at most one free text, …"""


class WrongStatus(SurveyError):
    """A step that does not fit where the survey stands."""


# -- definitions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuestionDef:
    kind: str
    texts: Mapping[str, str]
    options: Mapping[str, Sequence[str]]


@dataclass(frozen=True, slots=True)
class SurveyDef:
    titles: Mapping[str, str]
    intros: Mapping[str, str]
    questions: Sequence[QuestionDef]


def validate(definition: SurveyDef) -> None:
    """5-10 questions of the known kinds, at most one free text, 2-6 options per choice
    question in every language it is written in, texts short enough for a message and a
    button."""
    qs = definition.questions
    if not MIN_QUESTIONS <= len(qs) <= MAX_QUESTIONS:
        raise BadSurvey("count")
    if sum(q.kind == "text" for q in qs) > 1:
        raise BadSurvey("texts")
    if not definition.titles or any(len(t) > MAX_TITLE for t in definition.titles.values()):
        raise BadSurvey("title")
    for q in qs:
        if q.kind not in KINDS or not q.texts:
            raise BadSurvey("kind")
        if any(not t.strip() or len(t) > MAX_QUESTION for t in q.texts.values()):
            raise BadSurvey("text")
        if q.kind == "choice":
            lengths = {len(options) for options in q.options.values()}
            if len(lengths) != 1 or not 2 <= lengths.pop() <= MAX_OPTIONS:
                raise BadSurvey("options")
            labels = [o for options in q.options.values() for o in options]
            if any(not o.strip() or len(o) > MAX_OPTION for o in labels):
                raise BadSurvey("options")


def from_json(data: Mapping[str, Any]) -> SurveyDef:
    questions = [
        QuestionDef(
            q["kind"], dict(q["texts"]), {k: list(v) for k, v in q.get("options", {}).items()}
        )
        for q in data["questions"]
    ]
    return SurveyDef(dict(data["titles"]), dict(data.get("intros", {})), questions)


@cache
def template() -> SurveyDef:
    """The built-in social-safety survey (seed 002's themes), in nl, en and sv."""
    return from_json(json.loads(TEMPLATE.read_text(encoding="utf-8")))


def in_locale(texts: Mapping[str, Any], locale: str, default: str = "nl") -> Any:
    """A survey text in the reader's language, else the default's, else any."""
    for key in (locale, default):
        if key in texts:
            return texts[key]
    return next(iter(texts.values()))


# -- an admin's steps -------------------------------------------------------------------


async def create(session: AsyncSession, definition: SurveyDef) -> Survey:
    """A draft survey with its questions (not yet sent to anyone)."""
    validate(definition)
    survey = Survey(
        status="draft",
        titles=dict(definition.titles),
        intros=dict(definition.intros),
        created_at=clock.now(),
    )
    session.add(survey)
    await session.flush()
    for position, q in enumerate(definition.questions):
        session.add(
            SurveyQuestion(
                survey_id=survey.id,
                position=position,
                kind=q.kind,
                texts=dict(q.texts),
                options={k: list(v) for k, v in q.options.items()},
            )
        )
    await session.commit()
    return survey


Render = Callable[[Survey, str], outbox.Letter]
"""The invitation in one language: a letter without its chat, with the start button."""


async def publish(
    session: AsyncSession, survey_id: int, render: Render, locales: Sequence[str]
) -> int:
    """Open the survey and invite every reachable member who has not muted general news,
    each in their own language, through the outbox at bulk priority; how many invited."""
    if not await repo.move(session, survey_id, "draft", "open", opened_at=clock.now()):
        await session.rollback()
        raise WrongStatus
    survey = await repo.get(session, survey_id)
    assert survey is not None
    await session.refresh(survey)
    letters = {locale: outbox.parts_of(render(survey, locale)) for locale in locales}
    people = await broadcast_repo.recipients(session, Filter(kind="news"))
    default = locales[0]
    rows = [
        {"chat_id": tid, "member_id": mid, "payload": {"parts": letters.get(loc, letters[default])}}
        for mid, tid, loc in people
    ]
    await outbox.post_rows(session, rows, Priority.BULK)
    await session.commit()
    return len(rows)


async def close(session: AsyncSession, survey_id: int) -> None:
    if not await repo.move(session, survey_id, "open", "closed", closed_at=clock.now()):
        await session.rollback()
        raise WrongStatus
    await session.commit()


async def discard(session: AsyncSession, survey_id: int) -> None:
    """A draft nobody has seen may go."""
    survey = await repo.get(session, survey_id)
    if survey is None or survey.status != "draft":
        raise WrongStatus
    await session.delete(survey)
    await session.commit()


async def listing(session: AsyncSession) -> list[tuple[Survey, int]]:
    """Every survey, newest first, with how many answered."""
    surveys = await repo.all_surveys(session)
    counts = await repo.respondents(session, [s.id for s in surveys])
    return [(s, counts.get(s.id, 0)) for s in surveys]


# -- a member's steps ---------------------------------------------------------------------


def require(keys: Keyring | None) -> Keyring:
    if keys is None:
        raise Unavailable
    return keys


def _tag(keys: Keyring, survey_id: int, telegram_id: int) -> bytes:
    return keys.tag(Purpose.SURVEY, survey_id, telegram_id)


async def may_answer(
    session: AsyncSession, keys: Keyring | None, survey_id: int, telegram_id: int
) -> tuple[Survey, list[SurveyQuestion]]:
    """The open survey and its questions, unless this person answered it already."""
    keyring = require(keys)
    survey = await repo.get(session, survey_id)
    if survey is None or survey.status != "open":
        raise NotOpen
    if await repo.has_participated(session, survey_id, _tag(keyring, survey_id, telegram_id)):
        raise AlreadyAnswered
    return survey, await repo.questions(session, survey_id)


def check_answer(question: SurveyQuestion, answer: int | str | None) -> int | str | None:
    """One answer as it will be stored, or BadAnswers."""
    if question.kind == "scale" and isinstance(answer, int) and answer in SCALE:
        return answer
    if question.kind == "choice" and isinstance(answer, int):
        options = max((len(v) for v in question.options.values()), default=0)
        if 0 <= answer < options:
            return answer
    if question.kind == "text":
        if answer is None:
            return None
        if isinstance(answer, str) and answer.strip() and len(answer) <= TEXT_LIMIT:
            return answer.strip()
    raise BadAnswers


def role_group(member: Member | None, grants: Collection[Grant]) -> str:
    """Someone with any role (organiser, trainer, volunteer, counsellor, admin) is "active";
    the others are sympathisers or members as they said."""
    if grants:
        return "active"
    return "sympathiser" if member is not None and member.kind == "sympathiser" else "member"


async def submit(
    session: AsyncSession,
    keys: Keyring | None,
    survey_id: int,
    telegram_id: int,
    *,
    region_code: str | None,
    group: str,
    answers: Sequence[int | str | None],
) -> None:
    """Write the participation tag and the anonymous response in one transaction."""
    keyring = require(keys)
    if group not in ROLE_GROUPS:
        raise BadAnswers
    survey = await repo.get(session, survey_id)
    if survey is None or survey.status != "open":
        raise NotOpen
    questions = await repo.questions(session, survey_id)
    if len(answers) != len(questions):
        raise BadAnswers
    checked = [check_answer(q, a) for q, a in zip(questions, answers, strict=True)]
    rows = [
        (q.id, a if isinstance(a, int) else None, a if isinstance(a, str) else None)
        for q, a in zip(questions, checked, strict=True)
    ]
    try:
        await repo.add_participation(session, survey_id, _tag(keyring, survey_id, telegram_id))
        await repo.add_response(session, uuid.uuid4().hex, survey_id, region_code, group, rows)
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise AlreadyAnswered from None


# -- the person's own data ----------------------------------------------------------------


async def answered_by(session: AsyncSession, keys: Keyring | None, telegram_id: int) -> list[int]:
    """The surveys this person took part in (found with the key; their answers cannot be)."""
    if keys is None:
        return []
    tags = [(sid, _tag(keys, sid, telegram_id)) for sid in await repo.survey_ids(session)]
    return await repo.participation_of(session, tags)


async def forget(session: AsyncSession, keys: Keyring | None, telegram_id: int) -> int:
    """Delete this person's participation tags (in the caller's transaction); their
    anonymous responses cannot be found and stay."""
    if keys is None:
        return 0
    tags = [(sid, _tag(keys, sid, telegram_id)) for sid in await repo.survey_ids(session)]
    return await repo.forget_participation(session, tags)


async def questions_of(session: AsyncSession, survey_id: int) -> list[SurveyQuestion]:
    """A survey's questions in order (an admin's preview)."""
    return await repo.questions(session, survey_id)


async def waiting_for(
    session: AsyncSession, keys: Keyring | None, telegram_id: int
) -> list[Survey]:
    """The open surveys this person has not answered (for /enquete: a lost invitation)."""
    keyring = require(keys)
    found = []
    for s in await repo.all_surveys(session):
        if s.status == "open" and not await repo.has_participated(
            session, s.id, _tag(keyring, s.id, telegram_id)
        ):
            found.append(s)
    return found
