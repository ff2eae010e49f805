"""/team: an organiser asks for a project team of 5-8; /projectteam: a member says whether
they are available for one. The choice and the rules are in bot/services/teams.py."""

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
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock, keyboards
from bot.lazy import lazy_module
from bot.notify import Notice, Outcome, deliver
from bot.services import catalogue, profile, regions
from bot.services.roles import Grant, organiser_scope
from bot.settings import Settings
from handlers.common import close_question, consent_first, private_router, shorten
from storage.models import Member

if TYPE_CHECKING:
    from bot.services.teams import Team

teams = lazy_module("bot.services.teams")  # an organiser's rare path (bot/lazy.py)
log = logging.getLogger(__name__)
BRINGS_SHOWN = 150  # characters of a person's matching skills on the card: 8 fit in a message
STATUS_MARK = {"proposed": "", "invited": "✉️", "yes": "✅", "no": "❌", "undelivered": "⚠️"}


class SwapCb(CallbackData, prefix="tswap"):
    team_id: int
    member_id: int


class InviteCb(CallbackData, prefix="tinv"):
    team_id: int


class TeamAnswerCb(CallbackData, prefix="tans"):
    team_id: int
    yes: bool


class SizeCb(CallbackData, prefix="tsize"):
    size: int


class Asking(StatesGroup):
    skills = State()


class AvailableCb(CallbackData, prefix="tavail"):
    on: bool


def usage() -> str:
    return _(
        "Ask for a team: the size (5 to 8) and the skills it needs, separated by commas. "
        "For example: <b>/team 6 campagne voeren, sociale media, begroting lezen</b>."
    )


async def on_team(
    message: Message,
    command: CommandObject,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
) -> None:
    await state.clear()
    if organiser_scope(grants) is None:
        await message.answer(_("This command is for organisers only."))
        return
    if not command.args:  # the guided way: the size, then the skills
        kb = InlineKeyboardBuilder()
        for size in range(teams.SMALLEST, teams.LARGEST + 1):
            kb.button(text=str(size), callback_data=SizeCb(size=size))
        kb.adjust(4)
        await message.answer(
            _("How many people should the team have?"), reply_markup=kb.as_markup()
        )
        return
    words = command.args.strip()[:300].split(maxsplit=1)
    if not words[0].isdigit():
        await message.answer(usage())
        return
    await _propose(
        message, int(words[0]), words[1] if len(words) > 1 else "", grants, session, i18n
    )


async def on_size(
    callback: CallbackQuery, callback_data: SizeCb, grants: frozenset[Grant], state: FSMContext
) -> None:
    if organiser_scope(grants) is None:
        await callback.answer(_("This command is for organisers only."), show_alert=True)
        return
    await callback.answer()
    await state.set_state(Asking.skills)
    await state.update_data(size=callback_data.size)
    await close_question(callback, str(callback_data.size))
    if callback.message is not None:
        await callback.message.answer(  # type: ignore[union-attr]
            _(
                "Which skills does the team need? Type them separated by commas, "
                "or send <b>-</b> for none."
            )
        )


