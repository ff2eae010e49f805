"""`/vragenrapport`'s figures on both databases, on a data set whose answers are known: the
counts and the median per ISO week, weeks across a year boundary (week 53 of 2026) and a
daylight saving time change, empty weeks, a regional organiser's own region only; the text
fits one message in every language, and the CSV holds the same figures."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.formatting import TEXT_LIMIT
from bot.i18n import create_i18n
from bot.services import question_report as report
from bot.services.roles import ALL_REGIONS, Scope
from storage.models import Member, questions
from storage.repositories import questions as repo

TZ = ZoneInfo("Europe/Amsterdam")
I18N = create_i18n("nl")
MIN, HOUR = timedelta(minutes=1), timedelta(hours=1)


def local(*parts: int) -> datetime:
    """A moment given on the organisation's wall clock, in UTC."""
    return datetime(*parts, tzinfo=TZ).astimezone(UTC)  # type: ignore[misc]


async def member(session: AsyncSession) -> int:
    row = Member(telegram_id=7001, locale="nl", first_name="Mira")
    session.add(row)
    await session.flush()
    return row.id


async def asked(
    session: AsyncSession,
    member_id: int,
    at: datetime,
    state: str,
    *,
    region: str | None = "noord",
    answer_after: timedelta | None = None,
    **changes: Any,
) -> int:
    """A question asked `at`, in `state`; queued at once unless answered by the knowledge
    base; a first volunteer answer `answer_after` its queueing."""
    queued = state not in ("helped", "suggested")
    qid = await repo.create(session, member_id=member_id, language="nl", region_code=region,
                            identity="name", state="open" if queued else state,
                            knowledge_id=None if queued else "k1", now=at)  # fmt: skip
    values: dict[str, Any] = {"state": state, **changes}
    if answer_after is not None:
        values["first_answer_at"] = at + answer_after
    await session.execute(update(questions).where(questions.c.id == qid).values(**values))
    return qid


def figures(week: report.Week) -> dict[str, Any]:
    return {
        "asked": week.asked, "helped": week.helped, "queued": week.queued,
        "answered": week.answered, "median": week.median_wait, "rated": week.rated,
        "helpful": week.helpful, "escalated": week.escalated, "open": week.still_open,
    }  # fmt: skip


async def known_week(session: AsyncSession, member_id: int, monday: datetime) -> None:
    """Eight questions in the week of `monday` (local midnight, UTC): 2 answered by the
    knowledge base, 1 still deciding, 5 queued; 4 answered after 30 min, 2 h, 4 h and 5 h
    (median 3 h); 3 ratings, 2 helpful; 1 escalated; 2 still open."""
    day = timedelta(days=1)
    await asked(session, member_id, monday + 1 * HOUR, "helped")
    await asked(session, member_id, monday + day, "helped", rating="helpful")  # not a volunteer's
    await asked(session, member_id, monday + 2 * day, "suggested")
    await asked(session, member_id, monday + 2 * day + HOUR, "open",
                escalated_at=monday + 3 * day + HOUR)  # fmt: skip
    closed = {"state": "closed", "closed_by": "member"}
    await asked(session, member_id, monday + 3 * day, answer_after=30 * MIN, rating="helpful",
                **closed)  # fmt: skip
    await asked(session, member_id, monday + 4 * day, answer_after=2 * HOUR,
                rating="unhelpful", **closed)  # fmt: skip
    await asked(session, member_id, monday + 5 * day, answer_after=5 * HOUR, **closed)
    await asked(session, member_id, monday + 6 * day + 20 * HOUR, "claimed",
                answer_after=4 * HOUR, volunteer_id=5003)  # fmt: skip


