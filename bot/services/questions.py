"""A member's questions, their side: ask (a known answer first), queue for the volunteers,
add to the thread, close, rate; the member's open questions and the expected wait.

The invariant: a question belongs to one member, and each change of its state is one
conditional UPDATE on the member's own row in the expected state (storage/repositories/
questions.py), so a stale or forged button, a double tap or a volunteer who was quicker
changes nothing and is refused with a typed error. Nothing is stored before the member has
consented, and nothing of a question that touches on harassment before they have chosen
to ask it here rather than confidentially (`unsafe`). Callers commit, then tell the
volunteers (bot/question_cards.py). Plain async Python: no aiogram here.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import knowledge
from bot.services.knowledge_match import MAX_QUERY_CHARS, KnowledgeEntry
from bot.services.knowledge_text import normalise
from storage.engine import create_session_factory
from storage.models import Member
from storage.repositories import questions as repo
from storage.repositories.questions import Question

#: Waits of the questions answered in this period set the expected wait ("roughly when").
WAIT_PERIOD = timedelta(days=30)
#: Fewer answered questions than this say too little: the member is told "within a day".
WAIT_SAMPLES = 3
#: At most this many open questions are listed for the member to add to.
LISTED = 8


class Identity(StrEnum):
    """What the volunteers see of the member (questions.identity)."""

    NAME = "name"  # the first name
    ANONYMOUS = "anonymous"  # "a member"
    CONTACT = "contact"  # the first name and their Telegram contact


class Kind(StrEnum):
    TEXT = "text"
    PHOTO = "photo"
    DOCUMENT = "document"


class Refused(Exception):
    """The question is not the member's, or not (any more) in a state that allows this."""


class NotYours(Refused):
    pass


class NotNow(Refused):
    """Theirs, but already helped, queued, closed (or not answered yet, for a rating)."""


@dataclass(frozen=True, slots=True)
class Suggested:
    """A known answer was found and shown: the question waits for "did this help?"."""

    qid: int
    entry: KnowledgeEntry


@dataclass(frozen=True, slots=True)
class Queued:
    qid: int
    wait: timedelta | None  # the recent median wait for a first answer; None: too few


def sessions_like(session: AsyncSession) -> async_sessionmaker[AsyncSession]:
    """Sessions on the same database, for the volunteers' side (bot/question_cards.py), which
    opens its own after the member's transaction has committed."""
    return create_session_factory(session.bind)  # type: ignore[arg-type]


# -- harassment and unsafe behaviour: a pointer to the confidential path first ----------------

# Folded as the matcher folds (no accents, lower case): "kränkt" is "krankt".
# Word beginnings ("intimid" finds "intimidatie", "intimidation", "intimiderad"):
_UNSAFE_STARTS = (
    # nl
    "intimid", "geintimid", "bedreig", "lastiggevallen", "grensoverschrijd", "discrimin",
    "misbruik", "aangerand", "aanrand", "verkracht", "gepest", "pesten", "pestgedrag",
    "uitgescholden", "onveilig", "seksueel", "racis", "seksis",
    # en
    "harass", "bully", "bullie", "threaten", "abus", "assault", "grope", "groping", "stalk",
    "molest", "discriminat", "unsafe", "sexis", "sexual",
    # sv
    "trakasser", "sextrakasser", "mobb", "krankt", "kranka", "krankn", "overgrepp", "ofredad",
    "ofredande", "diskriminer", "otrygg", "valdtakt", "valdtagen", "tafsa", "forfoljd",
    "forfoljer", "rasis", "hotad", "hotelse", "hotfull",
)  # fmt: skip
# Whole words only, too short or too common as beginnings:
_UNSAFE_WORDS = frozenset(
    {"threat", "threats", "rape", "raped", "hot", "hotade", "hotat", "hotar", "pest", "gepest"}
)
# Phrases:
_UNSAFE_PHRASES = (
    "lastig gevallen", "ongewenst gedrag", "ongewenste intimiteit", "niet veilig",
    "inappropriate behavio", "touched me", "not safe", "inte trygg", "tog pa mig",
)  # fmt: skip


def unsafe(text: str) -> bool:
    """Does the question touch on harassment or unsafe behaviour (in Dutch, English or
    Swedish, whatever the member's language)? Then the member is pointed to the confidential
    path before anything is stored, and chooses."""
    folded = normalise(text[:MAX_QUERY_CHARS])
    if any(phrase in folded for phrase in _UNSAFE_PHRASES):
        return True
    return any(w in _UNSAFE_WORDS or w.startswith(_UNSAFE_STARTS) for w in folded.split())


# -- asking ------------------------------------------------------------------------------------


def _need_member(member: Member | None) -> Member:
    if member is None:
        raise NotYours("no consent")
    return member


