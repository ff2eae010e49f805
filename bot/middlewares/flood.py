"""Per-user flood control: one person hammering the bot slows only themselves down."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import locale_from_telegram


@dataclass(slots=True)
class Bucket:
    tokens: float
    stamp: float
    warned: bool = False


class FloodMiddleware(BaseMiddleware):
    """A token bucket per user: `rate` updates a second, bursts up to `burst`.

    Dropped updates get one warning per flood, in the sender's language. State is kept in
    this process; with several workers each enforces its own share, which is what we want
    (the point is to protect a worker, not to count exactly).
    """

    def __init__(self, rate: float, burst: int, i18n: I18n) -> None:
        self.rate, self.burst, self.i18n = rate, burst, i18n
        self.buckets: dict[int, Bucket] = {}

    def allow(self, user_id: int, now: float | None = None) -> tuple[bool, bool]:
        """(allowed, warn now) for one update from this user."""
        now = time.monotonic() if now is None else now
        bucket = self.buckets.get(user_id)
        if bucket is None:
            bucket = self.buckets[user_id] = Bucket(float(self.burst), now)
            if len(self.buckets) > 50_000:
                self._forget_idle(now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return True, False
        warn = not bucket.warned
        bucket.warned = True
        return False, warn

    def _forget_idle(self, now: float) -> None:
        idle = [uid for uid, b in self.buckets.items() if now - b.stamp > self.burst / self.rate]
        for uid in idle:
            del self.buckets[uid]

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user = data.get("event_from_user")
        inner = getattr(event, "event", event)
        if user is None or user.is_bot or not isinstance(inner, Message | CallbackQuery):
            return await handler(event, data)  # e.g. my_chat_member: always heard
        allowed, warn = self.allow(user.id)
        if allowed:
            return await handler(event, data)
        if warn:
            await self._warn(inner, user)
        elif isinstance(inner, CallbackQuery):
            await inner.answer()  # no endless spinner on a dropped tap
        return None

    async def _warn(self, inner: Message | CallbackQuery, user: User) -> None:
        # Telegram's language, not the member's choice: this runs before the member is loaded,
        # so that a flood costs no database work.
        locale = locale_from_telegram(user, self.i18n.default_locale)
        with self.i18n.context(), self.i18n.use_locale(locale):
            text = _("You are sending messages very fast. Please wait a moment.")
        if isinstance(inner, Message):
            await inner.answer(text)
        elif isinstance(inner, CallbackQuery):
            await inner.answer(text, show_alert=False)
