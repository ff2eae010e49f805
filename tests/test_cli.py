"""The `ledenbot` command as an operator runs it: clear errors, migrations, a real process."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bot.settings import SANDBOX_TOKEN
from sandbox.server import Sandbox
from storage.engine import create_engine
from tests.botrunner import t

LEDENBOT = str(Path(sys.executable).parent / "ledenbot")


def clean_env(tmp_path: Path, **values: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    keep["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    keep.update(values)
    return keep


async def run_cli(tmp_path: Path, *args: str, **env: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        LEDENBOT,
        *args,
        cwd=tmp_path,
        env=clean_env(tmp_path, **env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("ADMIN_IDS", "123,abc", "not a number: 'abc'"),
        ("DATABASE_URL", "mysql://db/ledenbot", "driver 'mysql' is not supported"),
        ("DATABASE_URL", "not a url", "expected an SQLAlchemy URL"),
        ("DEFAULT_LOCALE", "fr", "must be one of nl, en, sv"),
        ("TIMEZONE", "Mars/Olympus", "expected an IANA time zone"),
    ],
)
async def test_a_wrong_setting_names_the_variable_and_exits_non_zero(
    tmp_path: Path, variable: str, value: str, complaint: str
) -> None:
    code, out = await run_cli(tmp_path, "migrate", **{variable: value})
    assert code == 2
    assert f"{variable}: " in out and complaint in out


async def test_run_without_a_token_says_how_to_get_one(tmp_path: Path) -> None:
    code, out = await run_cli(tmp_path, "run")
    assert code == 2
    assert "BOT_TOKEN" in out and "ledenbot chat" in out


async def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    code, out = await run_cli(tmp_path, "migrate")
    assert code == 0, out
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    assert {"members", "consents", "roles", "regions", "alembic_version"} <= tables


@pytest.mark.e2e
async def test_ledenbot_run_as_a_real_process_against_the_sandbox(tmp_path: Path) -> None:
    async with Sandbox(default_token=SANDBOX_TOKEN) as sandbox:
        proc = await asyncio.create_subprocess_exec(
            LEDENBOT,
            "run",
            cwd=tmp_path,
            env=clean_env(tmp_path, BOT_TOKEN=SANDBOX_TOKEN, BOT_API_URL=sandbox.base_url),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            user = sandbox.user(9201, "Ruben", language_code="nl")
            await user.send_text("/start")
            welcome = await user.next(timeout=30)
            assert t("nl", "Hello {name}! 👋", name="Ruben") in welcome.text
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 20)


async def test_debug_logging_never_shows_sql_parameters(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--log-level DEBUG must not print a member's data (or a case id beside it) from SQL."""
    from sqlalchemy import text

    from bot.cli import QUIET_LOGGERS, _configure_logging

    for name in QUIET_LOGGERS:  # restored after the test
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "level", logger.level)
    _configure_logging("DEBUG")
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'log.db'}")
    try:
        with caplog.at_level(logging.DEBUG):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT :secret"), {"secret": "Fatima-4242"})
    finally:
        await engine.dispose()
    assert "Fatima-4242" not in caplog.text
    assert all(
        r.levelno >= logging.WARNING
        for r in caplog.records
        if r.name.split(".")[0] in QUIET_LOGGERS
    )
