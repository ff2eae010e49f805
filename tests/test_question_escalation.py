"""Escalation on both databases: exactly the questions due (queued long enough, no first
answer, not escalated before), never twice — also with two passes at once — and one notice
per organiser of the member's region (else the national organisers and admins), in their
language, oldest first, within Telegram's limit."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import clock, question_escalation
from bot.formatting import TEXT_LIMIT
from bot.i18n import create_i18n
from bot.services.roles import RoleName
from bot.settings import Settings
from storage.models import Member, OutboxRow, questions
from storage.repositories import questions as repo
from tests.factories import give_role

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
I18N = create_i18n("nl")
ADMIN_FROM_ENV = 4999  # an admin from ADMIN_IDS who never started the bot


def settings(**values: Any) -> Settings:
    values = {"admin_ids": str(ADMIN_FROM_ENV), "default_locale": "nl", **values}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def person(session: AsyncSession, telegram_id: int, locale: str, name: str) -> Member:
    member = Member(telegram_id=telegram_id, locale=locale, first_name=name)
    session.add(member)
    await session.flush()
    return member


async def ask(
    session: AsyncSession,
    member: Member,
    text: str | None,
    *,
    waited: timedelta,
    state: str = "open",
    region: str | None = None,
    language: str = "nl",
    **changes: Any,
) -> int:
    """A question as the member's side stores it, queued `waited` before NOW."""
    at = NOW - waited
    qid = await repo.create(session, member_id=member.id, language=language, region_code=region,
                            identity="name", state=state if state != "claimed" else "open",
                            knowledge_id=None, now=at)  # fmt: skip
    if text is not None:
        await repo.add_message(session, qid, author="member", kind="text", text=text,
                               file_id=None, now=at)  # fmt: skip
    else:
        await repo.add_message(session, qid, author="member", kind="photo", text=None,
                               file_id="AgAD", now=at)  # fmt: skip
    if state == "claimed":
        changes = {"volunteer_id": 5003, "claimed_at": at, "claimed_how": "claim", **changes}
    if state != "open" or changes:
        await session.execute(
            update(questions).where(questions.c.id == qid).values(state=state, **changes)
        )
    await session.commit()
    return qid


async def notices(session: AsyncSession) -> dict[int, list[str]]:
    """What the outbox holds, per chat: the texts in posting order."""
    rows = await session.scalars(select(OutboxRow).order_by(OutboxRow.id))
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(row.chat_id, []).append(row.payload["parts"][0]["text"])
    return found


def numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"<b>#(\d+)</b>", text)]


async def staff(session: AsyncSession) -> None:
    """Organisers of Noord (sv) and Oost (nl), a national organiser (en), an admin (nl)."""
    await person(session, 4001, "sv", "Sanna")
    await person(session, 4002, "nl", "Olaf")
    await person(session, 4003, "en", "Nora")
    await person(session, 4004, "nl", "Ad")
    await session.commit()
    await give_role(session, 4001, RoleName.ORGANISER, "noord")
    await give_role(session, 4002, RoleName.ORGANISER, "oost")
    await give_role(session, 4003, RoleName.ORGANISER)
    await give_role(session, 4004, RoleName.ADMIN)


