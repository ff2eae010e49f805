"""Apply Alembic migrations from inside the application (run, chat, migrate, tests).

Alembic (with Mako, Pygments and the SQLAlchemy dialects it pulls in) costs 0.2-0.4 s and
11 MiB to import, so it is imported only when a migration actually runs: `ledenbot run`
starts with one cheap query for the database's revision and needs Alembic only when that is
behind HEAD_REVISION.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# The newest revision in migrations/versions; tests/test_migrations.py checks that it is
# Alembic's head, so a new revision without this bump fails the suite.
HEAD_REVISION = "0019"


def alembic_config() -> Config:
    """A config that works from any working directory, with or without alembic.ini."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def current_revisions(engine: AsyncEngine) -> set[str]:
    """The revisions the database is at, read without Alembic; empty for a new database."""
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            return {str(version) for (version,) in rows}
    except DBAPIError:  # no alembic_version table yet
        return set()


async def upgrade_if_behind(engine: AsyncEngine) -> bool:
    """Upgrade to head unless the database is already there; True when Alembic ran."""
    if await current_revisions(engine) == {HEAD_REVISION}:
        return False
    await upgrade(engine)
    return True


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    from alembic import command

    def _run(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_run)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    from alembic import command

    def _run(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_run)
