"""The organiser's list of a workshop's sign-ups, with names, in one query."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, Signup


async def active_with_names(
    session: AsyncSession, workshop_id: int
) -> list[tuple[str, str | None]]:
    """(status, first name) of every confirmed or waiting sign-up, in list order."""
    rows = await session.execute(
        select(Signup.status, Member.first_name)
        .join(Member, Member.id == Signup.member_id)
        .where(Signup.workshop_id == workshop_id, Signup.status != "cancelled")
        .order_by(Signup.position, Signup.id)
    )
    return [(status, name) for status, name in rows.all()]


async def confirmed_with_names(
    session: AsyncSession, workshop_id: int
) -> list[tuple[int, str | None, datetime | None]]:
    """(sign-up id, first name, checked in at) of every confirmed place, in list order."""
    rows = await session.execute(
        select(Signup.id, Member.first_name, Signup.checked_in_at)
        .outerjoin(Member, Member.id == Signup.member_id)
        .where(Signup.workshop_id == workshop_id, Signup.status == "confirmed")
        .order_by(Signup.position, Signup.id)
    )
    return [(signup_id, name, at) for signup_id, name, at in rows.all()]
