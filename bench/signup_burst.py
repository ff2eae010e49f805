"""A burst of sign-ups: 2,000 members tap "sign me up" for one workshop within one second,
fed through the real Dispatcher (every middleware, the handler, the service, the database).

Bot API calls are answered in-process by a null session, so what is measured is our own
stack; in production Telegram's 30 messages/s would pace the confirmations, not the sign-ups.
At most CONCURRENT_UPDATES updates are handled at once, as `ledenbot run` does.

    python bench/signup_burst.py [--members 2000] [--places 100] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.types import CallbackQuery, Chat, Message, Update, User
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from bot.app import build_app
from bot.cli import CONCURRENT_UPDATES
from bot.services.places import default_gazetteer
from bot.services.workshops import Draft, create
from bot.settings import SANDBOX_TOKEN, Settings
from handlers.workshops import SignupCb
from storage.models import Member, Signup


class NullSession(BaseSession):
    """Answers every Bot API call at once, with a plausible result."""

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        timeout: int | None = None,  # noqa: ASYNC109
    ) -> Any:
        returning = method.__returning__
        if returning is bool:
            return True
        chat = Chat(id=getattr(method, "chat_id", 1) or 1, type="private")
        return Message(message_id=1, date=datetime.now(UTC), chat=chat)

    async def stream_content(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    async def close(self) -> None:
        return None


def tap(update_id: int, telegram_id: int, workshop_id: int) -> Update:
    user = User(id=telegram_id, is_bot=False, first_name="Lid", language_code="nl")
    chat = Chat(id=telegram_id, type="private")
    message = Message(message_id=1, date=datetime.now(UTC), chat=chat, text="…")
    data = SignupCb(workshop_id=workshop_id).pack()
    query = CallbackQuery(
        id=str(update_id), from_user=user, chat_instance="1", data=data, message=message
    )
    return Update(update_id=update_id, callback_query=query)


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


async def run(url: str, members: int, places: int) -> str:
    settings = Settings(
        _env_file=None, bot_token=SANDBOX_TOKEN, database_url=url, admin_ids="",
        flood_rate=100.0, flood_burst=100,
    )  # type: ignore[call-arg]  # fmt: skip
    app = await build_app(settings)
    bot = Bot(SANDBOX_TOKEN, session=NullSession())
    async with app.sessions() as session:
        await session.execute(
            insert(Member),
            [
                {"telegram_id": 5_000_000 + i, "locale": "nl", "kind": "member",
                 "onboarding_step": "done", "first_name": "Lid"}
                for i in range(members)
            ],
        )  # fmt: skip
        await session.commit()
        start = datetime.now(UTC) + timedelta(days=7)
        workshop = await create(
            session,
            Draft(
                title="Burst", starts_at=start, ends_at=start + timedelta(hours=2),
                capacity=places, place=default_gazetteer().search("Utrecht")[0].place,
            ),
        )  # fmt: skip
    gate = asyncio.Semaphore(CONCURRENT_UPDATES)
    latencies: list[float] = []
    began = time.perf_counter()

    async def one(i: int) -> None:
        await asyncio.sleep(i / members)  # all taps spread over one second
        arrived = time.perf_counter()
        async with gate:
            await app.dp.feed_update(bot, tap(i + 1, 5_000_000 + i, workshop.id))
        latencies.append((time.perf_counter() - arrived) * 1000)

    await asyncio.gather(*(one(i) for i in range(members)))
    total = time.perf_counter() - began
    async with app.sessions() as session:
        rows = dict(
            (
                await session.execute(select(Signup.status, func.count()).group_by(Signup.status))
            ).all()
        )
    await app.close()
    assert rows.get("confirmed") == places and rows.get("waiting") == members - places, rows
    return (
        f"{members:,} taps in 1 s for {places} places → {rows['confirmed']} confirmed, "
        f"{rows['waiting']:,} waiting; all handled in {total:.1f} s = "
        f"{members / total:,.0f} updates/s; latency p50 {pct(latencies, 50):.0f} ms, "
        f"p95 {pct(latencies, 95):.0f} ms, p99 {pct(latencies, 99):.0f} ms"
    )


async def main(members: int, places: int, skip_postgres: bool) -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as folder:
        print("SQLite:    ", await run(f"sqlite+aiosqlite:///{folder}/burst.db", members, places))
    if skip_postgres:
        return
    import asyncpg

    admin = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"ledenbot_burst_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = make_url(admin).set(drivername="postgresql+asyncpg", database=name)
    try:
        print("PostgreSQL:", await run(url.render_as_string(hide_password=False), members, places))
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--places", type=int, default=100)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.members, args.places, args.skip_postgres))