async def on_skills(
    message: Message,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    await state.clear()
    if organiser_scope(grants) is None:
        return
    topic = (message.text or "").strip()[:300]
    await _propose(
        message, int(data.get("size", 0)), "" if topic == "-" else topic, grants, session, i18n
    )


async def _propose(
    message: Message,
    size: int,
    topic: str,
    grants: frozenset[Grant],
    session: AsyncSession,
    i18n: I18n,
) -> None:
    """The skills read from the topic, then the proposal (or why there is none)."""
    matcher = await catalogue.matcher(session)
    skill_ids: list[int] = []
    for part in (p.strip() for p in topic.split(",")):
        if not part:
            continue
        found = matcher.match(part, limit=1)
        if not found or found[0].skill_id is None:
            await message.answer(
                _("I do not know a skill like “{text}”. Try other words.").format(
                    text=shorten(part)
                )
                + "\n\n"
                + usage()
            )
            return
        skill_ids.append(found[0].skill_id)
    try:
        team = await teams.propose(
            session, actor_id=message.chat.id, grants=grants, size=size, skill_ids=skill_ids,
            topic=topic or _("a project team"), now=clock.now(),
        )  # fmt: skip
    except teams.BadSize:
        await message.answer(_("A team has 5 to 8 people.") + "\n\n" + usage())
        return
    except teams.TooManySkills:
        await message.answer(_("Name at most as many skills as the team has places."))
        return
    except teams.TooFew as too_few:
        await message.answer(
            ngettext(
                "Only {available} member who said they are available for project teams can be "
                "asked by you, and you asked for {size}. Ask for a smaller team, or invite "
                "members to say they are available with /projectteam.",
                "Only {available} members who said they are available for project teams can be "
                "asked by you, and you asked for {size}. Ask for a smaller team, or invite "
                "members to say they are available with /projectteam.",
                too_few.available,
            ).format(available=too_few.available, size=too_few.size)
        )
        return
    log.info("team %s proposed with %s people", team.id, len(team.seats))
    text, markup = await render(session, team, i18n.current_locale)
    await message.answer(text, reply_markup=markup)


async def render(
    session: AsyncSession, team: Team, locale: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The team card: who, from where, what they bring; swap and invite buttons."""
    names = {r.code: r.name for r in await regions.configured(session)}
    skill_names = dict(await profile.skill_names(session, team.skill_ids, locale))
    lines = ["👥 " + _("Team for <b>{topic}</b> ({size} people)").format(
        topic=escape(team.topic), size=team.size
    ), ""]  # fmt: skip
    kb = InlineKeyboardBuilder()
    for n, seat in enumerate(team.seats, start=1):
        person = seat.person
        name = escape(person.first_name or _("a member"))
        level = teams.experience(person, team.skill_ids)
        parts = [
            escape(names.get(person.region_code or "", "?")),
            _("member") if person.kind == "member" else _("sympathiser"),
            keyboards.level_label(_LEVELS[level]) if level else _("level not given"),
        ]
        brings = [skill_names[s] for s in team.skill_ids if s in person.levels and s in skill_names]
        if brings:
            parts.append(shorten(", ".join(brings), BRINGS_SHOWN))
        mark = STATUS_MARK.get(seat.status, "")
        lines.append(f"{n}. <b>{name}</b> — " + " · ".join(parts) + (f" {mark}" if mark else ""))
        if seat.status in teams.SWAPPABLE:
            kb.button(
                text=("🔄 " + _("Swap {name}").format(name=person.first_name or n))[:60],
                callback_data=SwapCb(team_id=team.id, member_id=person.member_id),
            )
    if len(team.seats) < team.size:
        lines.append(_("Nobody else is available for the empty places."))
    if team.missing:
        missing = ", ".join(skill_names.get(s, "?") for s in team.missing)
        lines += [
            "",
            "⚠️ " + _("Nobody available can do: {skills}").format(skills=shorten(missing, 800)),
        ]
    if team.status == "invited":
        lines += ["", _("Answers: {yes} yes, {no} no, {waiting} not yet").format(
            yes=team.count("yes"), no=team.count("no"), waiting=team.count("invited")
        )]  # fmt: skip
    kb.adjust(2)
    if team.count("proposed"):
        kb.row(
            InlineKeyboardButton(
                text="✉️ " + _("Invite them"), callback_data=InviteCb(team_id=team.id).pack()
            )
        )
    return "\n".join(lines), kb.as_markup()


_LEVELS = {1: "some", 2: "experienced", 3: "teach"}


async def _edit(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    message = callback.message
    if message is None or isinstance(message, InaccessibleMessage):
        return
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_text(text, reply_markup=markup)


async def on_swap(
    callback: CallbackQuery,
    callback_data: SwapCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    i18n: I18n,
) -> None:
    try:
        team, added = await teams.swap(
            session, actor_id=callback.from_user.id, grants=grants,
            team_id=callback_data.team_id, member_id=callback_data.member_id,
        )  # fmt: skip
    except teams.NotAllowed:
        await callback.answer(_("This command is for organisers only."), show_alert=True)
        return
    except teams.NotOnTeam:
        await callback.answer(_("That person can no longer be swapped."), show_alert=True)
        return
    if added is None:
        await callback.answer(_("Nobody else is available for the empty places."), show_alert=True)
    else:
        await callback.answer(
            _("Swapped for {name}.").format(name=added.first_name or _("a member"))
        )
    text, markup = await render(session, team, i18n.current_locale)
    await _edit(callback, text, markup)


async def on_invite(
    callback: CallbackQuery,
    callback_data: InviteCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    """One tap: everyone proposed gets the invitation through the outbox, yes or no."""
    team_id = callback_data.team_id
    try:
        invited = await teams.invite(
            session, actor_id=callback.from_user.id, grants=grants, team_id=team_id
        )
    except teams.NotAllowed:
        await callback.answer(_("This command is for organisers only."), show_alert=True)
        return
    team = await teams.get(session, team_id)
    assert team is not None
    organiser = callback.from_user.first_name

    def compose(member: Member) -> Notice:
        kb = InlineKeyboardBuilder()
        kb.button(text=_("Yes, count me in"), callback_data=TeamAnswerCb(team_id=team_id, yes=True))
        kb.button(
            text=_("No, not this time"), callback_data=TeamAnswerCb(team_id=team_id, yes=False)
        )
        kb.adjust(1)
        text = _(
            "{organiser}, an organiser, is forming a project team of {size} for "
            "<b>{topic}</b> and would like you on it. Will you join?"
        ).format(organiser=escape(organiser), size=team.size, topic=escape(team.topic))
        return Notice(text, reply_markup=kb.as_markup())

    async def on_outcome(member: Member, outcome: Outcome) -> None:
        if outcome in (Outcome.UNREACHABLE, Outcome.FAILED):
            await teams.undelivered(session, team_id, member.id)

    delivery = await deliver(bot, session, invited, compose, i18n, on_outcome=on_outcome)
    log.info("team %s: %s invited, %s sent", team_id, len(invited), delivery.sent)
    await callback.answer(
        _("Invited: {count}. You will hear from me as they answer.").format(
            count=delivery.sent + delivery.queued
        ),
        show_alert=True,
    )
    team = await teams.get(session, team_id)
    assert team is not None
    text, markup = await render(session, team, i18n.current_locale)
    await _edit(callback, text, markup)


async def on_answer(
    callback: CallbackQuery,
    callback_data: TeamAnswerCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    if member is None:
        await consent_first(callback)
        return
    try:
        team = await teams.answer(
            session, member_id=member.id, team_id=callback_data.team_id,
            yes=callback_data.yes, now=clock.now(),
        )  # fmt: skip
    except teams.NotPending:
        await callback.answer(_("This question has already been answered."), show_alert=True)
        return
    await callback.answer()
    yes = callback_data.yes
    await close_question(callback, _("Yes, count me in") if yes else _("No, not this time"))
    if team.organiser_id is None:
        return
    locale = await teams.locale_of(session, team.organiser_id) or settings.default_locale
    with i18n.use_locale(locale):
        said = (
            _("{name} said yes to the team <b>{topic}</b>.")
            if yes
            else _("{name} said no to the team <b>{topic}</b>.")
        )
        text = said.format(
            name=escape(member.first_name or _("a member")), topic=escape(team.topic)
        )
        text += "\n" + _("Answers: {yes} yes, {no} no, {waiting} not yet").format(
            yes=team.count("yes"), no=team.count("no"), waiting=team.count("invited")
        )
        await bot.send_message(team.organiser_id, text)


def _availability(on: bool) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    if on:
        text = _(
            "You are available for project teams: organisers may invite you to a team of 5 to "
            "8 people. They see your first name, region, whether you are a member or a "
            "sympathiser, and your talents. You decide on every invitation."
        )
        kb.button(text=_("I am no longer available"), callback_data=AvailableCb(on=False))
    else:
        text = _(
            "Project teams: organisers form teams of 5 to 8 people of different backgrounds "
            "for a topic. Would you like to be invited? They would see your first name, "
            "region, whether you are a member or a sympathiser, and your talents. You decide "
            "on every invitation."
        )
        kb.button(text=_("Yes, I am available"), callback_data=AvailableCb(on=True))
    return text, kb.as_markup()


async def on_availability(message: Message, member: Member | None, session: AsyncSession) -> None:
    if member is None:
        await message.answer(_("Please give your consent first: send /start."))
        return
    text, markup = _availability(await teams.is_available(session, member))
    await message.answer(text, reply_markup=markup)


async def on_available(
    callback: CallbackQuery,
    callback_data: AvailableCb,
    member: Member | None,
    session: AsyncSession,
) -> None:
    if member is None:
        await consent_first(callback)
        return
    await teams.set_available(session, member, callback_data.on, clock.now())
    await callback.answer(_("Saved."))
    text, markup = _availability(callback_data.on)
    await _edit(callback, text, markup)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("teams")
    router.message.register(on_team, Command("team"))
    router.message.register(on_availability, Command("projectteam", "projektgrupp"))
    router.message.register(on_skills, StateFilter(Asking.skills), F.text, ~F.text.startswith("/"))
    router.callback_query.register(on_size, SizeCb.filter())
    router.callback_query.register(on_swap, SwapCb.filter())
    router.callback_query.register(on_invite, InviteCb.filter())
    router.callback_query.register(on_answer, TeamAnswerCb.filter())
    router.callback_query.register(on_available, AvailableCb.filter())
    return router