async def test_known_figures_per_week_across_the_year_boundary(session: AsyncSession) -> None:
    who = await member(session)
    await known_week(session, who, local(2026, 12, 21))  # ISO week 52 of 2026
    # week 53 of 2026 runs from Monday 28 December to Sunday 3 January 2027
    await asked(session, who, local(2026, 12, 28, 0, 5), "helped")
    await asked(session, who, local(2027, 1, 1, 12, 0), "closed", answer_after=90 * MIN)
    await asked(session, who, local(2027, 1, 3, 23, 59), "open")
    await asked(session, who, local(2027, 1, 4, 0, 1), "helped")  # week 1 of 2027
    await asked(session, who, local(2026, 11, 15, 23, 59), "helped")  # before the 8 weeks
    await asked(session, who, local(2026, 11, 16, 0, 1), "helped")  # the first of the 8
    await session.commit()

    now = local(2027, 1, 6, 10, 0)  # a Wednesday in week 1 of 2027
    shown = await report.weekly(session, ALL_REGIONS, TZ, now)

    assert [w.label for w in shown.weeks] == [
        (2026, 47), (2026, 48), (2026, 49), (2026, 50), (2026, 51), (2026, 52), (2026, 53),
        (2027, 1),
    ]  # fmt: skip
    assert [w.start for w in shown.weeks][-2:] == [date(2026, 12, 28), date(2027, 1, 4)]
    assert [w.asked for w in shown.weeks] == [1, 0, 0, 0, 0, 8, 3, 1]
    assert figures(shown.weeks[5]) == {
        "asked": 8, "helped": 2, "queued": 5, "answered": 4, "median": 3 * HOUR, "rated": 3,
        "helpful": 2, "escalated": 1, "open": 2,
    }  # fmt: skip
    assert shown.weeks[5].kb_share == 0.25
    assert figures(shown.weeks[6]) == {
        "asked": 3, "helped": 1, "queued": 2, "answered": 1, "median": 90 * MIN, "rated": 0,
        "helpful": 0, "escalated": 0, "open": 1,
    }  # fmt: skip
    assert shown.weeks[1].median_wait is None and shown.weeks[1].kb_share is None
    assert figures(shown.total) == {
        "asked": 13, "helped": 5, "queued": 7, "answered": 5, "median": 2 * HOUR, "rated": 3,
        "helpful": 2, "escalated": 1, "open": 3,
    }  # fmt: skip

    with I18N.context(), I18N.use_locale("en"):
        [text] = report.render(shown, "en", "all regions")
    assert len(text) <= TEXT_LIMIT
    assert text.startswith("📊 <b>Questions, the last 8 weeks</b> (all regions)")
    assert "<b>Week 48</b> of 2026 · Nov 23 – Nov 29 · no questions" in text
    week52 = text.split("<b>Week 52</b> of 2026 · Dec 21 – Dec 27\n")[1].split("\n\n")[0]
    assert week52.splitlines() == [
        "Asked 8 · answered from the knowledge base 2 (25%)",
        "To the volunteers 5 · answered by a volunteer 4",
        "Median time to a first answer: 3 hours",
        "Helpful: 2 of 3 ratings · escalated 1 · still open 2",
    ]
    assert "<b>Week 53</b> of 2026 · Dec 28 – Jan 3\n" in text
    assert "Median time to a first answer: 90 minutes" in text
    assert text.endswith(
        "<b>All these weeks</b>\nAsked 13 · answered from the knowledge base 5 (38%)\n"
        "To the volunteers 7 · answered by a volunteer 5\n"
        "Median time to a first answer: 2 hours\n"
        "Helpful: 2 of 3 ratings · escalated 1 · still open 3"
    )
    with I18N.context(), I18N.use_locale("nl"):
        [dutch] = report.render(shown, "nl", "alle regio's")
    assert "<b>Week 52</b> van 2026 · 21 dec – 27 dec\n" in dutch
    assert "Gesteld 8 · beantwoord uit de kennisbank 2 (25%)" in dutch
    assert "Mediane tijd tot een eerste antwoord: 3 uur" in dutch
    assert "Behulpzaam: 2 van 3 waarderingen · geëscaleerd 1 · nog open 2" in dutch
    with I18N.context(), I18N.use_locale("sv"):
        [swedish] = report.render(shown, "sv", "alla regioner")
    assert "<b>Vecka 53</b> 2026 · 28 dec. – 3 jan.\n" in swedish
    assert "Mediantid till ett första svar: 90 minuter" in swedish

    rows = list(csv.reader(io.StringIO(report.csv_bytes(shown.weeks).decode("utf-8-sig")),
                           delimiter=";"))  # fmt: skip
    assert rows[0] == list(report.CSV_COLUMNS)
    assert rows[6] == ["2026-W52", "2026-12-21", "8", "2", "5", "4", "3.00", "0.250", "3", "2",
                       "1", "2"]  # fmt: skip
    assert rows[2] == ["2026-W48", "2026-11-23", "0", "0", "0", "0", "", "", "0", "0", "0", "0"]
    assert [r[0] for r in rows[1:]][-2:] == ["2026-W53", "2027-W01"]


