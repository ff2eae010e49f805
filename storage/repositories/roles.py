"""Queries about granted roles."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Role


async def for_user(session: AsyncSession, telegram_id: int) -> list[Role]:
    rows = await session.scalars(select(Role).where(Role.telegram_id == telegram_id))
    return list(rows)


async def all_grants(session: AsyncSession) -> list[Role]:
    rows = await session.scalars(select(Role).order_by(Role.role, Role.telegram_id))
    return list(rows)


def add(
    session: AsyncSession, telegram_id: int, role: str, region: str | None, granted_by: int
) -> Role:
    grant = Role(telegram_id=telegram_id, role=role, region_code=region, granted_by=granted_by)
    session.add(grant)
    return grant


async def remove(
    session: AsyncSession, telegram_id: int, role: str, region: str | None = None
) -> int:
    query = delete(Role).where(Role.telegram_id == telegram_id, Role.role == role)
    if region is not None:
        query = query.where(Role.region_code == region)
    result = await session.execute(query)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
