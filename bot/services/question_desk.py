"""The volunteers' desk: claim a queued question, answer it, release or resolve it, keep a
private note; the queue and one's own threads; rotation of questions nobody claims.

Who may act: anyone with the volunteer role, and organisers and admins (they handle the
escalations and may answer directly). Rotation assigns only to people with the volunteer role.

The invariants: a question is held by at most one person (every change of state is one
conditional UPDATE, see storage/repositories/question_desk.py); nobody holds more than
`cap` at once; an answer is kept in the thread and put in the outbox for the member in one
transaction, keyed by the message it came from, so it is neither lost nor sent twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock, outbox
from bot.budget import Priority
from bot.services.roles import Grant, RoleName
from storage.repositories import question_desk as repo
from storage.repositories import questions as questions_repo
from storage.repositories.questions import Question

PAGE = 8
GROUP_PURPOSE = "volunteers"  # linked_chats.purpose of the volunteers' group
ACTING_ROLES = frozenset({RoleName.VOLUNTEER, RoleName.ORGANISER, RoleName.ADMIN})


class DeskError(Exception):
    """Base of the reasons the desk refuses; the handler explains each."""


class NotVolunteer(DeskError):
    pass


class NotAdmin(DeskError):
    """Linking the volunteers' group is for admins."""


class Gone(DeskError):
    """No such question (erased, or a forged button)."""


class Taken(DeskError):
    """Someone else holds it (`holder`, a Telegram id), or it is closed (`holder` None)."""

    def __init__(self, question: Question) -> None:
        super().__init__(question.id)
        self.question = question


class AtCap(DeskError):
    def __init__(self, cap: int) -> None:
        super().__init__(cap)
        self.cap = cap


class NotYours(DeskError):
    """The question is not (or no longer) held by this volunteer."""


class Duplicate(DeskError):
    """This message was relayed already (the same update delivered twice)."""


def may_act(grants: frozenset[Grant]) -> bool:
    return any(g.role in ACTING_ROLES for g in grants)


async def _question(session: AsyncSession, question_id: int) -> Question:
    found = await questions_repo.get(session, question_id)
    if found is None:
        raise Gone(question_id)
    return found


async def claim(
    session: AsyncSession,
    grants: frozenset[Grant],
    question_id: int,
    volunteer_id: int,
    cap: int,
    *,
    how: str = "claim",
) -> Question:
    """Take the question (committed), or say why not: Taken, AtCap, Gone, NotVolunteer."""
    if how == "claim" and not may_act(grants):
        raise NotVolunteer
    taken = await repo.claim(session, question_id, volunteer_id, clock.now(), cap, how)
    await session.commit()
    question = await _question(session, question_id)
    if taken:
        return question
    if question.state == "claimed" and question.volunteer_id == volunteer_id:
        return question  # a second tap of the same person: theirs already
    if question.state != "open":
        raise Taken(question)
    raise AtCap(cap)


async def unclaim(session: AsyncSession, question_id: int, volunteer_id: int) -> bool:
    """Undo a claim whose volunteer could not be reached (no private chat with the bot)."""
    undone = await repo.unclaim(session, question_id, volunteer_id)
    await session.commit()
    return undone


async def held(
    session: AsyncSession, grants: frozenset[Grant], question_id: int, volunteer_id: int
) -> Question:
    """The question, if this volunteer holds it (every button of a thread checks this)."""
    if not may_act(grants):
        raise NotVolunteer
    question = await _question(session, question_id)
    if question.state == "closed":
        raise Taken(question)
    if question.state != "claimed" or question.volunteer_id != volunteer_id:
        raise NotYours(question_id)
    return question


async def release(
    session: AsyncSession, grants: frozenset[Grant], question_id: int, volunteer_id: int
) -> Question:
    await held(session, grants, question_id, volunteer_id)
    if not await repo.release(session, question_id, volunteer_id, clock.now()):
        raise NotYours(question_id)
    await session.commit()
    return await _question(session, question_id)


async def resolve(
    session: AsyncSession,
    grants: frozenset[Grant],
    question_id: int,
    volunteer_id: int,
    letters: Callable[[Question], Sequence[outbox.Letter]],
) -> tuple[Question, list[int]]:
    """Close it as the volunteer; the member's "how was it?" goes out in the same commit."""
    question = await held(session, grants, question_id, volunteer_id)
    if not await repo.resolve(session, question_id, volunteer_id, clock.now()):
        raise NotYours(question_id)
    ids = await outbox.post(session, letters(question), Priority.ANSWER)
    await session.commit()
    return await _question(session, question_id), ids


@dataclass(frozen=True, slots=True)
class Reply:
    """What a volunteer sent: a text, or a photo or file (a Telegram file id) with caption."""

    kind: str  # text | photo | document
    text: str | None
    file_id: str | None = None


