"""/taal: the language can be changed at any time. Before consent the choice lives only in
conversation state (memory or Redis, both gone a day after the choice; see bot/fsm_storage.py),
cleared on refusal or consent."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import commands, keyboards
from bot.i18n import LANGUAGE_NAMES
from bot.keyboards import LangCb, MenuCb
from bot.services import onboarding
from bot.services.roles import Grant
from handlers.common import private_router
from handlers.onboarding import ask
from handlers.start import welcome_text
from storage.models import Member


async def on_language_command(message: Message) -> None:
    await message.answer(_("Choose your language:"), reply_markup=keyboards.languages())


async def on_language_menu(callback: CallbackQuery) -> None:
    await callback.answer()
    await callback.bot.send_message(  # type: ignore[union-attr]
        callback.from_user.id, _("Choose your language:"), reply_markup=keyboards.languages()
    )


async def on_language_chosen(
    callback: CallbackQuery,
    callback_data: LangCb,
    member: Member | None,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
) -> None:
    code = callback_data.code
    if code not in LANGUAGE_NAMES:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    if member is not None:
        await onboarding.set_locale(session, member, code)
    else:
        await state.update_data(locale=code)
    await callback.answer()
    chat_id = callback.from_user.id
    with i18n.use_locale(code):
        await bot.send_message(chat_id, _("I will speak English with you from now on."))
        if grants:
            await commands.publish_for(bot, i18n, chat_id, grants, code)
        if member is None:
            await bot.send_message(
                chat_id,
                welcome_text(callback.from_user.first_name),
                reply_markup=keyboards.consent(),
            )
        else:
            await ask(bot, chat_id, member, session)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("language")
    router.message.register(on_language_command, Command("taal", "language"))
    router.callback_query.register(on_language_menu, MenuCb.filter(F.action == "language"))
    router.callback_query.register(on_language_chosen, LangCb.filter())
    return router
