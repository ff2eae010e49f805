"""The questions' shared queries on both databases: a question with its member, the thread
without notes for the member, routes, the linked group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member
from storage.repositories import questions as repo

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


async def test_a_question_its_thread_and_routes(session: AsyncSession) -> None:
    member = Member(telegram_id=7001, locale="sv", first_name="Astrid", username="astrid_s")
    session.add(member)
    await session.flush()
    qid = await repo.create(session, member_id=member.id, language="sv", region_code=None,
                            identity="name", state="open", knowledge_id=None, now=NOW)  # fmt: skip
    await repo.add_message(session, qid, author="member", kind="text", text="Hur blir jag "
                           "kandidat?", file_id=None, now=NOW)  # fmt: skip
    later = NOW + timedelta(minutes=1)
    await repo.add_message(session, qid, author="note", author_id=5003, kind="text",
                           text="Ring henne", file_id=None, now=later)  # fmt: skip
    await repo.add_message(session, qid, author="volunteer", author_id=5003, kind="photo",
                           text=None, file_id="AgAD", now=NOW + timedelta(minutes=2))  # fmt: skip
    await repo.add_route(session, 5003, 77, qid)
    await repo.link_chat(session, "volunteers", -1001, "Old", 5001, NOW)
    await repo.link_chat(session, "volunteers", -1002, "Vrijwilligers", 5001, NOW)
    await session.commit()

    question = await repo.get(session, qid)
    assert question is not None
    assert (question.state, question.queued_at, question.telegram_id, question.first_name) == (
        "open",
        NOW,
        7001,
        "Astrid",
    )
    member_sees = await repo.messages(session, qid, notes=False)
    assert [(m.author, m.kind) for m in member_sees] == [("member", "text"), ("volunteer", "photo")]
    assert len(await repo.messages(session, qid, notes=True)) == 3
    assert await repo.routed(session, 5003, 77) == qid
    assert await repo.routed(session, 5003, 78) is None
    assert await repo.linked_chat(session, "volunteers") == -1002
    assert await repo.get(session, qid + 1) is None
