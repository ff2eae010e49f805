"""Queries about members' questions: one question with what a volunteer may see of its
member, its thread, the routes of relayed copies, the linked volunteers' group.

The member's side (bot/services/questions.py) and the volunteers' side
(bot/services/question_desk.py, whose own writes are in storage/repositories/question_desk.py)
both read through these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, linked_chats, question_messages, question_routes, questions

q = questions.c
qm = question_messages.c


@dataclass(frozen=True, slots=True)
class Question:
    """A question and the few things about its member the bot needs to serve it."""

    id: int
    member_id: int
    language: str
    region_code: str | None
    identity: str  # name | anonymous | contact
    state: str  # suggested | helped | open | claimed | closed
    knowledge_id: str | None
    volunteer_id: int | None
    claimed_how: str | None
    created_at: datetime
    queued_at: datetime | None
    claimed_at: datetime | None
    first_answer_at: datetime | None
    escalated_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    rating: str | None
    card_message_id: int | None
    # the member: where answers go and in which language; what a volunteer may be shown
    telegram_id: int
    locale: str
    first_name: str | None
    username: str | None


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    question_id: int
    author: str  # member | volunteer | note
    author_id: int | None
    kind: str  # text | photo | document
    text: str | None
    file_id: str | None
    created_at: datetime


_QUESTION = select(
    *questions.c, Member.telegram_id, Member.locale, Member.first_name, Member.username
).join(Member, Member.id == q.member_id)


async def get(session: AsyncSession, question_id: int) -> Question | None:
    row = (await session.execute(_QUESTION.where(q.id == question_id))).one_or_none()
    return Question(*row) if row is not None else None


async def create(
    session: AsyncSession,
    *,
    member_id: int,
    language: str,
    region_code: str | None,
    identity: str,
    state: str,
    knowledge_id: str | None,
    now: datetime,
) -> int:
    result = await session.execute(
        insert(questions).values(
            member_id=member_id,
            language=language,
            region_code=region_code,
            identity=identity,
            state=state,
            knowledge_id=knowledge_id,
            created_at=now,
            queued_at=now if state == "open" else None,
        )
    )
    (question_id,) = result.inserted_primary_key or (None,)
    assert question_id is not None
    return int(question_id)


async def add_message(
    session: AsyncSession,
    question_id: int,
    *,
    author: str,
    kind: str,
    text: str | None,
    file_id: str | None,
    now: datetime,
    author_id: int | None = None,
) -> int:
    result = await session.execute(
        insert(question_messages).values(
            question_id=question_id, author=author, author_id=author_id, kind=kind,
            text=text, file_id=file_id, created_at=now,
        )
    )  # fmt: skip
    (message_id,) = result.inserted_primary_key or (None,)
    assert message_id is not None
    return int(message_id)


async def messages(session: AsyncSession, question_id: int, *, notes: bool) -> list[Message]:
    """The thread in order; volunteers' private notes only when asked (never for a member)."""
    query = select(*question_messages.c).where(qm.question_id == question_id)
    if not notes:
        query = query.where(qm.author != "note")
    rows = await session.execute(query.order_by(qm.created_at, qm.id))
    return [Message(*row) for row in rows]


async def add_route(session: AsyncSession, chat_id: int, message_id: int, question_id: int) -> None:
    await session.execute(
        insert(question_routes).values(chat_id=chat_id, message_id=message_id,
                                       question_id=question_id)
    )  # fmt: skip


async def routed(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    """The question a relayed copy belongs to: a reply to it continues that thread."""
    c = question_routes.c
    return await session.scalar(
        select(c.question_id).where(c.chat_id == chat_id, c.message_id == message_id)
    )


async def linked_chat(session: AsyncSession, purpose: str) -> int | None:
    c = linked_chats.c
    return await session.scalar(select(c.chat_id).where(c.purpose == purpose))


async def link_chat(
    session: AsyncSession, purpose: str, chat_id: int, title: str | None, by: int, now: datetime
) -> None:
    """Link a group to a purpose; a new link replaces the old one."""
    c = linked_chats.c
    await session.execute(delete(linked_chats).where(c.purpose == purpose))
    await session.execute(
        insert(linked_chats).values(purpose=purpose, chat_id=chat_id, title=title,
                                    linked_by=by, linked_at=now)
    )  # fmt: skip


# -- the member's side (bot/services/questions.py): each change one conditional UPDATE ------


async def _change(
    session: AsyncSession,
    question_id: int,
    member_id: int,
    where: ColumnElement[bool],
    **values: object,
) -> bool:
    """Change the member's own question if it is in the expected state; False otherwise (not
    theirs, or another tap or a volunteer got there first)."""
    result = await session.execute(
        update(questions)
        .where(q.id == question_id, q.member_id == member_id, where)
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_helped(session: AsyncSession, question_id: int, member_id: int) -> bool:
    return await _change(session, question_id, member_id, q.state == "suggested", state="helped")


async def queue_suggested(
    session: AsyncSession, question_id: int, member_id: int, identity: str, now: datetime
) -> bool:
    """A shown known answer did not help: the question goes to the volunteers."""
    return await _change(
        session, question_id, member_id, q.state == "suggested",
        state="open", identity=identity, queued_at=now,
    )  # fmt: skip


async def close_by_member(
    session: AsyncSession, question_id: int, member_id: int, now: datetime
) -> bool:
    return await _change(
        session, question_id, member_id, q.state.in_(("open", "claimed")),
        state="closed", closed_by="member", closed_at=now,
    )  # fmt: skip


async def rate(session: AsyncSession, question_id: int, member_id: int, rating: str) -> bool:
    """Only a question a volunteer answered (or resolved) can be rated."""
    answered = or_(q.first_answer_at.is_not(None), q.closed_by == "volunteer")
    return await _change(session, question_id, member_id, answered, rating=rating)


async def open_of_member(session: AsyncSession, member_id: int, limit: int) -> list[Question]:
    """The member's open and claimed questions, newest first."""
    query = _QUESTION.where(q.member_id == member_id, q.state.in_(("open", "claimed")))
    rows = await session.execute(query.order_by(q.id.desc()).limit(limit))
    return [Question(*row) for row in rows]


async def first_message_texts(session: AsyncSession, question_ids: list[int]) -> dict[int, str]:
    """The first text of each question (what the member asked), for a list of them."""
    if not question_ids:
        return {}
    first = (
        select(qm.question_id, func.min(qm.id).label("first_id"))
        .where(qm.question_id.in_(question_ids), qm.author == "member")
        .group_by(qm.question_id)
        .subquery()
    )
    rows = await session.execute(
        select(qm.question_id, qm.text).join(first, first.c.first_id == qm.id)
    )
    return {question_id: text or "" for question_id, text in rows}


async def recent_waits(session: AsyncSession, since: datetime, limit: int = 200) -> list[float]:
    """Seconds from queueing to the first answer, for the latest questions answered since."""
    rows = await session.execute(
        select(q.queued_at, q.first_answer_at)
        .where(q.first_answer_at >= since, q.queued_at.is_not(None))
        .order_by(q.first_answer_at.desc())
        .limit(limit)
    )
    return [(answered - queued).total_seconds() for queued, answered in rows]
