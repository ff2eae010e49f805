"""Dates and numbers for people: Babel, in their locale and the configured time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_date


def long_date(moment: datetime, locale: str, tz: ZoneInfo) -> str:
    """'25 november 2026' / 'November 25, 2026' / '25 november 2026', local to the org."""
    return babel_date(moment.astimezone(tz), format="long", locale=locale)
