"""/workshop <id>: an organiser's view of one workshop — sign-ups, moving it, cancelling it.

Everyone with a place or on the waiting list hears of a change, in their own language.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from html import escape, unescape
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock, notify
from bot.formatting import pack_lines, short_when, span
from bot.keyboards import pager
from bot.services import calendar, checkin, feedback, roles, roster, workshops
from bot.services.roles import Grant
from bot.settings import Settings
from handlers.attendance import attendance_view
from handlers.common import close_question, pressed_workshop, private_router
from handlers.workshops import calendar_caption, notify_promoted
from storage.models import Member, Workshop

log = logging.getLogger(__name__)
MOVE_WORDS = {"verplaats", "move", "flytta"}
PLACE_WORDS = {"plaats", "place", "plats"}
PLACES_WORDS = {"plaatsen", "places", "platser"}
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%d-%m-%Y %H:%M")
# Telegram's 4,096 characters, less room for the page header and for counting differences.
TEXT_BUDGET = 3800
CallbackType = Callable[..., Awaitable[Any]]


class AdminCb(CallbackData, prefix="wadm"):
    workshop_id: int
    action: str  # see ADMIN_ACTIONS


class PageCb(CallbackData, prefix="wpg"):
    """A page of a long list in the organiser's view: "s" sign-ups, "c" comments."""

    workshop_id: int
    kind: str
    page: int


def usage() -> str:
    return _(
        "/workshop 12 — one workshop: its sign-ups, move or cancel it\n"
        "/workshop 12 move 2027-03-14 10:00 13:00 — a new date and time\n"
        "/workshop 12 place Zwolle, Partijhuis — a new town (and venue)"
    )


