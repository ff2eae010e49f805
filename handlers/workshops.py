"""/workshops: suggestions for the member, a workshop's details, sign up, cancel, calendar."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from html import escape

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder, InlineKeyboardMarkup
from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.formatting import TEXT_LIMIT, long_date, short_when, span
from bot.keyboards import MenuCb, pager
from bot.notify import Delivery, Notice, Priority, deliver
from bot.services import calendar, signups, suggest, workshops
from bot.services.signup_desk import SignupDesk
from bot.settings import Settings
from handlers.common import consent_first, private_router
from storage.models import Member, Workshop

log = logging.getLogger(__name__)
PAGE = 5


class ListCb(CallbackData, prefix="wl"):
    offset: int
    region: str = ""  # "" every region; "-" online only
    month: str = ""  # "" any month; else "2027-03" (local time)


class WorkshopCb(CallbackData, prefix="w"):
    workshop_id: int


class SignupCb(CallbackData, prefix="wsign"):
    workshop_id: int


class CancelCb(CallbackData, prefix="wcancel"):
    workshop_id: int


class IcsCb(CallbackData, prefix="wics"):
    workshop_id: int


def _reasons(hit: suggest.Suggestion, names: dict[int, str]) -> str:
    parts = []
    if hit.wishes:
        wished = ", ".join(names.get(i, "?") for i in hit.wishes)
        parts.append(
            ngettext(
                "matches your wish <i>{skills}</i>",
                "matches your wishes <i>{skills}</i>",
                len(hit.wishes),
            ).format(skills=escape(wished))
        )
    if hit.distance_km is not None:
        parts.append(_("{km} km").format(km=round(hit.distance_km)))
    elif hit.workshop.latitude is None and hit.workshop.online_url:
        parts.append(_("online"))
    elif hit.same_region:
        parts.append(_("in your region"))
    return " · ".join(parts)


async def list_page(
    session: AsyncSession,
    member: Member,
    offset: int,
    locale: str,
    settings: Settings,
    region: str = "",
    month: str = "",
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Suggestions that fit the member or, narrowed to a region (or online) or a month,
    everything planned there."""
    now = clock.now()
    found = await workshops.listing(
        session,
        member,
        now,
        settings.tz,
        region=region,
        month=month,
        max_km=settings.suggest_max_km,
    )
    ranked, regions = found.hits, found.regions
    lines = ["📅 <b>" + _("Workshops for you") + "</b>"]
    filters = []
    if region:
        named = {r.code: r.name for r in regions}
        filters.append(_("online") if region == "-" else named.get(region, region))
    if month:
        first = datetime.strptime(month + "-01", "%Y-%m-%d")
        filters.append(format_date(first, "MMMM y", locale=locale))
    if filters:
        lines[0] += " · " + escape(" · ".join(filters))
    lines.append("")
    kb = InlineKeyboardBuilder()
    pages = -(-len(ranked) // PAGE)
    offset = max(0, min(offset // PAGE, pages - 1)) * PAGE  # a forged offset: a real page
    page = ranked[offset : offset + PAGE]
    if not ranked:
        lines.append(
            _("There are no upcoming workshops yet. I will show them here once they are planned.")
            if not filters
            else _("Nothing planned that matches; try another region or month.")
        )
    names = {s.id: s.name(locale) for hit in page for s in hit.workshop.topics}
    for n, hit in enumerate(page, start=offset + 1):
        w = hit.workshop
        where = w.town or _("online")
        if w.members_only and not workshops.is_member(member):
            where = _("For members only")  # where it is, is for members
        lock = " 🔒" if w.members_only else ""
        when = escape(short_when(w.starts_at, locale, settings.tz))
        lines.append(f"{n}. <b>{escape(w.title)}</b>{lock} — {when} · {escape(where)}")
        reasons = _reasons(hit, names)
        if reasons:
            lines.append(f"    {reasons}")
        kb.button(text=f"{n}. {w.title}"[:60], callback_data=WorkshopCb(workshop_id=w.id))
    nav = pager(
        offset // PAGE,
        pages,
        lambda n: ListCb(offset=n * PAGE, region=region, month=month),
    )
    kb.add(*nav)
    # Narrow down: by region (or online), and by month.
    region_row = [("🌍 " + _("All"), "")] + [(r.name, r.code) for r in regions] + [("💻", "-")]
    for label, code in region_row:
        mark = "• " if code == region else ""
        kb.button(text=mark + label, callback_data=ListCb(offset=0, region=code, month=month))
    months = [("🗓 " + _("Any month"), "")]
    cursor = now.astimezone(settings.tz).replace(day=1)
    for _step in range(4):
        key = cursor.strftime("%Y-%m")
        months.append((format_date(cursor.date(), "MMM", locale=locale), key))
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    for label, key in months:
        mark = "• " if key == month else ""
        kb.button(text=mark + label, callback_data=ListCb(offset=0, region=region, month=key))
    kb.adjust(*([1] * len(page)), *([len(nav)] if nav else []), len(region_row), len(months))
    return "\n".join(lines), kb.as_markup()


def _valid_month(month: str) -> bool:
    try:
        datetime.strptime(month, "%Y-%m")
    except ValueError:
        return False
    return True


def _places_line(capacity: int, confirmed: int, waiting: int) -> str:
    free = capacity - confirmed
    if free > 0:
        return "👥 " + ngettext("{count} place left", "{count} places left", free).format(
            count=free
        )
    return "👥 " + ngettext(
        "Full — {count} on the waiting list", "Full — {count} on the waiting list", waiting
    ).format(count=waiting)


def _full_lines(view: workshops.View, locale: str, settings: Settings) -> list[str]:
    """What members-only workshops show only to members; the link only with a place."""
    workshop, lines = view.workshop, []
    if workshop.latitude is not None:
        where = ", ".join(p for p in (workshop.venue, workshop.address, workshop.town) if p)
        lines.append("📍 " + escape(where))
    if view.online_url:
        lines.append("💻 " + escape(view.online_url))
    elif workshop.online_url:
        lines.append("💻 " + _("online"))
    lines.append(_places_line(workshop.capacity, view.confirmed, view.waiting))
    if workshop.members_only:
        lines.append("🔒 " + _("For members only"))
    if workshop.signup_deadline is not None:
        lines.append(
            "⏰ "
            + _("Sign up before {date}").format(
                date=escape(short_when(workshop.signup_deadline, locale, settings.tz))
            )
        )
    if workshop.topics:
        lines.append("🧩 " + escape(", ".join(t.name(locale) for t in workshop.topics)))
    if view.trainer_name:
        lines.append("🎓 " + _("Trainer: {name}").format(name=escape(view.trainer_name)))
    if workshop.description:
        lines += ["", escape(workshop.description[:1500])]
    return lines


def detail(
    view: workshops.View, locale: str, settings: Settings
) -> tuple[str, InlineKeyboardMarkup]:
    """The workshop as this person may see it, with the buttons that fit their place."""
    workshop = view.workshop
    lines = [f"<b>{escape(workshop.title)}</b>", ""]
    lines.append("📅 " + escape(span(workshop.starts_at, workshop.ends_at, locale, settings.tz)))
    if view.full:
        lines += _full_lines(view, locale, settings)
    else:
        lines.append("🔒 " + _("For members only"))
    kb = InlineKeyboardBuilder()
    if view.status is None:
        kb.button(text="✅ " + _("Sign me up"), callback_data=SignupCb(workshop_id=workshop.id))
    else:
        status, buttons = _status(workshop.id, view.status, None)  # the link is above
        lines += ["", *status]
        kb.add(*buttons)
    kb.button(text="↩️ " + _("All workshops"), callback_data=ListCb(offset=0))
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


async def show_workshop(
    bot: Bot,
    chat_id: int,
    session: AsyncSession,
    workshop_id: int | None,
    member: Member | None,
    i18n: I18n,
    settings: Settings,
) -> None:
    """One answer for every workshop this person may not open: it does not exist for them."""
    view = None
    if workshop_id is not None:
        view = await workshops.visible_detail(session, workshop_id, member)
    if view is None:
        await bot.send_message(chat_id, _("This workshop no longer exists or was cancelled."))
        return
    text, markup = detail(view, i18n.current_locale, settings)
    await bot.send_message(chat_id, text, reply_markup=markup)


async def on_workshops(
    message: Message, member: Member | None, session: AsyncSession, i18n: I18n, settings: Settings
) -> None:
    if member is None:
        await message.answer(_("Please give your consent first: send /start."))
        return
    text, markup = await list_page(session, member, 0, i18n.current_locale, settings)
    await message.answer(text, reply_markup=markup)


async def on_list(
    callback: CallbackQuery,
    callback_data: ListCb | MenuCb,
    member: Member | None,
    session: AsyncSession,
    i18n: I18n,
    settings: Settings,
) -> None:
    if member is None:
        return await consent_first(callback)
    await callback.answer()
    offset = max(0, getattr(callback_data, "offset", 0))
    region = getattr(callback_data, "region", "")
    month = getattr(callback_data, "month", "")
    if region not in ("", workshops.ONLINE) and not await workshops.known_region(session, region):
        region = ""  # a region that is gone (or a forged one): show all
    if month and not _valid_month(month):
        month = ""
    text, markup = await list_page(
        session, member, offset, i18n.current_locale, settings, region, month
    )
    await callback.bot.send_message(callback.from_user.id, text, reply_markup=markup)  # type: ignore[union-attr]


async def on_workshop(
    callback: CallbackQuery,
    callback_data: WorkshopCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    if member is None:  # a forged button: strangers open workshops by a poster's link only
        return await consent_first(callback)
    await callback.answer()
    await show_workshop(
        bot, callback.from_user.id, session, callback_data.workshop_id, member, i18n, settings
    )


def _refusal(error: signups.SignupError, locale: str, settings: Settings) -> str:
    if isinstance(error, signups.NotConsented):
        return _("Please give your consent first: send /start.")
    if isinstance(error, signups.MembersOnly):
        return _(
            "This workshop is for members only. If you have become a member, change it under "
            "✏️ Change my details."
        )
    if isinstance(error, signups.DeadlinePassed) and error.deadline is not None:
        return _("Sign-up for this workshop closed on {date}.").format(
            date=long_date(error.deadline, locale, settings.tz)
        )
    if isinstance(error, signups.AlreadyStarted):
        return _("This workshop has already started.")
    if isinstance(error, signups.NotSignedUp):
        return _("You are not signed up for this workshop.")
    return _("This workshop no longer exists or was cancelled.")


async def _refuse(
    callback: CallbackQuery, error: signups.SignupError, i18n: I18n, settings: Settings
) -> None:
    """Why a sign-up or cancellation did not happen, as an alert on the button, in the
    member's language where the decision read it."""
    locale = error.locale or i18n.current_locale
    with i18n.use_locale(locale):
        await callback.answer(_refusal(error, locale, settings), show_alert=True)


async def on_sign_up(
    callback: CallbackQuery,
    callback_data: SignupCb,
    desk: SignupDesk,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    """The outcome in the answer to the tap and on the tapped message itself: after an
    announcement thousands tap at once, and a new message per sign-up (plus a calendar file)
    would wait minutes behind Telegram's 30 messages a second. The member is read inside the
    sign-up batch (SELF_SERVED in handlers/__init__.py), so a tap costs no query of its own."""
    workshop_id = callback_data.workshop_id
    decided = await desk.sign_up(workshop_id, signups.Tap(callback.from_user.id))
    if isinstance(decided, signups.SignupError):
        return await _refuse(callback, decided, i18n, settings)
    outcome, workshop = decided.outcome, decided.workshop
    with i18n.use_locale(decided.locale):  # their stored choice, not Telegram's
        lines, buttons = _status(workshop_id, outcome, workshop.online_url)
        places = _places_line(workshop.capacity, decided.confirmed, decided.waiting)
        # Both at once: each is a round trip to Telegram, and the tap's slot waits for both.
        await asyncio.gather(
            bot.answer_callback_query(callback.id, _toast(outcome, workshop.title)),
            _show_on_card(callback, bot, lines, buttons, places),
        )
    log.info("signup %s: %s (signup %s)", workshop_id, outcome.status, outcome.signup_id)


def _toast(outcome: signups.Outcome, title: str) -> str:
    """The answer on the button (plain text, at most 200 characters)."""
    if outcome.status == "confirmed" and outcome.already:
        text = _("✅ You were already signed up for {title}.")
    elif outcome.status == "confirmed":
        text = _("✅ You are signed up for {title}.")
    else:
        text = _("⏳ {title} is full: you are number {position} on the waiting list.")
    room = 200 - len(text.format(title="", position=outcome.position))
    short = title if len(title) <= room else title[: room - 1] + "…"
    return text.format(title=short, position=outcome.position)


def _status(
    workshop_id: int, status: signups.Outcome, online_url: str | None
) -> tuple[list[str], list[InlineKeyboardButton]]:
    """The member's place on a workshop card, and the buttons that go with it."""
    if status.status == "confirmed":
        lines = ["✅ <b>" + _("You are signed up.") + "</b>"]
        if online_url:  # the link is theirs now that they have a place
            lines.append("💻 " + escape(online_url))
        return lines, [
            InlineKeyboardButton(
                text="📅 " + _("Calendar file"),
                callback_data=IcsCb(workshop_id=workshop_id).pack(),
            ),
            InlineKeyboardButton(
                text="❌ " + _("Cancel my place"),
                callback_data=CancelCb(workshop_id=workshop_id).pack(),
            ),
        ]
    waiting = _("You are number {position} on the waiting list.").format(position=status.position)
    return ["⏳ <b>" + waiting + "</b>", _("I will tell you at once if a place comes free.")], [
        InlineKeyboardButton(
            text="❌ " + _("Leave the waiting list"),
            callback_data=CancelCb(workshop_id=workshop_id).pack(),
        )
    ]


async def _show_on_card(
    callback: CallbackQuery,
    bot: Bot,
    lines: list[str],
    buttons: list[InlineKeyboardButton],
    places: str,
) -> None:
    """Edit the tapped message: the places line brought up to date, the member's place
    below, and the tapped button replaced by the buttons that fit it (others stay). A message
    that cannot be edited (too old to reach, or no room left) gets the outcome as a reply.

    An announcement (a broadcast's message, known by its "no more of these" button) keeps
    its text and photo: only the tapped button changes, the outcome is in the answer."""
    card = callback.message
    if isinstance(card, Message) and _is_announcement(card.reply_markup):
        markup = _replace_button(card.reply_markup, callback.data, buttons)
        try:
            await card.edit_reply_markup(reply_markup=markup)
            return
        except TelegramBadRequest as error:  # deleted meanwhile, or a double tap
            if "not modified" in str(error):
                return
    text = card.html_text if isinstance(card, Message) and card.text else None
    if text is not None:
        body = text.split("\n")
        at = next((i for i, line in enumerate(body) if line.startswith("👥 ")), None)
        if at is not None:
            body[at] = places
        edited = "\n".join([*body, "", *lines])
        markup = _replace_button(card.reply_markup, callback.data, buttons)
        if len(edited) <= TEXT_LIMIT:
            try:
                await card.edit_text(edited, reply_markup=markup)
                return
            except TelegramBadRequest as error:  # deleted meanwhile, or a double tap
                if "not modified" in str(error):
                    return
    await bot.send_message(
        callback.from_user.id,
        "\n".join(lines),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[b] for b in buttons]),
    )


ANNOUNCEMENT_MARK = "bmute:"  # the callback data of a broadcast's "no more of these" button


def _is_announcement(markup: InlineKeyboardMarkup | None) -> bool:
    rows = markup.inline_keyboard if markup else []
    return any((b.callback_data or "").startswith(ANNOUNCEMENT_MARK) for row in rows for b in row)


def _replace_button(
    markup: InlineKeyboardMarkup | None, data: str | None, buttons: list[InlineKeyboardButton]
) -> InlineKeyboardMarkup:
    rows = list(markup.inline_keyboard) if markup else []
    tapped = next((i for i, row in enumerate(rows) for b in row if b.callback_data == data), None)
    if tapped is None:
        return InlineKeyboardMarkup(inline_keyboard=[[b] for b in buttons] + rows)
    return InlineKeyboardMarkup(
        inline_keyboard=rows[:tapped] + [[b] for b in buttons] + rows[tapped + 1 :]
    )


def calendar_caption() -> str:
    """What goes with every calendar file, so the member knows what to do with it."""
    return "📅 " + _("Add it to your calendar")


async def send_ics(bot: Bot, chat_id: int, workshop: Workshop) -> None:
    data = calendar.ics(workshop, clock.now())
    await bot.send_document(
        chat_id,
        BufferedInputFile(data, filename=f"workshop-{workshop.id}.ics"),
        caption=calendar_caption(),
    )


async def on_cancel(
    callback: CallbackQuery,
    callback_data: CancelCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    if member is None:
        return await consent_first(callback)
    workshop_id = callback_data.workshop_id
    try:
        result = await signups.cancel(session, member, workshop_id)
    except signups.SignupError as error:
        return await _refuse(callback, error, i18n, settings)
    workshop = await workshops.get(session, workshop_id)
    assert workshop is not None
    await callback.answer()
    title = escape(workshop.title)
    if result.was == "confirmed":
        text = _("Your place at <b>{title}</b> is cancelled.").format(title=title)
    else:
        text = _("You have left the waiting list for <b>{title}</b>.").format(title=title)
    await bot.send_message(callback.from_user.id, text)
    await notify_promoted(bot, session, result.promoted, workshop, i18n, settings)


async def notify_promoted(
    bot: Bot,
    session: AsyncSession,
    member_ids: Iterable[int],
    workshop: Workshop,
    i18n: I18n,
    settings: Settings,
) -> Delivery:
    """Tell the members who moved up, each in their own language, with the calendar file."""
    data = calendar.ics(workshop, clock.now())

    def compose(promoted: Member) -> Notice:
        text = "🎉 " + _(
            "Good news: a place came free at <b>{title}</b> ({when}). You are in!"
        ).format(
            title=escape(workshop.title),
            when=escape(short_when(workshop.starts_at, promoted.locale, settings.tz)),
        )
        document = BufferedInputFile(data, filename=f"workshop-{workshop.id}.ics")
        return Notice(text, document=document, caption=calendar_caption())

    return await deliver(bot, session, member_ids, compose, i18n, priority=Priority.PERSONAL)


async def on_ics(
    callback: CallbackQuery,
    callback_data: IcsCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
) -> None:
    """The calendar file carries the online link: only for a confirmed place, checked on
    every tap (the button may be old or forged)."""
    if member is None:
        return await consent_first(callback)
    workshop = await workshops.with_place(session, member, callback_data.workshop_id)
    if workshop is None:
        await callback.answer(_("You are not signed up for this workshop."), show_alert=True)
        return
    await callback.answer()
    await send_ics(bot, callback.from_user.id, workshop)


def build_signup_router() -> Router:
    """Sign-up taps alone, first in line: after an announcement they come in thousands, and
    every router before a handler costs each tap its filters (aiogram tries them in order)."""
    router = private_router("signups")
    router.callback_query.register(on_sign_up, SignupCb.filter())
    return router


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("workshops")
    router.message.register(on_workshops, Command("workshops", "agenda"))
    router.callback_query.register(on_list, ListCb.filter())
    router.callback_query.register(on_list, MenuCb.filter(F.action == "workshops"))
    router.callback_query.register(on_workshop, WorkshopCb.filter())
    router.callback_query.register(on_cancel, CancelCb.filter())
    router.callback_query.register(on_ics, IcsCb.filter())
    return router
