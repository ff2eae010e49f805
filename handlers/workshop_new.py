"""/nieuw: organisers create a workshop in a short guided dialog, one question at a time.

The draft lives in conversation state until it is published (memory, or Redis); every
answer is checked and a wrong one is asked again with an example. A regional organiser
creates workshops in their own region(s) only: a town elsewhere is refused, and an online
workshop belongs to their region (they pick one when they have several).
"""

from __future__ import annotations

import logging
from datetime import datetime
from html import escape

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.formatting import span
from bot.services import catalogue, regions, roles, workshops
from bot.services.places import default_gazetteer
from bot.services.roles import Grant, Scope
from bot.services.skill_match import split_input
from bot.settings import Settings
from handlers.common import close_question, private_router
from storage.models import Member

log = logging.getLogger(__name__)


class NewWorkshop(StatesGroup):
    title = State()
    when = State()
    where = State()
    region = State()
    capacity = State()
    topics = State()
    confirm = State()


class NewCb(CallbackData, prefix="wnew"):
    action: str  # members_only | open | publish | discard


class RegionCb(CallbackData, prefix="wnewr"):
    """The region of an online workshop; the code is checked against the scope again."""

    code: str


async def on_new(message: Message, grants: frozenset[Grant], state: FSMContext) -> None:
    if roles.organiser_scope(grants) is None:
        await message.answer(_("This command is for organisers only."))
        return
    await state.clear()
    await state.set_state(NewWorkshop.title)
    await message.answer(_("A new workshop. What is its title? (Send /stop at any time to stop.)"))


