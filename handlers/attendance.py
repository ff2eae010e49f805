"""Attendance at a workshop: the trainer ticks who came, and takes someone off the list
(their place goes to the first waiting, who is told). Trainers of the workshop and organisers
in its region only; every button is re-checked against who pressed it."""

from __future__ import annotations

import contextlib
import logging
from html import escape

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.formatting import short_when
from bot.keyboards import pager
from bot.notify import Notice, deliver
from bot.services import checkin, roster, signups
from bot.services.roles import Grant
from bot.settings import Settings
from handlers.common import close_question, pressed_workshop, private_router
from handlers.workshops import notify_promoted
from storage.models import Member, Workshop

log = logging.getLogger(__name__)


class AttendCb(CallbackData, prefix="watt"):
    workshop_id: int
    signup_id: int
    action: str = "tick"  # tick | removing (pick whom) | ask | remove | keep | view
    page: int = 0  # of the list of names, PER_PAGE a page


PER_PAGE = 40  # two columns of names, the pager and the switch: well under 100 buttons


async def attendance_view(
    session: AsyncSession, workshop: Workshop, removing: bool = False, page: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """The confirmed people with a tick button each: ✅ present, ▫️ not (yet); or, when
    `removing`, a button each to take them off the list. Paged: everyone can be reached."""
    rows = await roster.attendance(session, workshop.id)
    pages = max(1, -(-len(rows) // PER_PAGE))
    page = max(0, min(page, pages - 1))
    action = "ask" if removing else "tick"
    view = "removing" if removing else "view"
    kb = InlineKeyboardBuilder()
    for person in rows[page * PER_PAGE : (page + 1) * PER_PAGE]:
        name = person.name or _("a member")
        mark = "✖️" if removing else "✅" if person.present else "▫️"
        kb.button(
            text=f"{mark} {name}"[:60],
            callback_data=AttendCb(
                workshop_id=workshop.id, signup_id=person.signup_id, action=action, page=page
            ),
        )
    kb.adjust(2)
    kb.row(
        *pager(
            page,
            pages,
            lambda n: AttendCb(workshop_id=workshop.id, signup_id=0, action=view, page=n),
        )
    )
    kb.row(
        InlineKeyboardButton(
            text="↩️ " + _("Back") if removing else "✖️ " + _("Take someone off the list"),
            callback_data=AttendCb(
                workshop_id=workshop.id, signup_id=0, action="view" if removing else "removing"
            ).pack(),
        )
    )
    if removing:
        text = _(
            "Whom do you take off the list for <b>{title}</b>? Their place goes to the first "
            "on the waiting list."
        ).format(title=escape(workshop.title))
        return text, kb.as_markup()
    present = sum(1 for person in rows if person.present)
    text = _(
        "Attendance at <b>{title}</b>: {present} of {total} present. Tap a name to tick."
    ).format(title=escape(workshop.title), present=present, total=len(rows))
    return text, kb.as_markup()


async def on_attend(
    callback: CallbackQuery,
    callback_data: AttendCb,
    grants: frozenset[Grant],
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    workshop = await pressed_workshop(
        callback, callback_data.workshop_id, grants, member, session, answer=False
    )
    if workshop is None:
        return
    action = callback_data.action
    if action in ("removing", "view"):
        await callback.answer()
        await _show_attendance(
            callback, session, workshop, removing=action == "removing", page=callback_data.page
        )
    elif action == "ask":
        await _ask_remove(callback, session, workshop, callback_data.signup_id)
    elif action == "remove":
        await _remove(callback, session, workshop, callback_data.signup_id, bot, i18n, settings)
    elif action == "keep":
        await callback.answer()
        await close_question(callback, _("No"))
    elif action == "tick":
        await _tick(callback, session, workshop, callback_data)
    else:
        await callback.answer(_("That button is no longer valid."), show_alert=True)


async def _show_attendance(
    callback: CallbackQuery,
    session: AsyncSession,
    workshop: Workshop,
    *,
    removing: bool = False,
    page: int = 0,
) -> None:
    text, markup = await attendance_view(session, workshop, removing, page)
    message = callback.message
    if message is not None and hasattr(message, "edit_text"):
        with contextlib.suppress(TelegramBadRequest):  # the same page again: "not modified"
            await message.edit_text(text, reply_markup=markup)


async def _tick(
    callback: CallbackQuery, session: AsyncSession, workshop: Workshop, data: AttendCb
) -> None:
    try:
        await roster.toggle_attendance(session, workshop.id, data.signup_id)
    except checkin.NotOnList:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    await _show_attendance(callback, session, workshop, page=data.page)


async def _ask_remove(
    callback: CallbackQuery, session: AsyncSession, workshop: Workshop, signup_id: int
) -> None:
    """Confirm first: taking someone off the list cannot be undone by a tap."""
    person = await signups.on_list(session, workshop.id, signup_id)
    if person is None:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    kb = InlineKeyboardBuilder()
    for action, label in (("remove", _("Yes, take them off")), ("keep", _("No"))):
        kb.button(
            text=label,
            callback_data=AttendCb(workshop_id=workshop.id, signup_id=signup_id, action=action),
        )
    kb.adjust(2)
    name = person.first_name or _("a member")
    await callback.bot.send_message(  # type: ignore[union-attr]
        callback.from_user.id,
        _(
            "Take {name} off the list for <b>{title}</b>? They will be told, and their place "
            "goes to the first on the waiting list."
        ).format(name=escape(name), title=escape(workshop.title)),
        reply_markup=kb.as_markup(),
    )


async def _remove(
    callback: CallbackQuery,
    session: AsyncSession,
    workshop: Workshop,
    signup_id: int,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    try:
        removed = await signups.remove(session, workshop.id, signup_id)
    except signups.SignupError:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    await close_question(callback, _("Yes, take them off"))
    log.info("workshop %s: signup %s taken off the list", workshop.id, signup_id)

    def compose(person: Member) -> Notice:
        return Notice(
            "❌ "
            + _(
                "You have been taken off the list for <b>{title}</b> ({when}). Questions? Ask "
                "the organiser."
            ).format(
                title=escape(workshop.title),
                when=escape(short_when(workshop.starts_at, person.locale, settings.tz)),
            )
        )

    await deliver(bot, session, [removed.member_id], compose, i18n)
    await notify_promoted(bot, session, removed.promoted, workshop, i18n, settings)
    await bot.send_message(
        callback.from_user.id,
        ngettext(
            "Done. {count} person moved up from the waiting list and was told.",
            "Done. {count} people moved up from the waiting list and were told.",
            len(removed.promoted),
        ).format(count=len(removed.promoted)),
    )


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("attendance")
    router.callback_query.register(on_attend, AttendCb.filter())
    return router
