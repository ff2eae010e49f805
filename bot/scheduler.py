"""Work that runs on a clock inside each worker: reminders, lottery draws, feedback questions.

Every worker may run it: reminders are claimed atomically, so none is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from html import escape

from aiogram import Bot
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import broadcast_views, clock, notify, question_cards, question_escalation
from bot.formatting import span
from bot.keyboards import feedback_keyboard
from bot.lazy import lazy_module
from bot.services import broadcasts, feedback, reminders, tracks, workshops
from bot.settings import SUPPORTED_LOCALES, Settings
from handlers.welcome import run_pass as welcome_pass  # issue 12: the welcome follow-up
from storage.models import Member, Track, Workshop

# The confidential path is off without CONFIDENTIAL_KEY: its code loads when it is on.
confidential_relay = lazy_module("bot.confidential_relay")
# The completion notices' texts and buttons live with the tracks' handlers.
track_views = lazy_module("handlers.tracks")

log = logging.getLogger(__name__)
FIRST_PASS_AFTER = 1.0  # seconds after start (see Scheduler._run)


async def send_due_reminders(
    bot: Bot, sessions: async_sessionmaker[AsyncSession], i18n: I18n, settings: Settings
) -> int:
    """One pass: claim, send, mark. Returns how many were sent."""
    now = clock.now()
    async with sessions() as session:
        due = await reminders.claim(session, now, timedelta(hours=settings.reminder_hours))
    by_workshop: dict[int, list[reminders.Due]] = defaultdict(list)
    for item in due:
        by_workshop[item.workshop_id].append(item)
    sent = 0
    for workshop_id, items in by_workshop.items():
        async with sessions() as session:
            sent += await _remind(bot, session, workshop_id, items, i18n, settings)
    return sent


async def _remind(
    bot: Bot,
    session: AsyncSession,
    workshop_id: int,
    items: list[reminders.Due],
    i18n: I18n,
    settings: Settings,
) -> int:
    """Remind everyone claimed for one workshop. A reminder delivered, or to someone who can
    no longer be reached, is marked sent; one that failed is released for the next pass."""
    signup_of = {item.member_id: item.signup_id for item in items}
    workshop = await workshops.get(session, workshop_id)
    if workshop is None:
        for signup_id in signup_of.values():
            await reminders.mark_sent(session, signup_id, clock.now())
        return 0

    async def settle(member: Member, outcome: notify.Outcome) -> None:
        signup_id = signup_of[member.id]
        if outcome is notify.Outcome.FAILED:
            log.warning("reminder for signup %s not sent; will retry", signup_id)
            await reminders.release(session, signup_id)
        else:
            await reminders.mark_sent(session, signup_id, clock.now())

    compose = _reminder(workshop, settings)
    delivery = await notify.deliver(bot, session, signup_of, compose, i18n, on_outcome=settle)
    return delivery.sent


def _reminder(workshop: Workshop, settings: Settings) -> notify.Compose:
    def compose(member: Member) -> notify.Notice:
        where = ", ".join(p for p in (workshop.venue, workshop.address, workshop.town) if p)
        when = span(workshop.starts_at, workshop.ends_at, member.locale, settings.tz)
        lines = [
            "⏰ "
            + _("Reminder: <b>{title}</b>, {when}.").format(
                title=escape(workshop.title), when=escape(when)
            )
        ]
        if where:
            lines.append("📍 " + escape(where))
        if workshop.online_url:
            lines.append("💻 " + escape(workshop.online_url))
        lines.append(_("Can you not come after all? Cancel in /workshops, so someone else can go."))
        return notify.Notice("\n".join(lines))

    return compose


async def ask_feedback(bot: Bot, sessions: async_sessionmaker[AsyncSession], i18n: I18n) -> int:
    """One pass: ask each attendee of a finished workshop for a rating, once (claimed before
    sending: a question that failed is not asked again)."""
    async with sessions() as session:
        asks = await feedback.claim_due(session, clock.now())
    by_workshop: dict[tuple[int, str], list[int]] = defaultdict(list)
    for ask in asks:
        by_workshop[(ask.workshop_id, ask.title)].append(ask.member_id)
    for (workshop_id, title), member_ids in by_workshop.items():
        async with sessions() as session:
            delivery = await notify.deliver(
                bot,
                session,
                member_ids,
                _feedback_question(workshop_id, title),
                i18n,
                priority=notify.Priority.BULK,
            )
        if delivery.failed:
            log.warning(
                "feedback question for workshop %s: %s failed", workshop_id, delivery.failed
            )
    return len(asks)


def _feedback_question(workshop_id: int, title: str) -> notify.Compose:
    def compose(member: Member) -> notify.Notice:
        text = "⭐ " + _(
            "How was <b>{title}</b>? Give it 1 to 5 stars — it helps the trainers and the "
            "next training day."
        ).format(title=escape(title))
        return notify.Notice(text, reply_markup=feedback_keyboard(workshop_id))

    return compose


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
            positions = {m: 0 for m in result.placed}
            positions.update({m: n for n, m in enumerate(result.waiting, start=1)})
            compose = _draw_result(result.track, positions)
            delivery = await notify.deliver(bot, session, positions, compose, i18n)
            log.info(
                "track %s results: %s told, %s unreachable, %s failed",
                track_id, delivery.sent, delivery.unreachable, delivery.failed,
            )  # fmt: skip
    return len(due)


def _draw_result(track: Track, positions: dict[int, int]) -> notify.Compose:
    """A place (position 0) or a number on the waiting list; for everyone the revealed seed
    and the commitment published before, so anyone can check the draw."""
    seed = track.seed or ""
    committed = track.seed_commitment or ""

    def compose(member: Member) -> notify.Notice:
        position = positions[member.id]
        if position == 0:
            text = "🎉 " + _("The draw is done: you have a place in <b>{title}</b>!")
        else:
            text = "🎲 " + _(
                "The draw for <b>{title}</b> is done: you are number {position} on "
                "the waiting list."
            )
        check = _(
            "The secret seed was <code>{seed}</code>; its SHA-256, published before the "
            "draw, is <code>{commitment}</code>. Anyone can check the draw with: "
            "<code>ledenbot lottery verify {track} {seed}</code>"
        )
        text = text.format(title=escape(track.title), position=position)
        return notify.Notice(
            text + "\n\n" + check.format(seed=seed, commitment=committed, track=track.id)
        )

    return compose


async def start_due_broadcasts(sessions: async_sessionmaker[AsyncSession], i18n: I18n) -> int:
    """Start the scheduled broadcasts whose time has come (their progress message follows
    from the progress watcher)."""
    async with sessions() as session:
        started = await broadcasts.start_due(
            session, broadcast_views.renderer(i18n), SUPPORTED_LOCALES
        )
    for broadcast_id in started:
        log.info("scheduled broadcast %s started", broadcast_id)
    return len(started)


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

    def _passes(self, bot: Bot) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
        """The passes of one round, in order; each runs even when one before it failed."""
        sessions, i18n, settings = self.sessions, self.i18n, self.settings

        async def reminders() -> None:
            sent = await send_due_reminders(bot, sessions, i18n, settings)
            if sent:
                log.info("sent %s reminders", sent)

        async def feedback() -> None:
            asked = await ask_feedback(bot, sessions, i18n)
            if asked:
                log.info("asked %s attendees for feedback", asked)

        passes: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("reminder", reminders),
            ("draw", lambda: run_due_draws(bot, sessions, i18n)),
            ("track completion", lambda: track_views.tell_completions(bot, sessions, i18n)),
            ("broadcast", lambda: start_due_broadcasts(sessions, i18n)),
        ]
        if settings.confidential_key is not None:  # the path is on
            passes.append(
                ("confidential", lambda: confidential_relay.periodic(bot, sessions, i18n, settings))
            )
        passes += [
            ("welcome", lambda: welcome_pass(bot, sessions, i18n, settings)),
            ("feedback", feedback),
            ("escalation", lambda: question_escalation.escalate_due(bot, sessions, i18n, settings)),
            ("rotation", lambda: question_cards.rotate(bot, sessions, i18n, settings)),
        ]
        return passes

    async def _run(self, bot: Bot) -> None:
        # The first pass waits a moment rather than meet the outbox sender's first look at
        # start: taking turns, the loops share one pooled database connection instead of
        # each opening its own (on SQLite a thread and 0.2 MiB apiece, kept while idle).
        first = min(FIRST_PASS_AFTER, self.settings.reminder_interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), first)
        while not self.stopping.is_set():
            for name, one_pass in self._passes(bot):
                try:
                    await one_pass()
                except Exception as exc:  # a failing pass stops neither the others nor the loop
                    log.error("%s pass failed: %s", name, type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.settings.reminder_interval)
