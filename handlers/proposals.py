"""/voorstel: from a gap to a workshop. The organiser sees a proposal (the skill, the region,
how many wished for it, candidate trainers nearest first), asks a trainer with one tap, and
once the trainer says yes, types a date and a place: the workshop is created and the members
who wished for it are told first. The rules are in bot/services/workshop_proposal.py."""

from __future__ import annotations

import logging
from datetime import datetime
from html import escape

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.formatting import long_date, span
from bot.lazy import lazy_module
from bot.notify import Notice, deliver
from bot.services import catalogue, regions
from bot.services.roles import Grant, organiser_scope
from bot.settings import Settings
from handlers.common import close_question, consent_first, private_router, shorten
from handlers.workshops import WorkshopCb
from storage.models import Member

wp = lazy_module("bot.services.workshop_proposal")  # an organiser's rare path (bot/lazy.py)
talent = lazy_module("bot.services.talent")
demand = lazy_module("bot.services.demand")
log = logging.getLogger(__name__)


class Planning(StatesGroup):
    when = State()
    where = State()


class ProposalCb(CallbackData, prefix="prop"):
    skill_id: int
    region: str


class AskTrainerCb(CallbackData, prefix="propask"):
    skill_id: int
    region: str
    member_id: int


class TrainerAnswerCb(CallbackData, prefix="propans"):
    proposal_id: int
    yes: bool


class PlanCb(CallbackData, prefix="propplan"):
    proposal_id: int


def usage() -> str:
    return _(
        "Which workshop should I propose? Type a skill and a region, for example "
        "<b>/voorstel debatteren oost</b>."
    )


async def on_command(
    message: Message,
    command: CommandObject,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
) -> None:
    await state.clear()
    scope = organiser_scope(grants)
    if scope is None:
        await message.answer(_("This command is for organisers only."))
        return
    one_region = next(iter(scope.regions)) if scope.regions and len(scope.regions) == 1 else None
    if not command.args:
        await _gaps(message, session, one_region, i18n.current_locale)
        return
    text = command.args[:200]
    parsed = talent.parse(text, await catalogue.matcher(session), await regions.configured(session))
    if parsed.region is not None and len(text.split()) == 1:  # only a region: its gaps
        if not scope.allows(parsed.region):
            await message.answer(_("You can only propose workshops in your own region."))
            return
        await _gaps(message, session, parsed.region, i18n.current_locale)
        return
    if not parsed.skills:
        await message.answer(
            _("I do not know a skill like “{text}”. Try other words.").format(text=shorten(text))
        )
        return
    skill_id = parsed.skills[0].skill_id
    region = parsed.region
    if region is None and scope.regions is not None and len(scope.regions) == 1:
        region = next(iter(scope.regions))
    if region is None:
        kb = InlineKeyboardBuilder()
        for option in await regions.configured(session):
            if scope.allows(option.code):
                kb.button(
                    text=option.name,
                    callback_data=ProposalCb(skill_id=skill_id, region=option.code),
                )
        kb.adjust(2)
        await message.answer(_("For which region?"), reply_markup=kb.as_markup())
        return
    await _show(message, session, grants, message.chat.id, skill_id, region, i18n.current_locale)


async def _gaps(message: Message, session: AsyncSession, region: str | None, locale: str) -> None:
    """Without a skill: the region's gaps (demand.gaps), most wished first, as buttons."""
    if region is None:
        await message.answer(usage())
        return
    found = (await demand.gaps(session, region, clock.now()))[:8]
    if not found:
        await message.answer(
            _("No gaps in this region: every wish has a workshop planned.") + "\n\n" + usage()
        )
        return
    kb = InlineKeyboardBuilder()
    for gap in found:
        label = f"{gap.name(locale)} · {gap.wishers}"
        kb.button(text=label[:60], callback_data=ProposalCb(skill_id=gap.skill_id, region=region))
    kb.adjust(1)
    await message.answer(
        _("Wishes in this region with no workshop planned (and how many wish for each):"),
        reply_markup=kb.as_markup(),
    )


async def _show(
    message: Message,
    session: AsyncSession,
    grants: frozenset[Grant],
    actor_id: int,
    skill_id: int,
    region: str,
    locale: str,
) -> None:
    try:
        proposal = await wp.proposal_for(
            session, skill_id, region, clock.now(), grants=grants, organiser_id=actor_id
        )
    except wp.NotAllowed:
        await message.answer(_("This command is for organisers only."))
        return
    except wp.OutOfScope:
        await message.answer(_("You can only propose workshops in your own region."))
        return
    text, markup = await render(session, proposal, locale)
    await message.answer(text, reply_markup=markup)


