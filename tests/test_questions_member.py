"""The member's side of questions as a service, on both databases: a known answer first,
queueing with the identity chosen, the thread, closing, rating, another member's question
refused, the expected wait, and the unsafe-words check in three languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import question_views as views
from bot.services import questions as qs
from storage.models import Member, questions
from storage.repositories import questions as repo
from tests import factories
from tests.botrunner import I18N, t

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


async def two_members(session: AsyncSession) -> tuple[Member, Member]:
    me, other = await factories.bare_members(session, 2, start=7100, region_code="noord")
    return me, other


async def answered(session: AsyncSession, qid: int, after: timedelta = timedelta(hours=2)) -> None:
    """What the volunteers' side does when it relays the first answer."""
    await session.execute(
        update(questions)
        .where(questions.c.id == qid)
        .values(state="claimed", volunteer_id=5001, first_answer_at=NOW + after)
    )
    await session.commit()


async def test_a_known_answer_is_suggested_and_helps(session: AsyncSession) -> None:
    me, _ = await two_members(session)
    shown = await qs.suggest(session, me, "hoe wijzig ik mijn iban", "nl", NOW)
    assert shown is not None and shown.entry.entry_id == "change_bank_account"
    question = await repo.get(session, shown.qid)
    assert question is not None
    assert (question.state, question.knowledge_id, question.region_code, question.queued_at) == (
        "suggested",
        "change_bank_account",
        "noord",
        None,
    )
    await qs.helped(session, me, shown.qid)
    assert (await repo.get(session, shown.qid)).state == "helped"  # type: ignore[union-attr]
    with pytest.raises(qs.NotNow):  # a second tap on "yes" or on "no, ask a volunteer"
        await qs.queue_suggested(session, me, shown.qid, qs.Identity.NAME, NOW)


async def test_not_helped_queues_the_same_question(session: AsyncSession) -> None:
    me, _ = await two_members(session)
    shown = await qs.suggest(session, me, "How do I become a member?", "en", NOW)
    assert shown is not None
    queued = await qs.queue_suggested(session, me, shown.qid, qs.Identity.ANONYMOUS, NOW)
    assert queued == qs.Queued(shown.qid, None)
    question = await repo.get(session, shown.qid)
    assert question is not None
    assert (question.state, question.identity, question.queued_at) == ("open", "anonymous", NOW)
    thread = await repo.messages(session, shown.qid, notes=False)
    assert [(m.author, m.text) for m in thread] == [("member", "How do I become a member?")]


async def test_no_known_answer_stores_nothing_until_queued(session: AsyncSession) -> None:
    me, _ = await two_members(session)
    asked = "ik zoek een goed recept voor erwtensoep"
    assert await qs.suggest(session, me, asked, "nl", NOW) is None
    assert await qs.open_questions(session, me) == []
    queued = await qs.queue_new(session, me, asked, "nl", qs.Identity.CONTACT, NOW)
    question = await repo.get(session, queued.qid)
    assert question is not None
    assert (question.state, question.identity, question.language) == ("open", "contact", "nl")
    [(listed, text)] = await qs.open_questions(session, me)
    assert (listed.id, text) == (queued.qid, asked)


async def test_a_long_question_is_stored_whole(session: AsyncSession) -> None:
    me, _ = await two_members(session)
    asked = ("Ik heb een vraag over de afdeling. " * 200)[:4096]
    queued = await qs.queue_new(session, me, asked, "nl", qs.Identity.NAME, NOW)
    [message] = await repo.messages(session, queued.qid, notes=False)
    assert message.text == asked and len(asked) == 4096