async def test_exactly_the_due_ones_go_to_the_right_organisers_once(
    session: AsyncSession,
) -> None:
    await staff(session)
    member = await person(session, 7001, "nl", "Mira")
    hour = timedelta(hours=1)
    noord = await ask(session, member, "Hoe word ik kandidaat?", waited=25 * hour,
                      region="noord")  # fmt: skip
    nowhere = await ask(session, member, "How do I change my bank account?", waited=30 * hour,
                        state="claimed", language="en")  # fmt: skip
    zuid = await ask(session, member, None, waited=50 * hour, region="zuid", language="sv")
    early = await ask(session, member, "Te vroeg", waited=23 * hour, region="noord")
    await ask(session, member, "Al beantwoord", waited=48 * hour, state="claimed",
              region="noord", first_answer_at=NOW - 40 * hour)  # fmt: skip
    await ask(session, member, "Gesloten", waited=48 * hour, state="closed", region="noord",
              closed_at=NOW - 30 * hour, closed_by="member")  # fmt: skip
    await ask(session, member, "Al geëscaleerd", waited=60 * hour, region="noord",
              escalated_at=NOW - 30 * hour)  # fmt: skip
    for state in ("helped", "suggested"):  # never queued
        await repo.create(session, member_id=member.id, language="nl", region_code="noord",
                          identity="name", state=state, knowledge_id="k1",
                          now=NOW - 50 * hour)  # fmt: skip
    await session.commit()

    escalated, posted = await question_escalation.escalate(session, I18N, settings(), NOW)

    assert escalated == sorted([noord, nowhere, zuid])
    told = await notices(session)
    assert len(posted) == sum(len(texts) for texts in told.values()) == 4
    assert set(told) == {4001, 4003, 4004, ADMIN_FROM_ENV}  # not Oost's organiser
    [sanna] = told[4001]  # Noord's own organiser, in Swedish, Noord's question only
    assert numbers(sanna) == [noord]
    assert sanna.startswith("⏰ <b>1 fråga</b> har väntat mer än 24 timmar på ett svar:")
    assert "· nederländska · har väntat 25 timmar" in sanna
    assert "<i>Hoe word ik kandidaat?</i>" in sanna
    assert "Volontärerna kan ta dem i /wachtrij" in sanna
    [nora] = told[4003]  # no region, and Zuid without an organiser: national, oldest first
    assert numbers(nora) == [zuid, nowhere]
    assert nora.startswith("⏰ <b>2 questions</b> have waited more than 24 hours for an answer:")
    assert f"<b>#{zuid}</b> · Swedish · waiting 2 days" in nora
    assert "(a photo or file, without text)" in nora
    assert f"<b>#{nowhere}</b> · English · waiting 30 hours" in nora
    [ad] = told[4004]
    assert numbers(ad) == [zuid, nowhere]
    assert "<b>2 vragen</b> wachten al langer dan 24 uur op een antwoord:" in ad
    assert "· Zweeds · wacht al 2 dagen" in ad
    assert "Vrijwilligers kunnen ze oppakken in /wachtrij" in ad
    assert told[ADMIN_FROM_ENV] == [ad]  # no member row: the default language

    rows = (await session.execute(select(questions.c.id, questions.c.escalated_at))).all()
    assert {qid for qid, at in rows if at == NOW} == {noord, nowhere, zuid}

    # a second pass, later: nothing new, nobody told again; then the early one falls due
    later = NOW + timedelta(minutes=30)
    again, posted = await question_escalation.escalate(session, I18N, settings(), later)
    assert (again, posted) == ([], [])
    assert sum(len(texts) for texts in (await notices(session)).values()) == 4
    again, posted = await question_escalation.escalate(session, I18N, settings(), NOW + hour)
    assert again == [early] and len(posted) == 1
    assert numbers((await notices(session))[4001][-1]) == [early]


async def test_many_due_make_one_notice_per_organiser_that_fits(session: AsyncSession) -> None:
    await staff(session)
    member = await person(session, 7001, "nl", "Mira")
    long = "Waar & wanneer <is> de cursus? " * 20  # 600 characters, markup to escape
    ids = [
        await ask(session, member, f"{n} {long}", waited=timedelta(hours=100 - n), region="noord")
        for n in range(40)
    ]
    escalated, posted = await question_escalation.escalate(
        session, I18N, settings(question_escalate_hours=48), NOW
    )
    assert escalated == ids and len(posted) == 1
    [text] = (await notices(session))[4001]
    assert len(text) <= TEXT_LIMIT
    shown = numbers(text)
    assert shown == ids[: len(shown)] and 10 <= len(shown) < 40  # oldest first, as many as fit
    assert text.startswith("⏰ <b>40 frågor</b> har väntat mer än 2 dygn på ett svar:")
    assert f"… och {40 - len(shown)} till." in text
    quoted = re.findall(r"<i>(.*?)</i>", text)
    assert all(q.endswith("…") and "&amp;" in q and "&lt;is&gt;" in q for q in quoted)
    assert all(len(q.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")) == 200
               for q in quoted)  # fmt: skip


async def test_two_passes_at_once_escalate_each_question_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await staff(session)
        member = await person(session, 7001, "nl", "Mira")
        ids = [
            await ask(
                session,
                member,
                f"Vraag {n}",
                waited=timedelta(hours=30 + n),
                region="noord" if n % 2 else None,
            )
            for n in range(12)
        ]

    async def one_pass() -> list[int]:
        async with sessions() as session:
            escalated, _posted = await question_escalation.escalate(session, I18N, settings(), NOW)
            return escalated

    first, second = await asyncio.gather(one_pass(), one_pass())
    assert sorted(first + second) == sorted(ids)  # each once, by one of the two
    async with sessions() as session:
        told = await notices(session)
    for chat_id, texts in told.items():
        seen = [n for text in texts for n in numbers(text)]
        assert len(seen) == len(set(seen)), chat_id  # nobody hears of a question twice
    assert sorted(n for text in told[4001] for n in numbers(text)) == ids[1::2]
    assert sorted(n for text in told[4003] for n in numbers(text)) == ids[0::2]


async def test_the_pass_reads_the_clock(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        await staff(session)
        member = await person(session, 7001, "nl", "Mira")
        qid = await ask(session, member, "Hoe word ik kandidaat?", waited=timedelta(hours=20))
    bot = Bot("123456:TEST")
    try:
        with clock.travel_to(NOW):  # queued 20 hours ago: not yet
            assert await question_escalation.escalate_due(bot, sessions, I18N, settings()) == 0
        with clock.travel_to(NOW + timedelta(hours=4, minutes=1)):
            assert await question_escalation.escalate_due(bot, sessions, I18N, settings()) == 1
            assert await question_escalation.escalate_due(bot, sessions, I18N, settings()) == 0
    finally:
        await bot.session.close()
    async with sessions() as session:
        assert numbers((await notices(session))[4003][0]) == [qid]
