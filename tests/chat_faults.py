"""Test helpers for "one member's chat fails": the sandbox's faults apply to the next call of
a method, whoever it is for; this arms them just before a call to one chat, and makes a member
block the bot without the bot hearing of it (a missed my_chat_member update)."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import Response
from sqlalchemy import select

from storage.models import Member
from tests.botrunner import RunningBot


class FailChat(BaseRequestMiddleware):
    """The next `times` sendMessage calls to `chat_id` answer `error_code` (through
    `sandbox.faults.fail_next`); calls to other chats go through untouched. With `chat_id`
    None it is the first chat a message goes to (when the order is drawn by lot)."""

    def __init__(
        self, bot: RunningBot, chat_id: int | None, times: int, error_code: int = 500
    ) -> None:
        self.bot, self.chat_id, self.left, self.error_code = bot, chat_id, times, error_code

    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        if isinstance(method, SendMessage) and self.chat_id is None:
            self.chat_id = int(method.chat_id)
        if isinstance(method, SendMessage) and method.chat_id == self.chat_id and self.left > 0:
            self.left -= 1
            self.bot.sandbox.faults.fail_next("sendMessage", self.error_code, chat_id=self.chat_id)
        return await make_request(bot, method)


def fail_chat(bot: RunningBot, chat_id: int | None, times: int, error_code: int = 500) -> FailChat:
    assert bot.app is not None
    middleware = FailChat(bot, chat_id, times, error_code)
    bot.app.bot.session.middleware(middleware)
    return middleware


async def block_unnoticed(bot: RunningBot, telegram_id: int, name: str) -> None:
    """The member blocks the bot, and the bot forgets it heard (as after a missed update)."""
    assert bot.app is not None
    user = bot.sandbox.user(telegram_id, name)
    await user.send_text("/help")
    await bot.sandbox.idle()
    user.drain()
    user.block()
    await bot.sandbox.idle()
    async with bot.app.sessions() as session:
        member = await session.scalar(select(Member).where(Member.telegram_id == telegram_id))
        assert member is not None
        member.unreachable_since = None
        await session.commit()
