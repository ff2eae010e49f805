"""Check-in at the venue: the trainer shows a QR code, members scan it.

The code is a deep link `/start c_<token>`, one token per workshop, accepted only on the
workshop's own day (in the organisation's time zone), so a photo of last month's code does
nothing. Trainers can also tick attendance by hand.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import segno
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, Signup, Workshop, utcnow
from storage.repositories import signups as signup_repo


class CheckInError(Exception):
    """Why a scan did not check someone in; the handler explains each."""


class UnknownCode(CheckInError):
    pass


class WrongDay(CheckInError):
    def __init__(self, day: date) -> None:
        super().__init__(day)
        self.day = day


class NotOnList(CheckInError):
    pass


@dataclass(frozen=True, slots=True)
class CheckedIn:
    workshop: Workshop
    already: bool


async def token_for(session: AsyncSession, workshop: Workshop) -> str:
    if workshop.checkin_token is None:
        workshop.checkin_token = secrets.token_urlsafe(12)
        await session.commit()
    return workshop.checkin_token


def qr_png(link: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


def valid_day(workshop: Workshop, tz: ZoneInfo) -> date:
    return workshop.starts_at.astimezone(tz).date()


async def check_in(
    session: AsyncSession, member: Member, token: str, tz: ZoneInfo, now: datetime | None = None
) -> CheckedIn:
    now = now or utcnow()
    workshop = await session.scalar(select(Workshop).where(Workshop.checkin_token == token))
    if workshop is None or workshop.status != "published":
        raise UnknownCode(token)
    if now.astimezone(tz).date() != valid_day(workshop, tz):
        raise WrongDay(valid_day(workshop, tz))
    signup = await signup_repo.of_member(session, workshop.id, member.id)
    if signup is None or signup.status != "confirmed":
        raise NotOnList(workshop.id)
    already = signup.checked_in_at is not None
    if not already:
        signup.checked_in_at = now
        await session.commit()
    return CheckedIn(workshop, already)


async def set_attendance(
    session: AsyncSession, workshop_id: int, signup_id: int, present: bool
) -> Signup:
    """A trainer's tick: only for a confirmed place at this very workshop."""
    signup = await signup_repo.by_id(session, signup_id)
    if signup is None or signup.workshop_id != workshop_id or signup.status != "confirmed":
        raise NotOnList(signup_id)
    signup.checked_in_at = (signup.checked_in_at or utcnow()) if present else None
    await session.commit()
    return signup
