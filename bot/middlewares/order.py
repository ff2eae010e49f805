"""One chat's updates are handled one at a time, in the order Telegram sent them.

Updates are handled concurrently (CONCURRENT_UPDATES), which is what lets 2,000 members'
taps be answered within a second. But one member's own messages must not overtake each
other: a text and the photo right after it are relayed to a counsellor in that order, a
typed answer is not read before the question's button tap. So updates of the same chat
wait in line behind a lock of that chat; other chats go on. asyncio's Lock serves waiters
first come, first served, and nothing before this middleware yields, so the line is the
order in which the updates were received. (Across several webhook workers Telegram itself
may deliver one chat's updates to two workers; this keeps order within a process.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject


class _Line:
    __slots__ = ("lock", "waiting")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0


class ChatOrderMiddleware(BaseMiddleware):
    """A lock per chat (or per user where there is no chat), kept only while in use."""

    def __init__(self) -> None:
        self._lines: dict[int, _Line] = {}

    def __len__(self) -> int:
        """Chats with an update in hand or waiting (for tests: lines are not kept idle)."""
        return len(self._lines)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat, user = data.get("event_chat"), data.get("event_from_user")
        key = chat.id if chat is not None else user.id if user is not None else None
        if key is None:
            return await handler(event, data)
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = _Line()
        line.waiting += 1
        try:
            async with line.lock:
                return await handler(event, data)
        finally:
            line.waiting -= 1
            if line.waiting == 0:
                del self._lines[key]
