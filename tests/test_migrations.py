"""Migrations run both ways on both databases, and match the models exactly."""

from __future__ import annotations

import hashlib
import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import bindparam, inspect, text
from sqlalchemy.engine import Connection

from bot.app import build_app
from bot.settings import SANDBOX_TOKEN, Settings
from storage import migrate
from storage.engine import create_engine
from storage.migrate import (
    HEAD_REVISION,
    alembic_config,
    current_revisions,
    downgrade,
    upgrade,
    upgrade_if_behind,
)
from storage.models import Base, UTCDateTime, talent_search_indexes
from tests.factories import NOW


async def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        await downgrade(engine, "base")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await upgrade(engine)
        async with engine.connect() as conn:
            codes = (await conn.execute(text("SELECT code FROM regions ORDER BY position"))).all()
        assert [c for (c,) in codes] == ["noord", "oost", "west", "zuid"]
    finally:
        await engine.dispose()


def test_head_revision_is_alembics_head() -> None:
    """The start-up check compares with HEAD_REVISION: a new revision must bump it."""
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [HEAD_REVISION]


async def test_start_upgrades_a_database_behind_head(database_url: str) -> None:
    """build_app skips Alembic only when the database is at head: one behind is upgraded."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0007")
        assert await current_revisions(engine) == {"0007"}
        settings = Settings(
            _env_file=None, bot_token=SANDBOX_TOKEN, database_url=database_url, admin_ids=""
        )  # type: ignore[call-arg]
        app = await build_app(settings)
        await app.close()
        assert await current_revisions(engine) == {HEAD_REVISION}
        async with engine.connect() as conn:  # 0008's column is there
            columns = await conn.run_sync(lambda c: inspect(c).get_columns("workshops"))
        assert "code" in {column["name"] for column in columns}
    finally:
        await engine.dispose()


async def test_a_new_database_is_upgraded_and_one_at_head_left_alone(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(database_url)
    try:
        assert await current_revisions(engine) == set()
        assert await upgrade_if_behind(engine) is True
        assert await current_revisions(engine) == {HEAD_REVISION}

        async def no_alembic(*args: object, **kwargs: object) -> None:
            raise AssertionError("Alembic ran for a database at head")

        monkeypatch.setattr(migrate, "upgrade", no_alembic)
        assert await upgrade_if_behind(engine) is False
    finally:
        await engine.dispose()


async def test_models_and_migrations_agree(database_url: str) -> None:
    talent_search_indexes()  # declared only when asked (storage/models.py says why)

    def diff(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()


async def test_existing_workshops_get_unguessable_codes(database_url: str) -> None:
    """0008 gives workshops created before it a poster code each, all different."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0007")
        async with engine.begin() as conn:
            for title in ("Debatteren", "Begroting lezen"):
                await conn.execute(
                    text(
                        "INSERT INTO workshops (title, description, starts_at, ends_at, capacity,"
                        " language, members_only, status, lock_version, created_at, updated_at)"
                        " VALUES (:t, '', :s, :s, 10, 'nl', false, 'published', 0, :s, :s)"
                    ).bindparams(bindparam("s", type_=UTCDateTime())),
                    {"t": title, "s": NOW},
                )
        await upgrade(engine)
        async with engine.connect() as conn:
            codes = [c for (c,) in await conn.execute(text("SELECT code FROM workshops"))]
        assert len(codes) == 2 and len(set(codes)) == 2 and all(len(c) == 12 for c in codes)
    finally:
        await engine.dispose()


async def test_undrawn_lotteries_get_a_fresh_secret_seed_and_its_commitment(
    database_url: str,
) -> None:
    """Before 0008 a lottery's seed was published in advance: 0008 replaces the seed of every
    undrawn lottery and publishes only its commitment; drawn and fcfs tracks keep theirs."""
    old = "0123456789abcdef0123456789abcdef"
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0007")
        async with engine.begin() as conn:
            for title, allocation, drawn in (
                ("Open", "lottery", None),
                ("Drawn", "lottery", NOW),
                ("First come", "fcfs", None),
            ):
                await conn.execute(
                    text(
                        "INSERT INTO tracks (title, description, allocation, places, seed,"
                        " drawn_at, lock_version, created_at)"
                        " VALUES (:t, '', :a, 10, :seed, :d, 0, :s)"
                    ).bindparams(
                        bindparam("s", type_=UTCDateTime()), bindparam("d", type_=UTCDateTime())
                    ),
                    {"t": title, "a": allocation, "seed": old, "d": drawn, "s": NOW},
                )
        await upgrade(engine)
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT title, seed, seed_commitment FROM tracks"))
            tracks = {title: (seed, commitment) for title, seed, commitment in rows}
        seed, commitment = tracks["Open"]
        assert seed != old and re.fullmatch(r"[0-9a-f]{32}", seed)
        assert commitment == hashlib.sha256(seed.encode()).hexdigest()
        assert tracks["Drawn"] == (old, None)
        assert tracks["First come"] == (old, None)
    finally:
        await engine.dispose()
