"""Queries about the outbox: posting messages, claiming them for sending, recording outcomes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Broadcast, OutboxRow

QUEUED, SENDING, SENT = "queued", "sending", "sent"
UNREACHABLE, FAILED, CANCELLED = "unreachable", "failed", "cancelled"
HELD = "held"  # a paused broadcast's rows
FINAL = frozenset({SENT, UNREACHABLE, FAILED, CANCELLED})


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row a sender now holds: what to send, to whom, and how often it was tried."""

    id: int
    priority: int
    chat_id: int
    member_id: int | None
    broadcast_id: int | None
    payload: Mapping[str, Any]
    attachment: bytes | None
    attempts: int
    parts_done: int
    sealed: bytes | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a claimed row: a final state, or queued again for `not_before`."""

    id: int
    state: str
    error: str | None = None
    not_before: datetime | None = None
    attempts: int | None = None
    parts_done: int | None = None


async def add_many(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows (each a dict of OutboxRow columns); their ids in the same order."""
    if not rows:
        return []
    result = await session.execute(
        insert(OutboxRow).returning(OutboxRow.id, sort_by_parameter_order=True), rows
    )
    return [row[0] for row in result.all()]


async def insert_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert many rows at once, their ids not needed (a broadcast's tens of thousands)."""
    if rows:
        await session.execute(insert(OutboxRow), rows)


async def broadcast_letters(session: AsyncSession, broadcast_id: int) -> dict[str, Any]:
    """A broadcast's letters per language, as its rows name them."""
    letters = await session.scalar(select(Broadcast.letters).where(Broadcast.id == broadcast_id))
    return dict(letters or {})


async def claim(
    session: AsyncSession, now: datetime, limit: int, ids: Collection[int] | None = None
) -> list[Claimed]:
    """Mark up to `limit` ready rows `sending` and return them, the most urgent first.

    Ready: queued, and not held back (`not_before`) past `now`; with `ids`, only those. On
    PostgreSQL, rows another worker is claiming at the same moment are skipped, not waited
    for (`SKIP LOCKED`): two workers never hold the same row.
    """
    ready = select(OutboxRow.id).where(
        OutboxRow.state == QUEUED,
        (OutboxRow.not_before.is_(None)) | (OutboxRow.not_before <= now),
    )
    if ids is not None:
        ready = ready.where(OutboxRow.id.in_(list(ids)))
    ready = (
        ready.order_by(OutboxRow.priority, OutboxRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        update(OutboxRow)
        .where(OutboxRow.id.in_(ready.scalar_subquery()))
        .values(state=SENDING, claimed_at=now)
        .returning(
            OutboxRow.id,
            OutboxRow.priority,
            OutboxRow.chat_id,
            OutboxRow.member_id,
            OutboxRow.broadcast_id,
            OutboxRow.payload,
            OutboxRow.attachment,
            OutboxRow.attempts,
            OutboxRow.parts_done,
            OutboxRow.sealed,
            OutboxRow.expires_at,
        )
    )
    claimed = [Claimed(*row) for row in result.all()]
    await session.commit()
    claimed.sort(key=lambda c: (c.priority, c.id))
    return claimed


async def record(session: AsyncSession, outcomes: Iterable[Outcome], now: datetime) -> None:
    """Write what became of claimed rows: one statement per final state, one per retry."""
    final: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.state == QUEUED:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == outcome.id)
                .values(
                    state=QUEUED,
                    not_before=outcome.not_before,
                    attempts=outcome.attempts,
                    parts_done=outcome.parts_done,
                    error=outcome.error,
                    claimed_at=None,
                )
            )
        else:
            final[(outcome.state, outcome.error)].append(outcome.id)
    for (state, error), ids in final.items():
        done: dict[str, Any] = {"state": state, "error": error, "done_at": now, "claimed_at": None}
        if state == SENT:
            done["sealed"] = None  # a confidential relay delivered: nothing of it stays
        await session.execute(update(OutboxRow).where(OutboxRow.id.in_(ids)).values(**done))
    await session.commit()


async def release_stale(session: AsyncSession, claimed_before: datetime) -> int:
    """Rows a sender claimed and never finished (it crashed) go back in the queue."""
    result = await session.execute(
        update(OutboxRow)
        .where(OutboxRow.state == SENDING, OutboxRow.claimed_at < claimed_before)
        .values(state=QUEUED, claimed_at=None)
    )
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def prune(session: AsyncSession, done_before: datetime) -> int:
    """Forget personal messages done before then: their rows hold what was said. A
    broadcast's rows stay (they name only a language) for its figures."""
    result = await session.execute(
        delete(OutboxRow).where(
            OutboxRow.broadcast_id.is_(None),
            OutboxRow.state.in_(list(FINAL)),
            OutboxRow.done_at < done_before,
        )
    )
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def states(session: AsyncSession, ids: Collection[int]) -> dict[int, str]:
    rows = await session.execute(
        select(OutboxRow.id, OutboxRow.state).where(OutboxRow.id.in_(list(ids)))
    )
    return {row[0]: row[1] for row in rows.all()}


async def next_ready_at(session: AsyncSession) -> datetime | None:
    """When the earliest row held back (`not_before`) becomes ready."""
    return await session.scalar(
        select(func.min(OutboxRow.not_before)).where(
            OutboxRow.state == QUEUED, OutboxRow.not_before.is_not(None)
        )
    )


async def counts(session: AsyncSession, broadcast_id: int) -> dict[str, int]:
    """A broadcast's rows per state."""
    rows = await session.execute(
        select(OutboxRow.state, func.count())
        .where(OutboxRow.broadcast_id == broadcast_id)
        .group_by(OutboxRow.state)
    )
    return {row[0]: row[1] for row in rows.all()}


async def cancel(session: AsyncSession, broadcast_id: int, now: datetime) -> int:
    """Every row of the broadcast not yet claimed is cancelled: none of them will be sent."""
    result = await session.execute(
        update(OutboxRow)
        .where(OutboxRow.broadcast_id == broadcast_id, OutboxRow.state.in_((QUEUED, HELD)))
        .values(state=CANCELLED, done_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def hold(session: AsyncSession, broadcast_id: int, held: bool) -> int:
    """Pause (`held`) or resume a broadcast: its rows not yet claimed wait, or go on."""
    before, after = (QUEUED, HELD) if held else (HELD, QUEUED)
    result = await session.execute(
        update(OutboxRow)
        .where(OutboxRow.broadcast_id == broadcast_id, OutboxRow.state == before)
        .values(state=after)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def set_sealed(session: AsyncSession, row_id: int, sealed: bytes) -> None:
    await session.execute(update(OutboxRow).where(OutboxRow.id == row_id).values(sealed=sealed))


async def sealed_undelivered(session: AsyncSession, now: datetime) -> list[tuple[int, bytes]]:
    """Sealed rows that will not be delivered: failed, unreachable, or past `expires_at`."""
    rows = await session.execute(
        select(OutboxRow.id, OutboxRow.sealed).where(
            OutboxRow.sealed.is_not(None),
            OutboxRow.state.in_((FAILED, UNREACHABLE, CANCELLED))
            | ((OutboxRow.state == QUEUED) & (OutboxRow.expires_at <= now)),
        )
    )
    return [(row[0], row[1]) for row in rows.all()]


async def delete_rows(session: AsyncSession, ids: Collection[int]) -> None:
    if ids:
        await session.execute(delete(OutboxRow).where(OutboxRow.id.in_(list(ids))))
