"""Updates of one chat are handled in the order they came; other chats do not wait."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiogram import Bot, Dispatcher
from aiogram.types import Chat, Message, Update, User

from bot.middlewares.order import ChatOrderMiddleware


def _message(update_id: int, chat_id: int, text: str) -> Update:
    user = User(id=chat_id, is_bot=False, first_name="M")
    chat = Chat(id=chat_id, type="private")
    msg = Message(
        message_id=update_id, date=datetime.now(UTC), chat=chat, from_user=user, text=text
    )
    return Update(update_id=update_id, message=msg)


async def _handle_as_polling_does(dp: Dispatcher, bot: Bot, updates: list[Update]) -> None:
    """One task per update, created in the order received (aiogram's handle_as_tasks)."""
    await asyncio.gather(*(asyncio.create_task(dp.feed_update(bot, u)) for u in updates))


async def test_one_chats_updates_keep_their_order_while_others_go_on() -> None:
    seen: list[tuple[int, str]] = []
    order = ChatOrderMiddleware()
    dp = Dispatcher()
    dp.update.outer_middleware(order)

    @dp.message()
    async def relay(message: Message) -> None:
        # The first message of chat 1 is slow (a big photo, a slow database): without the
        # line the second would overtake it.
        if message.text == "slow":
            await asyncio.sleep(0.05)
        else:
            await asyncio.sleep(0)
        seen.append((message.chat.id, message.text or ""))

    bot = Bot("42:order-test")
    updates = [
        _message(1, 1, "slow"),
        _message(2, 1, "second"),
        _message(3, 2, "other chat"),
        _message(4, 1, "third"),
    ]
    await _handle_as_polling_does(dp, bot, updates)
    assert [t for c, t in seen if c == 1] == ["slow", "second", "third"]
    assert seen[0] == (2, "other chat")  # chat 2 did not wait behind chat 1's slow message
    assert len(order) == 0  # no line kept once a chat is idle
    await bot.session.close()


async def test_a_failing_update_does_not_block_the_chat() -> None:
    seen: list[str] = []
    order = ChatOrderMiddleware()
    dp = Dispatcher()
    dp.update.outer_middleware(order)

    @dp.message()
    async def handler(message: Message) -> None:
        if message.text == "boom":
            raise RuntimeError("handler failed")
        seen.append(message.text or "")

    bot = Bot("42:order-test")
    tasks = [
        asyncio.create_task(dp.feed_update(bot, _message(1, 7, "boom"))),
        asyncio.create_task(dp.feed_update(bot, _message(2, 7, "after"))),
    ]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[0], RuntimeError)
    assert seen == ["after"]
    assert len(order) == 0
    await bot.session.close()
