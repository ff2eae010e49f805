"""Whatever no feature claimed: a short, helpful answer instead of silence."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from handlers.common import in_private_chat
from storage.models import Member


async def on_anything(message: Message, member: Member | None) -> None:
    if member is None:
        await message.answer(
            _("I do not know you yet. Send /start to begin, or /help to read what I do.")
        )
        return
    await message.answer(
        _("I did not understand that. What would you like to do?"),
        reply_markup=keyboards.main_menu(),
    )


async def on_unknown_button(callback: CallbackQuery) -> None:
    await callback.answer(_("That button is no longer valid."), show_alert=True)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = Router(name="fallback")
    router.message.register(on_anything, in_private_chat)
    router.callback_query.register(on_unknown_button)
    return router
