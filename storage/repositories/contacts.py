"""Contact requests and the audit log of the talent base."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry, ContactRequest


def audit(
    session: AsyncSession,
    actor_id: int,
    action: str,
    query: str | None = None,
    region: str | None = None,
    results: int | None = None,
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor_id,
            action=action,
            query=(query or "")[:200] or None,
            region_code=region,
            results=results,
        )
    )


async def pending(
    session: AsyncSession, requester_id: int, member_id: int
) -> ContactRequest | None:
    return await session.scalar(
        select(ContactRequest).where(
            ContactRequest.requester_id == requester_id,
            ContactRequest.member_id == member_id,
            ContactRequest.status == "pending",
        )
    )


async def get(session: AsyncSession, request_id: int) -> ContactRequest | None:
    return await session.get(ContactRequest, request_id)


async def answer(
    session: AsyncSession, request_id: int, member_id: int, status: str, when: datetime
) -> bool:
    """Answer a pending request addressed to this member; False if it is not (any more)."""
    result = await session.execute(
        update(ContactRequest)
        .where(
            ContactRequest.id == request_id,
            ContactRequest.member_id == member_id,
            ContactRequest.status == "pending",
        )
        .values(status=status, answered_at=when)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def last_declined(
    session: AsyncSession, requester_id: int, member_id: int
) -> datetime | None:
    """When this member last said no to this requester (None: never)."""
    return await session.scalar(
        select(func.max(ContactRequest.answered_at)).where(
            ContactRequest.requester_id == requester_id,
            ContactRequest.member_id == member_id,
            ContactRequest.status == "declined",
        )
    )


async def count_since(session: AsyncSession, requester_id: int, since: datetime) -> int:
    """How many requests this requester made from `since` on."""
    found = await session.scalar(
        select(func.count())
        .select_from(ContactRequest)
        .where(ContactRequest.requester_id == requester_id, ContactRequest.created_at >= since)
    )
    return int(found or 0)


async def close_undelivered(session: AsyncSession, request_id: int, when: datetime) -> None:
    """A pending request whose question could not be delivered."""
    await session.execute(
        update(ContactRequest)
        .where(ContactRequest.id == request_id, ContactRequest.status == "pending")
        .values(status="undelivered", answered_at=when)
        .execution_options(synchronize_session=False)
    )
