"""/zoek: organisers search the talent base and ask members, through the bot, for contact."""

from __future__ import annotations

import logging
from html import escape

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InaccessibleMessage, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.services import catalogue, profile, talent
from bot.services.places import default_gazetteer
from bot.services.roles import Grant
from bot.services.talent import Results
from bot.settings import Settings
from handlers.common import close_question, private_router, shorten
from storage.models import Member
from storage.repositories import members
from storage.repositories import regions as region_repo
from storage.repositories import skills as skill_repo

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
    if talent.scope_of(grants) is None:
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
    if talent.scope_of(grants) is None:
        return
    await _search_text(message, message.text or "", grants, session, i18n)


async def _search_text(
    message: Message, text: str, grants: frozenset[Grant], session: AsyncSession, i18n: I18n
) -> None:
    text = text[:200]
    parsed = talent.parse(
        text, await catalogue.matcher(session), await region_repo.all_regions(session)
    )
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
        for match in parsed.skills:
            skill = await skill_repo.get(session, match.skill_id)
            if skill is not None:
                data = SearchCb(skill_id=skill.id, region=region, place_id=place_id, offset=0)
                kb.button(text=skill.name(i18n.current_locale), callback_data=data)
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
    skill = await skill_repo.get(session, results.skill_id)
    skill_name = skill.name(locale) if skill else "?"
    regions = {r.code: r.name for r in await region_repo.all_regions(session)}
    where = regions.get(results.region or "", _("all regions"))
    if results.near is not None:
        where += " · " + _("near {town}").format(town=results.near.name)
    head = f"🔎 <b>{escape(skill_name)}</b> · {escape(where)}"
    if results.total == 0:
        return head + "\n" + _("Nobody found (yet)."), None
    first, last = results.offset + 1, results.offset + len(results.hits)
    lines = [
        head,
        _("{total} found, showing {first}–{last}").format(
            total=results.total, first=first, last=last
        ),
        "",
    ]
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
        contact = (
            f"@{escape(row.username)}"
            if row.contact_direct and row.username
            else _("contact through the bot")
        )
        lines.append(f"{n}. <b>{name}</b> — " + " · ".join(parts) + f" · {contact}")
        label = "✉️ " + _("Ask {name} via the bot").format(name=row.first_name or n)
        kb.button(
            text=label[:60],
            callback_data=ContactCb(member_id=row.member_id, skill_id=results.skill_id),
        )
    nav = []
    place_id = results.near.id if results.near else 0
    if results.offset > 0:
        back = max(0, results.offset - talent.PAGE_SIZE)
        nav.append(("◀️", back))
    if last < results.total:
        nav.append(("▶️", last))
    for label, offset in nav:
        kb.button(
            text=label,
            callback_data=SearchCb(
                skill_id=results.skill_id,
                region=results.region or "",
                place_id=place_id,
                offset=offset,
            ),
        )
    kb.adjust(*([1] * len(results.hits)), len(nav) or 1)
    return "\n".join(lines), kb.as_markup()


async def on_search_page(
    callback: CallbackQuery,
    callback_data: SearchCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    i18n: I18n,
) -> None:
    near = default_gazetteer().get(callback_data.place_id) if callback_data.place_id else None
    try:
        results = await talent.search(
            session,
            actor_id=callback.from_user.id,
            grants=grants,
            skill_id=callback_data.skill_id,
            region=callback_data.region or None,
            near=near,
            offset=callback_data.offset,
        )
    except talent.NotAllowed:
        await callback.answer(_("This command is for organisers only."), show_alert=True)
        return
    except talent.OutOfScope:
        await callback.answer(_("You can only search in your own region."), show_alert=True)
        return
    await callback.answer()
    text, markup = await render(session, results, i18n.current_locale)
    message = callback.message
    if message is None or isinstance(message, InaccessibleMessage):
        return
    if callback_data.offset == 0 and message.text and "🔎" not in message.text:
        await message.answer(text, reply_markup=markup)  # chosen from "which skill?"
    else:
        await message.edit_text(text, reply_markup=markup)


async def on_contact(
    callback: CallbackQuery,
    callback_data: ContactCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    try:
        request = await talent.request_contact(
            session,
            actor_id=callback.from_user.id,
            grants=grants,
            member_id=callback_data.member_id,
            skill_id=callback_data.skill_id,
        )
    except talent.NotAllowed:
        await callback.answer(_("This command is for organisers only."), show_alert=True)
        return
    except (talent.NotFindable, talent.OutOfScope):
        await callback.answer(_("This person cannot be asked (any more)."), show_alert=True)
        return
    except talent.AlreadyAsked:
        await callback.answer(_("You already asked; they have not answered yet."), show_alert=True)
        return
    member = await members.by_id(session, callback_data.member_id)
    skill = await skill_repo.get(session, callback_data.skill_id)
    assert member is not None
    kb = InlineKeyboardBuilder()
    with i18n.use_locale(member.locale):
        kb.button(
            text=_("Yes, share my contact"),
            callback_data=ContactAnswerCb(request_id=request.id, yes=True),
        )
        kb.button(
            text=_("No, thank you"), callback_data=ContactAnswerCb(request_id=request.id, yes=False)
        )
        kb.adjust(1)
        text = _(
            "{organiser}, an organiser, is looking for someone for <b>{skill}</b> and found you "
            "in the talent base. May I give them your contact? You decide; nothing is shared "
            "unless you say yes."
        ).format(
            organiser=escape(callback.from_user.first_name),
            skill=escape(skill.name(member.locale) if skill else "?"),
        )
        await bot.send_message(member.telegram_id, text, reply_markup=kb.as_markup())
    await callback.answer(
        _("I asked {name}. You will hear from me when they answer.").format(
            name=member.first_name or _("a member")
        ),
        show_alert=True,
    )


async def on_contact_answer(
    callback: CallbackQuery,
    callback_data: ContactAnswerCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    if member is None:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    try:
        request = await talent.answer_contact(
            session,
            member_id=member.id,
            request_id=callback_data.request_id,
            accept=callback_data.yes,
        )
    except talent.NotPending:
        await callback.answer(_("This question has already been answered."), show_alert=True)
        return
    await callback.answer()
    chosen = _("Yes, share my contact") if callback_data.yes else _("No, thank you")
    await close_question(callback, chosen)
    if request.requester_id is None:
        return
    organiser = await members.by_telegram_id(session, request.requester_id)
    skill = await skill_repo.get(session, request.skill_id) if request.skill_id else None
    locale = organiser.locale if organiser else settings.default_locale
    name = escape(member.first_name or _("a member"))
    with i18n.use_locale(locale):
        skill_name = escape(skill.name(locale)) if skill else "?"
        if callback_data.yes:
            link = f'<a href="tg://user?id={member.telegram_id}">{name}</a>'
            if member.username:
                link += f" (@{escape(member.username)})"
            text = _("{name} is happy to be contacted about <b>{skill}</b>: {link}").format(
                name=name, skill=skill_name, link=link
            )
        else:
            text = _("{name} would rather not be contacted about <b>{skill}</b> now.").format(
                name=name, skill=skill_name
            )
        await bot.send_message(request.requester_id, text)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("talent")
    router.message.register(on_search_command, Command("zoek", "search", "sok"))
    router.message.register(on_search_text, StateFilter(Searching.text), F.text)
    router.callback_query.register(on_search_page, SearchCb.filter())
    router.callback_query.register(on_contact, ContactCb.filter())
    router.callback_query.register(on_contact_answer, ContactAnswerCb.filter())
    return router