async def render(
    session: AsyncSession, proposal: wp.Proposal, locale: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The proposal: what, where, how many wish for it, and whom to ask (one tap each)."""
    names = {r.code: r.name for r in await regions.configured(session)}
    skill = escape(proposal.skill.name(locale))
    lines = [
        "💡 "
        + _("Workshop proposal: <b>{skill}</b> in {region}").format(
            skill=skill, region=escape(names.get(proposal.region_code, proposal.region_code))
        ),
        _("Members who wish to learn it: {count}").format(count=proposal.wishers),
        _("Workshops on it planned in the next three months: {count}").format(
            count=proposal.planned
        ),
        "",
    ]
    if not proposal.candidates:
        lines.append(
            _(
                "Nobody who can teach this has agreed to be asked yet. "
                "The talent search (/zoek) may find someone with experience."
            )
        )
        return "\n".join(lines), None
    lines.append(_("Who could give it (nearest to those who wish for it first):"))
    kb = InlineKeyboardBuilder()
    for n, candidate in enumerate(proposal.candidates, start=1):
        name = candidate.first_name or _("a member")
        parts = [escape(names.get(candidate.region_code or "", "?"))]
        if candidate.distance_km is not None:
            parts.append(_("{km} km").format(km=round(candidate.distance_km)))
        if candidate.asked:
            parts.append(_status(candidate.asked))
        lines.append(f"{n}. <b>{escape(name)}</b> — " + " · ".join(parts))
        if candidate.asked == "accepted" and candidate.proposal_id is not None:
            kb.button(
                text=("📅 " + _("Set the date") + f" · {name}")[:60],
                callback_data=PlanCb(proposal_id=candidate.proposal_id),
            )
            continue
        if candidate.asked in ("asked", "planned"):
            continue
        kb.button(
            text=("✉️ " + _("Ask {name}").format(name=name))[:60],
            callback_data=AskTrainerCb(
                skill_id=proposal.skill.id,
                region=proposal.region_code,
                member_id=candidate.member_id,
            ),
        )
    if proposal.teachers > len(proposal.candidates):
        lines.append(
            _("… and {count} more further away.").format(
                count=proposal.teachers - len(proposal.candidates)
            )
        )
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


def _status(status: str) -> str:
    return {
        "asked": _("asked, no answer yet"),
        "accepted": _("said yes"),
        "declined": _("said no"),
        "planned": _("planned"),
        "undelivered": _("could not be reached"),
    }.get(status, status)


async def on_proposal(
    callback: CallbackQuery,
    callback_data: ProposalCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    i18n: I18n,
) -> None:
    """A region or a gap chosen: the proposal as a new message."""
    await callback.answer()
    if callback.message is None:
        return
    await _show(
        callback.message,  # type: ignore[arg-type]
        session, grants, callback.from_user.id, callback_data.skill_id, callback_data.region,
        i18n.current_locale,
    )  # fmt: skip


async def on_ask(
    callback: CallbackQuery,
    callback_data: AskTrainerCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    """One tap: the trainer is asked through the outbox, in their language, yes or no."""
    try:
        proposal_id = await wp.ask(
            session, actor_id=callback.from_user.id, grants=grants,
            skill_id=callback_data.skill_id, region_code=callback_data.region,
            trainer_id=callback_data.member_id, now=clock.now(),
            per_day=settings.contact_requests_per_day,
        )  # fmt: skip
    except wp.ProposalError as refusal:
        await callback.answer(_refusal(refusal, i18n.current_locale, settings), show_alert=True)
        return
    asked = await wp.get(session, proposal_id)
    assert asked is not None
    names = {r.code: r.name for r in await regions.configured(session)}
    organiser = callback.from_user.first_name

    def compose(member: Member) -> Notice:
        kb = InlineKeyboardBuilder()
        kb.button(
            text=_("Yes, I would like to"),
            callback_data=TrainerAnswerCb(proposal_id=proposal_id, yes=True),
        )
        kb.button(
            text=_("No, not now"), callback_data=TrainerAnswerCb(proposal_id=proposal_id, yes=False)
        )
        kb.adjust(2)
        text = ngettext(
            "{organiser}, an organiser, is planning a workshop on <b>{skill}</b> in {region}: "
            "{count} member there would like to learn it. You said you can teach it. "
            "Would you give this workshop? If you say yes, {organiser} will settle the date "
            "with you.",
            "{organiser}, an organiser, is planning a workshop on <b>{skill}</b> in {region}: "
            "{count} members there would like to learn it. You said you can teach it. "
            "Would you give this workshop? If you say yes, {organiser} will settle the date "
            "with you.",
            asked.wishers,
        ).format(
            organiser=escape(organiser),
            skill=escape(asked.skill.name(member.locale) if asked.skill else "?"),
            region=escape(names.get(asked.region_code or "", "?")),
            count=asked.wishers,
        )
        return Notice(text, reply_markup=kb.as_markup())

    delivery = await deliver(bot, session, [asked.trainer.id], compose, i18n)
    name = asked.trainer.first_name or _("a member")
    if delivery.sent + delivery.queued == 0:
        await wp.undelivered(session, proposal_id, clock.now())
        await callback.answer(
            _("I could not reach {name} just now. Please try again later.").format(name=name),
            show_alert=True,
        )
        return
    log.info("proposal %s asked of member %s", proposal_id, asked.trainer.id)
    await callback.answer(
        _("I asked {name}. You will hear from me when they answer.").format(name=name),
        show_alert=True,
    )


def _refusal(refusal: Exception, locale: str, settings: Settings) -> str:
    if isinstance(refusal, wp.DeclinedRecently):
        return _(
            "This member said no to you recently; you can ask them again from {again}."
        ).format(again=long_date(refusal.again_from, locale, settings.tz))
    if isinstance(refusal, wp.DailyLimit):
        return _(
            "You have reached today's limit of {limit} contact requests. "
            "You can ask again tomorrow."
        ).format(limit=refusal.limit)
    if isinstance(refusal, wp.NoRequests):
        return _("This member does not want to be asked for contact through the bot.")
    if isinstance(refusal, wp.AlreadyAsked):
        return _("You already asked; they have not answered yet.")
    if isinstance(refusal, wp.NotAllowed):
        return _("This command is for organisers only.")
    if isinstance(refusal, wp.OutOfScope):
        return _("You can only propose workshops in your own region.")
    return _("This person cannot be asked (any more).")


async def on_trainer_answer(
    callback: CallbackQuery,
    callback_data: TrainerAnswerCb,
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
        asked = await wp.answer(
            session, member_id=member.id, proposal_id=callback_data.proposal_id,
            yes=callback_data.yes, now=clock.now(),
        )  # fmt: skip
    except wp.NotPending:
        await callback.answer(_("This question has already been answered."), show_alert=True)
        return
    if callback_data.yes:
        await callback.answer(
            _("Thank you! The organiser will settle the date with you."), show_alert=True
        )
        await close_question(callback, _("Yes, I would like to"))
    else:
        await callback.answer()
        await close_question(callback, _("No, not now"))
    if asked.organiser_id is None:
        return
    locale = asked.organiser.locale if asked.organiser else settings.default_locale
    with i18n.use_locale(locale):
        name = escape(member.first_name or _("a member"))
        skill = escape(asked.skill.name(locale) if asked.skill else "?")
        if not callback_data.yes:
            await bot.send_message(
                asked.organiser_id,
                _("{name} cannot give the workshop on <b>{skill}</b> now.").format(
                    name=name, skill=skill
                ),
            )
            return
        kb = InlineKeyboardBuilder()
        kb.button(text="📅 " + _("Set the date"), callback_data=PlanCb(proposal_id=asked.id))
        link = f'<a href="tg://user?id={member.telegram_id}">{name}</a>'
        await bot.send_message(
            asked.organiser_id,
            _(
                "{link} would like to give the workshop on <b>{skill}</b>. Settle a date with "
                "them, then tap “Set the date”."
            ).format(link=link, skill=skill),
            reply_markup=kb.as_markup(),
        )


async def on_plan(
    callback: CallbackQuery,
    callback_data: PlanCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
) -> None:
    asked = await wp.get(session, callback_data.proposal_id)
    if asked is None or not wp.may_plan(grants, callback.from_user.id, asked):
        await callback.answer(_("This command is for organisers only."), show_alert=True)
        return
    if asked.status != "accepted":
        await callback.answer(_("This workshop has already been planned."), show_alert=True)
        return
    await callback.answer()
    await state.set_state(Planning.when)
    await state.update_data(proposal_id=asked.id)
    if callback.message is not None:
        await callback.message.answer(when_prompt())  # type: ignore[union-attr]


def when_prompt() -> str:
    return _(
        "When? Type the date and time, for example <b>14-03-2027 19:30</b> "
        "(or <b>14-03-2027 19:30-22:00</b> with the end). Send /stop to stop."
    )


async def on_when(
    message: Message, state: FSMContext, settings: Settings, grants: frozenset[Grant]
) -> None:
    if organiser_scope(grants) is None:
        await state.clear()
        return
    try:
        start, end = wp.parse_when(message.text or "", settings.tz, clock.now())
    except wp.BadWhen:
        await message.answer(
            _("I cannot read that as a date and time in the future.") + "\n\n" + when_prompt()
        )
        return
    await state.update_data(starts_at=start.isoformat(), ends_at=end.isoformat())
    await state.set_state(Planning.where)
    await message.answer(where_prompt())


def where_prompt() -> str:
    return _(
        "Where? Type the town, and after a comma the venue (<b>Zwolle, Partijhuis</b>), "
        "or <b>online</b> and the link."
    )


async def on_where(
    message: Message,
    state: FSMContext,
    grants: frozenset[Grant],
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    try:
        where = wp.parse_where(message.text or "")
    except wp.BadWhere:
        await message.answer(_("I do not know that place.") + "\n\n" + where_prompt())
        return
    data = await state.get_data()
    await state.clear()
    asked = await wp.get(session, int(data.get("proposal_id", 0)))
    if asked is None or asked.skill is None:
        await message.answer(_("This workshop has already been planned."))
        return
    language = settings.default_locale
    try:
        planned = await wp.plan(
            session, actor_id=message.chat.id, grants=grants, proposal_id=asked.id,
            starts_at=datetime.fromisoformat(data["starts_at"]),
            ends_at=datetime.fromisoformat(data["ends_at"]), where=where,
            title=asked.skill.name(language), language=language,
        )  # fmt: skip
    except wp.NotAllowed:
        await message.answer(_("This command is for organisers only."))
        return
    except wp.NotPending:
        await message.answer(_("This workshop has already been planned."))
        return
    workshop = planned.workshop
    place = ", ".join(p for p in (workshop.town, workshop.venue) if p) or _("online")

    def compose(member: Member) -> Notice:
        kb = InlineKeyboardBuilder()
        kb.button(text=_("Show the workshop"), callback_data=WorkshopCb(workshop_id=workshop.id))
        text = _(
            "Good news: you wished to learn <b>{skill}</b>, and a workshop on it is planned: "
            "{when}, {place}. You are the first to hear of it."
        ).format(
            skill=escape(asked.skill.name(member.locale) if asked.skill else "?"),
            when=span(workshop.starts_at, workshop.ends_at, member.locale, settings.tz),
            place=escape(place),
        )
        return Notice(text, reply_markup=kb.as_markup())

    delivery = await deliver(bot, session, planned.wisher_ids, compose, i18n)
    told = delivery.sent + delivery.queued
    log.info("proposal %s planned as workshop %s, %s told", asked.id, workshop.id, told)
    await message.answer(
        ngettext(
            "Planned: <b>{title}</b>, {when}, {place}. I told the {count} member who wished "
            "for it first; you can announce it to others now.",
            "Planned: <b>{title}</b>, {when}, {place}. I told the {count} members who wished "
            "for it first; you can announce it to others now.",
            told,
        ).format(
            title=escape(workshop.title),
            when=span(workshop.starts_at, workshop.ends_at, i18n.current_locale, settings.tz),
            place=escape(place),
            count=told,
        )
    )


async def on_stop(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Stopped. Nothing was planned."))


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("proposals")
    router.message.register(on_command, Command("voorstel", "propose", "forslag"))
    router.message.register(on_stop, Command("stop"), StateFilter(Planning))
    typed = (F.text, ~F.text.startswith("/"))  # another command is not an answer
    router.message.register(on_when, StateFilter(Planning.when), *typed)
    router.message.register(on_where, StateFilter(Planning.where), *typed)
    router.callback_query.register(on_proposal, ProposalCb.filter())
    router.callback_query.register(on_ask, AskTrainerCb.filter())
    router.callback_query.register(on_trainer_answer, TrainerAnswerCb.filter())
    router.callback_query.register(on_plan, PlanCb.filter())
    return router
