"""The organiser's list of a workshop's sign-ups, with names, in one query."""

from __future__ import annotations

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
