"""Dates and numbers for people: Babel, in their locale and the configured time zone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_date
from babel.dates import format_datetime as babel_datetime

TEXT_LIMIT = 4096  # Telegram's limit for one message


def long_date(moment: datetime, locale: str, tz: ZoneInfo) -> str:
    """'25 november 2026' / 'November 25, 2026' / '25 november 2026', local to the org."""
    return babel_date(moment.astimezone(tz), format="long", locale=locale)


def short_when(moment: datetime, locale: str, tz: ZoneInfo) -> str:
    """'za 14 mrt. 10:00': a workshop's start, short enough for a list line."""
    return babel_datetime(moment.astimezone(tz), "EEE d MMM HH:mm", locale=locale)


def span(start: datetime, end: datetime, locale: str, tz: ZoneInfo) -> str:
    """'zaterdag 14 maart 2027, 10:00–13:00' (the end's date too when it is another day)."""
    start, end = start.astimezone(tz), end.astimezone(tz)
    day = babel_datetime(start, "EEEE d MMMM y", locale=locale)
    begin = babel_datetime(start, "HH:mm", locale=locale)
    if end.date() == start.date():
        return f"{day}, {begin}–{babel_datetime(end, 'HH:mm', locale=locale)}"
    return f"{day}, {begin} – {babel_datetime(end, 'EEEE d MMMM y HH:mm', locale=locale)}"


def pack_lines(
    lines: Sequence[str], limit: int = TEXT_LIMIT, measure: Callable[[str], int] = len
) -> list[list[str]]:
    """Consecutive lines grouped so that each group, joined by newlines, stays within
    `limit` as `measure` counts it; a line is never cut (each is far shorter than a page)."""
    groups: list[list[str]] = []
    size = 0
    for line in lines:
        extra = measure(line) + (1 if groups and groups[-1] else 0)
        if not groups or (groups[-1] and size + extra > limit):
            groups.append([])
            size, extra = 0, measure(line)
        groups[-1].append(line)
        size += extra
    return groups


def split_lines(lines: Sequence[str], limit: int = TEXT_LIMIT) -> list[str]:
    """Lines joined into as few texts as fit Telegram's limit (measured with their markup,
    so on the safe side)."""
    return ["\n".join(group) for group in pack_lines(lines, limit)]
