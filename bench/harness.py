"""What the in-process benchmarks share: a Bot API that answers at once, taps and messages as
Telegram would send them, and the bare aiogram Dispatcher that is our floor.

The bare Dispatcher answers the same updates with the same Bot API calls our handler makes
for the simplest outcome (answerCallbackQuery for a tap, sendMessage for a message), with no
middleware, no database and no translation: what aiogram itself costs per update.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.types import CallbackQuery, Chat, Message, Update, User
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.settings import SANDBOX_TOKEN
from storage.models import Member


class NullSession(BaseSession):
    """Answers every Bot API call at once, with a plausible result; counts the calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, int] = {}

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        timeout: int | None = None,  # noqa: ASYNC109
    ) -> Any:
        name = type(method).__name__
        self.calls[name] = self.calls.get(name, 0) + 1
        returning = method.__returning__
        if returning is bool:
            return True
        chat = Chat(id=getattr(method, "chat_id", 1) or 1, type="private")
        return Message(message_id=1, date=datetime.now(UTC), chat=chat)

    async def stream_content(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    async def close(self) -> None:
        return None


def null_bot() -> Bot:
    return Bot(SANDBOX_TOKEN, session=NullSession())


def person(telegram_id: int, locale: str = "nl") -> User:
    return User(id=telegram_id, is_bot=False, first_name="Lid", language_code=locale)


def tap(update_id: int, telegram_id: int, data: str, text: str = "…") -> Update:
    """A press on an inline button under one of the bot's messages in the member's chat."""
    chat = Chat(id=telegram_id, type="private")
    bot_user = User(id=1, is_bot=True, first_name="ledenbot")
    message = Message(
        message_id=1, date=datetime.now(UTC), chat=chat, text=text, from_user=bot_user
    )
    query = CallbackQuery(
        id=str(update_id),
        from_user=person(telegram_id),
        chat_instance="1",
        data=data,
        message=message,
    )
    return Update(update_id=update_id, callback_query=query)


def says(update_id: int, telegram_id: int, text: str) -> Update:
    """A message the member typed in their private chat with the bot."""
    chat = Chat(id=telegram_id, type="private")
    message = Message(
        message_id=update_id,
        date=datetime.now(UTC),
        chat=chat,
        text=text,
        from_user=person(telegram_id),
    )
    return Update(update_id=update_id, message=message)


def bare_dispatcher() -> Dispatcher:
    """aiogram alone: every tap answered, every message answered, nothing else."""
    router = Router()

    @router.callback_query()
    async def answer_tap(callback: CallbackQuery) -> None:
        await callback.answer("✅")

    @router.message()
    async def answer_message(message: Message) -> None:
        await message.answer("…")

    dp = Dispatcher()
    dp.include_router(router)
    return dp


# The same floor as its own process, polling BOT_API_URL with CONCURRENT updates at once.
BARE_POLLING_BOT = """
import asyncio, os
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery

dp = Dispatcher()

@dp.callback_query()
async def answer_tap(callback: CallbackQuery) -> None:
    await callback.answer("✅")

async def main() -> None:
    api = TelegramAPIServer.from_base(os.environ["BOT_API_URL"])
    bot = Bot(os.environ["BOT_TOKEN"], session=AiohttpSession(api=api))
    limit = int(os.environ.get("CONCURRENT", "200"))
    await dp.start_polling(bot, tasks_concurrency_limit=limit, handle_signals=True)

asyncio.run(main())
"""


async def seed_crowd(
    session: AsyncSession, members: int, places: int, first_id: int, title: str
) -> int:
    """`members` consented members (Telegram ids from `first_id`) and one workshop of
    `places` places a week from now, in Utrecht: the crowd's door. The workshop's id."""
    from bot.services.places import default_gazetteer
    from bot.services.workshops import Draft, create

    await session.execute(
        insert(Member),
        [
            {"telegram_id": first_id + i, "locale": "nl", "kind": "member",
             "onboarding_step": "done", "first_name": "Lid"}
            for i in range(members)
        ],
    )  # fmt: skip
    await session.commit()
    start = clock.now() + timedelta(days=7)
    workshop = await create(
        session,
        Draft(
            title=title, starts_at=start, ends_at=start + timedelta(hours=2),
            capacity=places, place=default_gazetteer().search("Utrecht")[0].place,
        ),
    )  # fmt: skip
    return workshop.id


def _admin_url() -> str:
    admin = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    return admin.replace("postgresql+asyncpg", "postgresql")


async def postgres_url() -> str:
    """A new, empty PostgreSQL database for one benchmark run (TEST_POSTGRES_URL's server)."""
    import asyncpg

    admin = _admin_url()
    name = f"ledenbot_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = make_url(admin).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


async def drop_postgres(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_admin_url())
    await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    await conn.close()


@contextlib.asynccontextmanager
async def throwaway_postgres() -> AsyncIterator[str]:
    """`postgres_url()`, dropped again whatever happens."""
    url = await postgres_url()
    try:
        yield url
    finally:
        await drop_postgres(url)


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]
