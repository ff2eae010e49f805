"""Queries about the configured regions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Region


@dataclass(frozen=True, slots=True)
class Configured:
    """A configured region as plain values: kept between updates (`regions.configured`)."""

    code: str
    name: str
    country: str
    position: int


async def all_regions(session: AsyncSession) -> list[Configured]:
    conn = await session.connection()
    columns = (Region.code, Region.name, Region.country, Region.position)
    rows = await conn.execute(select(*columns).order_by(Region.position, Region.code))
    return [Configured(*row) for row in rows.all()]