async def on_stop(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Stopped; nothing was saved."))


async def on_title(message: Message, state: FSMContext) -> None:
    title = " ".join((message.text or "").split())
    if not title or len(title) > 200:
        await message.answer(_("Please send a title of at most 200 characters."))
        return
    await state.update_data(title=title)
    await state.set_state(NewWorkshop.when)
    await message.answer(_("When? Send the date, start and end, like 2027-03-14 19:30 21:30."))


async def on_when(message: Message, state: FSMContext, settings: Settings) -> None:
    parts = (message.text or "").split()
    try:
        day, begin, end = parts
        starts = datetime.strptime(f"{day} {begin}", "%Y-%m-%d %H:%M").replace(tzinfo=settings.tz)
        ends = datetime.strptime(f"{day} {end}", "%Y-%m-%d %H:%M").replace(tzinfo=settings.tz)
    except ValueError:
        starts = ends = None  # type: ignore[assignment]
    if starts is None or ends is None or ends <= starts or starts <= clock.now():
        await message.answer(
            _("That is not a future date with a start and end, like 2027-03-14 19:30 21:30.")
        )
        return
    await state.update_data(starts=starts.isoformat(), ends=ends.isoformat())
    await state.set_state(NewWorkshop.where)
    await message.answer(
        _(
            "Where? Send the town and, after a comma, the venue (Zwolle, Partijhuis), "
            "or a link for an online workshop."
        )
    )


async def on_where(
    message: Message, grants: frozenset[Grant], state: FSMContext, session: AsyncSession
) -> None:
    scope = roles.organiser_scope(grants)
    if scope is None:
        await state.clear()
        await message.answer(_("This command is for organisers only."))
        return
    text = (message.text or "").strip()
    if text.startswith("https://") and len(text) <= 500 and " " not in text:
        await state.update_data(online_url=text, place_id=None, venue=None)
        await _online_region(message, state, session, scope)
        return
    from bot.services.workshop_csv import CellError, find_town  # loaded at first use

    town, _sep, venue = text.partition(",")
    try:
        place = find_town(town.strip())
    except CellError:
        await message.answer(_("I do not know that town. Try its name, like Zwolle."))
        return
    allowed = await roles.regions_in(session, scope)
    region = regions.suggest(place, allowed)
    if region is None and not scope.everywhere:
        await message.answer(
            _(
                "{town} is not in your region ({regions}). Send a town in your region, "
                "or a link for an online workshop."
            ).format(town=escape(place.name), regions=escape(", ".join(r.name for r in allowed)))
        )
        return
    await state.update_data(
        place_id=place.id,
        venue=venue.strip()[:200] or None,
        online_url=None,
        region_code=region.code if region else None,
    )
    await _ask_capacity(message, state)


async def _online_region(
    message: Message, state: FSMContext, session: AsyncSession, scope: Scope
) -> None:
    """An online workshop is national for admins; a regional organiser's is in their region,
    and one with several regions picks which."""
    allowed = [] if scope.everywhere else await roles.regions_in(session, scope)
    if len(allowed) <= 1:
        await state.update_data(region_code=allowed[0].code if allowed else None)
        await _ask_capacity(message, state)
        return
    kb = InlineKeyboardBuilder()
    for region in allowed:
        kb.button(text=region.name, callback_data=RegionCb(code=region.code))
    kb.adjust(2)
    await state.set_state(NewWorkshop.region)
    await message.answer(
        _("Which of your regions is this online workshop for?"), reply_markup=kb.as_markup()
    )


async def on_region_button(
    callback: CallbackQuery,
    callback_data: RegionCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
) -> None:
    """A region for an online workshop: the button's code must still be in the scope."""
    scope = roles.organiser_scope(grants)
    allowed = {r.code: r for r in await roles.regions_in(session, scope)} if scope else {}
    region = allowed.get(callback_data.code)
    if region is None or await state.get_state() != NewWorkshop.region.state:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    await state.update_data(region_code=region.code)
    await close_question(callback, region.name)
    assert callback.message is not None
    await _ask_capacity(callback.message, state)  # type: ignore[arg-type]


async def _ask_capacity(message: Message, state: FSMContext) -> None:
    await state.set_state(NewWorkshop.capacity)
    await message.answer(_("How many places? Send a number."))


async def on_capacity(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip()
    if not text.isdecimal() or not 0 < int(text) <= 10000:
        await message.answer(_("Please send a whole number from 1 to 10000."))
        return
    await state.update_data(capacity=int(text))
    await state.set_state(NewWorkshop.topics)
    await message.answer(
        _(
            "Which skills does it teach? Separated by commas, like debating, public speaking. "
            "Send - for none."
        )
    )


async def on_topics(
    message: Message, state: FSMContext, session: AsyncSession, i18n: I18n, settings: Settings
) -> None:
    text = (message.text or "").strip()
    skill_ids: list[int] = []
    if text != "-":
        matcher = await catalogue.matcher(session)
        unknown = []
        for item in split_input(text):
            found = matcher.match(item)
            if found and matcher.is_sure(found):
                skill_ids.append(found[0].skill_id)
            else:
                unknown.append(item)
        if unknown or not skill_ids:
            await message.answer(
                _(
                    "These are not in the skills list: {words}. "
                    "Try other words, or send - for none."
                ).format(words=escape(", ".join(unknown) or text))
            )
            return
    await state.update_data(skill_ids=sorted(set(skill_ids)))
    await state.set_state(NewWorkshop.confirm)
    await _summary(message, state, session, i18n, settings)


async def _summary(
    message: Message, state: FSMContext, session: AsyncSession, i18n: I18n, settings: Settings
) -> None:
    data = await state.get_data()
    draft = _draft(data)
    where = draft.online_url or ", ".join(
        p for p in (draft.venue, draft.place.name if draft.place else None) if p
    )
    lock = _("members only") if draft.members_only else _("open to everyone")
    lines = [
        "<b>" + escape(draft.title) + "</b>",
        "📅 " + escape(span(draft.starts_at, draft.ends_at, i18n.current_locale, settings.tz)),
        "📍 " + escape(where),
        "👥 " + str(draft.capacity) + " · " + lock,
        "",
        _("Publish it?"),
    ]
    kb = InlineKeyboardBuilder()
    kb.button(text="✅ " + _("Publish"), callback_data=NewCb(action="publish"))
    toggle = _("Open to everyone") if draft.members_only else _("Members only")
    kb.button(
        text="🔒 " + toggle,
        callback_data=NewCb(action="open" if draft.members_only else "members_only"),
    )
    kb.button(text="🗑 " + _("Discard"), callback_data=NewCb(action="discard"))
    kb.adjust(1)
    await message.answer("\n".join(lines), reply_markup=kb.as_markup())


def _draft(data: dict[str, object]) -> workshops.Draft:
    place = default_gazetteer().get(int(data["place_id"])) if data.get("place_id") else None  # type: ignore[arg-type]
    return workshops.Draft(
        title=str(data["title"]),
        starts_at=datetime.fromisoformat(str(data["starts"])),
        ends_at=datetime.fromisoformat(str(data["ends"])),
        capacity=int(data["capacity"]),  # type: ignore[call-overload]
        place=place,
        venue=data.get("venue"),  # type: ignore[arg-type]
        online_url=data.get("online_url"),  # type: ignore[arg-type]
        region_code=data.get("region_code"),  # type: ignore[arg-type]
        members_only=bool(data.get("members_only")),
        skill_ids=list(data.get("skill_ids", [])),  # type: ignore[call-overload]
    )


async def on_confirm_button(
    callback: CallbackQuery,
    callback_data: NewCb,
    grants: frozenset[Grant],
    member: Member | None,
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
    settings: Settings,
) -> None:
    scope = roles.organiser_scope(grants)
    region_code = (await state.get_data()).get("region_code")
    if (
        scope is None
        or not scope.allows(region_code)  # a grant taken away since the town was accepted
        or await state.get_state() != NewWorkshop.confirm.state
    ):
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    if callback_data.action == "discard":
        await state.clear()
        await close_question(callback, _("Discard"))
        return
    if callback_data.action in ("members_only", "open"):
        await state.update_data(members_only=callback_data.action == "members_only")
        await close_question(
            callback,
            _("Members only") if callback_data.action == "members_only" else _("Open to everyone"),
        )
        assert callback.message is not None
        await _summary(callback.message, state, session, i18n, settings)  # type: ignore[arg-type]
        return
    draft = _draft(await state.get_data())
    try:
        workshop = await workshops.create(session, draft)
    except workshops.WorkshopError:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await state.clear()
    log.info("workshop %s created by member %s", workshop.id, member.id if member else "-")
    await close_question(callback, _("Publish"))
    me = await callback.bot.me()  # type: ignore[union-attr]
    await callback.bot.send_message(  # type: ignore[union-attr]
        callback.from_user.id,
        _("Published as #{id}. Link for posters and QR codes: {link}").format(
            id=workshop.id, link=f"https://t.me/{me.username}?start=w_{workshop.code}"
        ),
    )


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("workshop_new")
    router.message.register(on_new, Command("nieuw", "new", "ny"))
    router.message.register(on_stop, Command("stop"), StateFilter(NewWorkshop))
    router.message.register(on_title, StateFilter(NewWorkshop.title), F.text)
    router.message.register(on_when, StateFilter(NewWorkshop.when), F.text)
    router.message.register(on_where, StateFilter(NewWorkshop.where), F.text)
    router.message.register(on_capacity, StateFilter(NewWorkshop.capacity), F.text)
    router.message.register(on_topics, StateFilter(NewWorkshop.topics), F.text)
    router.callback_query.register(on_region_button, RegionCb.filter())
    router.callback_query.register(on_confirm_button, NewCb.filter())
    return router
