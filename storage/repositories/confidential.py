"""Queries of the confidential path: cases by keyed tag, relay routes, counts, code tries."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ConfidentialCase,
    ConfidentialMonth,
    ConfidentialRelay,
    ConfidentialTry,
    Counsellor,
    Role,
)

OPEN, CLOSED = "open", "closed"


async def counsellors(session: AsyncSession, *, reachable_only: bool) -> list[Counsellor]:
    """Counsellors who hold the counsellor role (a profile outlives a role taken away)."""
    query = (
        select(Counsellor)
        .where(
            Counsellor.telegram_id.in_(
                select(Role.telegram_id).where(Role.role == "counsellor").scalar_subquery()
            )
        )
        .order_by(Counsellor.kind, Counsellor.display_name, Counsellor.id)
    )
    if reachable_only:
        query = query.where(Counsellor.reachable.is_(True))
    return list(await session.scalars(query))


async def counsellor_holders(session: AsyncSession) -> list[int]:
    """Telegram ids holding the counsellor role, profile or not."""
    rows = await session.scalars(
        select(Role.telegram_id).where(Role.role == "counsellor").order_by(Role.telegram_id)
    )
    return list(dict.fromkeys(rows))


async def counsellor(session: AsyncSession, counsellor_id: int) -> Counsellor | None:
    return await session.get(Counsellor, counsellor_id)


async def counsellor_by_telegram(session: AsyncSession, telegram_id: int) -> Counsellor | None:
    return await session.scalar(select(Counsellor).where(Counsellor.telegram_id == telegram_id))


async def open_counts(session: AsyncSession) -> dict[int, int]:
    """Open cases per counsellor: to pick "whoever is available" fairly."""
    rows = await session.execute(
        select(ConfidentialCase.counsellor_id, func.count())
        .where(ConfidentialCase.status == OPEN)
        .group_by(ConfidentialCase.counsellor_id)
    )
    return {row[0]: row[1] for row in rows.all() if row[0] is not None}


async def case(
    session: AsyncSession, case_id: int, *, lock: bool = False
) -> ConfidentialCase | None:
    if lock:  # the row is written first: PostgreSQL's row lock, SQLite's write lock
        await session.execute(
            update(ConfidentialCase)
            .where(ConfidentialCase.id == case_id)
            .values(status=ConfidentialCase.status)
        )
    return await session.get(ConfidentialCase, case_id, populate_existing=True)


async def case_by_code_tag(session: AsyncSession, code_tag: bytes) -> ConfidentialCase | None:
    return await session.scalar(
        select(ConfidentialCase).where(ConfidentialCase.code_tag == code_tag)
    )


async def cases_by_member_tag(session: AsyncSession, member_tag: bytes) -> list[ConfidentialCase]:
    rows = await session.scalars(
        select(ConfidentialCase)
        .where(ConfidentialCase.member_tag == member_tag)
        .order_by(ConfidentialCase.id)
    )
    return list(rows)


async def cases_of_counsellor(
    session: AsyncSession, counsellor_id: int, offset: int, limit: int
) -> tuple[list[ConfidentialCase], int]:
    where = (ConfidentialCase.counsellor_id == counsellor_id, ConfidentialCase.status == OPEN)
    total = await session.scalar(select(func.count()).select_from(ConfidentialCase).where(*where))
    rows = await session.scalars(
        select(ConfidentialCase)
        .where(*where)
        .order_by(ConfidentialCase.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows), int(total or 0)


async def delete_cases(session: AsyncSession, case_ids: list[int]) -> int:
    if not case_ids:
        return 0
    result = await session.execute(
        delete(ConfidentialCase).where(ConfidentialCase.id.in_(case_ids))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def closed_before(session: AsyncSession, day: date) -> list[int]:
    rows = await session.scalars(
        select(ConfidentialCase.id).where(
            ConfidentialCase.status == CLOSED, ConfidentialCase.closed_on <= day
        )
    )
    return list(rows)


def add_route(session: AsyncSession, counsellor_id: int, message_id: int, case_id: int) -> None:
    session.add(
        ConfidentialRelay(counsellor_id=counsellor_id, message_id=message_id, case_id=case_id)
    )


async def routed(session: AsyncSession, counsellor_id: int, message_id: int) -> int | None:
    return await session.scalar(
        select(ConfidentialRelay.case_id).where(
            ConfidentialRelay.counsellor_id == counsellor_id,
            ConfidentialRelay.message_id == message_id,
        )
    )


async def count_month(session: AsyncSession, month: str, field: str) -> None:
    """One more case opened or closed this month (the row made on first use)."""
    row = await session.get(ConfidentialMonth, month)
    if row is None:
        row = ConfidentialMonth(month=month, opened=0, closed=0)
        session.add(row)
    setattr(row, field, getattr(row, field) + 1)


async def months(session: AsyncSession, last: int) -> list[ConfidentialMonth]:
    rows = await session.scalars(
        select(ConfidentialMonth).order_by(ConfidentialMonth.month.desc()).limit(last)
    )
    return list(rows)


async def take_try(
    session: AsyncSession, account_tag: bytes, now: datetime, window_start: datetime
) -> int:
    """Count one code typed by this account; how many in the current window (this one too)."""
    row = await session.get(ConfidentialTry, account_tag, with_for_update=True)
    if row is None:
        session.add(ConfidentialTry(account_tag=account_tag, window_start=now, tries=1))
        return 1
    if row.window_start <= window_start:
        row.window_start, row.tries = now, 1
        return 1
    row.tries += 1
    return row.tries


async def forget_tries(session: AsyncSession, window_start: datetime) -> int:
    result = await session.execute(
        delete(ConfidentialTry).where(ConfidentialTry.window_start <= window_start)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
