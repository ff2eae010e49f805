"""`ledenbot webhook --workers N`: real processes sharing one port on PostgreSQL and Redis,
supervised by one parent; refused where they cannot share (SQLite, no Redis)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import insert

from bot import outbox
from bot.services import broadcasts
from bot.services.roles import ALL_REGIONS
from bot.settings import SANDBOX_TOKEN
from sandbox import Limits, Sandbox
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import Member
from tests.conftest import REDIS_URL, create_pg_database, drop_pg_database, unavailable
from tests.test_cli import LEDENBOT, clean_env, run_cli

pytestmark = pytest.mark.e2e

SECRET = "a-long-s3cret-token-for-tests"
STOPPING = re.compile(r"webhook worker (\d) \(pid (\d+)\) stopping; it handled (\d+) updates")
SENDER = re.compile(r"outbox sender stopping; it sent (\d+) messages")
LISTENING = re.compile(r"webhook worker (\d) \(pid (\d+)\) listening")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def webhook_env(port: int) -> dict[str, str]:
    return {
        "BOT_TOKEN": SANDBOX_TOKEN,
        "WEBHOOK_URL": f"http://127.0.0.1:{port}",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
    }


async def test_two_workers_are_refused_on_sqlite(tmp_path: Path) -> None:
    code, out = await run_cli(tmp_path, "webhook", "--workers", "2", **webhook_env(free_port()))
    assert code == 2
    assert "--workers 2 needs PostgreSQL; SQLite means one process" in out


async def test_two_workers_are_refused_without_redis(tmp_path: Path) -> None:
    env = webhook_env(free_port())
    env["DATABASE_URL"] = "postgresql+asyncpg://postgres@127.0.0.1:5432/nowhere"
    code, out = await run_cli(tmp_path, "webhook", "--workers", "2", **env)
    assert code == 2
    assert "--workers 2 needs REDIS_URL" in out
    env["WEBHOOK_WORKERS"] = "3"  # the setting, when the option is not given
    code, out = await run_cli(tmp_path, "webhook", **env)
    assert code == 2 and "--workers 3 needs REDIS_URL" in out


@pytest.fixture
async def redis_url() -> str:
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        unavailable("Redis", f"{type(exc).__name__}: {exc}")
    finally:
        await client.aclose()
    return REDIS_URL


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url = await create_pg_database()
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    try:
        yield url
    finally:
        await drop_pg_database(url)


class Workers:
    """`ledenbot webhook --workers 2` as a process, its log collected as it runs."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.log: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.log.append(line.decode(errors="replace"))

    def matches(self, pattern: re.Pattern[str]) -> list[tuple[str, ...]]:
        return [m.groups() for line in self.log if (m := pattern.search(line))]

    async def exit_code(self, timeout: float = 40) -> int:  # noqa: ASYNC109
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await self._reader
        return code

    def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()


@pytest.fixture
async def two_workers(
    tmp_path: Path, pg_url: str, redis_url: str
) -> AsyncIterator[tuple[Sandbox, Workers]]:
    async with Sandbox(default_token=SANDBOX_TOKEN, limits=Limits.relaxed()) as sandbox:
        env = clean_env(
            tmp_path,
            **webhook_env(free_port()),
            BOT_API_URL=sandbox.base_url,
            DATABASE_URL=pg_url,
            REDIS_URL=redis_url,
            CONCURRENT_UPDATES="10",
        )
        proc = await asyncio.create_subprocess_exec(
            LEDENBOT,
            "webhook",
            "--workers",
            "2",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        workers = Workers(proc)
        try:
            bot = await sandbox.wait_bot(timeout=90)
            for _ in range(900):
                if bot.webhook is not None or proc.returncode is not None:
                    break
                await asyncio.sleep(0.1)
            assert bot.webhook is not None, "".join(workers.log[-20:])
            yield sandbox, workers
        finally:
            workers.stop()
            await workers.exit_code()


async def test_two_workers_share_a_burst_and_stop_together(
    two_workers: tuple[Sandbox, Workers],
) -> None:
    sandbox, workers = two_workers
    hook = sandbox.bot().webhook
    assert hook is not None and hook.max_connections == 20  # CONCURRENT_UPDATES x 2
    assert len(workers.matches(LISTENING)) == 2
    people = [sandbox.user(9400 + i, f"Lid {i}", language_code="nl") for i in range(24)]
    for person in people:
        await person.send_text("/start")
    for person in people:
        await person.next(timeout=30)
    await sandbox.idle(timeout=30)

    workers.proc.send_signal(signal.SIGTERM)
    assert await workers.exit_code() == 0
    handled = {number: int(count) for number, _, count in workers.matches(STOPPING)}
    assert set(handled) == {"1", "2"}, "".join(workers.log[-20:])
    assert sum(handled.values()) == len(people)
    assert all(count > 0 for count in handled.values()), handled  # both took a share


async def test_a_worker_that_dies_stops_the_others(two_workers: tuple[Sandbox, Workers]) -> None:
    _, workers = two_workers
    (_, first), (_, second) = workers.matches(LISTENING)
    os.kill(int(first), signal.SIGKILL)
    assert await workers.exit_code() == 1
    assert any("exited with code -9; stopping the others" in line for line in workers.log)
    with pytest.raises(ProcessLookupError):
        os.kill(int(second), 0)


async def test_two_workers_share_a_broadcast_within_the_bots_limit(
    two_workers: tuple[Sandbox, Workers], pg_url: str
) -> None:
    """Each worker's sender claims rows the other does not hold (SKIP LOCKED) and keeps half
    the bot's rate: every member once, and Telegram (30 a second) never refuses."""
    sandbox, workers = two_workers
    first, count = 9_700_000, 300
    engine = create_engine(pg_url)
    try:
        async with create_session_factory(engine)() as session:
            await session.execute(
                insert(Member),
                [{"telegram_id": first + i, "locale": "nl", "kind": "member",
                  "onboarding_step": "done", "region_code": "zuid"} for i in range(count)],
            )  # fmt: skip
            await session.commit()
            for i in range(count):
                sandbox.user(first + i, "Lid", language_code="nl")
            made = await broadcasts.create(
                session, 1, broadcasts.Draft({"nl": "Trainingsdag!"}, "nl"),
                broadcasts.Audience(regions=("zuid",)), ALL_REGIONS,
            )  # fmt: skip
            await broadcasts.start(
                session, made, lambda b, locale: outbox.Letter(0, b.texts[locale]), ["nl"]
            )
    finally:
        await engine.dispose()
    for _ in range(600):
        if all(sandbox.sent[first + i] for i in range(count)):
            break
        await asyncio.sleep(0.1)
    assert [sandbox.sent[first + i] for i in range(count)] == [1] * count
    assert sandbox.rate_limited.total() == 0
    workers.proc.send_signal(signal.SIGTERM)
    assert await workers.exit_code() == 0
    sent = [int(n) for (n,) in workers.matches(SENDER)]
    assert len(sent) == 2 and sum(sent) == count, "".join(workers.log[-20:])
    assert all(n > 0 for n in sent), sent  # both took a share
