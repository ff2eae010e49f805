"""Reminders the day before a workshop, stored so a restart neither loses nor repeats one.

A pass claims due reminders with a conditional UPDATE (so two workers never claim the same
one), sends them, then marks each sent. A claim that was never marked sent — the worker died
in between — is released after CLAIM_TIMEOUT and sent by a later pass. The one case this
cannot rule out is a crash after Telegram delivered but before the mark: then the member gets
the reminder twice. No Bot API call is idempotent, so that is the least-bad choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, Signup, Workshop

CLAIM_TIMEOUT = timedelta(minutes=10)
BATCH = 200


@dataclass(frozen=True, slots=True)
class Due:
    signup_id: int
    member_id: int
    telegram_id: int
    locale: str
    workshop_id: int


async def claim(session: AsyncSession, now: datetime, lead: timedelta) -> list[Due]:
    """Claim up to BATCH reminders for confirmed places at workshops starting within `lead`."""
    stale = now - CLAIM_TIMEOUT
    candidates = (
        await session.execute(
            select(Signup.id, Member.id, Member.telegram_id, Member.locale, Workshop.id)
            .join(Workshop, Workshop.id == Signup.workshop_id)
            .join(Member, Member.id == Signup.member_id)
            .where(
                Signup.status == "confirmed",
                Signup.reminded_at.is_(None),
                or_(Signup.reminder_claimed_at.is_(None), Signup.reminder_claimed_at < stale),
                Workshop.status == "published",
                Workshop.starts_at > now,
                Workshop.starts_at <= now + lead,
                Member.unreachable_since.is_(None),
            )
            .order_by(Workshop.starts_at, Signup.id)
            .limit(BATCH)
        )
    ).all()
    claimed: list[Due] = []
    for signup_id, member_id, telegram_id, locale, workshop_id in candidates:
        result = await session.execute(
            update(Signup)
            .where(
                Signup.id == signup_id,
                Signup.reminded_at.is_(None),
                or_(Signup.reminder_claimed_at.is_(None), Signup.reminder_claimed_at < stale),
            )
            .values(reminder_claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            claimed.append(Due(signup_id, member_id, telegram_id, locale, workshop_id))
    await session.commit()
    return claimed


async def mark_sent(session: AsyncSession, signup_id: int, now: datetime) -> None:
    await session.execute(
        update(Signup)
        .where(and_(Signup.id == signup_id, Signup.reminded_at.is_(None)))
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.commit()


async def release(session: AsyncSession, signup_id: int) -> None:
    """Sending failed for a reason worth retrying: let the next pass try again."""
    await session.execute(
        update(Signup)
        .where(Signup.id == signup_id, Signup.reminded_at.is_(None))
        .values(reminder_claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
