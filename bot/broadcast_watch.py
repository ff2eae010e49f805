"""The organisers' live progress messages: one pass every few seconds over the broadcasts
going out (or paused), editing each message in place when its figures changed, and the
summary once a broadcast is done.

Edits are not bulk sends, but they take the same budget: one per broadcast per pass at most,
and none when nothing changed. Each worker runs a watcher; with several, an edit may be made
twice, which shows the same figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import broadcast_views as views
from bot import clock
from bot.services import broadcasts
from bot.settings import Settings
from storage.models import Broadcast

log = logging.getLogger(__name__)
INTERVAL = 3.0  # seconds between passes: at most one edit per broadcast in this time


class ProgressWatcher:
    """A background task started with the dispatcher and stopped with it."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        i18n: I18n,
        settings: Settings,
        interval: float = INTERVAL,
    ) -> None:
        self.sessions, self.i18n, self.settings = sessions, i18n, settings
        self.interval = interval
        self.task: asyncio.Task[None] | None = None
        self._shown: dict[int, str] = {}  # broadcast id → the text its message shows

    def start(self, bot: Bot) -> None:
        self.task = asyncio.create_task(self._run(bot), name="broadcast-progress")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def _run(self, bot: Bot) -> None:
        while True:
            # Also before the first pass: at start it would meet the scheduler's and the
            # sender's, and each would open a database connection of its own.
            await asyncio.sleep(self.interval)
            try:
                await self.one_pass(bot)
            except Exception as exc:  # a failing pass must not end the loop
                log.error("progress pass failed: %s", type(exc).__name__)

    async def one_pass(self, bot: Bot) -> None:
        async with self.sessions() as session:
            for broadcast in await broadcasts.live(session):
                now = clock.now()
                done = await broadcasts.finish_if_done(session, broadcast, now)
                if done:
                    log.info("broadcast %s done", broadcast.id)
                await self._show(bot, session, broadcast)
                if done:
                    self._shown.pop(broadcast.id, None)

    async def _show(self, bot: Bot, session: AsyncSession, broadcast: Broadcast) -> None:
        """Edit its progress message if the figures changed (send one if it has none)."""
        if not broadcast.author_id:
            return
        locale = await broadcasts.locale_of(
            session, broadcast.author_id, self.settings.default_locale
        )
        progress = await broadcasts.progress(session, broadcast, clock.now())
        with self.i18n.context(), self.i18n.use_locale(locale):
            text, markup = views.progress_view(broadcast, progress, locale)
        if self._shown.get(broadcast.id) == text:
            return
        try:
            if broadcast.progress_message_id is None:
                sent = await bot.send_message(broadcast.author_id, text, reply_markup=markup)
                await broadcasts.set_progress_message(
                    session, broadcast, broadcast.author_id, sent.message_id
                )
            else:
                await bot.edit_message_text(
                    text,
                    chat_id=broadcast.progress_chat_id,
                    message_id=broadcast.progress_message_id,
                    reply_markup=markup,
                )
        except TelegramBadRequest as error:
            if "not modified" not in str(error):
                log.info("progress of broadcast %s: %s", broadcast.id, type(error).__name__)
        except TelegramAPIError as error:
            log.info("progress of broadcast %s: %s", broadcast.id, type(error).__name__)
            return
        self._shown[broadcast.id] = text
