"""/start and consent: nothing about a person is stored before they say yes."""

from __future__ import annotations

from html import escape

from aiogram import Bot, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import commands, keyboards
from bot.formatting import span
from bot.keyboards import ConsentCb
from bot.services import checkin, onboarding, workshops
from bot.services.onboarding import Step
from bot.services.roles import Grant
from bot.settings import Settings
from handlers.common import close_question, private_router
from handlers.onboarding import ask
from handlers.workshops import show_workshop
from storage.models import Member


def deep_link_workshop(payload: str | None) -> str | None:
    """`/start w_<code>` (or an old `w_<id>`) from a poster: the part after `w_`."""
    if payload and payload.startswith("w_") and 2 < len(payload) <= 2 + 16:
        return payload[2:]
    return None


def deep_link_checkin(payload: str | None) -> str | None:
    """`/start c_<token>`: a check-in QR code scanned at the venue."""
    if payload and payload.startswith("c_") and 4 < len(payload) <= 40:
        return payload[2:]
    return None


async def _check_in(
    message: Message, member: Member | None, session: AsyncSession, token: str, settings: Settings
) -> None:
    if member is None:
        await message.answer(_("Please give your consent first: send /start."))
        return
    try:
        result = await checkin.check_in(session, member, token)
    except checkin.UnknownCode:
        await message.answer(_("I do not know this check-in code."))
        return
    except checkin.OutsideWindow as outside:
        when = span(outside.opens, outside.closes, member.locale, settings.tz)
        await message.answer(
            _("This check-in code works only at the workshop itself: {when}.").format(when=when)
        )
        return
    except checkin.NotOnList:
        await message.answer(_("You do not have a place at this workshop. Please ask the trainer."))
        return
    title = escape(result.workshop.title)
    if result.already:
        await message.answer(
            "✅ " + _("You were already checked in at <b>{title}</b>.").format(title=title)
        )
    else:
        await message.answer(
            "✅ " + _("Welcome at <b>{title}</b>! You are checked in.").format(title=title)
        )


def welcome_text(first_name: str) -> str:
    return "\n".join(
        [
            _("Hello {name}! 👋").format(name=escape(first_name)),
            _(
                "I help you find workshops and training near you, let your organisation know "
                "what you can do and would like to learn, and sign up with one tap."
            ),
            "",
            _("<b>What I would store, and why</b>"),
            "• " + _("your first name, Telegram id and language — to talk with you;"),
            "• "
            + _(
                "whether you are a member or a sympathiser, your town and region — to "
                "suggest workshops near you;"
            ),
            "• "
            + _(
                "later, only if you tell me: your talents and learning wishes — so training "
                "can be planned around them."
            ),
            "",
            _(
                "Because this information shows a link with a political organisation, the law "
                "(GDPR) treats it as sensitive. So I store nothing without your explicit "
                "consent. You can ask for a copy of your data or have it erased at any time. "
                "Nothing is shared outside the organisation."
            ),
            "",
            _("<b>Do you agree that I store this?</b>"),
        ]
    )


async def on_start(
    message: Message,
    command: CommandObject,
    settings: Settings,
    member: Member | None,
    grants: frozenset[Grant],
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    assert message.from_user is not None
    if grants:  # staff get their own menu once they have a chat with the bot
        await commands.publish_for(bot, i18n, message.chat.id, grants, i18n.current_locale)
    token = deep_link_checkin(command.args)
    if token is not None:
        await _check_in(message, member, session, token, settings)
        return
    poster = deep_link_workshop(command.args)
    workshop_id = await workshops.from_poster(session, poster) if poster else None
    if member is None:
        if poster is not None:  # a poster's QR code: what it is about, then consent
            await show_workshop(bot, message.chat.id, session, workshop_id, None, i18n, settings)
        await message.answer(
            welcome_text(message.from_user.first_name), reply_markup=keyboards.consent()
        )
        return
    if poster is not None and member.onboarding_step == Step.DONE:
        await show_workshop(bot, message.chat.id, session, workshop_id, member, i18n, settings)
        return
    if member.onboarding_step != Step.DONE:
        await message.answer(_("Welcome back! Let us pick up where we left off."))
    greeting = _("Welcome back, {name}! 👋").format(name=escape(message.from_user.first_name))
    await ask(bot, message.chat.id, member, session, greeting)


async def on_consent(
    callback: CallbackQuery,
    callback_data: ConsentCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    state: FSMContext,
) -> None:
    if member is not None:
        await callback.answer(_("You have already given your consent."), show_alert=True)
        return
    if not callback_data.agree:
        await state.clear()  # not even the language choice stays
        await callback.answer()
        await close_question(callback, _("No, thank you"))
        await bot.send_message(
            callback.from_user.id,
            _(
                "All right: nothing about you has been stored. You can still use /help to read "
                "what I do. If you change your mind, send /start."
            ),
        )
        return
    member, created = await onboarding.give_consent(
        session, callback.from_user.id, i18n.current_locale, callback.from_user.first_name
    )
    if not created:  # a second tap while the first was being saved
        await callback.answer()
        return
    await state.clear()  # the language chosen before consent now lives on the member row
    await callback.answer()
    await close_question(callback, _("Yes, I agree"))
    heading = _("Thank you! A few short questions follow; you can skip any of them.")
    await ask(bot, callback.from_user.id, member, session, heading)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("start")
    router.message.register(on_start, CommandStart())
    router.callback_query.register(on_consent, ConsentCb.filter())
    return router
