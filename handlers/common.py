"""Small helpers the feature routers share."""

from __future__ import annotations

import contextlib
from html import escape

from aiogram import Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InaccessibleMessage, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import roles, workshops
from bot.services.roles import Grant
from storage.models import Member, Workshop


async def in_private_chat(message: Message) -> bool:
    """Only private chats. Async on purpose: aiogram runs a sync filter (a magic `F.…`
    filter included) through a thread, and every router checks this on every update."""
    return message.chat.type == ChatType.PRIVATE


async def pressed_in_private_chat(callback: CallbackQuery) -> bool:
    """Only buttons under a message in a private chat (see `in_private_chat`)."""
    return callback.message is not None and callback.message.chat.type == ChatType.PRIVATE


def private_router(name: str) -> Router:
    """A router that only sees private chats: personal conversations never leak into groups."""
    router = Router(name=name)
    router.message.filter(in_private_chat)
    router.callback_query.filter(pressed_in_private_chat)
    return router


async def consent_first(callback: CallbackQuery) -> None:
    """The answer to any button pressed by someone who has not (or no longer) consented."""
    await callback.answer(_("Please give your consent first: send /start."), show_alert=True)


def shorten(text: str, limit: int = 40) -> str:
    """Echo a bit of what someone typed, safely: short, and HTML-escaped."""
    text = " ".join(text.split())
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


async def close_question(callback: CallbackQuery, chosen: str) -> None:
    """Replace the buttons of an answered question by the answer, so they cannot be reused."""
    message = callback.message
    if message is None or isinstance(message, InaccessibleMessage):
        return
    text = f"{message.html_text}\n\n<b>✔️ {escape(chosen)}</b>"
    with contextlib.suppress(TelegramBadRequest):  # already closed by a quicker tap
        await message.edit_text(text, reply_markup=None)


async def pressed_workshop(
    callback: CallbackQuery,
    workshop_id: int,
    grants: frozenset[Grant],
    member: Member | None,
    session: AsyncSession,
    *,
    organisers_only: bool = False,
    answer: bool = True,
) -> Workshop | None:
    """The workshop a staff button refers to, re-checked against who pressed it; refused with
    an alert (None) otherwise. `answer=False` leaves the tap to be answered with its outcome."""
    workshop = await workshops.managed(session, grants, member, workshop_id)
    if workshop is None:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return None
    if organisers_only and not roles.may_change_workshop(grants, workshop):
        await callback.answer(_("Only organisers can move or cancel a workshop."), show_alert=True)
        return None
    if answer:
        await callback.answer()
    return workshop
