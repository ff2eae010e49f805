"""/zoek: organisers search the talent base and ask members, through the bot, for contact."""

from __future__ import annotations

import contextlib
import logging
from html import escape
from typing import TYPE_CHECKING

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InaccessibleMessage, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.formatting import long_date
from bot.lazy import lazy_module
from bot.notify import Notice, deliver
from bot.services import catalogue, profile
from bot.services.places import default_gazetteer
from bot.services.roles import Grant, organiser_scope
from bot.settings import Settings
from handlers.common import close_question, private_router, shorten
from storage.models import Member

if TYPE_CHECKING:
    from bot.services.talent import Parties, Results

talent = lazy_module("bot.services.talent")  # loaded at the first search (bot/lazy.py)
log = logging.getLogger(__name__)


class Searching(StatesGroup):
    text = State()


class SearchCb(CallbackData, prefix="srch"):
    skill_id: int
    region: str  # "" for every region in scope
    place_id: int  # 0 for no town
    offset: int


class ContactCb(CallbackData, prefix="ask"):
    member_id: int
    skill_id: int


class ContactAnswerCb(CallbackData, prefix="askr"):
    request_id: int
    yes: bool


class ContactNeverCb(CallbackData, prefix="askn"):
    """'Never ask me again': a no to this request, and no requests from anyone after it."""

    request_id: int


def usage() -> str:
    return _(
        "What are you looking for? Type a skill, and if you like a region or “near” a town. "
        "For example: <b>begroting oost</b> or <b>debatteren near Zwolle</b>."
    )


async def on_search_command(
    message: Message,
    command: CommandObject,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
) -> None:
    if organiser_scope(grants) is None:
        await message.answer(_("This command is for organisers only."))
        return
    if not command.args:
        await state.set_state(Searching.text)
        await message.answer(usage())
        return
    await _search_text(message, command.args, grants, session, i18n)


async def on_search_text(
    message: Message,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
) -> None:
    await state.clear()
    if organiser_scope(grants) is None:
        return
    await _search_text(message, message.text or "", grants, session, i18n)


async def _search_text(
    message: Message, text: str, grants: frozenset[Grant], session: AsyncSession, i18n: I18n
) -> None:
    text = text[:200]
    parsed = talent.parse(text, await catalogue.matcher(session), await talent.regions(session))
    if not parsed.skills:
        await message.answer(
            _("I do not know a skill like “{text}”. Try other words.").format(text=shorten(text))
            + "\n\n"
            + usage()
        )
        return
    region = parsed.region or ""
    place_id = parsed.near.id if parsed.near else 0
    if not parsed.sure:
        kb = InlineKeyboardBuilder()
        ids = [match.skill_id for match in parsed.skills]
        for skill_id, name in await profile.skill_names(session, ids, i18n.current_locale):
            data = SearchCb(skill_id=skill_id, region=region, place_id=place_id, offset=0)
            kb.button(text=name, callback_data=data)
        kb.adjust(1)
        await message.answer(_("Which skill do you mean?"), reply_markup=kb.as_markup())
        return
    try:
        results = await talent.search(
            session,
            actor_id=message.chat.id,
            grants=grants,
            skill_id=parsed.skills[0].skill_id,
            region=parsed.region,
            near=parsed.near,
            query_text=text,
        )
    except talent.OutOfScope:
        await message.answer(_("You can only search in your own region."))
        return
    text_out, markup = await render(session, results, i18n.current_locale)
    await message.answer(text_out, reply_markup=markup)


def _level(level: str | None) -> str:
    return keyboards.level_label(level) if level else _("level not given")


