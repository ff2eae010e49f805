"""One lock for every change to a workshop or a track (storage/locking.py), on SQLite and
PostgreSQL: written once, released however the transaction ends, never overplacing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import tracks
from storage import locking
from storage.models import Member, TrackPlace, Workshop
from tests import factories

ROOT = Path(__file__).resolve().parents[1]


def test_the_lock_is_written_once() -> None:
    """Only storage/locking.py bumps lock_version or keeps a writer queue."""
    writers = []
    ours = ("bot", "handlers", "storage", "sandbox", "bench", "scripts")
    for path in sorted(p for folder in ours for p in (ROOT / folder).glob("**/*.py")):
        if path.name == "locking.py":
            continue
        text = path.read_text()
        if "lock_version + 1" in text or ("asyncio.Lock()" in text and "sqlite" in text):
            writers.append(str(path.relative_to(ROOT)))
    assert [w for w in writers if not w.startswith("storage/migrations")] == []


async def test_an_error_rolls_back_and_frees_the_lock_for_the_next(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        workshop_id = await factories.workshop(session, capacity=3)
        (member,) = await factories.bare_members(session, 1)
        with pytest.raises(RuntimeError):
            async with locking.workshop(session, workshop_id) as row:
                assert row.capacity == 3
                changed = await session.get(Workshop, workshop_id)
                assert changed is not None
                changed.capacity = 99
                raise RuntimeError("a refusal")
        assert member.kind == "member"  # still usable: reloaded after the rollback
    async with sessions() as other:  # would wait forever if the lock were still held
        async with asyncio.timeout(10), locking.workshop(other, workshop_id) as row:
            assert row.capacity == 3
        async with asyncio.timeout(10), locking.workshop(other, workshop_id) as row:
            assert row.capacity == 3


async def test_a_session_closed_without_commit_releases_the_lock(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        workshop_id = await factories.workshop(session)
    async with sessions() as session:
        assert await locking.hold_workshop(session, workshop_id) is not None
    async with sessions() as session, asyncio.timeout(10), locking.workshop(session, workshop_id):
        pass


async def test_a_missing_workshop_or_track_is_gone(session: AsyncSession) -> None:
    with pytest.raises(locking.Gone):
        async with locking.workshop(session, 999_999):
            pass
    with pytest.raises(locking.Gone):
        async with locking.track(session, 999_999):
            pass
    with pytest.raises(tracks.TrackGone):
        await tracks.apply(session, (await factories.bare_members(session, 1))[0], 999_999)


async def test_200_concurrent_track_applications_for_10_places(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        ids = [m.id for m in await factories.bare_members(session, 200, 3_000_000)]
        track_id = (await tracks.create(session, title="Stap 1", places=10)).id

    async def apply(member_id: int) -> tracks.Applied:
        async with sessions() as session:
            member = await session.get(Member, member_id)
            assert member is not None
            return await tracks.apply(session, member, track_id)

    results = await asyncio.gather(*(apply(m) for m in ids))
    assert sum(r.status == "placed" for r in results) == 10
    assert sorted(r.position for r in results if r.status == "waiting") == list(range(1, 191))
    async with sessions() as session:
        rows = await session.scalars(select(TrackPlace).where(TrackPlace.track_id == track_id))
        assert len(rows.all()) == 200
