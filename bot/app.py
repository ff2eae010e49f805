"""The application factory: one place that wires Bot, Dispatcher, middlewares and storage."""

from __future__ import annotations

import bot.lean_code

# isort: split
import bot.frozen_heap  # noqa: F401  before aiogram: see its docstring

# isort: split
import gc
import typing
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import Update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import commands
from bot.broadcast_watch import ProgressWatcher
from bot.budget import BudgetMiddleware, SendBudget
from bot.fsm_storage import CONVERSATION_TTL, BoundedMemoryStorage
from bot.i18n import CatalogueI18n, LocaleMiddleware, create_i18n
from bot.middlewares.database import SessionMiddleware
from bot.middlewares.flood import FloodMiddleware
from bot.middlewares.member import MemberMiddleware
from bot.middlewares.order import ChatOrderMiddleware
from bot.outbox import Sender, window_for
from bot.scheduler import Scheduler
from bot.services import catalogue, roles
from bot.services.signup_desk import SignupDesk
from bot.settings import Settings
from handlers import SELF_SERVED, root_router
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade_if_behind
from storage.repositories import members

# `typing.overload` keeps every overload it decorates for `typing.get_overloads`, which nothing
# here calls: some 500 functions of SQLAlchemy, pydantic and aiogram. Let their memory go
# before the start allocates more, and again once started (see `App.settle`).
typing.clear_overloads()


def create_bot(settings: Settings) -> Bot:
    """Every send this bot makes takes its turn from one budget (`bot/budget.py`); with
    several workers each keeps an equal share of the bot's rate."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.bot_api_url))
    session.middleware(BudgetMiddleware(SendBudget(send_rate(settings))))
    return Bot(
        settings.bot_token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def create_fsm_storage(settings: Settings) -> BaseStorage:
    """In memory by default; Redis when several workers must share conversations. Either
    way conversation state is transient: a day after the last write it is gone."""
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(
            settings.redis_url, state_ttl=CONVERSATION_TTL, data_ttl=CONVERSATION_TTL
        )
    return BoundedMemoryStorage()


def create_dispatcher(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    i18n: CatalogueI18n,
    storage: BaseStorage | None = None,
) -> Dispatcher:
    dp = Dispatcher(
        storage=storage or create_fsm_storage(settings),
        settings=settings,
        desk=SignupDesk(sessions),  # group commit for sign-up taps (bot/services/signup_desk.py)
    )
    dp.update.outer_middleware(FloodMiddleware(settings.flood_rate, settings.flood_burst, i18n))
    dp.update.outer_middleware(ChatOrderMiddleware())  # one chat's updates in their order
    dp.update.outer_middleware(SessionMiddleware(sessions, SELF_SERVED))
    dp.update.outer_middleware(MemberMiddleware(settings.admin_ids))
    LocaleMiddleware(i18n).setup(dp)
    dp.include_router(root_router())

    rare = uncached(sessions)

    async def publish_menus(bot: Bot) -> None:
        await commands.publish_defaults(bot, i18n)
        async with rare() as session:
            for admin_id in settings.admin_ids:
                member = await members.by_telegram_id(session, admin_id)
                locale = member.locale if member else settings.default_locale
                grants = await roles.grants_of(session, admin_id, settings.admin_ids)
                await commands.publish_for(bot, i18n, admin_id, grants, locale)

    scheduler = Scheduler(rare, i18n, settings)
    watcher = ProgressWatcher(rare, i18n, settings)  # organisers' live progress messages
    senders: list[Sender] = []

    async def start_scheduler(bot: Bot) -> None:
        await scheduler.start(bot)
        sender = Sender(
            bot,
            sessions,
            window=window_for(send_rate(settings)),
            single_process=settings.webhook_workers == 1,  # SQLite always has one
        )
        sender.start()
        senders.append(sender)
        watcher.start(bot)

    async def stop_scheduler() -> None:
        await watcher.stop()
        await scheduler.stop()
        for sender in senders:
            await sender.stop()
        senders.clear()

    dp.startup.register(publish_menus)
    dp.startup.register(start_scheduler)
    dp.shutdown.register(stop_scheduler)
    return dp


def uncached(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """The same sessions without SQLAlchemy's cache of compiled statements, for what runs at
    start or once in a while (the scheduler's passes, the progress watcher's): cached, their
    statements would hold memory for good (0.1 MiB at idle) to save a millisecond or so of
    compiling each a minute. The pool, and so the connections, are shared."""
    kw = {key: value for key, value in sessions.kw.items() if key != "bind"}
    bind = sessions.kw["bind"].execution_options(compiled_cache=None)
    return async_sessionmaker(bind, class_=sessions.class_, **kw)


def send_rate(settings: Settings) -> float:
    """This process's share of the bot's sending rate."""
    return settings.broadcast_rate / settings.webhook_workers


@dataclass
class App:
    """Everything a running bot holds, so the CLI and the tests start and stop it alike."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    i18n: CatalogueI18n
    bot: Bot
    dp: Dispatcher

    def settle(self) -> None:
        """Once started, before the first update: hide everything loaded so far (the place
        names, the catalogues, the libraries' classes, ~300,000 objects) from the garbage
        collector, and let it collect less often. A full collection walked them all, which in
        a burst of taps cost more than the taps themselves (measured in bench/signup_burst.py).
        For a long-running process only: frozen objects are never freed."""
        typing.clear_overloads()
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 10, 10)

    async def close(self) -> None:
        await self.bot.session.close()
        await self.dp.storage.close()
        await self.engine.dispose()


async def build_app(settings: Settings, *, migrate: bool = True) -> App:
    """With `migrate`, bring the schema to head first; Alembic is loaded only if behind."""
    engine = create_engine(settings.database_url)
    if migrate:
        await upgrade_if_behind(engine.execution_options(compiled_cache=None))
    sessions = create_session_factory(engine)
    async with uncached(sessions)() as session:  # once: see `uncached`
        await catalogue.ensure_defaults(session)
    i18n = create_i18n(settings.default_locale)
    bot = create_bot(settings)
    dp = create_dispatcher(settings, sessions, i18n)
    Update.model_rebuild()  # every update needs it: built now, not at the first member's tap
    return App(settings, engine, sessions, i18n, bot, dp)
