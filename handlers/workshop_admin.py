"""/workshop <id>: an organiser's view of one workshop — sign-ups, moving it, cancelling it.

Everyone with a place or on the waiting list hears of a change, in their own language.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import datetime
from html import escape

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from bot.formatting import long_date, short_when, span
from bot.notify import Notice, deliver
from bot.services import checkin, feedback, signups, talent, workshops
from bot.services.roles import Grant
from bot.services.workshop_csv import CellError, find_town
from bot.settings import Settings
from handlers.common import close_question, private_router
from handlers.workshops import notify_promoted, send_ics
from storage.models import Member, Workshop
from storage.repositories import members
from storage.repositories import signups as signup_repo
from storage.repositories import workshops as workshop_repo

log = logging.getLogger(__name__)
MOVE_WORDS = {"verplaats", "move", "flytta"}
PLACE_WORDS = {"plaats", "place", "plats"}
PLACES_WORDS = {"plaatsen", "places", "platser"}
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%d-%m-%Y %H:%M")


class AdminCb(CallbackData, prefix="wadm"):
    workshop_id: int
    action: str  # signups | cancel | cancel_yes | cancel_no


def _in_scope(grants: frozenset[Grant], member: Member | None, workshop: Workshop) -> bool:
    """Organisers of the workshop's region (or everywhere), and the workshop's own trainer."""
    if member is not None and workshop.trainer_id == member.id:
        return True
    scope = talent.scope_of(grants)
    if scope is None:
        return False
    return scope.regions is None or workshop.region_code in scope.regions


async def _load(
    session: AsyncSession, grants: frozenset[Grant], member: Member | None, workshop_id: int
) -> Workshop | None:
    workshop = await workshop_repo.get(session, workshop_id)
    if workshop is None or not _in_scope(grants, member, workshop):
        return None
    return workshop


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
        if talent.scope_of(grants) is None:
            await message.answer(_("This command is for organisers and trainers."))
        else:
            await message.answer(usage())
        return
    workshop = await _load(session, grants, member, int(words[0]))
    if workshop is None:
        await message.answer(_("There is no such workshop in your region."))
        return
    if len(words) > 1:
        if not _in_scope(grants, None, workshop):
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
    summary = await _summary(session, workshop, i18n.current_locale, settings, me.username or "")
    await message.answer(
        summary, reply_markup=_buttons(workshop, _in_scope(grants, None, workshop))
    )


def _buttons(workshop: Workshop, organiser: bool) -> object:
    kb = InlineKeyboardBuilder()
    for action, label in (
        ("signups", "📋 " + _("Sign-ups")),
        ("attendance", "✅ " + _("Attendance")),
        ("qr", "📷 " + _("Check-in QR code")),
        ("csv", "📄 " + _("Attendance list (CSV)")),
    ):
        kb.button(text=label, callback_data=AdminCb(workshop_id=workshop.id, action=action))
    if organiser and workshop.status == "published":
        kb.button(
            text="❌ " + _("Cancel this workshop"),
            callback_data=AdminCb(workshop_id=workshop.id, action="cancel"),
        )
    kb.adjust(2, 2, 1)
    return kb.as_markup()


async def _summary(
    session: AsyncSession, workshop: Workshop, locale: str, settings: Settings, username: str
) -> str:
    confirmed, waiting = await signup_repo.counts(session, workshop.id)
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
    if opinions.count:
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
        lines += [f"💬 “{escape(c)}”" for c in opinions.comments[:20]]
    return "\n".join(lines)


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
    told = len(affected.member_ids)
    log.info("workshop %s changed; %s told", workshop.id, told)
    await _tell(bot, session, affected.member_ids, workshop, i18n, settings, moved=True)
    await message.answer(
        ngettext("Moved. I told {count} person.", "Moved. I told {count} people.", told).format(
            count=told
        )
    )


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
    town, _sep, venue = text.partition(",")
    try:
        place = find_town(town.strip())
    except CellError:
        await message.answer(_("I do not know that town. Try its name, like Zwolle."))
        return
    change = workshops.relocate(session, workshop.id, place, venue.strip() or None)
    await _announce_change(message, workshop, change, session, bot, i18n, settings)


async def _tell(
    bot: Bot,
    session: AsyncSession,
    member_ids: tuple[int, ...],
    workshop: Workshop,
    i18n: I18n,
    settings: Settings,
    *,
    moved: bool,
) -> None:
    for member_id in member_ids:
        person = await members.by_id(session, member_id)
        if person is None or person.unreachable_since is not None:
            continue
        with i18n.use_locale(person.locale):
            title = escape(workshop.title)
            when = escape(span(workshop.starts_at, workshop.ends_at, person.locale, settings.tz))
            if moved:
                where = ", ".join(p for p in (workshop.venue, workshop.town) if p)
                text = "🗓 " + _("<b>{title}</b> has changed: {when}, {where}.").format(
                    title=title, when=when, where=escape(where or _("online"))
                )
            else:
                text = "❌ " + _(
                    "<b>{title}</b> ({when}) has been cancelled. Sorry! Find another one in "
                    "/workshops."
                ).format(
                    title=title,
                    when=escape(short_when(workshop.starts_at, person.locale, settings.tz)),
                )
            await bot.send_message(person.telegram_id, text)
            if moved:
                await send_ics(bot, person.telegram_id, workshop)


async def on_admin_button(
    callback: CallbackQuery,
    callback_data: AdminCb,
    grants: frozenset[Grant],
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    workshop = await _load(session, grants, member, callback_data.workshop_id)
    if workshop is None:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    action = callback_data.action
    chat_id = callback.from_user.id
    if action.startswith("cancel") and not _in_scope(grants, None, workshop):
        await callback.answer(_("Only organisers can move or cancel a workshop."), show_alert=True)
        return
    if action == "signups":
        await callback.answer()
        rows = [
            s
            for s in await signup_repo.of_workshop(session, workshop.id)
            if s.status != "cancelled"
        ]
        lines = [f"📋 <b>{escape(workshop.title)}</b>"]
        queue = 0
        for n, signup in enumerate(rows, start=1):
            person = await members.by_id(session, signup.member_id)
            name = escape((person.first_name if person else None) or _("a member"))
            if signup.status == "confirmed":
                lines.append(f"{n}. {name} ✅")
            else:
                queue += 1
                lines.append(f"{n}. {name} ⏳ {queue}")
        if not rows:
            lines.append(_("Nobody has signed up yet."))
        await bot.send_message(chat_id, "\n".join(lines[:120]))
    elif action == "cancel":
        await callback.answer()
        kb = InlineKeyboardBuilder()
        kb.button(
            text=_("Yes, cancel it"),
            callback_data=AdminCb(workshop_id=workshop.id, action="cancel_yes"),
        )
        kb.button(text=_("No"), callback_data=AdminCb(workshop_id=workshop.id, action="cancel_no"))
        kb.adjust(2)
        await bot.send_message(
            chat_id,
            _("Cancel <b>{title}</b>? Everyone signed up or waiting will be told.").format(
                title=escape(workshop.title)
            ),
            reply_markup=kb.as_markup(),
        )
    elif action == "cancel_yes":
        try:
            affected = await workshops.cancel_workshop(session, workshop.id)
        except workshops.WorkshopError:
            await callback.answer(
                _("This workshop no longer exists or was cancelled."), show_alert=True
            )
            return
        await callback.answer()
        await close_question(callback, _("Yes, cancel it"))
        log.info("workshop %s cancelled", workshop.id)
        await _tell(bot, session, affected.member_ids, workshop, i18n, settings, moved=False)
        told = len(affected.member_ids)
        text = ngettext(
            "Cancelled. I told {count} person.", "Cancelled. I told {count} people.", told
        ).format(count=told)
        await bot.send_message(chat_id, text)
    elif action == "qr":
        await callback.answer()
        token = await checkin.token_for(session, workshop)
        me = await bot.me()
        link = f"https://t.me/{me.username}?start=c_{token}"
        day = long_date(workshop.starts_at, i18n.current_locale, settings.tz)
        await bot.send_photo(
            chat_id,
            BufferedInputFile(checkin.qr_png(link), filename=f"checkin-{workshop.id}.png"),
            caption=_(
                "Show this at the door: members scan it to check in. It works on {date} only."
            ).format(date=escape(day))
            + f"\n{link}",
        )
    elif action == "attendance":
        await callback.answer()
        text, markup = await _attendance(session, workshop)
        await bot.send_message(chat_id, text, reply_markup=markup)
    elif action == "csv":
        await callback.answer()
        data = await checkin.attendance_csv(session, workshop.id, settings.tz)
        await bot.send_document(
            chat_id, BufferedInputFile(data, filename=f"attendance-{workshop.id}.csv")
        )
    elif action == "cancel_no":
        await callback.answer()
        await close_question(callback, _("No"))
    else:
        await callback.answer(_("That button is no longer valid."), show_alert=True)


class AttendCb(CallbackData, prefix="watt"):
    workshop_id: int
    signup_id: int
    action: str = "tick"  # tick | removing (pick whom) | ask | remove | keep | view


async def _attendance(
    session: AsyncSession, workshop: Workshop, removing: bool = False
) -> tuple[str, object]:
    """The confirmed people with a tick button each: ✅ present, ▫️ not (yet); or, when
    `removing`, a button each to take them off the list."""
    rows = [
        s for s in await signup_repo.of_workshop(session, workshop.id) if s.status == "confirmed"
    ]
    kb = InlineKeyboardBuilder()
    for signup in rows[:90]:
        person = await members.by_id(session, signup.member_id)
        name = (person.first_name if person else None) or _("a member")
        mark = "✖️" if removing else "✅" if signup.checked_in_at else "▫️"
        kb.button(
            text=f"{mark} {name}"[:60],
            callback_data=AttendCb(
                workshop_id=workshop.id, signup_id=signup.id, action="ask" if removing else "tick"
            ),
        )
    kb.button(
        text="↩️ " + _("Back") if removing else "✖️ " + _("Take someone off the list"),
        callback_data=AttendCb(
            workshop_id=workshop.id, signup_id=0, action="view" if removing else "removing"
        ),
    )
    kb.adjust(2)
    if removing:
        text = _(
            "Whom do you take off the list for <b>{title}</b>? Their place goes to the first "
            "on the waiting list."
        ).format(title=escape(workshop.title))
        return text, kb.as_markup()
    present = sum(1 for s in rows if s.checked_in_at)
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
    workshop = await _load(session, grants, member, callback_data.workshop_id)
    if workshop is None:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    action = callback_data.action
    if action in ("removing", "view"):
        await callback.answer()
        await _show_attendance(callback, session, workshop, removing=action == "removing")
    elif action == "ask":
        await _ask_remove(callback, session, workshop, callback_data.signup_id)
    elif action == "remove":
        await _remove(callback, session, workshop, callback_data.signup_id, bot, i18n, settings)
    elif action == "keep":
        await callback.answer()
        await close_question(callback, _("No"))
    elif action == "tick":
        await _tick(callback, session, workshop, callback_data.signup_id)
    else:
        await callback.answer(_("That button is no longer valid."), show_alert=True)


async def _show_attendance(
    callback: CallbackQuery, session: AsyncSession, workshop: Workshop, *, removing: bool = False
) -> None:
    text, markup = await _attendance(session, workshop, removing)
    message = callback.message
    if message is not None and hasattr(message, "edit_text"):
        await message.edit_text(text, reply_markup=markup)


async def _tick(
    callback: CallbackQuery, session: AsyncSession, workshop: Workshop, signup_id: int
) -> None:
    signup = await signup_repo.by_id(session, signup_id)
    present = signup is not None and signup.checked_in_at is None
    try:
        await checkin.set_attendance(session, workshop.id, signup_id, present)
    except checkin.NotOnList:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    await _show_attendance(callback, session, workshop)


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
    router = private_router("workshop_admin")
    router.message.register(on_workshop_admin, Command("workshop"))
    router.callback_query.register(on_admin_button, AdminCb.filter())
    router.callback_query.register(on_attend, AttendCb.filter())
    return router
