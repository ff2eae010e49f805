"""Telegram's sending limits, kept by the bot itself so that Telegram never has to refuse.

Telegram allows a bot about 30 messages a second (up to 1,000 with paid broadcasts), one a
second in a chat (short bursts tolerated) and 20 a minute in a group; a send over a limit
is refused with 429 and a `retry_after`. `SendBudget` is a token bucket for the bot and one
per chat. Every message the bot sends takes its tokens here first (`BudgetMiddleware`, on the
bot's session): a reply in a conversation as much as the thousandth message of a broadcast.
Whoever waits with the most urgent `Priority` gets the next token, so a member's own answer
goes before personal notices and those before bulk. A 429 all the same (another process, a
limit lower than we thought) pauses every send for `retry_after`: the whole sender waits,
not one message.

Why our own bucket and not a kept limiter (aiolimiter, limits): neither orders its waiters by
priority, which is the point here, and a bucket is twenty lines. With several workers each
process keeps an equal share of the bot's rate (`Settings.broadcast_rate` divided by the
workers): together they stay within the limit without asking each other for every send.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import logging
import time
from collections.abc import Callable
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)

# Below Telegram's figure by a little: its bucket and ours do not tick in step.
HEADROOM = 0.99
CHAT_PER_SECOND, CHAT_BURST = 1.0, 3
GROUP_PER_SECOND, GROUP_BURST = 20 / 60, 3


class Priority(IntEnum):
    """Who goes first when sends wait for the budget: lower goes first."""

    ANSWER = 0  # a member's own answer: a reply in their conversation, a relayed answer
    PERSONAL = 1  # a notice about the member's own place, workshop or draw
    BULK = 2  # announcements


# The priority of the send under way; the outbox's sender sets it per message.
sending_as: contextvars.ContextVar[Priority] = contextvars.ContextVar(
    "sending_as", default=Priority.ANSWER
)


class _Bucket:
    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = burst, now

    def wait(self, now: float) -> float:
        """Seconds until a whole token is there (0 when one is)."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


class SendBudget:
    """The bot's rate (`rate` a second) and each chat's, with waiters served by priority."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate * HEADROOM
        self._clock = clock
        # A burst of 50 ms worth of sends: enough to keep 1,000 a second flowing between two
        # turns of the event loop, and a single token at 30 a second.
        self._bot = _Bucket(self.rate, max(1.0, self.rate * 0.05), clock())
        self._chats: dict[int, _Bucket] = {}
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._gate: asyncio.Task[None] | None = None
        self._paused_until = 0.0
        self.paused = 0  # how many 429s paused the sending

    async def take(self, chat_id: int, priority: Priority) -> None:
        """Wait for this chat's token, then for the bot's, behind anyone more urgent.

        A reply in a conversation (`ANSWER`) takes no chat token: the member sets its pace,
        and Telegram tolerates the short bursts of a conversation; notices and announcements
        to a chat are spaced out.
        """
        if priority is not Priority.ANSWER:
            await self._chat_token(chat_id)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (int(priority), next(self._order), future))
        if self._gate is None or self._gate.done():
            self._gate = asyncio.create_task(self._serve())
        await future

    def pause(self, seconds: float) -> None:
        """A 429: nothing is sent until `seconds` from now."""
        self.paused += 1
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def _chat_token(self, chat_id: int) -> None:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            now = self._clock()
            if len(self._chats) > 10_000:
                self._forget_quiet(now)
            if chat_id < 0:  # groups and channels
                bucket = _Bucket(GROUP_PER_SECOND, GROUP_BURST, now)
            else:
                bucket = _Bucket(CHAT_PER_SECOND, CHAT_BURST, now)
            self._chats[chat_id] = bucket
        while (wait := bucket.wait(self._clock())) > 0:  # noqa: ASYNC110  time refills it
            await asyncio.sleep(wait)
        bucket.tokens -= 1.0

    def _forget_quiet(self, now: float) -> None:
        """A chat whose bucket is full again is one a new bucket would treat the same."""
        for chat_id, bucket in list(self._chats.items()):
            bucket.wait(now)
            if bucket.tokens >= bucket.burst:
                del self._chats[chat_id]

    async def _serve(self) -> None:
        """Hand out the bot's tokens as they come, the most urgent waiter first."""
        waiting, bucket = self._waiting, self._bot
        while waiting:
            now = self._clock()
            wait = max(self._paused_until - now, bucket.wait(now))
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            while waiting and bucket.tokens >= 1.0:
                _, _, future = heapq.heappop(waiting)
                if not future.done():  # a waiter cancelled meanwhile takes nothing
                    bucket.tokens -= 1.0
                    future.set_result(None)
            await asyncio.sleep(0)


# Methods that put a message in a chat: what Telegram counts against the limits.
SENDS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVideo",
        "sendAudio",
        "sendVoice",
        "sendAnimation",
        "sendSticker",
        "sendLocation",
        "sendContact",
        "sendPoll",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
    }
)


class BudgetMiddleware(BaseRequestMiddleware):
    """On the bot's session: every send takes its tokens from the budget first; a 429 pauses
    the budget and the send is tried again (Telegram did not carry it out, so a repeat cannot
    duplicate it). Other errors are the caller's: a 5xx may have been carried out already."""

    def __init__(self, budget: SendBudget, attempts: int = 5, longest_wait: float = 60.0) -> None:
        self.budget, self.attempts, self.longest_wait = budget, attempts, longest_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        chat_id = getattr(method, "chat_id", None)
        counted = method.__api_method__ in SENDS and isinstance(chat_id, int)
        for attempt in range(1, self.attempts + 1):
            if counted:
                await self.budget.take(chat_id, sending_as.get())  # type: ignore[arg-type]
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self.budget.pause(exc.retry_after)
                if attempt == self.attempts or exc.retry_after > self.longest_wait:
                    raise
                log.info("%s: 429, all sends wait %ss", method.__api_method__, exc.retry_after)
                if not counted:  # a send waits in `take` until the pause is over
                    await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")