async def answer(
    session: AsyncSession,
    grants: frozenset[Grant],
    question_id: int,
    volunteer_id: int,
    reply: Reply,
    source: tuple[int, int],
    letters: Callable[[Question], Sequence[outbox.Letter]],
) -> tuple[Question, list[int]]:
    """Keep the answer in the thread and put it in the outbox for the member, at once.

    `source` (chat, message) is where the answer came from: kept as a route (a reply to it
    continues the thread) and the key that makes a second delivery of the same update a
    `Duplicate` instead of a second answer. The caller then delivers the outbox rows."""
    question = await held(session, grants, question_id, volunteer_id)
    now = clock.now()
    try:
        await questions_repo.add_route(session, source[0], source[1], question_id)
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Duplicate(question_id) from None
    await questions_repo.add_message(
        session, question_id, author="volunteer", author_id=volunteer_id, kind=reply.kind,
        text=reply.text, file_id=reply.file_id, now=now,
    )  # fmt: skip
    await repo.mark_answered(session, question_id, now)
    ids = await outbox.post(session, letters(question), Priority.ANSWER)
    try:
        await session.commit()
    except IntegrityError:  # the same message, relayed by another worker meanwhile
        await session.rollback()
        raise Duplicate(question_id) from None
    return question, ids


async def note(
    session: AsyncSession,
    grants: frozenset[Grant],
    question_id: int,
    volunteer_id: int,
    text: str,
) -> None:
    """A private note on the thread: for volunteers only, never relayed to the member."""
    await held(session, grants, question_id, volunteer_id)
    await questions_repo.add_message(
        session, question_id, author="note", author_id=volunteer_id, kind="text",
        text=text, file_id=None, now=clock.now(),
    )  # fmt: skip
    await session.commit()


async def route(session: AsyncSession, chat_id: int, message_id: int, question_id: int) -> None:
    """Remember a copy the bot sent about a question: a reply to it continues the thread."""
    await questions_repo.add_route(session, chat_id, message_id, question_id)
    await session.commit()


async def my_threads(
    session: AsyncSession, volunteer_id: int, page: int
) -> tuple[list[Question], int]:
    return await repo.held_by(session, volunteer_id, max(0, page) * PAGE, PAGE)


async def queue(
    session: AsyncSession, language: str | None, region: str | None, page: int
) -> tuple[list[Question], int]:
    return await repo.waiting(session, language, region, max(0, page) * PAGE, PAGE)


# -- rotation ----------------------------------------------------------------------------


def rotation_order(volunteers: Sequence[repo.Volunteer], region: str | None, cap: int) -> list[int]:
    """Who should get a question nobody claimed, best first: those under their cap; of the
    question's region first; then the fewest open threads; then whoever was given one
    longest ago (never first). Pure, so the fairness is tested without a database."""
    free = [v for v in volunteers if v.open_threads < cap]

    def key(v: repo.Volunteer) -> tuple[int, int, float, int]:
        elsewhere = 0 if region is not None and v.region_code == region else 1
        last = v.last_claimed_at.timestamp() if v.last_claimed_at is not None else 0.0
        return (elsewhere, v.open_threads, last, v.telegram_id)

    return [v.telegram_id for v in sorted(free, key=key)]


async def due_for_rotation(session: AsyncSession, minutes: float) -> list[int]:
    before = clock.now() - timedelta(minutes=minutes)
    return await repo.due_for_rotation(session, before)


async def candidates(session: AsyncSession, question: Question, cap: int) -> list[int]:
    return rotation_order(await repo.volunteers(session), question.region_code, cap)


async def assign(session: AsyncSession, question_id: int, volunteer_id: int, cap: int) -> bool:
    """Rotation: give an open question to this volunteer (if still open and under cap)."""
    try:
        await claim(session, frozenset(), question_id, volunteer_id, cap, how="rotation")
    except DeskError:
        return False
    return True


async def member_message(
    session: AsyncSession, question_id: int, message_row_id: int
) -> questions_repo.Message | None:
    """A member's message of this question (a follow-up to pass on), or None."""
    for message in await questions_repo.messages(session, question_id, notes=False):
        if message.id == message_row_id and message.author == "member":
            return message
    return None


async def routed(session: AsyncSession, chat_id: int, message_id: int) -> Question | None:
    """The question a copy in this chat belongs to (a reply to it continues the thread)."""
    question_id = await questions_repo.routed(session, chat_id, message_id)
    return None if question_id is None else await questions_repo.get(session, question_id)


async def link_group(
    session: AsyncSession, grants: frozenset[Grant], chat_id: int, title: str | None, by: int
) -> None:
    """Make this group the volunteers' group (admins only); a new link replaces the old."""
    if not any(g.role == RoleName.ADMIN for g in grants):
        raise NotAdmin
    await questions_repo.link_chat(session, GROUP_PURPOSE, chat_id, title, by, clock.now())
    await session.commit()


@dataclass(frozen=True, slots=True)
class Proposal:
    """A resolved question and its answer, as the knowledge base would take them."""

    language: str
    question: str
    answer: str


async def proposal(
    session: AsyncSession, grants: frozenset[Grant], question_id: int, volunteer_id: int
) -> Proposal | None:
    """What the volunteer who resolved a question may propose for the knowledge base: the
    member's first words and the volunteer's text answers; None without a text answer."""
    if not may_act(grants):
        raise NotVolunteer
    question = await _question(session, question_id)
    if question.closed_by != "volunteer" or question.volunteer_id != volunteer_id:
        raise NotYours(question_id)
    thread = await questions_repo.messages(session, question_id, notes=False)
    asked = next((m.text for m in thread if m.author == "member" and m.text), None)
    answers = [m.text for m in thread if m.author == "volunteer" and m.text]
    if not asked or not answers:
        return None
    return Proposal(question.language, asked, "\n\n".join(answers))