async def test_weeks_follow_the_local_clock_through_daylight_saving_time(
    session: AsyncSession,
) -> None:
    """Summer time ends on Sunday 25 October 2026 at 03:00: the week of 19 October began at
    midnight summer time (22:00 UTC) and ends at midnight winter time (23:00 UTC)."""
    who = await member(session)
    moments = [
        datetime(2026, 10, 18, 21, 59, tzinfo=UTC),  # Sunday 23:59 summer time: week 42
        datetime(2026, 10, 18, 22, 1, tzinfo=UTC),  # Monday 00:01 summer time: week 43
        datetime(2026, 10, 25, 22, 59, tzinfo=UTC),  # Sunday 23:59 winter time: week 43
        datetime(2026, 10, 25, 23, 1, tzinfo=UTC),  # Monday 00:01 winter time: week 44
    ]
    for at in moments:
        await asked(session, who, at, "helped")
    await session.commit()
    shown = await report.weekly(session, ALL_REGIONS, TZ, local(2026, 11, 4, 9, 0), weeks=3)
    assert [(w.label, w.asked) for w in shown.weeks] == [
        ((2026, 43), 2),
        ((2026, 44), 1),
        ((2026, 45), 0),
    ]
    assert shown.total.asked == 3


async def test_a_regional_organiser_sees_only_their_region(session: AsyncSession) -> None:
    who = await member(session)
    monday = local(2027, 3, 1)
    await asked(session, who, monday + HOUR, "closed", region="noord", answer_after=HOUR)
    await asked(session, who, monday + 2 * HOUR, "open", region="oost")
    await asked(session, who, monday + 3 * HOUR, "open", region=None)
    await asked(session, who, monday + 4 * HOUR, "helped", region="noord")
    await session.commit()
    now = monday + 50 * HOUR

    noord = await report.weekly(session, Scope(frozenset({"noord"})), TZ, now)
    assert figures(noord.weeks[-1]) | {"median": None} == {
        "asked": 2, "helped": 1, "queued": 1, "answered": 1, "median": None, "rated": 0,
        "helpful": 0, "escalated": 0, "open": 0,
    }  # fmt: skip
    both = await report.weekly(session, Scope(frozenset({"noord", "oost"})), TZ, now)
    assert both.weeks[-1].asked == 3 and both.weeks[-1].still_open == 1
    everything = await report.weekly(session, ALL_REGIONS, TZ, now)
    assert everything.weeks[-1].asked == 4 and everything.weeks[-1].still_open == 2
    with I18N.context(), I18N.use_locale("nl"):
        assert await report.where(session, Scope(frozenset({"noord", "oost"}))) == "Noord, Oost"
        assert await report.where(session, ALL_REGIONS) == I18N.gettext("all regions", locale="nl")


async def test_nothing_asked_says_so(session: AsyncSession) -> None:
    shown = await report.weekly(session, ALL_REGIONS, TZ, local(2027, 3, 3, 12, 0))
    assert [w.asked for w in shown.weeks] == [0] * 8
    with I18N.context(), I18N.use_locale("en"):
        [text] = report.render(shown, "en", "Noord")
    assert text.count("· no questions") == 8
    assert text.endswith("No questions were asked in these weeks.")


def test_eight_busy_weeks_fit_one_message_in_every_language() -> None:
    weeks = [
        report.Week(
            date(2026, 12, 28) + timedelta(weeks=n),
            asked=12345,
            helped=6789,
            queued=5556,
            answered=5555,
            rated=4444,
            helpful=3333,
            escalated=1234,
            still_open=999,
            waits=[timedelta(days=12, hours=5)],
        )
        for n in range(8)
    ]
    total = report.Week(weeks[0].start, asked=98760, helped=54312, queued=44448, answered=44440,
                        rated=35552, helpful=26664, escalated=9872, still_open=7992,
                        waits=[timedelta(minutes=59)])  # fmt: skip
    for locale in ("nl", "en", "sv"):
        with I18N.context(), I18N.use_locale(locale):
            texts = report.render(report.Report(weeks, total), locale, "Noord, Oost, West, Zuid")
        assert len(texts) == 1 and len(texts[0]) <= TEXT_LIMIT, locale
        assert texts[0].count(format_decimal(12345, locale=locale)) == 8