async def on_workshop_admin(
    message: Message,
    command: CommandObject,
    grants: frozenset[Grant],
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    words = (command.args or "").split()
    if not words or not words[0].isdecimal() or len(words[0]) > 9:
        if roles.organiser_scope(grants) is None:
            await message.answer(_("This command is for organisers and trainers."))
        else:
            await message.answer(usage())
        return
    workshop = await workshops.managed(session, grants, member, int(words[0]))
    if workshop is None:
        await message.answer(_("There is no such workshop in your region."))
        return
    if len(words) > 1:
        if not roles.may_change_workshop(grants, workshop):
            await message.answer(_("Only organisers can move or cancel a workshop."))
            return
        if words[1].casefold() in PLACES_WORDS and len(words) == 3:
            await _set_places(message, workshop, words[2], session, bot, i18n, settings)
            return
        if words[1].casefold() in PLACE_WORDS and len(words) >= 3:
            await _relocate(message, workshop, " ".join(words[2:]), session, bot, i18n, settings)
            return
        if words[1].casefold() not in MOVE_WORDS or len(words) != 5:
            await message.answer(_("I did not understand that.") + "\n\n" + usage())
            return
        await _move(message, workshop, words[2:], session, bot, i18n, settings)
        return
    me = await bot.me()
    text, more = await _summary(session, workshop, i18n.current_locale, settings, me.username or "")
    await message.answer(
        text, reply_markup=_buttons(workshop, roles.may_change_workshop(grants, workshop), more)
    )


def _buttons(workshop: Workshop, organiser: bool, comments: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for action, label in (
        ("signups", "📋 " + _("Sign-ups")),
        ("attendance", "✅ " + _("Attendance")),
        ("qr", "📷 " + _("Check-in QR code")),
        ("csv", "📄 " + _("Attendance list (CSV)")),
    ):
        kb.button(text=label, callback_data=AdminCb(workshop_id=workshop.id, action=action))
    if comments:
        kb.button(
            text="💬 " + _("All comments"),
            callback_data=AdminCb(workshop_id=workshop.id, action="comments"),
        )
    if organiser and workshop.status == "published":
        kb.button(
            text="❌ " + _("Cancel this workshop"),
            callback_data=AdminCb(workshop_id=workshop.id, action="cancel"),
        )
    kb.adjust(2, 2, 1, 1)
    return kb.as_markup()


def shown_length(html: str) -> int:
    """How long Telegram counts a line of our HTML: tags dropped, entities as one character,
    in UTF-16 code units (an emoji counts two), so never less than Telegram's count."""
    return len(unescape(re.sub(r"<[^>]*>", "", html)).encode("utf-16-le")) // 2


def paginate(lines: list[str], budget: int = TEXT_BUDGET) -> list[list[str]]:
    """Lines packed into pages that each stay within `budget` as Telegram counts it (a line
    is never split); always at least one page."""
    return pack_lines(lines, budget, shown_length) or [[]]


def _page_of(
    header: str, lines: list[str], page: int, workshop_id: int, kind: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of a long list, with the pager under it when there is more than one."""
    pages = paginate(lines, TEXT_BUDGET - shown_length(header))
    page = min(page, len(pages) - 1)
    row = pager(page, len(pages), lambda n: PageCb(workshop_id=workshop_id, kind=kind, page=n))
    markup = InlineKeyboardMarkup(inline_keyboard=[row]) if row else None
    return "\n".join([header, *pages[page]]), markup


async def _signups_page(
    session: AsyncSession, workshop: Workshop, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    entries = await roster.roster(session, workshop.id)
    lines = []
    for n, entry in enumerate(entries, start=1):
        name = escape(entry.name or _("a member"))
        lines.append(f"{n}. {name} ✅" if entry.confirmed else f"{n}. {name} ⏳ {entry.queue}")
    if not entries:
        lines.append(_("Nobody has signed up yet."))
    return _page_of(f"📋 <b>{escape(workshop.title)}</b>", lines, page, workshop.id, "s")


def _comment_lines(comments: list[str]) -> list[str]:
    return [f"💬 “{escape(c[: feedback.MAX_COMMENT])}”" for c in comments]


async def _comments_page(
    session: AsyncSession, workshop: Workshop, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    opinions = await feedback.summary(session, workshop.id)
    lines = _comment_lines(opinions.comments) or [_("No comments yet.")]
    return _page_of(f"💬 <b>{escape(workshop.title)}</b>", lines, page, workshop.id, "c")


async def _summary(
    session: AsyncSession, workshop: Workshop, locale: str, settings: Settings, username: str
) -> tuple[str, bool]:
    """The view's text, and whether some comments did not fit (they get a button)."""
    confirmed, waiting = await roster.counts(session, workshop.id)
    lines = [
        f"<b>{escape(workshop.title)}</b> (#{workshop.id})",
        "📅 " + escape(span(workshop.starts_at, workshop.ends_at, locale, settings.tz)),
        _("Places: {confirmed} of {capacity} taken, {waiting} waiting").format(
            confirmed=confirmed, capacity=workshop.capacity, waiting=waiting
        ),
        _("Link for posters and QR codes: {link}").format(
            link=f"https://t.me/{username}?start=w_{workshop.code}"
        ),
    ]
    if workshop.status != "published":
        lines.insert(1, "❌ " + _("Cancelled"))
    opinions = await feedback.summary(session, workshop.id)
    if not opinions.count:
        return "\n".join(lines), False
    lines.append(
        "⭐ "
        + ngettext(
            "Feedback: {average} on average ({count} rating)",
            "Feedback: {average} on average ({count} ratings)",
            opinions.count,
        ).format(
            average=format_decimal(opinions.average or 0, "0.0", locale=locale),
            count=opinions.count,
        )
    )
    budget = TEXT_BUDGET - sum(shown_length(line) + 1 for line in lines)
    comments = _comment_lines(opinions.comments)
    first = paginate(comments, budget)[0] if comments else []
    if first and shown_length("\n".join(first)) > budget:
        first = []  # not even one fits beside the summary: all behind the button
    return "\n".join(lines + first), len(first) < len(comments)


def _parse_local(day: str, clock: str, settings: Settings) -> datetime | None:
    for pattern in TIME_FORMATS:
        try:
            return datetime.strptime(f"{day} {clock}", pattern).replace(tzinfo=settings.tz)
        except ValueError:
            continue
    return None


async def _move(
    message: Message,
    workshop: Workshop,
    parts: list[str],
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    starts = _parse_local(parts[0], parts[1], settings)
    ends = _parse_local(parts[0], parts[2], settings)
    if starts is None or ends is None or ends <= starts:
        await message.answer(_("That is not a date and times like 2027-03-14 10:00 13:00."))
        return
    change = workshops.reschedule(session, workshop.id, starts, ends)
    await _announce_change(message, workshop, change, session, bot, i18n, settings)


async def _announce_change(
    message: Message,
    workshop: Workshop,
    change: Awaitable[workshops.Affected],
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    """Carry out a move (in time or place), tell everyone on it, and report back."""
    try:
        affected = await change
    except workshops.WorkshopError:
        await message.answer(_("This workshop no longer exists or was cancelled."))
        return
    await session.refresh(workshop)
    delivery = await _tell(bot, session, affected, workshop, i18n, settings, moved=True)
    log.info(
        "workshop %s changed; %s told, %s unreachable, %s failed",
        workshop.id, delivery.sent, delivery.unreachable, delivery.failed,
    )  # fmt: skip
    await message.answer(_told(delivery, moved=True))


async def _set_places(
    message: Message,
    workshop: Workshop,
    number: str,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    """`/workshop 12 places 30`: more places go at once to the first waiting, who are told."""
    if not number.isdecimal() or int(number) > workshops.MAX_CAPACITY:
        await message.answer(_("Give the number of places, like: /workshop 12 places 30"))
        return
    try:
        promoted = await workshops.set_capacity(session, workshop.id, int(number))
    except workshops.WorkshopError:
        await message.answer(_("This workshop no longer exists or was cancelled."))
        return
    await session.refresh(workshop)
    log.info("workshop %s: %s places, %s promoted", workshop.id, number, len(promoted))
    await notify_promoted(bot, session, promoted, workshop, i18n, settings)
    await message.answer(
        ngettext(
            "{capacity} places now. {count} person moved up from the waiting list and was told.",
            "{capacity} places now. {count} people moved up from the waiting list and were told.",
            len(promoted),
        ).format(capacity=workshop.capacity, count=len(promoted))
    )


async def _relocate(
    message: Message,
    workshop: Workshop,
    text: str,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    """`/workshop 12 place Zwolle, Partijhuis`: the town, and optionally the venue."""
    from bot.services.workshop_csv import CellError, find_town  # loaded at first use

    town, _sep, venue = text.partition(",")
    try:
        place = find_town(town.strip())
    except CellError:
        await message.answer(_("I do not know that town. Try its name, like Zwolle."))
        return
    change = workshops.relocate(session, workshop.id, place, venue.strip() or None)
    await _announce_change(message, workshop, change, session, bot, i18n, settings)


def _notice(workshop: Workshop, settings: Settings, *, moved: bool) -> notify.Compose:
    """What each member on the list reads about the change, in their own language."""
    title, starts, ends = escape(workshop.title), workshop.starts_at, workshop.ends_at
    where = ", ".join(p for p in (workshop.venue, workshop.town) if p)
    ics = calendar.ics(workshop, clock.now()) if moved else None
    filename = f"workshop-{workshop.id}.ics"

    def compose(person: Member) -> notify.Notice:
        if ics is not None:
            when = escape(span(starts, ends, person.locale, settings.tz))
            text = "🗓 " + _("<b>{title}</b> has changed: {when}, {where}.").format(
                title=title, when=when, where=escape(where or _("online"))
            )
            return notify.Notice(text, document=BufferedInputFile(ics, filename=filename))
        text = "❌ " + _(
            "<b>{title}</b> ({when}) has been cancelled. Sorry! Find another one in /workshops."
        ).format(title=title, when=escape(short_when(starts, person.locale, settings.tz)))
        return notify.Notice(text)

    return compose


async def _tell(
    bot: Bot,
    session: AsyncSession,
    affected: workshops.Affected,
    workshop: Workshop,
    i18n: I18n,
    settings: Settings,
    *,
    moved: bool,
) -> notify.Delivery:
    """Everyone on the list hears of the change through the one sending path; the calendar
    file (it holds the online link) goes only to those with a confirmed place."""
    compose = _notice(workshop, settings, moved=moved)

    def with_file_if_placed(person: Member) -> notify.Notice | None:
        notice = compose(person)
        if notice is None or notice.document is None:
            return notice
        if person.id not in affected.confirmed_ids:
            return replace(notice, document=None)
        return replace(notice, caption=calendar_caption())

    return await notify.deliver(bot, session, affected.member_ids, with_file_if_placed, i18n)


def _told(delivery: notify.Delivery, *, moved: bool) -> str:
    """The organiser's confirmation: how many were told, and how many could not be reached."""
    if moved:
        text = ngettext(
            "Moved. I told {count} person.", "Moved. I told {count} people.", delivery.sent
        )
    else:
        text = ngettext(
            "Cancelled. I told {count} person.", "Cancelled. I told {count} people.", delivery.sent
        )
    text = text.format(count=delivery.sent)
    missed = delivery.unreachable + delivery.failed
    if missed:
        text += "\n" + ngettext(
            "{count} person could not be reached.", "{count} people could not be reached.", missed
        ).format(count=missed)
    return text


async def on_list(
    callback: CallbackQuery,
    callback_data: AdminCb,
    grants: frozenset[Grant],
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
) -> None:
    """📋 sign-ups or 💬 comments: the first page, as a new message under the view."""
    workshop = await pressed_workshop(callback, callback_data.workshop_id, grants, member, session)
    if workshop is not None:
        show = _comments_page if callback_data.action == "comments" else _signups_page
        text, markup = await show(session, workshop, 0)
        await bot.send_message(callback.from_user.id, text, reply_markup=markup)


async def on_page(
    callback: CallbackQuery,
    callback_data: PageCb,
    grants: frozenset[Grant],
    member: Member | None,
    session: AsyncSession,
) -> None:
    """◀️ / ▶️ in the sign-ups or the comments: the tapped message shows the other page."""
    workshop = await pressed_workshop(callback, callback_data.workshop_id, grants, member, session)
    if workshop is None:
        return
    page = max(0, callback_data.page)
    if callback_data.kind == "c":
        text, markup = await _comments_page(session, workshop, page)
    else:
        text, markup = await _signups_page(session, workshop, page)
    message = callback.message
    if isinstance(message, Message):
        with contextlib.suppress(TelegramBadRequest):  # the same page again: "not modified"
            await message.edit_text(text, reply_markup=markup)


async def on_cancel_ask(
    callback: CallbackQuery,
    callback_data: AdminCb,
    grants: frozenset[Grant],
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
) -> None:
    workshop = await pressed_workshop(
        callback, callback_data.workshop_id, grants, member, session, organisers_only=True
    )
    if workshop is None:
        return
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("Yes, cancel it"),
        callback_data=AdminCb(workshop_id=workshop.id, action="cancel_yes"),
    )
    kb.button(text=_("No"), callback_data=AdminCb(workshop_id=workshop.id, action="cancel_no"))
    kb.adjust(2)
    await bot.send_message(
        callback.from_user.id,
        _("Cancel <b>{title}</b>? Everyone signed up or waiting will be told.").format(
            title=escape(workshop.title)
        ),
        reply_markup=kb.as_markup(),
    )


async def on_cancel_yes(
    callback: CallbackQuery,
    callback_data: AdminCb,
    grants: frozenset[Grant],
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    workshop = await pressed_workshop(
        callback, callback_data.workshop_id, grants, member, session,
        organisers_only=True, answer=False,
    )  # fmt: skip
    if workshop is None:
        return
    try:
        affected = await workshops.cancel_workshop(session, workshop.id)
    except workshops.WorkshopError:
        await callback.answer(
            _("This workshop no longer exists or was cancelled."), show_alert=True
        )
        return
    await callback.answer()
    await close_question(callback, _("Yes, cancel it"))
    delivery = await _tell(bot, session, affected, workshop, i18n, settings, moved=False)
    log.info(
        "workshop %s cancelled by member %s; %s told, %s unreachable, %s failed",
        workshop.id, member.id if member else None,
        delivery.sent, delivery.unreachable, delivery.failed,
    )  # fmt: skip
    await bot.send_message(callback.from_user.id, _told(delivery, moved=False))


async def on_cancel_no(
    callback: CallbackQuery,
    callback_data: AdminCb,
    grants: frozenset[Grant],
    member: Member | None,
    session: AsyncSession,
) -> None:
    workshop = await pressed_workshop(
        callback, callback_data.workshop_id, grants, member, session, organisers_only=True
    )
    if workshop is not None:
        await close_question(callback, _("No"))


async def on_qr(
    callback: CallbackQuery,
    callback_data: AdminCb,
    grants: frozenset[Grant],
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    workshop = await pressed_workshop(callback, callback_data.workshop_id, grants, member, session)
    if workshop is None:
        return
    token = await checkin.token_for(session, workshop)
    me = await bot.me()
    link = f"https://t.me/{me.username}?start=c_{token}"
    opens, closes = checkin.window(workshop)
    when = span(opens, closes, i18n.current_locale, settings.tz)
    await bot.send_photo(
        callback.from_user.id,
        BufferedInputFile(checkin.qr_png(link), filename=f"checkin-{workshop.id}.png"),
        caption=_(
            "Show this at the door: members scan it to check in. It works from an hour before "
            "the start until the end: {when}."
        ).format(when=escape(when))
        + f"\n{link}",
    )


async def on_attendance(
    callback: CallbackQuery,
    callback_data: AdminCb,
    grants: frozenset[Grant],
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
) -> None:
    workshop = await pressed_workshop(callback, callback_data.workshop_id, grants, member, session)
    if workshop is not None:
        text, markup = await attendance_view(session, workshop)
        await bot.send_message(callback.from_user.id, text, reply_markup=markup)


async def on_csv(
    callback: CallbackQuery,
    callback_data: AdminCb,
    grants: frozenset[Grant],
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    settings: Settings,
) -> None:
    workshop = await pressed_workshop(callback, callback_data.workshop_id, grants, member, session)
    if workshop is not None:
        data = await checkin.attendance_csv(session, workshop.id, settings.tz)
        await bot.send_document(
            callback.from_user.id,
            BufferedInputFile(data, filename=f"attendance-{workshop.id}.csv"),
        )


async def on_unknown_button(callback: CallbackQuery) -> None:
    """A forged or outdated action: nothing happens."""
    await callback.answer(_("That button is no longer valid."), show_alert=True)


ADMIN_ACTIONS: dict[str, CallbackType] = {
    "signups": on_list,
    "comments": on_list,
    "attendance": on_attendance,
    "qr": on_qr,
    "csv": on_csv,
    "cancel": on_cancel_ask,
    "cancel_yes": on_cancel_yes,
    "cancel_no": on_cancel_no,
}


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("workshop_admin")
    router.message.register(on_workshop_admin, Command("workshop"))
    for action, handler in ADMIN_ACTIONS.items():
        router.callback_query.register(handler, AdminCb.filter(F.action == action))
    router.callback_query.register(on_unknown_button, AdminCb.filter())
    router.callback_query.register(on_page, PageCb.filter())
    return router
