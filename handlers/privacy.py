"""/mijngegevens and /vergeetmij: the member's own data, as a file, or erased."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import commands, question_cards
from bot.formatting import long_date, split_lines
from bot.lazy import lazy_module
from bot.services import privacy, roles, tracks, workshops
from bot.services.roles import RoleName
from bot.settings import Settings
from handlers import tracks as track_views
from handlers.admin import role_label
from handlers.common import close_question, private_router
from handlers.onboarding import summary_lines
from handlers.profile import card_lines
from handlers.survey import keys_of
from handlers.workshops import notify_promoted
from storage.models import Member

# Loaded at first use (bot/lazy.py): a rare path, and off without CONFIDENTIAL_KEY.
confidential = lazy_module("bot.services.confidential")

log = logging.getLogger(__name__)


class EraseCb(CallbackData, prefix="erase"):
    confirm: bool


async def on_my_data(
    message: Message, member: Member | None, session: AsyncSession, i18n: I18n, settings: Settings
) -> None:
    """The file with everything, then a readable summary split within Telegram's limit (a
    full profile alone is longer than one message)."""
    data = await privacy.export(session, message.chat.id, keys_of(settings))
    if not any(data.values()):
        await message.answer(_("I store nothing about you."))
        return
    document = BufferedInputFile(privacy.export_json(data), filename="ledenbot-my-data.json")
    await message.answer_document(document, caption="📄")
    for chunk in split_lines(await _summary(session, member, data, i18n, settings)):
        await message.answer(chunk)


async def _summary(
    session: AsyncSession,
    member: Member | None,
    data: dict[str, list[dict[str, Any]]],
    i18n: I18n,
    settings: Settings,
) -> list[str]:
    """The readable summary, as lines (so it can be split between lines)."""
    lines = ["📄 " + _("This file holds everything I store about you. In short:"), ""]
    if member is not None:
        consent = await privacy.consent_of(session, member.id)
        if consent is not None:
            given = long_date(consent.granted_at, i18n.current_locale, settings.tz)
            lines.append(_("Consent given on {date}.").format(date=given))
        lines += await summary_lines(session, member)
        lines += ["", *await card_lines(session, member, i18n.current_locale)]
    if data["roles"]:
        held = ", ".join(role_label(RoleName(r["role"])) for r in data["roles"])
        lines += ["", _("Your roles: {roles}").format(roles=held)]
    if surveys := len(data.get("survey_participation", ())):
        took_part = ngettext(
            "You took part in {count} survey. Your answers are anonymous: I cannot tell which "
            "were yours, so they are not in this file.",
            "You took part in {count} surveys. Your answers are anonymous: I cannot tell which "
            "were yours, so they are not in this file.",
            surveys,
        )
        lines += ["", took_part.format(count=surveys)]
    return lines


async def on_forget_me(message: Message) -> None:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Yes, erase everything"), callback_data=EraseCb(confirm=True))
    kb.button(text=_("No, keep my data"), callback_data=EraseCb(confirm=False))
    kb.adjust(1)
    await message.answer(
        _(
            "Do you want me to erase everything I store about you? Your profile, talents and "
            "wishes, and your consent are deleted at once. This cannot be undone."
        ),
        reply_markup=kb.as_markup(),
    )


async def on_erase(
    callback: CallbackQuery,
    callback_data: EraseCb,
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    await callback.answer()
    if not callback_data.confirm:
        await close_question(callback, _("No, keep my data"))
        await bot.send_message(callback.from_user.id, _("Fine: nothing has been erased."))
        return
    # Their questions' words leave the volunteers' chats too (the group's cards, the copies).
    await question_cards.erase_copies(bot, session, settings, callback.from_user.id)
    erased = await privacy.erase(session, callback.from_user.id, keys_of(settings))
    if settings.confidential_key is not None:  # their confidential cases, found by the key
        ring = confidential.ring_of(settings.confidential_key)
        await confidential.forget_member(session, ring, callback.from_user.id)
    await state.clear()
    log.info("erased a person: %s rows, %s anonymised", erased.rows_deleted, erased.rows_anonymised)
    await close_question(callback, _("Yes, erase everything"))
    lines = [
        ngettext(
            "Done: {count} item about you has been erased.",
            "Done: {count} items about you have been erased.",
            erased.rows_deleted,
        ).format(count=erased.rows_deleted),
        _(
            "I keep only counts for statistics (such as how many searches organisers did), "
            "without your name or Telegram id."
        ),
        _("You are welcome back any time: send /start."),
    ]
    await bot.send_message(callback.from_user.id, "\n".join(lines))
    grants = await roles.grants_of(session, callback.from_user.id, settings.admin_ids)
    await commands.publish_for(bot, i18n, callback.from_user.id, grants, i18n.current_locale)
    await _tell_promoted(bot, session, erased, i18n, settings)


async def _tell_promoted(
    bot: Bot, session: AsyncSession, erased: privacy.Erased, i18n: I18n, settings: Settings
) -> None:
    """The places the erased member held went to others: they hear it as after a cancel or a
    withdrawal."""
    for freed in erased.promoted:
        workshop = await workshops.get(session, freed.workshop_id)
        if workshop is not None and freed.promoted:
            await notify_promoted(bot, session, freed.promoted, workshop, i18n, settings)
    for track_id, member_ids in erased.track_promoted:
        track = await tracks.get(session, track_id) if member_ids else None
        if track is not None:
            await track_views.tell_moved_up(bot, session, track, member_ids, i18n)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("privacy")
    router.message.register(on_my_data, Command("mijngegevens", "mydata", "minadata"))
    router.message.register(on_forget_me, Command("vergeetmij", "forgetme", "glommigg"))
    router.callback_query.register(on_erase, EraseCb.filter())
    return router
