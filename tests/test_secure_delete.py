"""Erased data must not linger in the SQLite file's free pages: the project turns on
``secure_delete`` itself, whatever the local SQLite was built with."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import privacy
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade
from tests.factories import onboarded

NAME, TALENT = "Zebulonia", "Quetzalbreien"


def as_if_built_without_secure_delete(engine: AsyncEngine) -> None:
    """Many SQLite builds ship with secure_delete off: start every connection that way,
    before the project's own settings run."""

    def off(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA secure_delete=OFF")
        cursor.close()

    event.listen(engine.sync_engine, "connect", off, insert=True)


async def file_bytes(engine: AsyncEngine, path: Path) -> bytes:
    """The main database file after everything in the write-ahead log went into it."""
    async with engine.connect() as conn:
        await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    return await asyncio.to_thread(path.read_bytes)


async def test_every_sqlite_connection_has_secure_delete_on(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    as_if_built_without_secure_delete(engine)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA secure_delete"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_erased_member_leaves_no_trace_in_the_file(sqlite_url: str) -> None:
    path = Path(make_url(sqlite_url).database or "")
    engine = create_engine(sqlite_url)
    as_if_built_without_secure_delete(engine)
    try:
        await upgrade(engine)
        async with create_session_factory(engine)() as session:
            await onboarded(session, 818181, NAME, "Zwolle", talents=TALENT)
            assert NAME.encode() in await file_bytes(engine, path)  # the check can see it
            assert TALENT.encode() in await file_bytes(engine, path)
            await privacy.erase(session, 818181)
        stored = await file_bytes(engine, path)
        assert NAME.encode() not in stored
        assert TALENT.encode() not in stored
    finally:
        await engine.dispose()
