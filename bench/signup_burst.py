"""A burst of sign-ups: 2,000 members tap "sign me up" for one workshop within one second,
fed through the real Dispatcher (every middleware, the handler, the service, the database),
and, in the same run, through a bare aiogram Dispatcher that only answers the taps: the floor.

Bot API calls are answered in-process (bench/harness.py), so what is measured is our own
stack. At most CONCURRENT_UPDATES (the setting `ledenbot run` uses) updates are handled at
once, for the project and the floor alike.

    python bench/signup_burst.py [--members 2000] [--places 100] [--skip-sqlite] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram import Dispatcher
from aiogram.types import Update
from sqlalchemy import func, select

from bench.harness import bare_dispatcher, null_bot, pct, seed_crowd, tap, throwaway_postgres
from bot.app import build_app
from bot.settings import SANDBOX_TOKEN, Settings
from handlers.workshops import SignupCb
from storage.models import Signup

FIRST_ID = 5_000_000


@dataclass(frozen=True)
class Burst:
    seconds: float
    cpu_ms: float  # process CPU time per update
    latencies: list[float]

    def line(self, members: int) -> str:
        lat = self.latencies
        return (
            f"{members / self.seconds:>6,.0f} updates/s ({self.seconds:.2f} s), "
            f"CPU {self.cpu_ms:.2f} ms/update, tap to answer p50 {pct(lat, 50):.0f} ms, "
            f"p95 {pct(lat, 95):.0f} ms, p99 {pct(lat, 99):.0f} ms"
        )


async def burst(
    feed: Callable[[Update], Awaitable[object]], updates: list[Update], concurrency: int
) -> Burst:
    """Every update arrives at its moment within one second; at most `concurrency` at once."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    began, cpu = time.perf_counter(), time.process_time()

    async def one(i: int, update: Update) -> None:
        await asyncio.sleep(i / len(updates))
        arrived = time.perf_counter()
        async with gate:
            await feed(update)
        latencies.append((time.perf_counter() - arrived) * 1000)

    await asyncio.gather(*(one(i, u) for i, u in enumerate(updates)))
    seconds = time.perf_counter() - began
    return Burst(seconds, (time.process_time() - cpu) * 1000 / len(updates), latencies)


async def floor(members: int, concurrency: int) -> Burst:
    dp: Dispatcher = bare_dispatcher()
    bot = null_bot()
    updates = [tap(i + 1, FIRST_ID + i, SignupCb(workshop_id=1).pack()) for i in range(members)]
    return await burst(lambda u: dp.feed_update(bot, u), updates, concurrency)


async def project(url: str, members: int, places: int) -> tuple[Burst, int]:
    settings = Settings(
        _env_file=None, bot_token=SANDBOX_TOKEN, database_url=url, admin_ids="",
        flood_rate=100.0, flood_burst=100,
    )  # type: ignore[call-arg]  # fmt: skip
    app = await build_app(settings)
    bot = null_bot()
    async with app.sessions() as session:
        workshop_id = await seed_crowd(session, members, places, FIRST_ID, "Burst")
    data = SignupCb(workshop_id=workshop_id).pack()
    updates = [tap(i + 1, FIRST_ID + i, data) for i in range(members)]
    app.settle()  # as `ledenbot run` does before its first update
    result = await burst(lambda u: app.dp.feed_update(bot, u), updates, settings.concurrent_updates)
    async with app.sessions() as session:
        rows = dict(
            (
                await session.execute(select(Signup.status, func.count()).group_by(Signup.status))
            ).all()
        )
        waiting = (
            await session.scalars(
                select(Signup.member_id).where(Signup.status == "waiting").order_by(Signup.position)
            )
        ).all()
    await app.close()
    assert rows.get("confirmed") == places and rows.get("waiting") == members - places, rows
    assert len(set(waiting)) == len(waiting)
    return result, settings.concurrent_updates


async def compare(name: str, url: str, members: int, places: int) -> None:
    ours, concurrency = await project(url, members, places)
    bare = await floor(members, concurrency)
    print(f"{name}: {members:,} taps in 1 s for {places} places, {concurrency} at once")
    print(f"  ledenbot: {ours.line(members)}")
    print(f"  bare:     {bare.line(members)}")
    print(
        f"  ratio:    {bare.seconds / ours.seconds:.2f} of the floor's rate, "
        f"{ours.cpu_ms / bare.cpu_ms:.1f}x its CPU per update"
    )


async def main(members: int, places: int, skip_sqlite: bool, skip_postgres: bool) -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    if not skip_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            await compare("SQLite", f"sqlite+aiosqlite:///{folder}/burst.db", members, places)
    if skip_postgres:
        return
    async with throwaway_postgres() as url:
        await compare("PostgreSQL", url, members, places)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--places", type=int, default=100)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.members, args.places, args.skip_sqlite, args.skip_postgres))
