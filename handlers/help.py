"""/help: what this person can do here, by role."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import commands
from bot.keyboards import MenuCb
from bot.services.roles import Grant, RoleName, has_role
from handlers.common import private_router
from storage.models import Member


def help_text(member: Member | None, grants: frozenset[Grant]) -> str:
    lines = [
        _(
            "I am your organisation's learning assistant: I learn what you can do and what "
            "you would like to learn, and help you find workshops and training."
        ),
        _("Questions? Ask with /vraag: a known answer comes at once, else a volunteer answers."),
        "",
        _("<b>Commands</b>"),
    ]
    lines += [f"/{c.name} — {c.description}" for c in commands.available(grants)]
    if has_role(grants, RoleName.VOLUNTEER):
        lines += ["", "🙋 " + _(
            "Members' questions appear in the volunteers' group with a Claim button (or here, "
            "without a group); you answer them in this chat, and the bot passes it on."
        )]  # fmt: skip
    if member is None:
        lines += [
            "",
            _("You have not given consent, so I store nothing about you. Send /start to begin."),
        ]
    return "\n".join(lines)


async def on_help(
    message: Message, member: Member | None, grants: frozenset[Grant], bot: Bot, i18n: I18n
) -> None:
    await message.answer(help_text(member, grants))
    if grants:  # staff get their own menu once they have a chat with the bot
        await commands.publish_for(bot, i18n, message.chat.id, grants, i18n.current_locale)


async def on_help_button(
    callback: CallbackQuery, member: Member | None, grants: frozenset[Grant]
) -> None:
    await callback.answer()
    await callback.bot.send_message(callback.from_user.id, help_text(member, grants))  # type: ignore[union-attr]


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("help")
    router.message.register(on_help, Command("help", "hulp"))
    router.callback_query.register(on_help_button, MenuCb.filter(F.action == "help"))
    return router
