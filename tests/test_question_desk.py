"""The volunteers' desk on both databases: claim (atomic, within the cap, 20 volunteers at
once), release, resolve, answers kept and put in the outbox once, notes, the queue with its
filters, and a fair rotation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import clock, outbox
from bot.services import question_desk as desk
from bot.services.roles import Grant, RoleName
from storage.models import Member, OutboxRow
from storage.repositories import question_desk as desk_repo
from storage.repositories import questions as repo
from storage.repositories import roles as roles_repo

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
VOLUNTEER = frozenset({Grant(RoleName.VOLUNTEER)})
MEMBER_ONLY: frozenset[Grant] = frozenset()
SANNA, PIM = 5101, 5102


async def ask(
    session: AsyncSession,
    telegram_id: int = 7001,
    *,
    language: str = "nl",
    region: str | None = None,
    at: datetime = NOW,
    text: str = "Hoe word ik kandidaat?",
) -> int:
    member = await session.scalar(select(Member).where(Member.telegram_id == telegram_id))
    if member is None:
        member = Member(telegram_id=telegram_id, locale=language, first_name="Fatima")
        session.add(member)
        await session.flush()
    qid = await repo.create(session, member_id=member.id, language=language, region_code=region,
                            identity="name", state="open", knowledge_id=None, now=at)  # fmt: skip
    await repo.add_message(session, qid, author="member", kind="text", text=text, file_id=None,
                           now=at)  # fmt: skip
    await session.commit()
    return qid


def near(moment: datetime | None, expected: datetime) -> bool:
    """`clock.travel_to` moves on from where it lands, as time does."""
    return moment is not None and abs(moment - expected) < timedelta(seconds=5)


def letters_for(question: repo.Question) -> list[outbox.Letter]:
    return [outbox.Letter(question.telegram_id, "antwoord")]


async def test_claim_is_refused_when_taken_and_when_at_cap(session: AsyncSession) -> None:
    first, second, third = [await ask(session, 7001 + n) for n in range(3)]
    with clock.travel_to(NOW + timedelta(minutes=5)):
        taken = await desk.claim(session, VOLUNTEER, first, SANNA, cap=2)
    assert (taken.state, taken.volunteer_id, taken.claimed_how) == ("claimed", SANNA, "claim")
    assert near(taken.claimed_at, NOW + timedelta(minutes=5))
    assert (await desk.claim(session, VOLUNTEER, first, SANNA, cap=2)).id == first  # again: ok
    with pytest.raises(desk.Taken) as refused:
        await desk.claim(session, VOLUNTEER, first, PIM, cap=2)
    assert refused.value.question.volunteer_id == SANNA
    await desk.claim(session, VOLUNTEER, second, SANNA, cap=2)
    with pytest.raises(desk.AtCap):
        await desk.claim(session, VOLUNTEER, third, SANNA, cap=2)
    assert (await repo.get(session, third)).state == "open"  # type: ignore[union-attr]
    with pytest.raises(desk.NotVolunteer):
        await desk.claim(session, MEMBER_ONLY, third, 9999, cap=2)
    with pytest.raises(desk.Gone):
        await desk.claim(session, VOLUNTEER, third + 100, PIM, cap=2)
    organiser = frozenset({Grant(RoleName.ORGANISER, "noord")})
    assert (await desk.claim(session, organiser, third, PIM, cap=2)).volunteer_id == PIM


async def test_release_offers_it_again_and_only_the_holder_may(session: AsyncSession) -> None:
    qid = await ask(session)
    await desk.claim(session, VOLUNTEER, qid, SANNA, cap=5)
    with pytest.raises(desk.NotYours):
        await desk.release(session, VOLUNTEER, qid, PIM)
    with clock.travel_to(NOW + timedelta(hours=1)):
        released = await desk.release(session, VOLUNTEER, qid, SANNA)
    assert (released.state, released.volunteer_id, released.claimed_how) == ("open", None, None)
    assert near(released.claimed_at, NOW + timedelta(hours=1))  # when it changed hands
    assert [q.id for q in (await desk.queue(session, None, None, 0))[0]] == [qid]
    assert (await desk.claim(session, VOLUNTEER, qid, PIM, cap=5)).volunteer_id == PIM


async def test_answer_is_kept_and_posted_once_then_resolved(session: AsyncSession) -> None:
    qid = await ask(session)
    reply = desk.Reply("text", "Kijk op de site")
    with pytest.raises(desk.NotYours):
        await desk.answer(session, VOLUNTEER, qid, SANNA, reply, (SANNA, 10), letters_for)
    await desk.claim(session, VOLUNTEER, qid, SANNA, cap=5)
    with clock.travel_to(NOW + timedelta(minutes=30)):
        question, ids = await desk.answer(
            session, VOLUNTEER, qid, SANNA, reply, (SANNA, 10), letters_for
        )
    assert len(ids) == 1 and question.id == qid
    with pytest.raises(desk.Duplicate):  # the same update again: nothing more
        await desk.answer(session, VOLUNTEER, qid, SANNA, reply, (SANNA, 10), letters_for)
    await desk.answer(session, VOLUNTEER, qid, SANNA, desk.Reply("photo", None, "AgAD"),
                      (SANNA, 11), letters_for)  # fmt: skip
    await desk.note(session, VOLUNTEER, qid, SANNA, "Ze belt morgen")
    thread = await repo.messages(session, qid, notes=True)
    assert [(m.author, m.kind, m.text) for m in thread] == [
        ("member", "text", "Hoe word ik kandidaat?"),
        ("volunteer", "text", "Kijk op de site"),
        ("volunteer", "photo", None),
        ("note", "text", "Ze belt morgen"),
    ]
    assert [m.author for m in await repo.messages(session, qid, notes=False)] == [
        "member", "volunteer", "volunteer",
    ]  # fmt: skip
    assert await repo.routed(session, SANNA, 10) == qid
    rows = await session.scalar(select(func.count()).select_from(OutboxRow))
    assert rows == 2
    stored = await repo.get(session, qid)
    assert stored is not None and near(stored.first_answer_at, NOW + timedelta(minutes=30))

    with pytest.raises(desk.NotYours):
        await desk.resolve(session, VOLUNTEER, qid, PIM, letters_for)
    closed, asked = await desk.resolve(session, VOLUNTEER, qid, SANNA, letters_for)
    assert (closed.state, closed.closed_by, len(asked)) == ("closed", "volunteer", 1)
    with pytest.raises(desk.Taken):
        await desk.claim(session, VOLUNTEER, qid, PIM, cap=5)
    with pytest.raises(desk.Taken):
        await desk.note(session, VOLUNTEER, qid, SANNA, "te laat")


async def test_queue_oldest_first_with_filters_and_pages(session: AsyncSession) -> None:
    ids = []
    for n in range(10):
        language = "sv" if n % 3 == 0 else "nl"
        region = "noord" if n % 2 == 0 else None
        ids.append(
            await ask(
                session, 7100 + n, language=language, region=region, at=NOW - timedelta(minutes=n)
            )
        )
    first_page, total = await desk.queue(session, None, None, 0)
    assert total == 10 and [q.id for q in first_page] == ids[::-1][:8]
    assert [q.id for q in (await desk.queue(session, None, None, 1))[0]] == ids[::-1][8:]
    swedish, total = await desk.queue(session, "sv", None, 0)
    assert total == 4 and {q.language for q in swedish} == {"sv"}
    north_dutch, total = await desk.queue(session, "nl", "noord", 0)
    assert [q.id for q in north_dutch] == [ids[8], ids[4], ids[2]] and total == 3
    await desk.claim(session, VOLUNTEER, ids[9], SANNA, cap=5)
    assert (await desk.queue(session, None, None, 0))[1] == 9
    mine, count = await desk.my_threads(session, SANNA, 0)
    assert [q.id for q in mine] == [ids[9]] and count == 1


def volunteer(
    tid: int, region: str | None, threads: int, minutes_ago: int | None
) -> desk_repo.Volunteer:
    last = None if minutes_ago is None else NOW - timedelta(minutes=minutes_ago)
    return desk_repo.Volunteer(tid, region, threads, last)


def test_rotation_order_is_fair() -> None:
    team = [
        volunteer(1, "noord", 2, 10),
        volunteer(2, "zuid", 0, None),
        volunteer(3, "noord", 1, 5),
        volunteer(4, "noord", 1, 50),
        volunteer(5, "noord", 3, 1),  # at the cap of 3
    ]
    assert desk.rotation_order(team, "noord", 3) == [4, 3, 1, 2]
    assert desk.rotation_order(team, None, 3) == [2, 4, 3, 1]
    assert desk.rotation_order(team, "west", 1) == [2]


async def test_rotation_picks_the_least_busy_volunteer_within_cap(session: AsyncSession) -> None:
    for tid in (SANNA, PIM, 5103):
        roles_repo.add(session, tid, "volunteer", None, 1)
    session.add(Member(telegram_id=5103, locale="nl", first_name="Weg",
                       unreachable_since=NOW))  # fmt: skip
    await session.commit()
    busy = [await ask(session, 7200 + n, at=NOW - timedelta(hours=3)) for n in range(3)]
    for qid in busy[:2]:
        await desk.claim(session, VOLUNTEER, qid, SANNA, cap=2)
    with clock.travel_to(NOW):
        due = await desk.due_for_rotation(session, 60)
    assert due == [busy[2]]
    question = await repo.get(session, busy[2])
    assert question is not None
    assert await desk.candidates(session, question, 2) == [PIM]  # Sanna at cap, 5103 gone
    assert await desk.assign(session, busy[2], PIM, 2)
    stored = await repo.get(session, busy[2])
    assert stored is not None and (stored.volunteer_id, stored.claimed_how) == (PIM, "rotation")
    assert not await desk.assign(session, busy[2], SANNA, 5)  # taken already


async def test_twenty_volunteers_press_claim_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Each in its own session and connection (as separate workers would be), released at
    the same moment: exactly one holds the question, the others are told it is taken."""
    async with sessions() as session:
        qid = await ask(session)
    start, enough = asyncio.Event(), asyncio.Event()
    ready = 0

    async def press(volunteer_id: int) -> str:
        nonlocal ready
        async with sessions() as session:
            await session.connection()
            ready += 1
            if ready == 10:  # the pool lends 10 or more at once; the rest join as they free up
                enough.set()
            await start.wait()
            try:
                await desk.claim(session, VOLUNTEER, qid, volunteer_id, cap=5)
            except desk.Taken as refused:
                assert refused.question.volunteer_id not in (None, volunteer_id)
                return "taken"
            return "mine"

    tasks = [asyncio.create_task(press(6000 + n)) for n in range(20)]
    await enough.wait()
    start.set()
    outcomes = await asyncio.gather(*tasks)
    assert sorted(outcomes) == ["mine"] + ["taken"] * 19
    async with sessions() as session:
        question = await repo.get(session, qid)
    assert question is not None and question.state == "claimed"
    assert question.volunteer_id == 6000 + outcomes.index("mine")


async def test_one_volunteer_tapping_many_at_once_stays_within_cap(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        ids = [await ask(session, 7300 + n) for n in range(8)]

    async def press(qid: int) -> bool:
        async with sessions() as session:
            try:
                await desk.claim(session, VOLUNTEER, qid, SANNA, cap=3)
            except desk.AtCap:
                return False
            return True

    assert sum(await asyncio.gather(*(press(qid) for qid in ids))) == 3
    async with sessions() as session:
        assert (await desk.my_threads(session, SANNA, 0))[1] == 3
