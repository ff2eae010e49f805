"""Shared fixtures: a fresh database per test (SQLite file or a new PostgreSQL database),
and the real bot polling the sandbox over HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import clock
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# LEDENBOT_TEST_CLOCK=23:30 runs the whole suite as if it were the next 23:30 in the
# organisation's time zone: no test may depend on the hour it runs at.
TEST_CLOCK = os.environ.get("LEDENBOT_TEST_CLOCK")


def next_local(hhmm: str, zone: str = "Europe/Amsterdam") -> datetime:
    """The next moment it is `hhmm` in `zone` (today or tomorrow), as an aware UTC datetime."""
    tz = ZoneInfo(zone)
    local = datetime.now(tz)
    hour, minute = (int(part) for part in hhmm.split(":"))
    at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at <= local:
        at = (at + timedelta(days=1)).replace(hour=hour, minute=minute)
    return at.astimezone(UTC)


@pytest.fixture(autouse=True)
def suite_clock() -> Iterator[None]:
    if not TEST_CLOCK:
        yield
        return
    with clock.travel_to(next_local(TEST_CLOCK)):
        yield


def unavailable(service: str, reason: str) -> None:
    """Skip on a laptop without the service; under CI=true a missing service is a failure."""
    message = f"{service} is not reachable ({reason})"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(f"{message}; set TEST_POSTGRES_URL / TEST_REDIS_URL or start it")


async def _pg_admin():  # type: ignore[no-untyped-def]
    import asyncpg

    url = make_url(PG_ADMIN_URL)
    try:
        return await asyncpg.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username or "postgres",
            password=url.password,
            database=url.database or "postgres",
            timeout=5,
        )
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", f"{type(exc).__name__}: {exc}")


async def create_pg_database() -> str:
    """A new, empty database on the server; its URL for our engine."""
    name = f"ledenbot_test_{uuid.uuid4().hex[:12]}"
    conn = await _pg_admin()
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


async def drop_pg_database(database_url: str) -> None:
    name = make_url(database_url).database
    conn = await _pg_admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session
