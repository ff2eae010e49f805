"""/welkom: the welcome follow-up. Volunteers get a card per new member and mark them
contacted; organisers see who is not contacted 14 days after joining and reassign; a member
says whether they want to be contacted at all. The scheduler's pass is `run_pass`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from html import escape

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock, notify, outbox
from bot.budget import Priority
from bot.formatting import long_date
from bot.services import regions, welcome
from bot.services.roles import Grant, RoleName, Scope, has_role, organiser_scope
from bot.settings import Settings
from handlers.common import close_question, consent_first, private_router, shorten
from storage.models import Member

log = logging.getLogger(__name__)
MAX_WISHES = 20  # on a card; a longer list ends with "and N more"


class WelcomeCb(CallbackData, prefix="wlc"):
    """c contacted, u could not reach, i introduce me, r reassign, p a page of the overview
    (organisers); n please do not contact me, y contact me after all (the member)."""

    action: str
    id: int  # the welcome (c, u, i, r), the page (p), 0 (n, y)
    page: int = 0


# -- the volunteer's card ------------------------------------------------------------------


def card_text(card: welcome.Card, region: str, locale: str) -> str:
    """What the volunteer reads, in their language: only what the member shares."""
    lines = [
        "👋 <b>" + _("A new member to welcome") + "</b>",
        "",
        _("Name: {name}").format(name=shorten(card.first_name or "—", 64)),
        _("Region: {region}").format(region=escape(region)),
    ]
    if card.wishes:
        shown = [shorten(w.label(locale), 60) for w in card.wishes[:MAX_WISHES]]
        if len(card.wishes) > MAX_WISHES:
            shown.append(_("and {n} more").format(n=len(card.wishes) - MAX_WISHES))
        lines.append(_("Learning wishes: {wishes}").format(wishes=", ".join(shown)))
    else:
        lines.append(_("Learning wishes: not shared"))
    if card.username:
        lines.append(_("Contact: @{username}").format(username=escape(card.username)))
    else:
        lines.append(
            _(
                "Contact: only through the bot. Tap “Introduce me” and I send them your "
                "name and a link to your chat."
            )
        )
    lines += ["", _("Please get in touch within 14 days, then tap below how it went.")]
    return "\n".join(lines)


def card_keyboard(card: welcome.Card) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="✅ " + _("Contacted"), callback_data=WelcomeCb(action="c", id=card.welcome_id))
    kb.button(
        text="📵 " + _("Could not reach"), callback_data=WelcomeCb(action="u", id=card.welcome_id)
    )
    if not card.username:
        kb.button(
            text="👋 " + _("Introduce me"), callback_data=WelcomeCb(action="i", id=card.welcome_id)
        )
    kb.adjust(2, 1)
    return kb.as_markup()


async def region_names(session: AsyncSession) -> dict[str, str]:
    return {r.code: r.name for r in await regions.configured(session)}


async def send_card(
    bot: Bot, session: AsyncSession, i18n: I18n, assigned: welcome.Assigned
) -> notify.Delivery:
    """The card to its volunteer through the one sending path, in their language."""
    card = await welcome.card(session, assigned.welcome_id)
    if card is None:
        return notify.Delivery()
    region = (await region_names(session)).get(card.region_code or "", card.region_code or "")

    def compose(volunteer: Member) -> notify.Notice:
        return notify.Notice(card_text(card, region, volunteer.locale), card_keyboard(card))

    delivery = await notify.deliver(bot, session, [assigned.volunteer_member_id], compose, i18n)
    log.info(
        "welcome %s: card to volunteer %s (sent %s, unreachable %s, failed %s)",
        assigned.welcome_id, assigned.volunteer_id, delivery.sent, delivery.unreachable,
        delivery.failed,
    )  # fmt: skip
    return delivery


Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]  # an async_sessionmaker


async def run_pass(bot: Bot, sessions: Sessions, i18n: I18n, settings: Settings) -> int:
    """The scheduler's pass: assign the new members and put each volunteer's card in the
    outbox in the same transaction; then send the cards."""
    async with sessions() as session:
        posted: list[int] = []

        async def post_cards(given: list[welcome.Assigned]) -> None:
            posted.extend(await _post_cards(session, i18n, given))

        given = await welcome.assign_due(
            session, clock.now(), settings.welcome_days, before_commit=post_cards
        )
    if posted:
        sender = outbox.sender_for(bot, sessions)  # type: ignore[arg-type]
        states = await sender.deliver_now(posted)
        log.info("welcome pass: %s assigned, cards %s", len(given), sorted(states.values()))
    return len(given)


async def _post_cards(
    session: AsyncSession, i18n: I18n, given: list[welcome.Assigned]
) -> list[int]:
    """Each volunteer's card, in their language, kept in the outbox (the caller commits)."""
    names = await region_names(session)
    found = await welcome.volunteers_by_id(session, {a.volunteer_member_id for a in given})
    letters = []
    for assigned in given:
        card = await welcome.card(session, assigned.welcome_id)
        volunteer = found.get(assigned.volunteer_member_id)
        if card is None or volunteer is None:
            continue
        region = names.get(card.region_code or "", card.region_code or "")
        with i18n.context(), i18n.use_locale(volunteer.locale):
            text, markup = card_text(card, region, volunteer.locale), card_keyboard(card)
        letters.append(outbox.Letter(volunteer.telegram_id, text, markup, member_id=volunteer.id))
    return await outbox.post(session, letters, Priority.PERSONAL)