async def test_follow_up_close_and_rating(session: AsyncSession) -> None:
    me, other = await two_members(session)
    queued = await qs.queue_new(session, me, "Wanneer is de cursus?", "nl", qs.Identity.NAME, NOW)
    row = await qs.follow_up(session, me, queued.qid, qs.Kind.PHOTO, "zie foto", "AgAD", NOW)
    thread = await repo.messages(session, queued.qid, notes=False)
    assert [(m.id, m.kind, m.file_id) for m in thread][-1] == (row, "photo", "AgAD")
    with pytest.raises(qs.NotYours):  # someone else's question, also by a forged button
        await qs.follow_up(session, other, queued.qid, qs.Kind.TEXT, "hoi", None, NOW)
    with pytest.raises(qs.NotNow):  # nothing to rate before an answer
        await qs.rate(session, me, queued.qid, True)

    await answered(session, queued.qid)
    claimed = await qs.follow_up(session, me, queued.qid, qs.Kind.DOCUMENT, None, "BQAC", NOW)
    assert (await repo.messages(session, queued.qid, notes=False))[-1].id == claimed
    assert await qs.rate(session, me, queued.qid, True) is True
    assert await qs.rate(session, me, queued.qid, True) is False  # the same tap again: kept
    assert await qs.rate(session, me, queued.qid, False) is True  # changed their mind
    with pytest.raises(qs.NotYours):
        await qs.rate(session, other, queued.qid, True)
    with pytest.raises(qs.NotYours):
        await qs.close(session, other, queued.qid, NOW)
    await qs.close(session, me, queued.qid, NOW)
    question = await repo.get(session, queued.qid)
    assert question is not None
    assert (question.state, question.closed_by, question.rating) == (
        "closed",
        "member",
        "unhelpful",
    )
    with pytest.raises(qs.NotNow):
        await qs.close(session, me, queued.qid, NOW)
    with pytest.raises(qs.NotNow):  # a closed question takes no more messages
        await qs.follow_up(session, me, queued.qid, qs.Kind.TEXT, "nog iets", None, NOW)
    assert await qs.open_questions(session, me) == []
    with pytest.raises(qs.NotYours):
        await qs.helped(session, me, queued.qid + 100)


async def test_the_expected_wait_is_the_recent_median(session: AsyncSession) -> None:
    me, _ = await two_members(session)
    assert await qs.expected_wait(session, NOW) is None
    for hours in (1, 3, 8):
        queued = await qs.queue_new(session, me, f"vraag {hours}", "nl", qs.Identity.NAME, NOW)
        await answered(session, queued.qid, timedelta(hours=hours))
    assert await qs.expected_wait(session, NOW + timedelta(days=1)) == timedelta(hours=3)
    assert await qs.expected_wait(session, NOW + timedelta(days=40)) is None  # too long ago


async def test_no_consent_no_question(session: AsyncSession) -> None:
    with pytest.raises(qs.NotYours):
        await qs.suggest(session, None, "Hoe word ik lid?", "nl", NOW)


@pytest.mark.parametrize(
    "text",
    [
        "Ik word steeds lastiggevallen door een bestuurslid",
        "Een vrijwilliger heeft me bedreigd na de vergadering",
        "Ik voel me niet veilig op de afdeling",
        "Someone in my branch keeps harassing me",
        "I was bullied at the last meeting",
        "Jag blev trakasserad på mötet",
        "Någon har hotat mig i föreningen",
        "Jag känner mig kränkt av ordföranden",
    ],
)
def test_unsafe_words_in_three_languages(text: str) -> None:
    assert qs.unsafe(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hoe wijzig ik mijn rekeningnummer?",
        "Wanneer is de volgende cursus stap 1?",
        "How do I become a candidate?",
        "Where is the threatre in Zwolle?",  # a typo is not a threat
        "Hur blir jag medlem?",
        "Hotellet för kongressen, vem betalar?",
        "Hur når jag förtroendepersonen?",
    ],
)
def test_ordinary_questions_are_not_unsafe(text: str) -> None:
    assert not qs.unsafe(text)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("nl", "De laatste tijd antwoordde een vrijwilliger binnen ongeveer 3 uur."),
        ("en", "Lately a volunteer answered within about 3 hours."),
        ("sv", "På sistone har en volontär svarat inom ungefär 3 timmar."),
    ],
)
def test_the_expected_wait_reads_naturally(lang: str, expected: str) -> None:
    with I18N.context(), I18N.use_locale(lang):
        assert views.wait_text(timedelta(hours=3, minutes=20), lang) == expected
        assert views.wait_text(None, lang) == t(lang, "A volunteer usually answers within a day.")
