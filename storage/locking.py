"""The one lock every change to a workshop or a track takes first.

    async with locking.workshop(session, workshop_id) as row:
        ...  # read counts, decide, change; committed on leaving, rolled back on an error

The lock is a no-op `UPDATE … SET lock_version = lock_version + 1 … RETURNING` as the
transaction's first write: PostgreSQL then holds the row lock, SQLite the database write lock,
until the transaction ends, so everything read after it is current and two workers can never
both hand out the last place. On SQLite this process also queues its own writers (an asyncio
lock per engine, held until the transaction ends): SQLite's busy handler backs off with sleeps
of up to 100 ms when writers collide, which a burst of taps would turn into seconds. (SQLite
means one process; PostgreSQL workers rely on the row lock alone.)

Take one lock per transaction: the SQLite queue is not re-entrant.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from storage.models import Track, Workshop

_RELEASE = "ledenbot.locking.release"
_queues: weakref.WeakKeyDictionary[object, asyncio.Lock] = weakref.WeakKeyDictionary()


class Gone(LookupError):
    """The workshop or track does not exist (deleted, or a forged id)."""


@dataclass(frozen=True, slots=True)
class WorkshopRow:
    """What a decision about places needs of the workshop, read as the lock is taken."""

    status: str
    starts_at: datetime
    capacity: int
    signup_deadline: datetime | None
    members_only: bool
    title: str
    online_url: str | None


@event.listens_for(Session, "after_transaction_end")
def _release_at_end(session: Session, transaction: SessionTransaction) -> None:
    """Leave the SQLite queue when the transaction ends, however it ends (commit, rollback,
    or the session closed by the middleware after an error)."""
    if transaction.parent is None:
        release: Callable[[], None] | None = session.info.pop(_RELEASE, None)
        if release is not None:
            release()


async def _queue(session: AsyncSession) -> None:
    """Begin the transaction, then (SQLite) wait for this process's earlier writers."""
    await session.connection()  # a connection first: a writer holding the queue has one
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return
    lock = _queues.setdefault(bind, asyncio.Lock())
    await lock.acquire()
    session.sync_session.info[_RELEASE] = lock.release


async def hold_workshop(session: AsyncSession, workshop_id: int) -> WorkshopRow | None:
    """Lock the workshop until this transaction ends; its rules, or None if it is gone.

    The caller commits or rolls back; prefer `workshop()`, which does that for you."""
    await _queue(session)
    row = (
        await session.execute(
            update(Workshop)
            .where(Workshop.id == workshop_id)
            .values(lock_version=Workshop.lock_version + 1)
            .returning(
                Workshop.status,
                Workshop.starts_at,
                Workshop.capacity,
                Workshop.signup_deadline,
                Workshop.members_only,
                Workshop.title,
                Workshop.online_url,
            )
            .execution_options(synchronize_session=False)
        )
    ).first()
    return WorkshopRow(*row) if row is not None else None


async def hold_track(session: AsyncSession, track_id: int) -> Track | None:
    """Lock the track until this transaction ends; the track read after the lock, or None."""
    await _queue(session)
    result = await session.execute(
        update(Track)
        .where(Track.id == track_id)
        .values(lock_version=Track.lock_version + 1)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    track = await session.get(Track, track_id)
    assert track is not None
    await session.refresh(track)
    return track


@asynccontextmanager
async def workshop(session: AsyncSession, workshop_id: int) -> AsyncIterator[WorkshopRow]:
    """Lock a workshop for one change: commit on leaving, roll back on any error."""
    kept = list(session.identity_map.values())
    async with _transaction(session, kept):
        row = await hold_workshop(session, workshop_id)
        if row is None:
            raise Gone(workshop_id)
        yield row


@asynccontextmanager
async def track(session: AsyncSession, track_id: int) -> AsyncIterator[Track]:
    """Lock a track for one change: commit on leaving, roll back on any error."""
    kept = list(session.identity_map.values())
    async with _transaction(session, kept):
        found = await hold_track(session, track_id)
        if found is None:
            raise Gone(track_id)
        yield found


@asynccontextmanager
async def _transaction(session: AsyncSession, kept: list[Any]) -> AsyncIterator[None]:
    try:
        yield
    except Exception:
        await _roll_back(session, kept)
        raise
    except BaseException:
        await session.rollback()
        raise
    await session.commit()


async def _roll_back(session: AsyncSession, kept: list[Any]) -> None:
    """Roll back, then reload what the caller held before the lock: a rollback expires every
    object, and a refusal (full, deadline passed, applied twice) must leave the caller's
    member usable in async code, where an expired attribute cannot load itself."""
    await session.rollback()
    for instance in kept:
        if instance in session:
            try:
                await session.refresh(instance)
            except InvalidRequestError:  # its row is gone
                session.expunge(instance)
