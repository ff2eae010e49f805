"""One database session per update, closed whatever happens.

Except for taps on buttons whose handlers do their own database work (`self_served` callback
prefixes: the sign-up tap, which comes in thousands after an announcement and is decided in a
batch with its own session). They get `self_served=True` and no `session`; the member
middleware then loads nobody either.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class SessionMiddleware(BaseMiddleware):
    def __init__(
        self, factory: async_sessionmaker[AsyncSession], self_served: tuple[str, ...] = ()
    ) -> None:
        self.factory = factory
        self.self_served = tuple(prefix + ":" for prefix in self_served)

    def _served_by_handler(self, event: TelegramObject) -> bool:
        query = event.callback_query if isinstance(event, Update) else None
        return bool(query and query.data and query.data.startswith(self.self_served))

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if self.self_served and self._served_by_handler(event):
            data["self_served"] = True
            return await handler(event, data)
        async with self.factory() as session:
            data["session"] = session
            return await handler(event, data)
