"""Queries about the configured regions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Region


async def all_regions(session: AsyncSession) -> list[Region]:
    rows = await session.scalars(select(Region).order_by(Region.position, Region.code))
    return list(rows)


async def get(session: AsyncSession, code: str) -> Region | None:
    return await session.get(Region, code)
