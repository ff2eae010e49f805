"""Run the real bot (its polling loop, over HTTP) against an in-process sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from bot.app import App, build_app
from bot.i18n import create_i18n
from bot.settings import SANDBOX_TOKEN, Settings
from sandbox.limits import Limits
from sandbox.server import Sandbox

I18N = create_i18n("nl")


def t(lang: str, msgid: str, /, **values: Any) -> str:
    """What the member should read: the catalogue's translation, formatted, as plain text."""
    text = I18N.gettext(msgid, locale=lang)
    text = text.format(**values) if values else text
    return html.unescape(re.sub(r"</?[a-z]+>", "", text))


@dataclass
class RunningBot:
    sandbox: Sandbox
    settings: Settings
    app: App | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    async def start(self) -> None:
        self.app = await build_app(self.settings)
        started = asyncio.Event()

        async def mark_started() -> None:
            started.set()

        self.app.dp.startup.register(mark_started)  # emitted once polling holds its lock
        self.task = asyncio.create_task(
            self.app.dp.start_polling(
                self.app.bot,
                handle_signals=False,
                allowed_updates=self.app.dp.resolve_used_update_types(),
                polling_timeout=1,
            )
        )
        await asyncio.wait_for(started.wait(), 10)

    async def stop(self) -> None:
        if self.app is None or self.task is None:
            return
        with contextlib.suppress(RuntimeError):
            await self.app.dp.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self.task, 10)
        await self.app.close()
        self.app, self.task = None, None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


def sandbox_settings(sandbox: Sandbox, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": SANDBOX_TOKEN,
        "bot_api_url": sandbox.base_url,
        "database_url": database_url,
        "admin_ids": "",
        "redis_url": None,
        "default_locale": "nl",
        "flood_rate": 50.0,
        "flood_burst": 50,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextlib.asynccontextmanager
async def running_bot(
    database_url: str, *, limits: Limits | None = None, **overrides: Any
) -> AsyncIterator[RunningBot]:
    """The bot polling a fresh sandbox. Conversation tests run with relaxed per-chat limits
    (a scripted member answers faster than a person); pass `Limits()` for Telegram's own."""
    async with Sandbox(default_token=SANDBOX_TOKEN, limits=limits or Limits.relaxed()) as sandbox:
        bot = RunningBot(sandbox, sandbox_settings(sandbox, database_url, **overrides))
        await bot.start()
        try:
            yield bot
        finally:
            await bot.stop()