async def suggest(
    session: AsyncSession, member: Member | None, text: str, language: str, now: datetime
) -> Suggested | None:
    """Look for a known answer; with one, store the question (state suggested, the text as
    its first message) and return it; without, store nothing (the member chooses how the
    volunteers see them first, then `queue_new`)."""
    member = _need_member(member)
    found = (await knowledge.matcher(session)).match(text, language, limit=1)
    if not found:
        return None
    entry = found[0].entry
    qid = await repo.create(
        session, member_id=member.id, language=language, region_code=member.region_code,
        identity=Identity.NAME, state="suggested", knowledge_id=entry.entry_id, now=now,
    )  # fmt: skip
    await repo.add_message(
        session, qid, author="member", kind=Kind.TEXT, text=text, file_id=None, now=now
    )
    await session.commit()
    return Suggested(qid, entry)


async def helped(session: AsyncSession, member: Member | None, qid: int) -> None:
    """The known answer helped: the question is done (answered by the knowledge base)."""
    member = _need_member(member)
    if not await repo.mark_helped(session, qid, member.id):
        await _refusal(session, member, qid)
    await session.commit()


async def suggested_question(session: AsyncSession, member: Member | None, qid: int) -> Question:
    """The member's question still waiting for "did this help?"."""
    member = _need_member(member)
    question = await repo.get(session, qid)
    if question is None or question.member_id != member.id:
        raise NotYours(str(qid))
    if question.state != "suggested":
        raise NotNow(question.state)
    return question


async def queue_new(
    session: AsyncSession,
    member: Member | None,
    text: str,
    language: str,
    identity: Identity,
    now: datetime,
) -> Queued:
    """A question without a known answer, queued for the volunteers."""
    member = _need_member(member)
    qid = await repo.create(
        session, member_id=member.id, language=language, region_code=member.region_code,
        identity=identity, state="open", knowledge_id=None, now=now,
    )  # fmt: skip
    await repo.add_message(
        session, qid, author="member", kind=Kind.TEXT, text=text, file_id=None, now=now
    )
    await session.commit()
    return Queued(qid, await expected_wait(session, now))


async def queue_suggested(
    session: AsyncSession, member: Member | None, qid: int, identity: Identity, now: datetime
) -> Queued:
    """The known answer did not help: the same question, queued for the volunteers."""
    member = _need_member(member)
    if not await repo.queue_suggested(session, qid, member.id, identity, now):
        await _refusal(session, member, qid)
    await session.commit()
    return Queued(qid, await expected_wait(session, now))


async def expected_wait(session: AsyncSession, now: datetime) -> timedelta | None:
    """Roughly when an answer comes: the median wait for a first answer recently."""
    waits = await repo.recent_waits(session, now - WAIT_PERIOD)
    if len(waits) < WAIT_SAMPLES:
        return None
    return timedelta(seconds=statistics.median(waits))


# -- the thread ----------------------------------------------------------------------------------


async def thread_question(session: AsyncSession, member: Member | None, qid: int) -> Question:
    """The member's question that still takes messages (open or claimed)."""
    member = _need_member(member)
    question = await repo.get(session, qid)
    if question is None or question.member_id != member.id:
        raise NotYours(str(qid))
    if question.state not in ("open", "claimed"):
        raise NotNow(question.state)
    return question


async def follow_up(
    session: AsyncSession,
    member: Member | None,
    qid: int,
    kind: Kind,
    text: str | None,
    file_id: str | None,
    now: datetime,
) -> int:
    """Add the member's message to their open question; the message row's id (for the
    volunteers' side to relay)."""
    await thread_question(session, member, qid)
    row_id = await repo.add_message(
        session, qid, author="member", kind=kind, text=text, file_id=file_id, now=now
    )
    await session.commit()
    return row_id


async def replied_to(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    """The question a message in this chat belongs to (a relayed answer): a reply to it
    continues that thread."""
    return await repo.routed(session, chat_id, message_id)


async def close(session: AsyncSession, member: Member | None, qid: int, now: datetime) -> None:
    member = _need_member(member)
    if not await repo.close_by_member(session, qid, member.id, now):
        await _refusal(session, member, qid)
    await session.commit()


async def rate(session: AsyncSession, member: Member | None, qid: int, useful: bool) -> bool:
    """Store the member's rating of the answer; a second tap changes it (a slip of the thumb
    can be undone). True when the rating changed, False when it was already this."""
    member = _need_member(member)
    rating = "helpful" if useful else "unhelpful"
    question = await repo.get(session, qid)
    if question is None or question.member_id != member.id:
        raise NotYours(str(qid))
    if question.rating == rating:
        return False
    if not await repo.rate(session, qid, member.id, rating):
        raise NotNow(question.state)
    await session.commit()
    return True


async def open_questions(
    session: AsyncSession, member: Member | None
) -> list[tuple[Question, str]]:
    """The member's open questions (newest first, at most LISTED), each with what they asked."""
    if member is None:
        return []
    found = await repo.open_of_member(session, member.id, LISTED)
    texts = await repo.first_message_texts(session, [question.id for question in found])
    return [(question, texts.get(question.id, "")) for question in found]


async def _refusal(session: AsyncSession, member: Member, qid: int) -> NoReturn:
    """Why a change did not happen (it changed no row): raised as the typed error."""
    question = await repo.get(session, qid)
    if question is None or question.member_id != member.id:
        raise NotYours(str(qid))
    raise NotNow(question.state)
