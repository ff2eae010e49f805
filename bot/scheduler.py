"""Work that runs on a clock inside each worker: for now, sending due reminders.

Every worker may run it: reminders are claimed atomically, so none is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from html import escape

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramNetworkError, TelegramServerError
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import clock
from bot.formatting import span
from bot.keyboards import feedback_keyboard
from bot.services import feedback, reachability, reminders, tracks
from bot.settings import Settings
from storage.repositories import members
from storage.repositories import workshops as workshop_repo

log = logging.getLogger(__name__)


async def send_due_reminders(
    bot: Bot, sessions: async_sessionmaker[AsyncSession], i18n: I18n, settings: Settings
) -> int:
    """One pass: claim, send, mark. Returns how many were sent."""
    now = clock.now()
    async with sessions() as session:
        due = await reminders.claim(session, now, timedelta(hours=settings.reminder_hours))
    sent = 0
    for item in due:
        async with sessions() as session:
            workshop = await workshop_repo.get(session, item.workshop_id)
            if workshop is None:
                await reminders.mark_sent(session, item.signup_id, now)
                continue
            with i18n.context(), i18n.use_locale(item.locale):
                where = ", ".join(p for p in (workshop.venue, workshop.address, workshop.town) if p)
                lines = [
                    "⏰ "
                    + _("Reminder: <b>{title}</b>, {when}.").format(
                        title=escape(workshop.title),
                        when=escape(
                            span(workshop.starts_at, workshop.ends_at, item.locale, settings.tz)
                        ),
                    )
                ]
                if where:
                    lines.append("📍 " + escape(where))
                if workshop.online_url:
                    lines.append("💻 " + escape(workshop.online_url))
                lines.append(
                    _("Can you not come after all? Cancel in /workshops, so someone else can go.")
                )
                text = "\n".join(lines)
            try:
                await bot.send_message(item.telegram_id, text)
            except TelegramForbiddenError:
                await reachability.mark_unreachable(session, item.telegram_id)
                await reminders.mark_sent(session, item.signup_id, now)
                continue
            except (TelegramNetworkError, TelegramServerError):
                log.warning("reminder for signup %s not sent; will retry", item.signup_id)
                await reminders.release(session, item.signup_id)
                continue
            await reminders.mark_sent(session, item.signup_id, clock.now())
            sent += 1
    return sent


async def ask_feedback(bot: Bot, sessions: async_sessionmaker[AsyncSession], i18n: I18n) -> int:
    """One pass: ask each attendee of a finished workshop for a rating, once."""
    async with sessions() as session:
        asks = await feedback.claim_due(session, clock.now())
    for ask in asks:
        with i18n.context(), i18n.use_locale(ask.locale):
            text = "⭐ " + _(
                "How was <b>{title}</b>? Give it 1 to 5 stars — it helps the trainers and the "
                "next training day."
            ).format(title=escape(ask.title))
            markup = feedback_keyboard(ask.workshop_id)
        try:
            await bot.send_message(ask.telegram_id, text, reply_markup=markup)
        except TelegramForbiddenError:
            async with sessions() as session:
                await reachability.mark_unreachable(session, ask.telegram_id)
        except (TelegramNetworkError, TelegramServerError):
            log.warning("feedback question for signup %s not sent", ask.signup_id)
    return len(asks)


async def run_due_draws(bot: Bot, sessions: async_sessionmaker[AsyncSession], i18n: I18n) -> int:
    """Draw every lottery track whose time has come, and tell each applicant the result."""
    async with sessions() as session:
        due = await tracks.due_draws(session, clock.now())
    for track_id in due:
        async with sessions() as session:
            try:
                result = await tracks.run_draw(session, track_id)
            except tracks.TrackError:
                continue  # another worker drew it first
            log.info("track %s drawn: %s placed", track_id, len(result.placed))
            title = escape(result.track.title)
            outcomes = [(m, 0) for m in result.placed] + [
                (m, n) for n, m in enumerate(result.waiting, start=1)
            ]
            for member_id, position in outcomes:
                person = await members.by_id(session, member_id)
                if person is None or person.unreachable_since is not None:
                    continue
                with i18n.context(), i18n.use_locale(person.locale):
                    if position == 0:
                        text = "🎉 " + _("The draw is done: you have a place in <b>{title}</b>!")
                    else:
                        text = "🎲 " + _(
                            "The draw for <b>{title}</b> is done: you are number {position} on "
                            "the waiting list. Seed: {seed}"
                        )
                    text = text.format(title=title, position=position, seed=result.track.seed)
                with contextlib.suppress(TelegramForbiddenError):
                    await bot.send_message(person.telegram_id, text)
    return len(due)


class Scheduler:
    """A background task started with the dispatcher and stopped with it."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], i18n: I18n, settings: Settings
    ) -> None:
        self.sessions, self.i18n, self.settings = sessions, i18n, settings
        self.task: asyncio.Task[None] | None = None
        self.stopping = asyncio.Event()

    async def start(self, bot: Bot) -> None:
        self.stopping.clear()
        self.task = asyncio.create_task(self._run(bot), name="ledenbot-scheduler")

    async def stop(self, grace: float = 30.0) -> None:
        """Let a pass in progress finish (a reminder sent but not yet marked would be sent
        again later), then stop; cancel only if it takes longer than `grace`."""
        if self.task is None:
            return
        self.stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), grace)
        except TimeoutError:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.task = None

    async def _run(self, bot: Bot) -> None:
        while not self.stopping.is_set():
            try:
                sent = await send_due_reminders(bot, self.sessions, self.i18n, self.settings)
                if sent:
                    log.info("sent %s reminders", sent)
                await run_due_draws(bot, self.sessions, self.i18n)
                asked = await ask_feedback(bot, self.sessions, self.i18n)
                if asked:
                    log.info("asked %s attendees for feedback", asked)
            except Exception as exc:  # a failing pass must not end the loop
                log.error("reminder pass failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.settings.reminder_interval)