async def on_mark(callback: CallbackQuery, callback_data: WelcomeCb, session: AsyncSession) -> None:
    """Contacted / could not reach: only the card's own volunteer, once."""
    contacted = callback_data.action == "c"
    try:
        await welcome.mark(session, callback_data.id, callback.from_user.id, contacted, clock.now())
    except welcome.WelcomeError as exc:
        await callback.answer(_refusal(exc), show_alert=True)
        return
    outcome = _("Contacted") if contacted else _("Could not reach")
    await callback.answer(_("Thank you! Marked: {outcome}.").format(outcome=outcome))
    await close_question(callback, outcome)


def _refusal(exc: welcome.WelcomeError) -> str:
    if isinstance(exc, welcome.AlreadyDone):
        if exc.state == welcome.DECLINED:
            return _("This member asked not to be contacted.")
        if exc.state in (welcome.CONTACTED, welcome.UNREACHED):
            return _("This welcome has already been marked.")
    if isinstance(exc, welcome.NoVolunteer):
        return _("There is no other volunteer in that region.")
    if isinstance(exc, welcome.NotAllowed):
        return _("You can only do this in your own region.")
    return _("That button is no longer valid.")


async def on_introduce(
    callback: CallbackQuery,
    callback_data: WelcomeCb,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    """The member gets the volunteer's first name and a link to their chat (the member's
    own contact is never shown: they chose the bot only)."""
    volunteer = callback.from_user
    try:
        found = await welcome.mine(session, callback_data.id, volunteer.id)
    except welcome.WelcomeError as exc:
        await callback.answer(_refusal(exc), show_alert=True)
        return
    name = shorten(volunteer.first_name or "", 64)
    link = (
        f"https://t.me/{volunteer.username}"
        if volunteer.username
        else f"tg://user?id={volunteer.id}"
    )

    def compose(member: Member) -> notify.Notice:
        text = "👋 " + _(
            "Welcome! {name}, a volunteer from your region, would like to get to know you. "
            'Write to them whenever you like: <a href="{link}">{name}</a>.'
        ).format(name=name, link=escape(link))
        return notify.Notice(text, reply_markup=_decline_keyboard())

    delivery = await notify.deliver(bot, session, [found.member_id], compose, i18n)
    if delivery.sent or delivery.queued:
        await callback.answer(_("Done: they got your name and a link to your chat."))
    else:
        await callback.answer(_("I could not reach them."), show_alert=True)


# -- the member's side ----------------------------------------------------------------------


def _decline_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="🙅 " + _("Please do not contact me"), callback_data=WelcomeCb(action="n", id=0))
    return kb.as_markup()


