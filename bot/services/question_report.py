"""`/vragenrapport`: the questions of the last weeks in figures, per ISO week.

A question counts in the week it was asked (local to the organisation: a week runs from
Monday 00:00 to Sunday 24:00 in settings.tz, whatever the daylight saving time); its later
fate — answered by the knowledge base or a volunteer, rated, escalated, still open — counts
with it, so a week's figures settle as its questions do. A regional organiser sees the
questions of their own region(s) only.
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel.dates import format_skeleton, format_timedelta
from babel.numbers import format_decimal, format_percent
from sqlalchemy.ext.asyncio import AsyncSession

from bot.formatting import split_lines
from bot.services import roles
from bot.services.roles import Scope
from bot.services.spreadsheet import SafeWriter
from storage.repositories import question_report as repo

WEEKS = 8
STILL_OPEN = frozenset({"open", "claimed"})


@dataclass(slots=True)
class Week:
    """One ISO week's figures (`start` is its Monday, local)."""

    start: date
    asked: int = 0
    helped: int = 0  # answered from the knowledge base ("did this help?" — yes)
    queued: int = 0  # went to the volunteers
    answered: int = 0  # had a first answer from a volunteer
    rated: int = 0
    helpful: int = 0
    escalated: int = 0
    still_open: int = 0  # open or claimed now
    waits: list[timedelta] = field(default_factory=list)  # queued -> first answer

    @property
    def label(self) -> tuple[int, int]:
        """(ISO year, ISO week): week 53 of 2026 runs into January 2027."""
        year, week, _day = self.start.isocalendar()
        return year, week

    @property
    def median_wait(self) -> timedelta | None:
        if not self.waits:
            return None
        seconds = statistics.median(w.total_seconds() for w in self.waits)
        return timedelta(seconds=round(seconds))

    @property
    def kb_share(self) -> float | None:
        return self.helped / self.asked if self.asked else None


@dataclass(frozen=True, slots=True)
class Report:
    weeks: list[Week]  # oldest first; the last is the current week
    total: Week  # the weeks together (`start`: the first week's Monday)


def first_monday(now: datetime, tz: ZoneInfo, weeks: int = WEEKS) -> date:
    """The local Monday of the oldest week shown: `weeks` weeks, this one included."""
    today = now.astimezone(tz).date()
    return today - timedelta(days=today.weekday(), weeks=weeks - 1)


async def weekly(
    session: AsyncSession, scope: Scope, tz: ZoneInfo, now: datetime, weeks: int = WEEKS
) -> Report:
    """The figures per week for everything asked within the last `weeks` ISO weeks."""
    monday = first_monday(now, tz, weeks)
    since = datetime.combine(monday, time(0), tzinfo=tz).astimezone(UTC)
    rows = await repo.figures(session, since, scope.regions)
    shown = [Week(monday + timedelta(weeks=n)) for n in range(weeks)]
    total = Week(monday)
    for row in rows:
        index = (row.created_at.astimezone(tz).date() - monday).days // 7
        if 0 <= index < weeks:
            _count(shown[index], row)
            _count(total, row)
    return Report(shown, total)


def _count(week: Week, row: repo.Figures) -> None:
    week.asked += 1
    week.helped += row.state == "helped"
    week.queued += row.queued_at is not None
    week.escalated += row.escalated_at is not None
    week.still_open += row.state in STILL_OPEN
    if row.rating is not None:
        week.rated += 1
        week.helpful += row.rating == "helpful"
    if row.first_answer_at is not None:
        week.answered += 1
        if row.queued_at is not None:
            week.waits.append(max(timedelta(0), row.first_answer_at - row.queued_at))


# -- how it reads ------------------------------------------------------------------------


def duration(delta: timedelta, locale: str) -> str:
    """'45 minutes', '26 hours', '3 days': Babel's words, the smaller unit up to two."""
    return format_timedelta(delta, threshold=2, locale=locale)


def render(report: Report, locale: str, where: str) -> list[str]:
    """The report as messages (HTML, in the current locale) that each fit Telegram's limit:
    one block per week, oldest first, then the weeks together."""
    lines = [
        "📊 "
        + _("<b>Questions, the last {weeks} weeks</b> ({where})").format(
            weeks=len(report.weeks), where=where
        ),
        "",
    ]
    for week in report.weeks:
        lines += _week(week, locale)
    lines += _totals(report.total, locale)
    return split_lines(lines)


def _title(week: Week, locale: str) -> str:
    year, number = week.label
    end = week.start + timedelta(days=6)
    return _("<b>Week {week}</b> of {year} · {first} – {last}").format(
        week=number,
        year=year,
        first=format_skeleton("MMMd", week.start, locale=locale),
        last=format_skeleton("MMMd", end, locale=locale),
    )


def _week(week: Week, locale: str) -> list[str]:
    if not week.asked:
        return [_title(week, locale) + " · " + _("no questions"), ""]
    return [_title(week, locale), *_figures(week, locale), ""]


def _totals(total: Week, locale: str) -> list[str]:
    if not total.asked:
        return [_("No questions were asked in these weeks.")]
    return ["<b>" + _("All these weeks") + "</b>", *_figures(total, locale)]


def _figures(week: Week, locale: str) -> list[str]:
    def n(value: int) -> str:
        return format_decimal(value, locale=locale)

    share = format_percent(week.kb_share or 0, locale=locale)
    median = week.median_wait
    return [
        _("Asked {asked} · answered from the knowledge base {helped} ({share})").format(
            asked=n(week.asked), helped=n(week.helped), share=share
        ),
        _("To the volunteers {queued} · answered by a volunteer {answered}").format(
            queued=n(week.queued), answered=n(week.answered)
        ),
        _("Median time to a first answer: {time}").format(
            time=duration(median, locale) if median is not None else "—"
        ),
        _("Helpful: {helpful} of {rated} ratings · escalated {escalated} · still open {open}")
        .format(helpful=n(week.helpful), rated=n(week.rated), escalated=n(week.escalated),
                open=n(week.still_open)),
    ]  # fmt: skip


# -- the same figures as a file ----------------------------------------------------------

CSV_COLUMNS = (
    "iso_week", "week_start", "asked", "helped_by_knowledge_base", "queued",
    "answered_by_volunteer", "median_hours_to_first_answer", "knowledge_base_share", "rated",
    "helpful", "escalated", "still_open",
)  # fmt: skip


def csv_bytes(weeks: Sequence[Week]) -> bytes:
    """One row per week, machine-readable (ISO weeks and dates, decimal points), UTF-8 with
    a byte order mark so that a spreadsheet opens it as such."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(CSV_COLUMNS)
    for week in weeks:
        year, number = week.label
        median = week.median_wait
        share = week.kb_share
        writer.writerow([
            f"{year}-W{number:02d}", week.start.isoformat(), week.asked, week.helped,
            week.queued, week.answered,
            "" if median is None else f"{median.total_seconds() / 3600:.2f}",
            "" if share is None else f"{share:.3f}",
            week.rated, week.helpful, week.escalated, week.still_open,
        ])  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode("utf-8")


async def where(session: AsyncSession, scope: Scope) -> str:
    """What the report covers, as the reader says it: every region, or theirs by name."""
    if scope.everywhere:
        return _("all regions")
    names = [region.name for region in await roles.regions_in(session, scope)]
    return ", ".join(names or sorted(scope.regions or ()))
