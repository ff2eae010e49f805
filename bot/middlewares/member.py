"""Load the member and their roles once per update, for every handler to share.

`sender_member_id` is kept as a plain number too: the error handler logs it even after a failed
transaction has expired the member object (logs carry internal ids, never Telegram's).

Taps on buttons whose handler reads the member itself (`self_served` callback prefixes: the
sign-up tap, which comes in thousands after an announcement and reads the member inside its
batch) cost no query here; those handlers get neither `member` nor `grants`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.services import onboarding, roles


class MemberMiddleware(BaseMiddleware):
    def __init__(self, admin_ids: frozenset[int], self_served: tuple[str, ...] = ()) -> None:
        self.admin_ids = admin_ids
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
        user = data.get("event_from_user")
        session = data["session"]
        if self.self_served and self._served_by_handler(event):
            data["sender_member_id"] = None
        elif user is None:
            data["member"], data["sender_member_id"], data["grants"] = None, None, frozenset()
        else:
            member = data["member"] = await onboarding.member_of(session, user.id)
            data["sender_member_id"] = member.id if member is not None else None
            if member is not None:
                await onboarding.refresh_username(session, member, user.username)
            data["grants"] = await roles.grants_of(session, user.id, self.admin_ids)
            # End the read transaction: handlers call Telegram before they write, and an
            # open transaction would hold a pooled connection (and SQLite's lock) meanwhile.
            await session.commit()
        return await handler(event, data)