async def render(session: AsyncSession, results: Results, locale: str) -> tuple[str, object]:
    """The results page and its buttons: ask-via-bot per person, paging, region filter."""
    skill = await talent.skill(session, results.skill_id)
    skill_name = skill.name(locale) if skill else "?"
    regions = {r.code: r.name for r in await talent.regions(session)}
    where = regions.get(results.region or "", _("all regions"))
    if results.near is not None:
        where += " · " + _("near {town}").format(town=results.near.name)
    head = f"🔎 <b>{escape(skill_name)}</b> · {escape(where)}"
    if results.total == 0:
        return head + "\n" + _("Nobody found (yet)."), None
    first, last = results.offset + 1, results.offset + len(results.hits)
    lines = [head, _found(results, first, last, locale), ""]
    kb = InlineKeyboardBuilder()
    for n, hit in enumerate(results.hits, start=first):
        row = hit.row
        name = escape(row.first_name or _("a member"))
        parts = [_level(row.level)]
        if row.region_code in regions:
            parts.append(escape(regions[row.region_code]))
        if hit.distance_km is not None:
            parts.append(_("{km} km").format(km=round(hit.distance_km)))
        slots = [
            keyboards.availability_label(slot).lower()
            for slot, free in zip(profile.AVAILABILITY, row.availability, strict=True)
            if free
        ]
        if slots:
            parts.append(", ".join(slots))
        lines.append(f"{n}. <b>{name}</b> — " + " · ".join(parts) + f" · {_contact(row)}")
        if row.no_requests:
            continue
        label = "✉️ " + _("Ask {name} via the bot").format(name=row.first_name or n)
        kb.button(
            text=label[:60],
            callback_data=ContactCb(member_id=row.member_id, skill_id=results.skill_id),
        )
    kb.adjust(1)
    place_id = results.near.id if results.near else 0
    pages = -(-results.total // talent.PAGE_SIZE)
    nav = keyboards.pager(
        results.offset // talent.PAGE_SIZE,
        pages,
        lambda n: SearchCb(
            skill_id=results.skill_id,
            region=results.region or "",
            place_id=place_id,
            offset=n * talent.PAGE_SIZE,
        ),
        more=results.more,
    )
    if nav:
        kb.row(*nav)
    return "\n".join(lines), kb.as_markup()


def _found(results: Results, first: int, last: int, locale: str) -> str:
    """How many were found: exact, or past the count's cap "more than 1,000" (the nearest page
    is what an organiser needs; the exact supply per skill is for reports)."""
    if results.more:
        return ngettext(
            "More than {total} found, showing {first}–{last}",
            "More than {total} found, showing {first}–{last}",
            results.total,
        ).format(
            total=format_decimal(results.total, locale=locale),
            first=format_decimal(first, locale=locale),
            last=format_decimal(last, locale=locale),
        )
    return _("{total} found, showing {first}–{last}").format(
        total=format_decimal(results.total, locale=locale),
        first=format_decimal(first, locale=locale),
        last=format_decimal(last, locale=locale),
    )


def _contact(row: talent.Row) -> str:
    if row.contact_direct and row.username:
        return f"@{escape(row.username)}"
    if row.no_requests:
        return _("takes no contact requests")
    return _("contact through the bot")


async def on_search_page(
    callback: CallbackQuery,
    callback_data: SearchCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    i18n: I18n,
) -> None:
    """A skill chosen from "which skill?" (a new search), or a page of the results."""
    message = callback.message
    if message is None or isinstance(message, InaccessibleMessage):
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    chosen = callback_data.offset == 0 and bool(message.text) and "🔎" not in (message.text or "")
    try:
        results = await _page(callback, callback_data, grants, session, chosen)
    except talent.NotAllowed:
        await callback.answer(_("This command is for organisers only."), show_alert=True)
        return
    except talent.OutOfScope:
        await callback.answer(_("You can only search in your own region."), show_alert=True)
        return
    await callback.answer()
    text, markup = await render(session, results, i18n.current_locale)
    if chosen:
        await message.answer(text, reply_markup=markup)
    else:
        with contextlib.suppress(TelegramBadRequest):  # the same page again: "not modified"
            await message.edit_text(text, reply_markup=markup)


async def _page(
    callback: CallbackQuery,
    data: SearchCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    new_search: bool,
) -> Results:
    """The page the button asks for; past the end (forged, or the list shrank): the last."""
    near = default_gazetteer().get(data.place_id) if data.place_id else None

    async def at(offset: int) -> Results:
        return await talent.search(
            session, actor_id=callback.from_user.id, grants=grants, skill_id=data.skill_id,
            region=data.region or None, near=near, offset=offset, new_search=new_search,
        )  # fmt: skip

    results = await at(max(0, data.offset))
    if results.hits or not results.total:
        return results
    return await at((results.total - 1) // talent.PAGE_SIZE * talent.PAGE_SIZE)


async def on_contact(
    callback: CallbackQuery,
    callback_data: ContactCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    try:
        request = await talent.request_contact(
            session,
            actor_id=callback.from_user.id,
            grants=grants,
            member_id=callback_data.member_id,
            skill_id=callback_data.skill_id,
            per_day=settings.contact_requests_per_day,
        )
    except talent.TalentError as refusal:
        locale = i18n.current_locale
        await callback.answer(refusal_text(refusal, locale, settings), show_alert=True)
        return
    parties = await talent.parties(session, request)
    if not await _ask_member(
        bot, session, i18n, parties, request.id, callback.from_user.first_name
    ):
        await talent.undelivered(session, request.id)  # not left pending: it blocks nothing
        await callback.answer(
            _("I could not reach {name} just now. Please try again later.").format(
                name=parties.member.first_name or _("a member")
            ),
            show_alert=True,
        )
        return
    await callback.answer(
        _("I asked {name}. You will hear from me when they answer.").format(
            name=parties.member.first_name or _("a member")
        ),
        show_alert=True,
    )


def refusal_text(refusal: talent.TalentError, locale: str, settings: Settings) -> str:
    """Why a contact request was refused, saying no more than the organiser needs."""
    if isinstance(refusal, talent.DeclinedRecently):
        return _(
            "This member said no to you on {date}; you can ask them again from {again}."
        ).format(
            date=long_date(refusal.declined_at, locale, settings.tz),
            again=long_date(refusal.again_from, locale, settings.tz),
        )
    if isinstance(refusal, talent.DailyLimit):
        return _(
            "You have reached today's limit of {limit} contact requests. "
            "You can ask again tomorrow."
        ).format(limit=refusal.limit)
    if isinstance(refusal, talent.NoRequests):
        return _("This member does not want to be asked for contact through the bot.")
    if isinstance(refusal, talent.NotListed):
        return _("This member did not list that skill.")
    if isinstance(refusal, talent.AlreadyAsked):
        return _("You already asked; they have not answered yet.")
    if isinstance(refusal, talent.NotAllowed):
        return _("This command is for organisers only.")
    return _("This person cannot be asked (any more).")


async def _ask_member(
    bot: Bot,
    session: AsyncSession,
    i18n: I18n,
    parties: Parties,
    request_id: int,
    organiser_name: str,
) -> bool:
    """The question to the member, in their language: yes, no, or never again. Through the
    one sending path; False when it could not reach them (blocked, gone, Telegram down)."""

    def compose(member: Member) -> Notice:
        kb = InlineKeyboardBuilder()
        kb.button(
            text=_("Yes, share my contact"),
            callback_data=ContactAnswerCb(request_id=request_id, yes=True),
        )
        kb.button(
            text=_("No, thank you"), callback_data=ContactAnswerCb(request_id=request_id, yes=False)
        )
        kb.button(text=_("Never ask me again"), callback_data=ContactNeverCb(request_id=request_id))
        kb.adjust(1)
        text = _(
            "{organiser}, an organiser, is looking for someone for <b>{skill}</b> and found you "
            "in the talent base. May I give them your contact? You decide; nothing is shared "
            "unless you say yes."
        ).format(
            organiser=escape(organiser_name),
            skill=escape(parties.skill.name(member.locale) if parties.skill else "?"),
        )
        return Notice(text, reply_markup=kb.as_markup())

    delivery = await deliver(bot, session, [parties.member.id], compose, i18n)
    return delivery.sent == 1


async def on_contact_answer(
    callback: CallbackQuery,
    callback_data: ContactAnswerCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    chosen = _("Yes, share my contact") if callback_data.yes else _("No, thank you")
    await _answer(
        callback, member, session, bot, i18n, settings,
        request_id=callback_data.request_id, yes=callback_data.yes, never=False, chosen=chosen,
    )  # fmt: skip


async def on_contact_never(
    callback: CallbackQuery,
    callback_data: ContactNeverCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    await _answer(
        callback, member, session, bot, i18n, settings,
        request_id=callback_data.request_id, yes=False, never=True,
        chosen=_("Never ask me again"),
    )  # fmt: skip


async def _answer(
    callback: CallbackQuery,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
    *,
    request_id: int,
    yes: bool,
    never: bool,
    chosen: str,
) -> None:
    """Record the member's answer, close the question and tell the organiser."""
    if member is None:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    try:
        request = await talent.answer_contact(
            session, member_id=member.id, request_id=request_id, accept=yes, never=never
        )
    except talent.NotPending:
        await callback.answer(_("This question has already been answered."), show_alert=True)
        return
    if never:
        await callback.answer(
            _(
                "Done: nobody will ask you for contact through the bot. "
                "You can change this in /profiel."
            ),
            show_alert=True,
        )
    else:
        await callback.answer()
    await close_question(callback, chosen)
    if request.requester_id is None:
        return
    parties = await talent.parties(session, request)
    locale = parties.organiser.locale if parties.organiser else settings.default_locale
    with i18n.use_locale(locale):
        text = _answer_text(parties, yes, locale)
        await bot.send_message(request.requester_id, text)


def _answer_text(parties: Parties, yes: bool, locale: str) -> str:
    member = parties.member
    name = escape(member.first_name or _("a member"))
    skill_name = escape(parties.skill.name(locale)) if parties.skill else "?"
    if not yes:
        return _("{name} would rather not be contacted about <b>{skill}</b> now.").format(
            name=name, skill=skill_name
        )
    link = f'<a href="tg://user?id={member.telegram_id}">{name}</a>'
    if member.username:
        link += f" (@{escape(member.username)})"
    return _("{name} is happy to be contacted about <b>{skill}</b>: {link}").format(
        name=name, skill=skill_name, link=link
    )


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("talent")
    router.message.register(on_search_command, Command("zoek", "search", "sok"))
    router.message.register(on_search_text, StateFilter(Searching.text), F.text)
    router.callback_query.register(on_search_page, SearchCb.filter())
    router.callback_query.register(on_contact, ContactCb.filter())
    router.callback_query.register(on_contact_answer, ContactAnswerCb.filter())
    router.callback_query.register(on_contact_never, ContactNeverCb.filter())
    return router
