"""/leergangen: learning tracks, applying (with an intake question), withdrawing (the first
waiting moves up and is told), the completion notice and its train-the-trainer question;
and for organisers /nieuweleergang (a guided dialog) and /leergang N (a track's card, each
part editable, every answer checked and confirmed before it is saved)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from html import escape

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock
from bot.formatting import TEXT_LIMIT, pack_lines, short_when
from bot.notify import Compose, Notice, Priority, deliver
from bot.services import catalogue, profile, regions, roles, tracks
from bot.services.roles import Grant, Scope
from bot.services.skill_match import split_input
from bot.settings import Settings
from handlers.common import close_question, consent_first, private_router, shorten
from storage.models import Member, Skill, Track, TrackPlace

log = logging.getLogger(__name__)


class Intake(StatesGroup):
    answer = State()


class TrackCb(CallbackData, prefix="trk"):
    track_id: int


class WithdrawCb(CallbackData, prefix="twd"):
    track_id: int
    step: str  # ask | yes | no


class TeachCb(CallbackData, prefix="tteach"):
    track_id: int
    yes: bool


class FindMeCb(CallbackData, prefix="tfind"):
    """After a yes to training others: let organisers find me (the member's own tap)."""


class NewTrack(StatesGroup):
    title = State()
    description = State()
    places = State()
    allocation = State()
    prerequisite = State()
    skills = State()
    intake = State()
    region = State()
    confirm = State()


class EditTrack(StatesGroup):
    value = State()
    confirm = State()


class NewTrackCb(CallbackData, prefix="tnew"):
    action: str  # fcfs | before | create | discard
    value: int = 0  # the prerequisite track (0: none)


class RegionCb(CallbackData, prefix="tregion"):
    """A track's region, checked against the scope again; "-" is national."""

    code: str


class EditCb(CallbackData, prefix="tedit"):
    track_id: int
    field: str


class SaveCb(CallbackData, prefix="tsave"):
    save: bool


async def on_tracks(
    message: Message, member: Member | None, session: AsyncSession, i18n: I18n, settings: Settings
) -> None:
    if member is None:
        await message.answer(_("Please give your consent first: send /start."))
        return
    listed, mine = await tracks.overview(session, member.id)
    if not listed:
        await message.answer(_("There are no learning tracks yet."))
        return
    names = {t.id: t.title for t in listed}
    blocks: list[str] = []  # one per track; a message holds as many as fit, with their buttons
    for track in listed:
        lines = [f"<b>{escape(track.title)}</b>"]
        if track.allocation == "lottery" and track.draw_at is not None:
            lines.append("🎲 " + _lottery_line(track, i18n, settings))
        else:
            lines.append(
                "👥 "
                + ngettext(
                    "{places} place, first come first served",
                    "{places} places, first come first served",
                    track.places,
                ).format(places=track.places)
            )
        if track.prerequisite_id in names:
            lines.append(
                "➡️ " + _("After: {title}").format(title=escape(names[track.prerequisite_id]))
            )
        place = mine.get(track.id)
        if place is not None and place.status != "withdrawn":
            position = await tracks.position_of(session, place) if place.status == "waiting" else 0
            lines.append(_status_line(place, position))
        blocks.append("\n".join(lines) + "\n")
    # As many tracks per message as fit Telegram's limit, each message with its own buttons.
    first = 0
    for n, group in enumerate(pack_lines(blocks, TEXT_LIMIT - 200)):
        kb = InlineKeyboardBuilder()
        for track in listed[first : first + len(group)]:
            place = mine.get(track.id)
            if place is None or place.status == "withdrawn":
                kb.button(text="✍️ " + track.title[:50], callback_data=TrackCb(track_id=track.id))
            else:
                kb.button(
                    text="↩️ " + _("Withdraw") + ": " + track.title[:40],
                    callback_data=WithdrawCb(track_id=track.id, step="ask"),
                )
        kb.adjust(1)
        head = ["🎓 <b>" + _("Learning tracks") + "</b>", ""] if n == 0 else []
        await message.answer("\n".join([*head, *group]).strip(), reply_markup=kb.as_markup())
        first += len(group)


def _lottery_line(track: Track, i18n: I18n, settings: Settings) -> str:
    """Before the draw only the seed's SHA-256 (so nobody can compute the draw, and the seed
    cannot be swapped); after it the seed itself, so anyone can check the draw."""
    assert track.draw_at is not None
    date = escape(short_when(track.draw_at, i18n.current_locale, settings.tz))
    if tracks.seed_revealed(track):
        return ngettext(
            "{places} place, by lottery on {date} (seed {seed})",
            "{places} places, by lottery on {date} (seed {seed})",
            track.places,
        ).format(places=track.places, date=date, seed=f"<code>{escape(track.seed or '')}</code>")
    return ngettext(
        "{places} place, by lottery on {date} (SHA-256 of the secret seed: {commitment})",
        "{places} places, by lottery on {date} (SHA-256 of the secret seed: {commitment})",
        track.places,
    ).format(
        places=track.places,
        date=date,
        commitment=f"<code>{escape(track.seed_commitment or '-')}</code>",
    )


def _status_line(place: TrackPlace, position: int) -> str:
    if place.status == "placed":
        return "✅ " + _("You have a place.")
    if place.status == "applied":
        return "🎲 " + _("You are in the draw.")
    return "⏳ " + _("You are number {position} on the waiting list.").format(position=position)


async def on_track_button(
    callback: CallbackQuery,
    callback_data: TrackCb,
    member: Member | None,
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
    settings: Settings,
) -> None:
    if member is None:
        return await consent_first(callback)
    track = await tracks.get(session, callback_data.track_id)
    if track is None:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    if track.intake_question:
        await state.set_state(Intake.answer)
        await state.update_data(track_id=track.id)
        await callback.bot.send_message(  # type: ignore[union-attr]
            callback.from_user.id,
            _("One question first, from the organisers:") + "\n\n" + escape(track.intake_question),
        )
        return
    await _apply(callback.bot, callback.from_user.id, member, session, track, None, i18n, settings)  # type: ignore[arg-type]


async def on_intake_answer(
    message: Message,
    member: Member | None,
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    track_id = (await state.get_data()).get("track_id")
    await state.clear()
    track = await tracks.get(session, track_id) if isinstance(track_id, int) else None
    if member is None or track is None:
        return
    await _apply(bot, message.chat.id, member, session, track, message.text, i18n, settings)


async def _apply(
    bot: Bot,
    chat_id: int,
    member: Member,
    session: AsyncSession,
    track: Track,
    answer: str | None,
    i18n: I18n,
    settings: Settings,
) -> None:
    title = escape(track.title)
    try:
        result = await tracks.apply(session, member, track.id, answer)
    except tracks.PrerequisiteMissing as missing:
        text = _("First complete <b>{title}</b>: attend all its sessions.").format(
            title=escape(missing.prerequisite.title)
        )
    except tracks.AlreadyApplied:
        text = _("You have already applied for <b>{title}</b>.").format(title=title)
    except tracks.TrackGone:
        text = _("That button is no longer valid.")
    else:
        log.info("member %s applied for track %s: %s", member.id, track.id, result.status)
        if result.status == "placed":
            text = "✅ " + _("You have a place in <b>{title}</b>.").format(title=title)
        elif result.status == "applied":
            text = "🎲 " + _(
                "You are in the draw for <b>{title}</b> on {date}. The seed stays secret until "
                "the draw; its SHA-256 is {commitment}, so anyone can check the draw afterwards."
            ).format(
                title=title,
                date=escape(short_when(track.draw_at, i18n.current_locale, settings.tz))
                if track.draw_at
                else "",
                commitment=f"<code>{escape(track.seed_commitment or '-')}</code>",
            )
        else:
            text = "⏳ " + _(
                "<b>{title}</b> is full: you are number {position} on the waiting list."
            ).format(title=title, position=result.position)
    await bot.send_message(chat_id, text)


# --- withdrawing, and telling whoever moved up --------------------------------------------


async def on_withdraw_button(
    callback: CallbackQuery,
    callback_data: WithdrawCb,
    member: Member | None,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    """Ask first; on "yes" withdraw (the member's own application, read again: never the
    button's word), answer the tap with the outcome, and tell whoever moved up."""
    if member is None:
        return await consent_first(callback)
    track = await tracks.get(session, callback_data.track_id)
    if track is None:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    title = escape(track.title)
    if callback_data.step == "ask":
        await callback.answer()
        kb = InlineKeyboardBuilder()
        kb.button(
            text="↩️ " + _("Yes, withdraw"),
            callback_data=WithdrawCb(track_id=track.id, step="yes"),
        )
        kb.button(text=_("No, stay"), callback_data=WithdrawCb(track_id=track.id, step="no"))
        kb.adjust(2)
        await bot.send_message(
            callback.from_user.id,
            _(
                "Withdraw from <b>{title}</b>? A place you have goes to the first on the "
                "waiting list."
            ).format(title=title),
            reply_markup=kb.as_markup(),
        )
        return
    if callback_data.step != "yes":
        await callback.answer(_("You stay in {title}.").format(title=track.title[:150]))
        await close_question(callback, _("No, stay"))
        return
    try:
        left = await tracks.withdraw(session, member, track.id)
    except (tracks.NotApplied, tracks.TrackGone):
        await callback.answer(_("You are not in this track."), show_alert=True)
        await close_question(callback, _("That button is no longer valid."))
        return
    log.info("member %s withdrew from track %s; %s moved up", member.id, track.id, left.promoted)
    done = _("You withdrew from {title}.").format(title=track.title[:150])
    await callback.answer(done)
    await close_question(callback, done)
    await tell_moved_up(bot, session, track, left.promoted, i18n)


async def tell_moved_up(
    bot: Bot, session: AsyncSession, track: Track, member_ids: tuple[int, ...], i18n: I18n
) -> None:
    """Each member who moved up into a freed place, in their own language."""
    if not member_ids:
        return
    title = escape(track.title)

    def compose(member: Member) -> Notice:
        return Notice(
            "🎉 "
            + _("A place came free in <b>{title}</b>, and it is yours now.").format(title=title)
            + "\n"
            + _("Can you not take part after all? Withdraw in /leergangen.")
        )

    delivery = await deliver(bot, session, member_ids, compose, i18n, priority=Priority.PERSONAL)
    log.info("track %s: %s moved up, %s told", track.id, len(member_ids), delivery.sent)


# --- completing a track, and train-the-trainer ---------------------------------------------


async def tell_completions(
    bot: Bot, sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]], i18n: I18n
) -> int:
    """One scheduler pass: tell every member who attended all sessions of a finished track
    that they completed it, what it opens, and after a "step 2" ask whether they would like
    to train others. Claimed before sending, so each member hears it once."""
    async with sessions() as session:
        done = await tracks.claim_completions(session, clock.now())
    told = 0
    for completed in done:
        async with sessions() as session:
            delivery = await deliver(
                bot, session, completed.member_ids, _completion(completed), i18n
            )
        told += delivery.sent
        log.info("track %s completed by %s members", completed.track.id, len(completed.member_ids))
    return told


def _skill_names(skills: tuple[Skill, ...] | list[Skill], locale: str) -> str:
    return ", ".join(escape(s.name(locale)) for s in skills)


def _completion(completed: tracks.Completed) -> Compose:
    track = completed.track

    def compose(member: Member) -> Notice:
        lines = [
            "🎓 "
            + _("You completed <b>{title}</b>: you attended every session. Well done!").format(
                title=escape(track.title)
            )
        ]
        if completed.unlocks:
            opened = ", ".join(f"<b>{escape(t.title)}</b>" for t in completed.unlocks)
            lines.append(
                _("It opens the way to {tracks}: apply in /leergangen.").format(tracks=opened)
            )
        if not completed.asks_to_teach:
            return Notice("\n\n".join(lines))
        lines.append(
            _(
                "Would you like to train others in {skills}? Members learn best from members; "
                "organisers would then be able to ask you for a workshop."
            ).format(skills=_skill_names(completed.skills, member.locale))
        )
        kb = InlineKeyboardBuilder()
        kb.button(
            text="✅ " + _("Yes, I would"), callback_data=TeachCb(track_id=track.id, yes=True)
        )
        kb.button(text=_("No, thank you"), callback_data=TeachCb(track_id=track.id, yes=False))
        kb.adjust(2)
        return Notice("\n\n".join(lines), reply_markup=kb.as_markup())

    return compose


async def on_teach_button(
    callback: CallbackQuery, callback_data: TeachCb, member: Member | None, session: AsyncSession
) -> None:
    """Yes: the level "teach" on the track's skills, so the member is in the trainer pool."""
    if member is None:
        return await consent_first(callback)
    try:
        skills = await tracks.answer_teach(
            session, member, callback_data.track_id, callback_data.yes
        )
    except tracks.NotCompleted:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    log.info("member %s train-the-trainer for track %s: %s", member.id, callback_data.track_id,
             callback_data.yes)  # fmt: skip
    if callback_data.yes:
        text = _("Thank you! You can now teach {skills}: you are in the trainer pool.").format(
            skills=", ".join(s.name(member.locale) for s in skills)
        )
    else:
        text = _("That is fine. Should you change your mind: /profiel.")
    await callback.answer(text[:200])
    await close_question(callback, text)
    if callback_data.yes and not member.findable:
        kb = InlineKeyboardBuilder()
        kb.button(text="🔎 " + _("Let organisers find me"), callback_data=FindMeCb())
        await callback.bot.send_message(  # type: ignore[union-attr]
            callback.from_user.id,
            _(
                "Organisers can ask you for a workshop only if you let them find you (you "
                "can change this in /profiel at any time)."
            ),
            reply_markup=kb.as_markup(),
        )


async def on_find_me_button(
    callback: CallbackQuery, member: Member | None, session: AsyncSession
) -> None:
    """The member's own consent to be found by organisers, as in /profiel."""
    if member is None:
        return await consent_first(callback)
    await profile.set_findable(session, member, True)
    log.info("member %s findable after train-the-trainer", member.id)
    done = _("Done: organisers can find you and ask you through the bot.")
    await callback.answer(done)
    await close_question(callback, done)


# --- organisers: a new track in a guided dialog ---------------------------------------------

SKILLS_QUESTION = __(
    "Which skills does it teach? Separated by commas, like debating, public speaking. "
    "Send - for none."
)


def _scope(grants: frozenset[Grant]) -> Scope | None:
    return roles.organiser_scope(grants)


async def on_new(message: Message, grants: frozenset[Grant], state: FSMContext) -> None:
    if _scope(grants) is None:
        await message.answer(_("This command is for organisers only."))
        return
    await state.clear()
    await state.set_state(NewTrack.title)
    await message.answer(
        _("A new learning track. What is its title? (Send /stop at any time to stop.)")
    )


async def on_stop(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Stopped; nothing was saved."))


async def on_other(message: Message) -> None:
    """Text where the dialog waits for a tap, or a sticker, photo or file where it asks for
    text: asked again, nothing kept."""
    if message.text:
        await message.answer(_("Please answer with one of the buttons (or send /stop to stop)."))
    else:
        await message.answer(_("Please answer with text (or send /stop to stop)."))


def _text_or_none(message: Message, field: tracks.Field) -> str | None:
    """The answer as stored ("-" is empty); None when it is too long or an empty title."""
    text = (message.text or "").strip()
    try:
        return tracks.clean_text(field, "" if text == "-" else text)
    except tracks.Invalid:
        return None


def _too_long(field: tracks.Field) -> str:
    if field == tracks.Field.TITLE:
        return _("Please send a title of at most 200 characters.")
    limit = tracks.DESCRIPTION_MAX if field == tracks.Field.DESCRIPTION else tracks.QUESTION_MAX
    return _("Please send at most {limit} characters, or - for none.").format(limit=limit)


async def on_title(message: Message, state: FSMContext) -> None:
    title = _text_or_none(message, tracks.Field.TITLE)
    if title is None:
        await message.answer(_too_long(tracks.Field.TITLE))
        return
    await state.update_data(title=title)
    await state.set_state(NewTrack.description)
    await message.answer(_("A short description for members? Send - for none."))


async def on_description(message: Message, state: FSMContext) -> None:
    text = _text_or_none(message, tracks.Field.DESCRIPTION)
    if text is None:
        await message.answer(_too_long(tracks.Field.DESCRIPTION))
        return
    await state.update_data(description=text)
    await state.set_state(NewTrack.places)
    await message.answer(_("How many places? Send a number."))


def _places(message: Message) -> int | None:
    text = (message.text or "").strip()
    if not text.isdecimal() or len(text) > 6 or int(text) > tracks.PLACES_MAX:
        return None
    return int(text)


async def on_places(message: Message, state: FSMContext) -> None:
    places = _places(message)
    if places is None:
        await message.answer(_("Please send a whole number from 0 to 10000."))
        return
    await state.update_data(places=places)
    await state.set_state(NewTrack.allocation)
    kb = InlineKeyboardBuilder()
    kb.button(text="👥 " + _("First come, first served"), callback_data=NewTrackCb(action="fcfs"))
    await message.answer(
        _(
            "How are the places given? Tap first come, first served, or send the date and "
            "time of a lottery draw, like 2027-03-14 12:00."
        ),
        reply_markup=kb.as_markup(),
    )


async def on_lottery_date(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    try:
        when = datetime.strptime(" ".join((message.text or "").split()), "%Y-%m-%d %H:%M")
        draw_at = when.replace(tzinfo=settings.tz)
    except ValueError:
        draw_at = None
    if draw_at is None or draw_at <= clock.now():
        await message.answer(
            _("That is not a future date and time, like 2027-03-14 12:00. Or tap the button.")
        )
        return
    await state.update_data(draw_at=draw_at.isoformat())
    await _ask_prerequisite(message, state, session)


async def _ask_prerequisite(
    message: Message, state: FSMContext, session: AsyncSession | None
) -> None:
    await state.set_state(NewTrack.prerequisite)
    kb = InlineKeyboardBuilder()
    if session is not None:
        for track in await tracks.recent(session):
            kb.button(
                text=f"#{track.id} {track.title[:40]}",
                callback_data=NewTrackCb(action="before", value=track.id),
            )
    kb.button(text=_("No prerequisite"), callback_data=NewTrackCb(action="before", value=0))
    kb.adjust(1)
    await message.answer(
        _(
            "Must members complete another track first? Tap it or send its number; "
            "or tap No prerequisite."
        ),
        reply_markup=kb.as_markup(),
    )


async def on_new_button(
    callback: CallbackQuery,
    callback_data: NewTrackCb,
    grants: frozenset[Grant],
    member: Member | None,
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    """Every button of the dialog: only in its own step, and only for an organiser still."""
    scope = _scope(grants)
    current = await state.get_state()
    steps = {
        "fcfs": NewTrack.allocation.state,
        "before": NewTrack.prerequisite.state,
        "create": NewTrack.confirm.state,
        "discard": NewTrack.confirm.state,
    }
    if scope is None or current != steps.get(callback_data.action):
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    assert callback.message is not None and not isinstance(callback.message, InaccessibleMessage)
    message = callback.message
    if callback_data.action == "fcfs":
        await callback.answer()
        await close_question(callback, _("First come, first served"))
        await state.update_data(draw_at=None)
        await _ask_prerequisite(message, state, session)
    elif callback_data.action == "before":
        if callback_data.value and await tracks.get(session, callback_data.value) is None:
            await callback.answer(_("That button is no longer valid."), show_alert=True)
            return
        await callback.answer()
        await close_question(callback, f"#{callback_data.value}" if callback_data.value else
                             _("No prerequisite"))  # fmt: skip
        await state.update_data(prerequisite_id=callback_data.value or None)
        await _ask_skills(message, state)
    elif callback_data.action == "discard":
        await callback.answer()
        await state.clear()
        await close_question(callback, _("Discard"))
    else:
        await _create(callback, scope, member, session, state)


async def on_prerequisite_typed(message: Message, state: FSMContext, session: AsyncSession) -> None:
    text = (message.text or "").strip().lstrip("#")
    if text == "-":
        await state.update_data(prerequisite_id=None)
    elif not text.isdecimal() or len(text) > 9 or await tracks.get(session, int(text)) is None:
        await message.answer(
            _("There is no track #{number}. Tap one of the tracks, or send - for none.").format(
                number=shorten(text, 12)
            )
        )
        return
    else:
        await state.update_data(prerequisite_id=int(text))
    await _ask_skills(message, state)


async def _ask_skills(message: Message, state: FSMContext) -> None:
    await state.set_state(NewTrack.skills)
    await message.answer(str(SKILLS_QUESTION))


async def _skill_ids(message: Message, session: AsyncSession) -> list[int] | None:
    """Catalogue skills from a comma-separated answer ("-": none); None after telling the
    organiser which words the catalogue lacks."""
    text = (message.text or "").strip()
    if text == "-":
        return []
    matcher = await catalogue.matcher(session)
    found, unknown = [], []
    for item in split_input(text):
        match = matcher.match(item)
        if match and matcher.is_sure(match):
            found.append(match[0].skill_id)
        else:
            unknown.append(item)
    if unknown or not found:
        await message.answer(
            _(
                "These are not in the skills list: {words}. Try other words, or send - for none."
            ).format(words=shorten(", ".join(unknown) or text, 200))
        )
        return None
    return sorted(set(found))


async def on_skills(message: Message, state: FSMContext, session: AsyncSession) -> None:
    skill_ids = await _skill_ids(message, session)
    if skill_ids is None:
        return
    await state.update_data(skill_ids=skill_ids)
    await state.set_state(NewTrack.intake)
    await message.answer(
        _("A question to ask members when they apply (the intake question)? Send - for none.")
    )


async def on_intake(
    message: Message,
    grants: frozenset[Grant],
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
    settings: Settings,
) -> None:
    text = _text_or_none(message, tracks.Field.INTAKE)
    if text is None:
        await message.answer(_too_long(tracks.Field.INTAKE))
        return
    await state.update_data(intake=text)
    scope = _scope(grants)
    if scope is None:
        await state.clear()
        await message.answer(_("This command is for organisers only."))
        return
    allowed = await roles.regions_in(session, scope)
    if not scope.everywhere and len(allowed) == 1:
        await state.update_data(region_code=allowed[0].code)
        await _summary(message, state, session, i18n, settings)
        return
    await state.set_state(NewTrack.region)
    await message.answer(
        _("Which region is this track for?"), reply_markup=_regions_keyboard(scope, allowed)
    )


def _regions_keyboard(scope: Scope, allowed: list[regions.Configured]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for region in allowed:
        kb.button(text=region.name, callback_data=RegionCb(code=region.code))
    if scope.everywhere:
        kb.button(text="🌍 " + _("National"), callback_data=RegionCb(code="-"))
    kb.adjust(2)
    return kb.as_markup()


async def on_region_button(
    callback: CallbackQuery,
    callback_data: RegionCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
    settings: Settings,
) -> None:
    """A region for a new track, or a track's new region: the code is checked again."""
    scope = _scope(grants)
    code = None if callback_data.code == "-" else callback_data.code
    known = {r.code: r.name for r in await regions.configured(session)}
    current = await state.get_state()
    if (
        scope is None
        or not scope.allows(code)
        or (code is not None and code not in known)
        or current not in (NewTrack.region.state, EditTrack.value.state)
        or (current == EditTrack.value.state
            and (await state.get_data()).get("field") != tracks.Field.REGION)
    ):  # fmt: skip
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    name = known[code] if code else _("National")
    await close_question(callback, name)
    assert callback.message is not None and not isinstance(callback.message, InaccessibleMessage)
    if current == NewTrack.region.state:
        await state.update_data(region_code=code)
        await _summary(callback.message, state, session, i18n, settings)
    else:
        await state.update_data(value=code)
        await _confirm_edit(callback.message, state, session, i18n)


async def _region_name(session: AsyncSession, code: str | None) -> str:
    if code is None:
        return _("National")
    return {r.code: r.name for r in await regions.configured(session)}.get(code, code)


async def _summary(
    message: Message, state: FSMContext, session: AsyncSession, i18n: I18n, settings: Settings
) -> None:
    await state.set_state(NewTrack.confirm)
    data = await state.get_data()
    locale = i18n.current_locale
    lines = ["🎓 <b>" + escape(str(data["title"])) + "</b>"]
    if data.get("description"):
        lines.append(_cut(str(data["description"]), 600))
    lines.append("👥 " + _places_line(int(data["places"]), data.get("draw_at"), locale, settings))
    if data.get("prerequisite_id"):
        before = await tracks.get(session, int(data["prerequisite_id"]))
        if before is not None:
            lines.append("➡️ " + _("After: {title}").format(title=escape(before.title)))
    skills = await _skills_named(session, data.get("skill_ids") or [], locale)
    lines.append("🧠 " + _("Skills: {skills}").format(skills=skills or "-"))
    if data.get("intake"):
        lines.append("❓ " + _cut(str(data["intake"]), 300))
    lines.append("📍 " + escape(await _region_name(session, data.get("region_code"))))
    lines += ["", _("Create this track?")]
    kb = InlineKeyboardBuilder()
    kb.button(text="✅ " + _("Create"), callback_data=NewTrackCb(action="create"))
    kb.button(text="🗑 " + _("Discard"), callback_data=NewTrackCb(action="discard"))
    kb.adjust(2)
    await message.answer("\n".join(lines), reply_markup=kb.as_markup())


def _cut(text: str, limit: int) -> str:
    """HTML-escaped and at most `limit` characters as sent (an entity never cut in two): a
    text of "&"s escapes to five times its length, and a message holds 4,096."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    if cut.rfind("&") > cut.rfind(";"):
        cut = cut[: cut.rfind("&")]
    return cut + "…"


def _places_line(places: int, draw_at: object, locale: str, settings: Settings) -> str:
    if draw_at:
        when = datetime.fromisoformat(str(draw_at))
        return ngettext(
            "{places} place, by lottery on {date}", "{places} places, by lottery on {date}", places
        ).format(places=places, date=escape(short_when(when, locale, settings.tz)))
    return ngettext(
        "{places} place, first come first served",
        "{places} places, first come first served",
        places,
    ).format(places=places)


async def _skills_named(session: AsyncSession, skill_ids: list[int], locale: str) -> str:
    if not skill_ids:
        return ""
    names = await catalogue.topics(session, skill_ids)
    return ", ".join(escape(names[i].name(locale)) for i in skill_ids if i in names)


async def _create(
    callback: CallbackQuery,
    scope: Scope,
    member: Member | None,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    try:
        track = await tracks.create(
            session,
            title=str(data["title"]),
            description=str(data.get("description") or ""),
            places=int(data["places"]),
            lottery_at=datetime.fromisoformat(data["draw_at"]) if data.get("draw_at") else None,
            prerequisite_id=data.get("prerequisite_id"),
            intake_question=data.get("intake") or None,
            region_code=data.get("region_code"),
            skill_ids=data.get("skill_ids") or [],
            scope=scope,
        )
    except tracks.TrackError:  # a grant or a prerequisite gone since the answer was taken
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await state.clear()
    log.info("track %s created by member %s", track.id, member.id if member else "-")
    await callback.answer(_("Created."))
    await close_question(callback, _("Create"))
    text = _(
        "Created as track #{id}. Add its sessions and change anything with /leergang {id}."
    ).format(id=track.id)
    if track.seed_commitment:
        text += "\n\n" + _(
            "Publish the lottery commitment (SHA-256 of the secret seed, shown at the draw): "
            "{commitment}"
        ).format(commitment=f"<code>{track.seed_commitment}</code>")
    await callback.bot.send_message(callback.from_user.id, text)  # type: ignore[union-attr]


# --- organisers: a track's card, and changing one part of it -------------------------------

FIELD_BUTTONS = (
    (tracks.Field.TITLE, "✏️"),
    (tracks.Field.DESCRIPTION, "📝"),
    (tracks.Field.PLACES, "👥"),
    (tracks.Field.PREREQUISITE, "➡️"),
    (tracks.Field.SKILLS, "🧠"),
    (tracks.Field.INTAKE, "❓"),
    (tracks.Field.SESSIONS, "📅"),
    (tracks.Field.REGION, "📍"),
)


def _label(field: tracks.Field) -> str:
    return {
        tracks.Field.TITLE: _("Title"),
        tracks.Field.DESCRIPTION: _("Description"),
        tracks.Field.PLACES: _("Places"),
        tracks.Field.PREREQUISITE: _("Prerequisite"),
        tracks.Field.SKILLS: _("Skills"),
        tracks.Field.INTAKE: _("Intake question"),
        tracks.Field.SESSIONS: _("Sessions"),
        tracks.Field.REGION: _("Region"),
    }[field]


async def on_track_command(
    message: Message,
    command: CommandObject,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
    settings: Settings,
) -> None:
    scope = _scope(grants)
    if scope is None:
        await message.answer(_("This command is for organisers only."))
        return
    arg = (command.args or "").strip().lstrip("#")
    if not arg.isdecimal() or len(arg) > 9:
        await message.answer(await _my_tracks(session, scope))
        return
    await state.clear()
    await _show_card(message, scope, session, int(arg), i18n, settings)


async def _my_tracks(session: AsyncSession, scope: Scope) -> str:
    """Which number to send: the tracks this organiser may change, the newest first."""
    mine = [t for t in (await tracks.recent(session, 200)) if tracks.may_edit(scope, t)]
    lines = [_("Send /leergang and a track's number, like /leergang 3.")]
    lines += [f"#{t.id} {escape(t.title[:80])}" for t in mine[:30]]
    return "\n".join(lines)


async def _show_card(
    message: Message,
    scope: Scope,
    session: AsyncSession,
    track_id: int,
    i18n: I18n,
    settings: Settings,
) -> None:
    card = await tracks.card(session, track_id)
    if card is None:
        await message.answer(_("There is no track #{number}.").format(number=track_id))
        return
    if not tracks.may_edit(scope, card.track):
        await message.answer(_("This track is not in your region."))
        return
    await message.answer(
        _card_text(card, await _region_name(session, card.track.region_code), i18n, settings),
        reply_markup=_card_keyboard(card.track),
    )


CARD_SESSIONS = 15  # the card lists the first; with the longest texts it stays within 4,096


def _card_text(card: tracks.Card, region: str, i18n: I18n, settings: Settings) -> str:
    track, locale = card.track, i18n.current_locale
    lines = [f"🎓 <b>#{track.id} {_cut(track.title, 300)}</b>"]
    if track.description:
        lines.append(_cut(track.description, 500))
    lines.append("👥 " + _places_line(track.places, track.draw_at, locale, settings))
    lines.append(
        _("{placed} placed · {waiting} waiting").format(placed=card.placed, waiting=card.waiting)
    )
    if card.prerequisite is not None:
        lines.append(
            "➡️ "
            + _("After: {title}").format(
                title=f"#{card.prerequisite.id} " + _cut(card.prerequisite.title, 200)
            )
        )
    skills = ", ".join(s.name(locale) for s in card.skills)
    lines.append("🧠 " + _("Skills: {skills}").format(skills=_cut(skills, 600) or "-"))
    if track.intake_question:
        lines.append("❓ " + _cut(track.intake_question, 300))
    lines.append("📍 " + escape(region))
    lines.append("📅 " + _("Sessions:") + (" -" if not card.sessions else ""))
    for workshop in card.sessions[:CARD_SESSIONS]:
        when = short_when(workshop.starts_at, locale, settings.tz)
        lines.append(f"  #{workshop.id} {_cut(workshop.title, 60)} · {escape(when)}")
    if len(card.sessions) > CARD_SESSIONS:
        lines.append(f"  … +{len(card.sessions) - CARD_SESSIONS}")
    return "\n".join(lines)


def _card_keyboard(track: Track) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for field, icon in FIELD_BUTTONS:
        kb.button(
            text=f"{icon} {_label(field)}", callback_data=EditCb(track_id=track.id, field=field)
        )
    kb.adjust(2)
    return kb.as_markup()


PROMPTS = {
    tracks.Field.TITLE: __("Send the new title (at most 200 characters)."),
    tracks.Field.DESCRIPTION: __("Send the new description, or - for none."),
    tracks.Field.PLACES: __("Send the new number of places."),
    tracks.Field.PREREQUISITE: __(
        "Send the number of the track members must complete first, or - for none."
    ),
    tracks.Field.SKILLS: SKILLS_QUESTION,
    tracks.Field.INTAKE: __("Send the new intake question, or - for none."),
    tracks.Field.SESSIONS: __(
        "Send the numbers of the workshops that are its sessions, like 14 15 (they replace "
        "the present ones), or - for none."
    ),
}


async def on_edit_button(
    callback: CallbackQuery,
    callback_data: EditCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
) -> None:
    """One part of a track to change: rights checked again, then the question for it."""
    scope = _scope(grants)
    track = await tracks.get(session, callback_data.track_id)
    try:
        field = tracks.Field(callback_data.field)
    except ValueError:
        field = None
    if scope is None or track is None or field is None or not tracks.may_edit(scope, track):
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    await state.clear()
    await state.set_state(EditTrack.value)
    await state.update_data(track_id=track.id, field=field.value)
    if field == tracks.Field.REGION:
        allowed = await roles.regions_in(session, scope)
        await callback.bot.send_message(  # type: ignore[union-attr]
            callback.from_user.id,
            _("Which region is this track for?"),
            reply_markup=_regions_keyboard(scope, allowed),
        )
        return
    await callback.bot.send_message(  # type: ignore[union-attr]
        callback.from_user.id,
        "<b>" + escape(track.title) + "</b> · " + _label(field) + "\n" + str(PROMPTS[field])
        + "\n" + _("(Send /stop to stop.)"),
    )  # fmt: skip


async def on_edit_value(
    message: Message, state: FSMContext, session: AsyncSession, i18n: I18n
) -> None:
    """The new value, checked as far as the answer alone allows; the rest when it is saved."""
    field = tracks.Field(str((await state.get_data()).get("field")))
    value: object
    if field in (tracks.Field.TITLE, tracks.Field.DESCRIPTION, tracks.Field.INTAKE):
        value = _text_or_none(message, field)
        if value is None:
            await message.answer(_too_long(field))
            return
    elif field == tracks.Field.PLACES:
        value = _places(message)
        if value is None:
            await message.answer(_("Please send a whole number from 0 to 10000."))
            return
    elif field == tracks.Field.PREREQUISITE:
        text = (message.text or "").strip().lstrip("#")
        if text != "-" and (not text.isdecimal() or len(text) > 9):
            await message.answer(_("Please send a track's number, like 3, or - for none."))
            return
        value = None if text == "-" else int(text)
    elif field == tracks.Field.SKILLS:
        value = await _skill_ids(message, session)
        if value is None:
            return
    elif field == tracks.Field.SESSIONS:
        value = _numbers(message.text or "")
        if value is None:
            await message.answer(
                _("Please send workshop numbers separated by spaces, like 14 15, or - for none.")
            )
            return
    else:
        await on_other(message)
        return
    await state.update_data(value=value)
    await _confirm_edit(message, state, session, i18n)


def _numbers(text: str) -> list[int] | None:
    text = text.replace(",", " ").strip()
    if text == "-":
        return []
    parts = [p.lstrip("#") for p in text.split()]
    if not parts or len(parts) > 50 or not all(p.isdecimal() and len(p) <= 9 for p in parts):
        return None
    return sorted({int(p) for p in parts})


async def _confirm_edit(
    message: Message, state: FSMContext, session: AsyncSession, i18n: I18n
) -> None:
    data = await state.get_data()
    field, value = tracks.Field(str(data["field"])), data.get("value")
    track = await tracks.get(session, int(data["track_id"]))
    if track is None:
        await state.clear()
        await message.answer(_("That button is no longer valid."))
        return
    await state.set_state(EditTrack.confirm)
    shown = await _shown(session, field, value, i18n.current_locale)
    kb = InlineKeyboardBuilder()
    kb.button(text="💾 " + _("Save"), callback_data=SaveCb(save=True))
    kb.button(text="✖️ " + _("Cancel"), callback_data=SaveCb(save=False))
    kb.adjust(2)
    await message.answer(
        f"<b>{escape(track.title)}</b>\n{_label(field)}: {shown}\n\n" + _("Save this change?"),
        reply_markup=kb.as_markup(),
    )


async def _shown(session: AsyncSession, field: tracks.Field, value: object, locale: str) -> str:
    """The new value as the organiser will read it in the confirmation."""
    if value is None or value == "" or value == []:
        return "-"
    if field == tracks.Field.SKILLS and isinstance(value, list):
        return await _skills_named(session, value, locale)
    if field == tracks.Field.SESSIONS and isinstance(value, list):
        return ", ".join(f"#{n}" for n in value)
    if field == tracks.Field.PREREQUISITE and isinstance(value, int):
        before = await tracks.get(session, value)
        return f"#{value} " + escape(before.title) if before else f"#{value}"
    if field == tracks.Field.REGION:
        return escape(await _region_name(session, str(value)))
    return _cut(str(value), 1500)


async def on_save_button(
    callback: CallbackQuery,
    callback_data: SaveCb,
    grants: frozenset[Grant],
    member: Member | None,
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    """Save one change: the service checks the rights and the value again under the lock;
    a refusal is explained and changes nothing; who moved up into new places is told."""
    scope = _scope(grants)
    data = await state.get_data()
    if scope is None or await state.get_state() != EditTrack.confirm.state:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await state.clear()
    if not callback_data.save:
        await callback.answer(_("Nothing was changed."))
        await close_question(callback, _("Nothing was changed."))
        return
    track_id, field = int(data["track_id"]), tracks.Field(str(data["field"]))
    try:
        edited = await tracks.edit(session, scope, track_id, field, data.get("value"))
    except tracks.TrackError as refused:
        text = _edit_refusal(refused)
        await callback.answer(text[:200], show_alert=True)
        await close_question(callback, text)
        return
    log.info("track %s: %s changed by member %s", track_id, field, member.id if member else "-")
    await callback.answer(_("Saved."))
    await close_question(callback, _("Saved."))
    track = await tracks.get(session, track_id)
    assert callback.message is not None and not isinstance(callback.message, InaccessibleMessage)
    if track is not None:
        await tell_moved_up(bot, session, track, edited.promoted, i18n)
    await _show_card(callback.message, scope, session, track_id, i18n, settings)


def _edit_refusal(refused: tracks.TrackError) -> str:
    """A refused change in the organiser's words; nothing was changed."""
    if isinstance(refused, tracks.TooFewPlaces):
        return ngettext(
            "Not saved: {n} member already has a place, so the track needs at least {n} place.",
            "Not saved: {n} members already have a place, so the track needs at least {n} places.",
            refused.taken,
        ).format(n=refused.taken)
    if isinstance(refused, tracks.BadPrerequisite):
        return _("Not saved: that track does not exist, or it is this track or comes after it.")
    if isinstance(refused, tracks.BadSessions):
        return _(
            "Not saved: these workshops do not exist, are not published or are not in your "
            "region: {numbers}."
        ).format(numbers=", ".join(f"#{n}" for n in refused.ids[:30]))
    if isinstance(refused, tracks.NotAllowed):
        return _("This track is not in your region.")
    return _("That button is no longer valid.")


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("tracks")
    router.message.register(on_tracks, Command("leergangen", "tracks", "utbildningar"))
    router.callback_query.register(on_track_button, TrackCb.filter())
    router.message.register(on_intake_answer, StateFilter(Intake.answer), F.text)
    router.callback_query.register(on_withdraw_button, WithdrawCb.filter())
    router.callback_query.register(on_teach_button, TeachCb.filter())
    router.callback_query.register(on_find_me_button, FindMeCb.filter())
    router.message.register(on_new, Command("nieuweleergang", "newtrack", "nyutbildning"))
    router.message.register(on_track_command, Command("leergang", "track", "utbildning"))
    router.message.register(on_stop, Command("stop"), StateFilter(NewTrack, EditTrack))
    router.message.register(on_title, StateFilter(NewTrack.title), F.text)
    router.message.register(on_description, StateFilter(NewTrack.description), F.text)
    router.message.register(on_places, StateFilter(NewTrack.places), F.text)
    router.message.register(on_lottery_date, StateFilter(NewTrack.allocation), F.text)
    router.message.register(on_prerequisite_typed, StateFilter(NewTrack.prerequisite), F.text)
    router.message.register(on_skills, StateFilter(NewTrack.skills), F.text)
    router.message.register(on_intake, StateFilter(NewTrack.intake), F.text)
    router.message.register(on_edit_value, StateFilter(EditTrack.value), F.text)
    router.message.register(on_other, StateFilter(NewTrack, EditTrack))
    router.callback_query.register(on_new_button, NewTrackCb.filter())
    router.callback_query.register(on_region_button, RegionCb.filter())
    router.callback_query.register(on_edit_button, EditCb.filter())
    router.callback_query.register(on_save_button, SaveCb.filter())
    return router
