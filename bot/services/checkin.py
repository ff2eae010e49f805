"""Check-in at the venue: the trainer shows a QR code, members scan it.

The code is a deep link `/start c_<token>`, one token per workshop, accepted from an hour
before the start until the end (a late-night or overnight workshop included), so a photo of
last month's code, or a link forwarded to someone at home, does nothing. Moving the workshop
gives it a new token. Trainers can also tick attendance by hand.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.services.spreadsheet import SafeWriter
from storage.models import Member, Signup, Workshop
from storage.repositories import members as member_repo
from storage.repositories import signups as signup_repo

OPENS_BEFORE = timedelta(hours=1)


class CheckInError(Exception):
    """Why a scan did not check someone in; the handler explains each."""


class UnknownCode(CheckInError):
    pass


class OutsideWindow(CheckInError):
    """Scanned too early or too late; carries the window to tell the member."""

    def __init__(self, opens: datetime, closes: datetime) -> None:
        super().__init__(opens, closes)
        self.opens, self.closes = opens, closes


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
    import segno  # only for the trainer who asks for a code, not at every start

    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


def window(workshop: Workshop) -> tuple[datetime, datetime]:
    """When the code checks people in: from an hour before the start until the end."""
    return workshop.starts_at - OPENS_BEFORE, workshop.ends_at


async def check_in(session: AsyncSession, member: Member, token: str) -> CheckedIn:
    now = clock.now()
    workshop = await session.scalar(select(Workshop).where(Workshop.checkin_token == token))
    if workshop is None or workshop.status != "published":
        raise UnknownCode(token)
    opens, closes = window(workshop)
    if not opens <= now <= closes:
        raise OutsideWindow(opens, closes)
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
    signup.checked_in_at = (signup.checked_in_at or clock.now()) if present else None
    await session.commit()
    return signup


async def attendance_csv(session: AsyncSession, workshop_id: int, tz: ZoneInfo) -> bytes:
    """The attendance list for the trainer's spreadsheet: names are members' own words, so
    every cell goes through SafeWriter; with a BOM, so that Excel reads it as UTF-8."""
    out = io.StringIO()
    writer = SafeWriter(out, delimiter=";")
    writer.writerow(["name", "status", "waiting_position", "checked_in_at"])
    queue = 0
    for signup in await signup_repo.of_workshop(session, workshop_id):
        if signup.status == "cancelled":
            continue
        person = await member_repo.by_id(session, signup.member_id)
        queue += signup.status == "waiting"
        when = signup.checked_in_at
        writer.writerow(
            [
                (person.first_name if person else "") or "",
                signup.status,
                queue if signup.status == "waiting" else "",
                when.astimezone(tz).strftime("%Y-%m-%d %H:%M") if when else "",
            ]
        )
    return ("\ufeff" + out.getvalue()).encode()
