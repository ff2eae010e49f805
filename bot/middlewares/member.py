"""Load the member and their roles once per update, for every handler to share.

`sender_member_id` is kept as a plain number too: the error handler logs it even after a failed
transaction has expired the member object (logs carry internal ids, never Telegram's).

Taps the session middleware marks `self_served` (the sign-up tap, which reads the member inside
its batch) cost no query here; those handlers get neither `member` nor `grants`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.services import onboarding


def _wrote(event: TelegramObject) -> bool:
    """A message or a tap from them: whatever stopped us reaching them has passed."""
    return isinstance(event, Update) and (event.message or event.callback_query) is not None


class MemberMiddleware(BaseMiddleware):
    def __init__(self, admin_ids: frozenset[int]) -> None:
        self.admin_ids = admin_ids

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user = data.get("event_from_user")
        if data.get("self_served"):
            data["sender_member_id"] = None
        elif user is None:
            data["member"], data["sender_member_id"], data["grants"] = None, None, frozenset()
        else:
            session = data["session"]
            member, grants = await onboarding.member_and_grants(session, user.id, self.admin_ids)
            data["member"], data["grants"] = member, grants
            data["sender_member_id"] = member.id if member is not None else None
            if member is not None:
                await onboarding.refresh_username(session, member, user.username)
                if member.unreachable_since is not None and _wrote(event):
                    member.unreachable_since = None  # they wrote to us: reachable again
            # End the read transaction: handlers call Telegram before they write, and an
            # open transaction would hold a pooled connection (and SQLite's lock) meanwhile.
            await session.commit()
        return await handler(event, data)
