"""Whether we can still write to a member: Telegram tells us when they block the bot.

Broadcasts skip unreachable members instead of collecting 403s; unblocking clears the mark.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from storage.repositories import members


async def mark_unreachable(
    session: AsyncSession, telegram_id: int, when: datetime | None = None
) -> int | None:
    """The member's id when one was marked, for the log (people without consent have no row
    to mark: None)."""
    member = await members.by_telegram_id(session, telegram_id)
    if member is None:
        return None
    member.unreachable_since = member.unreachable_since or when or clock.now()
    await session.commit()
    return member.id


async def mark_reachable(session: AsyncSession, telegram_id: int) -> int | None:
    """The member's id when one was marked reachable again, else None."""
    member = await members.by_telegram_id(session, telegram_id)
    if member is None:
        return None
    member.unreachable_since = None
    await session.commit()
    return member.id
