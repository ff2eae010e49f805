"""What the volunteers see of a question: its card in the volunteers' group, a member's
follow-up relayed to whoever holds the question, the notice that the member closed it.

The member's side (bot/services/questions.py, handlers/questions.py) calls these three after
its own transaction has committed; the volunteers' side fills them in (issue 11).
"""

from __future__ import annotations

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings


async def announce(
    bot: Bot, sessions: async_sessionmaker[AsyncSession], settings: Settings, qid: int
) -> None:
    """A question was queued: show it to the volunteers."""


async def follow_up(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    qid: int,
    message_row_id: int,
) -> None:
    """The member added a message (a question_messages row) to an open or claimed question."""


async def closed(
    bot: Bot, sessions: async_sessionmaker[AsyncSession], settings: Settings, qid: int
) -> None:
    """The member closed their question: tell whoever held it, update the card."""
