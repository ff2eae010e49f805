"""Queries about workshops."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Workshop


async def get(session: AsyncSession, workshop_id: int) -> Workshop | None:
    return await session.get(Workshop, workshop_id)


async def by_code(session: AsyncSession, code: str) -> Workshop | None:
    """The workshop a poster's code names (codes are unique)."""
    return await session.scalar(select(Workshop).where(Workshop.code == code))


async def upcoming(session: AsyncSession, after: datetime, limit: int = 500) -> list[Workshop]:
    rows = await session.scalars(
        select(Workshop)
        .where(Workshop.status == "published", Workshop.starts_at > after)
        .order_by(Workshop.starts_at)
        .limit(limit)
    )
    return list(rows)


async def all_workshops(session: AsyncSession) -> list[Workshop]:
    return list(await session.scalars(select(Workshop).order_by(Workshop.starts_at, Workshop.id)))
