"""/leergangen: learning tracks, applying (with an intake question), and the draw's result."""

from __future__ import annotations

import logging
from html import escape

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.formatting import TEXT_LIMIT, pack_lines, short_when
from bot.services import tracks
from bot.settings import Settings
from handlers.common import consent_first, private_router
from storage.models import Member, Track, TrackPlace

log = logging.getLogger(__name__)


class Intake(StatesGroup):
    answer = State()


class TrackCb(CallbackData, prefix="trk"):
    track_id: int


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
            lines.append(_status_line(place))
        blocks.append("\n".join(lines) + "\n")
    # As many tracks per message as fit Telegram's limit, each message with its own buttons.
    first = 0
    for n, group in enumerate(pack_lines(blocks, TEXT_LIMIT - 200)):
        kb = InlineKeyboardBuilder()
        for track in listed[first : first + len(group)]:
            place = mine.get(track.id)
            if place is None or place.status == "withdrawn":
                kb.button(text="✍️ " + track.title[:50], callback_data=TrackCb(track_id=track.id))
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


def _status_line(place: TrackPlace) -> str:
    if place.status == "placed":
        return "✅ " + _("You have a place.")
    if place.status == "applied":
        return "🎲 " + _("You are in the draw.")
    return "⏳ " + _("You are on the waiting list.")


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


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("tracks")
    router.message.register(on_tracks, Command("leergangen", "tracks", "utbildningar"))
    router.callback_query.register(on_track_button, TrackCb.filter())
    router.message.register(on_intake_answer, StateFilter(Intake.answer), F.text)
    return router