def member_view(found: welcome.Welcome | None, settings: Settings, locale: str):  # type: ignore[no-untyped-def]
    """The member's welcome setting: what happens, and the one button to change it."""
    intro = _(
        "New members are welcomed personally by a volunteer from their region: a short "
        "message or call, to get to know you and answer your questions."
    )
    if found is not None and found.state == welcome.DECLINED:
        kb = InlineKeyboardBuilder()
        kb.button(
            text="👋 " + _("You may contact me after all"),
            callback_data=WelcomeCb(action="y", id=0),
        )
        return intro + "\n\n" + _("You asked not to be contacted."), kb.as_markup()
    if found is not None and found.state == welcome.CONTACTED and found.done_at is not None:
        day = long_date(found.done_at, locale, settings.tz)
        return intro + "\n\n" + _("A volunteer welcomed you on {day}.").format(day=day), None
    return intro, _decline_keyboard()


async def _tell_withdrawn(
    bot: Bot, session: AsyncSession, i18n: I18n, volunteer_member_id: int, name: str
) -> None:
    """The volunteer hears that the member no longer wants a welcome: nothing to do."""

    def compose(volunteer: Member) -> notify.Notice:
        return notify.Notice(
            "🙅 "
            + _("{name} would rather not be contacted: there is nothing more to do.").format(
                name=shorten(name or "—", 64)
            )
        )

    await notify.deliver(bot, session, [volunteer_member_id], compose, i18n)


async def on_member_choice(
    callback: CallbackQuery,
    callback_data: WelcomeCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    settings: Settings,
    i18n: I18n,
) -> None:
    if member is None:
        return await consent_first(callback)
    if callback_data.action == "n":
        withdrawn = await welcome.decline(session, member, clock.now())
        await callback.answer(_("Done: no volunteer will contact you for a welcome."))
        if withdrawn is not None:
            await _tell_withdrawn(bot, session, i18n, withdrawn, member.first_name or "")
    else:
        await welcome.allow(session, member)
        await callback.answer(_("Thank you: a volunteer from your region will get in touch."))
    text, markup = member_view(await welcome.of_member(session, member), settings, member.locale)
    message = callback.message
    if message is not None and not isinstance(message, InaccessibleMessage):
        with contextlib.suppress(TelegramBadRequest):
            await message.edit_text(text, reply_markup=markup)


# -- the organisers' overview ---------------------------------------------------------------


def _status(row: welcome.Welcome, names: dict[int, str]) -> str:
    if row.volunteer_id is None or row.state == welcome.WAITING:
        return _("no volunteer in the region")
    name = shorten(names.get(row.volunteer_id, "") or str(row.volunteer_id), 40)
    if row.state == welcome.UNREACHED:
        return _("{name} could not reach them").format(name=name)
    return _("with {name}").format(name=name)


async def overview_view(
    session: AsyncSession, scope: Scope, page: int, locale: str, settings: Settings
) -> tuple[str, InlineKeyboardMarkup | None]:
    view = await welcome.overview(session, scope, clock.now(), page)
    title = "📋 <b>" + _("New members not contacted within 14 days") + "</b>"
    if not view.total:
        return title + "\n\n" + _("Nobody: every new member has been contacted in time."), None
    names = await region_names(session)
    lines = [
        title,
        _("{total} in all · page {page} of {pages}").format(
            total=view.total, page=view.page + 1, pages=view.pages
        ),
        "",
    ]
    kb = InlineKeyboardBuilder()
    first = view.page * welcome.PAGE_SIZE
    for n, row in enumerate(view.rows, start=first + 1):
        who = shorten(row.first_name or "—", 40)
        region = escape(names.get(row.region_code or "", row.region_code or "—"))
        joined = long_date(row.joined_at, locale, settings.tz)
        lines.append(
            f"{n}. {who} ({region}) — "
            + _("joined {day}").format(day=joined)
            + " · "
            + _status(row, view.volunteer_names)
        )
        kb.button(
            text=f"↪️ {n}. " + _("Reassign"),
            callback_data=WelcomeCb(action="r", id=row.id, page=view.page),
        )
    kb.adjust(2)
    nav = []
    if view.page > 0:
        nav.append(("◀️", view.page - 1))
    if view.page + 1 < view.pages:
        nav.append(("▶️", view.page + 1))
    markup = kb.as_markup()
    if nav:
        row_kb = InlineKeyboardBuilder()
        for label, target in nav:
            row_kb.button(text=label, callback_data=WelcomeCb(action="p", id=target))
        markup.inline_keyboard.append(row_kb.as_markup().inline_keyboard[0])
    return "\n".join(lines), markup


