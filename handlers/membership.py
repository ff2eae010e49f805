"""my_chat_member: a member blocked or unblocked the bot (see DESIGN: 'aiogram facts')."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import reachability

log = logging.getLogger(__name__)


async def on_blocked(event: ChatMemberUpdated, session: AsyncSession) -> None:
    member_id = await reachability.mark_unreachable(session, event.from_user.id, event.date)
    if member_id is not None:
        log.info("member %s blocked the bot", member_id)


async def on_unblocked(event: ChatMemberUpdated, session: AsyncSession) -> None:
    member_id = await reachability.mark_reachable(session, event.from_user.id)
    if member_id is not None:
        log.info("member %s unblocked the bot", member_id)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = Router(name="membership")
    private = F.chat.type == "private"
    router.my_chat_member.register(on_blocked, ChatMemberUpdatedFilter(MEMBER >> KICKED), private)
    router.my_chat_member.register(on_unblocked, ChatMemberUpdatedFilter(KICKED >> MEMBER), private)
    return router