async def _edit(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    message = callback.message
    if message is None or isinstance(message, InaccessibleMessage):
        return
    with contextlib.suppress(TelegramBadRequest):  # unchanged
        await message.edit_text(text, reply_markup=markup)


async def on_page(
    callback: CallbackQuery,
    callback_data: WelcomeCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    scope = organiser_scope(grants)
    if scope is None:
        await callback.answer(_("This command is for organisers only."), show_alert=True)
        return
    await callback.answer()
    text, markup = await overview_view(
        session, scope, callback_data.id, i18n.current_locale, settings
    )
    await _edit(callback, text, markup)


async def on_reassign(
    callback: CallbackQuery,
    callback_data: WelcomeCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    bot: Bot,
    settings: Settings,
    i18n: I18n,
) -> None:
    """The next volunteer in the region's rotation gets it, with the card."""
    scope = organiser_scope(grants)
    if scope is None:
        await callback.answer(_("This command is for organisers only."), show_alert=True)
        return
    try:
        assigned = await welcome.reassign(session, callback_data.id, scope, clock.now())
    except welcome.WelcomeError as exc:
        await callback.answer(_refusal(exc), show_alert=True)
        return
    log.info("welcome %s reassigned to %s", assigned.welcome_id, assigned.volunteer_id)
    await callback.answer(_("Given to the next volunteer in the region, who gets the card."))
    await send_card(bot, session, i18n, assigned)
    text, markup = await overview_view(
        session, scope, callback_data.page, i18n.current_locale, settings
    )
    await _edit(callback, text, markup)


# -- /welkom --------------------------------------------------------------------------------


async def on_welcome_command(
    message: Message,
    member: Member | None,
    grants: frozenset[Grant],
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    """Organisers: the overview. Volunteers: their open cards. Members: their setting."""
    locale = i18n.current_locale
    scope = organiser_scope(grants)
    if scope is not None:
        text, markup = await overview_view(session, scope, 0, locale, settings)
        await message.answer(text, reply_markup=markup)
        return
    if has_role(grants, RoleName.VOLUNTEER) and message.from_user is not None:
        await _volunteer_cards(message, session, message.from_user.id, locale)
        return
    if member is None:
        await message.answer(_("Please give your consent first: send /start."))
        return
    text, markup = member_view(await welcome.of_member(session, member), settings, locale)
    await message.answer(text, reply_markup=markup)


async def _volunteer_cards(
    message: Message, session: AsyncSession, volunteer_id: int, locale: str
) -> None:
    todo = await welcome.open_of(session, volunteer_id)
    if not todo:
        await message.answer(_("You have no new members to welcome right now."))
        return
    await message.answer(_("New members to welcome: {n}").format(n=len(todo)))
    names = await region_names(session)
    for row in todo[: welcome.PAGE_SIZE]:
        card = await welcome.card(session, row.id)
        if card is not None:
            region = names.get(card.region_code or "", card.region_code or "")
            await message.answer(card_text(card, region, locale), reply_markup=card_keyboard(card))


async def on_stale(callback: CallbackQuery) -> None:
    await callback.answer(_("That button is no longer valid."), show_alert=True)


def build_router() -> Router:
    router = private_router("welcome")
    router.message.register(on_welcome_command, Command("welkom", "welcome", "valkommen"))
    router.callback_query.register(on_mark, WelcomeCb.filter(F.action.in_({"c", "u"})))
    router.callback_query.register(on_introduce, WelcomeCb.filter(F.action == "i"))
    router.callback_query.register(on_reassign, WelcomeCb.filter(F.action == "r"))
    router.callback_query.register(on_page, WelcomeCb.filter(F.action == "p"))
    router.callback_query.register(on_member_choice, WelcomeCb.filter(F.action.in_({"n", "y"})))
    router.callback_query.register(on_stale, WelcomeCb.filter())
    return router
