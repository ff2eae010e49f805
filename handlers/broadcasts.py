"""/bericht: an organiser composes an announcement, chooses its audience, previews and sends
it; /goedkeuren approves another's; /berichten lists past ones; the live progress buttons.

The draft is a `Broadcast` row from the first answer on (status draft): the conversation
keeps only its id and the step, so it stays small. Every button carries the draft's id and
is re-checked: the presser's own draft, still a draft, still within their scope.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from html import escape
from urllib.parse import urlsplit

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import broadcast_views as views
from bot import clock
from bot.budget import Priority, sending_as
from bot.formatting import TEXT_LIMIT, short_when
from bot.i18n import LANGUAGE_NAMES
from bot.keyboards import pager
from bot.services import broadcasts, catalogue, roles
from bot.services.broadcasts import Audience, BroadcastError, NotYours, OutOfScope
from bot.services.roles import Grant, Scope
from bot.services.skill_match import split_input
from bot.settings import SUPPORTED_LOCALES, Settings
from handlers.common import close_question, private_router
from storage.models import Broadcast, Member

log = logging.getLogger(__name__)
WORKSHOPS_PAGE = 5
HISTORY_PAGE = 5
LABEL_LIMIT = 40


class Compose(StatesGroup):
    kind = State()
    text = State()
    photo = State()
    buttons = State()
    workshop = State()
    link = State()
    versions = State()
    version_text = State()
    audience = State()
    skills = State()
    signed_up = State()
    track = State()
    confirm = State()
    when = State()


class BcCb(CallbackData, prefix="bc"):
    """A step of the dialog about draft `id` (0 before there is one)."""

    id: int
    action: str
    value: str = ""


class HistoryCb(CallbackData, prefix="bhist"):
    offset: int


# -- start ---------------------------------------------------------------------------------


async def on_compose(message: Message, grants: frozenset[Grant], state: FSMContext) -> None:
    if roles.organiser_scope(grants) is None:
        await message.answer(_("This command is for organisers only."))
        return
    await state.clear()
    await state.set_state(Compose.kind)
    kb = InlineKeyboardBuilder()
    for kind in broadcasts.KINDS:
        kb.button(text=views.kind_label(kind), callback_data=BcCb(id=0, action="kind", value=kind))
    kb.adjust(1)
    await message.answer(
        _(
            "A new announcement. Is it about a training day, or general news? Members can "
            "turn each kind off. (Send /stop at any time to stop.)"
        ),
        reply_markup=kb.as_markup(),
    )


async def on_stop(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Stopped; nothing was sent."))


async def on_kind(
    callback: CallbackQuery,
    callback_data: BcCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
) -> None:
    scope = roles.organiser_scope(grants)
    if (
        scope is None
        or callback_data.value not in broadcasts.KINDS
        or await state.get_state() != Compose.kind.state
    ):
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    draft = await broadcasts.new_draft(
        session, callback.from_user.id, callback_data.value, i18n.current_locale, scope
    )
    log.info("broadcast %s drafted", draft.id)  # who: the row says (author_id), not the log
    await state.set_data({"id": draft.id})
    await state.set_state(Compose.text)
    await close_question(callback, views.kind_label(callback_data.value))
    await callback.bot.send_message(  # type: ignore[union-attr]
        callback.from_user.id,
        _(
            "Send the text of the announcement, formatted as you like (bold, italics, links). "
            "Or send a photo with the text as its caption."
        ),
    )


async def _draft(session: AsyncSession, state: FSMContext, user_id: int) -> Broadcast | None:
    """The draft this conversation is about, if it is still the person's own draft."""
    broadcast_id = (await state.get_data()).get("id")
    if not broadcast_id:
        return None
    try:
        return await broadcasts.draft_of(session, broadcast_id, user_id)
    except BroadcastError:
        return None


async def _pressed(
    callback: CallbackQuery,
    callback_data: BcCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
) -> tuple[Broadcast, Scope] | None:
    """The draft a dialog button refers to, re-checked: the presser's own, still a draft,
    the one this conversation is about (or, the conversation lost in a restart, taken up
    again: the draft itself is in the database), and they are still an organiser."""
    scope = roles.organiser_scope(grants)
    found = None
    current = (await state.get_data()).get("id")
    if scope is not None and current in (None, callback_data.id):
        with contextlib.suppress(BroadcastError):
            found = await broadcasts.draft_of(session, callback_data.id, callback.from_user.id)
        if found is not None and current is None:
            await state.update_data(id=found.id)
    if found is None or scope is None:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return None
    return found, scope


async def _typed(
    message: Message, grants: frozenset[Grant], session: AsyncSession, state: FSMContext
) -> tuple[Broadcast, Scope] | None:
    scope = roles.organiser_scope(grants)
    found = await _draft(session, state, message.from_user.id) if scope else None  # type: ignore[union-attr]
    if found is None or scope is None:
        await state.clear()
        await message.answer(
            _("This announcement can no longer be changed. Start again with /bericht.")
        )
        return None
    return found, scope


# -- the text, the photo --------------------------------------------------------------------


async def on_text(
    message: Message,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
) -> None:
    found = await _typed(message, grants, session, state)
    if found is None:
        return
    broadcast = found[0]
    locale = (await state.get_data()).get("lang") or broadcast.default_locale
    html = await _read_text(message)
    if html is None:
        return
    if message.photo and locale == broadcast.default_locale:
        await broadcasts.set_photo(session, broadcast, message.photo[-1].file_id)
    await broadcasts.set_text(session, broadcast, locale, html)
    if await state.get_state() == Compose.version_text.state:
        await _ask_versions(message, broadcast, state, i18n.current_locale)
    elif broadcast.media is None:
        await state.set_state(Compose.photo)
        await message.answer(
            _("Add a photo or a file (a PDF, say)? Send it, or tap Skip."),
            reply_markup=_one(broadcast.id, "⏭ " + _("Skip"), "nophoto"),
        )
    else:
        await _ask_buttons(message, broadcast, state)


async def _read_text(message: Message) -> str | None:
    """The message's text as HTML, within what Telegram lets one message carry; a clear
    refusal (None) for anything else."""
    if message.photo:
        if not message.caption:
            await message.answer(_("Please send the photo with the text as its caption."))
            return None
        if len(message.caption) > views.CAPTION_LIMIT:
            await message.answer(
                _(
                    "A caption holds at most 1024 characters; yours has {count}. Send the "
                    "text on its own first (up to 4096 characters); I ask for the photo after."
                ).format(count=len(message.caption))
            )
            return None
        return message.html_text
    if not message.text or not message.text.strip():
        await message.answer(_("Please send the announcement as text, or a photo with a caption."))
        return None
    if len(message.text) > TEXT_LIMIT:
        await message.answer(
            _(
                "A message holds at most 4096 characters; yours has {count}. Please shorten it."
            ).format(count=len(message.text))
        )
        return None
    return message.html_text


async def on_photo(
    message: Message, grants: frozenset[Grant], session: AsyncSession, state: FSMContext
) -> None:
    found = await _typed(message, grants, session, state)
    if found is None:
        return
    if message.photo:
        await broadcasts.set_photo(session, found[0], message.photo[-1].file_id)
    elif message.document:
        await broadcasts.set_photo(session, found[0], message.document.file_id, "document")
    else:
        await message.answer(_("Please send a photo or a file, or tap Skip."))
        return
    await _ask_buttons(message, found[0], state)


def _one(broadcast_id: int, text: str, action: str, value: str = "") -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=text, callback_data=BcCb(id=broadcast_id, action=action, value=value))
    return kb.as_markup()


# -- buttons -------------------------------------------------------------------------------


async def _ask_buttons(message: Message, broadcast: Broadcast, state: FSMContext) -> None:
    await state.set_state(Compose.buttons)
    lines = [_("Buttons under the announcement (optional):")]
    workshop_id = broadcasts.signup_workshop(broadcast)
    if workshop_id:
        lines.append("✅ " + _("Sign me up") + f" → #{workshop_id}")
    lines += [f"🔗 {escape(label)} → {escape(url)}" for label, url in broadcasts.links(broadcast)]
    kb = InlineKeyboardBuilder()
    b = broadcast.id
    kb.button(
        text="✍️ " + _("Sign-up button for a workshop"), callback_data=BcCb(id=b, action="signup")
    )
    if len(broadcasts.links(broadcast)) < broadcasts.MAX_LINKS:
        kb.button(text="🔗 " + _("Link button"), callback_data=BcCb(id=b, action="link"))
    if broadcast.buttons:
        kb.button(text="🗑 " + _("Remove the buttons"), callback_data=BcCb(id=b, action="nobuttons"))
    kb.button(text="➡️ " + _("Next"), callback_data=BcCb(id=b, action="versions"))
    kb.adjust(1)
    await message.answer("\n".join(lines), reply_markup=kb.as_markup())


async def _workshop_page(
    session: AsyncSession, broadcast: Broadcast, scope: Scope, page: int, i18n: I18n,
    settings: Settings,
) -> tuple[str, InlineKeyboardMarkup]:  # fmt: skip
    found = await broadcasts.upcoming_in_scope(session, scope)
    pages = max(1, -(-len(found) // WORKSHOPS_PAGE))
    page = max(0, min(page, pages - 1))
    kb = InlineKeyboardBuilder()
    for w in found[page * WORKSHOPS_PAGE : (page + 1) * WORKSHOPS_PAGE]:
        when = short_when(w.starts_at, i18n.current_locale, settings.tz)
        kb.button(
            text=f"#{w.id} {w.title}"[:45] + f" · {when}",
            callback_data=BcCb(id=broadcast.id, action="ws", value=str(w.id)),
        )
    kb.adjust(1)
    kb.row(*pager(page, pages, lambda n: BcCb(id=broadcast.id, action="wspage", value=str(n))))
    text = _("Which workshop? Tap it, or send its number.")
    if not found:
        text = _("There is no upcoming workshop in your region to sign up for.")
    return text, kb.as_markup()


def _valid_link(text: str) -> tuple[str, str] | None:
    """'Label https://…' → (label, url): an https link with a host, a label of 1-40 chars."""
    label, _sep, url = text.strip().rpartition(" ")
    label = " ".join(label.split())
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or len(url) > 500:
        return None
    if not 0 < len(label) <= LABEL_LIMIT:
        return None
    return label, url


async def on_link(
    message: Message, grants: frozenset[Grant], session: AsyncSession, state: FSMContext
) -> None:
    found = await _typed(message, grants, session, state)
    if found is None:
        return
    link = _valid_link(message.text or "")
    if link is None:
        await message.answer(
            _(
                "Please send a label of at most 40 characters and an https link, like: "
                "Programme https://example.org/programme"
            )
        )
        return
    broadcast = found[0]
    links = [*broadcasts.links(broadcast), link]
    await broadcasts.set_buttons(session, broadcast, broadcasts.signup_workshop(broadcast), links)
    await _ask_buttons(message, broadcast, state)


async def on_workshop_number(
    message: Message, grants: frozenset[Grant], session: AsyncSession, state: FSMContext
) -> None:
    found = await _typed(message, grants, session, state)
    if found is None:
        return
    broadcast, scope = found[0], roles.organiser_scope(grants)
    text = (message.text or "").strip().lstrip("#")
    workshop = None
    if text.isdecimal() and scope is not None:
        workshop = await broadcasts.workshop_in_scope(session, int(text), scope)
    if workshop is None:
        await message.answer(
            _("There is no upcoming workshop with that number in your region. Send another number.")
        )
        return
    await broadcasts.set_buttons(session, broadcast, workshop.id, broadcasts.links(broadcast))
    await _ask_buttons(message, broadcast, state)


# -- language versions -----------------------------------------------------------------------


async def _ask_versions(
    message: Message, broadcast: Broadcast, state: FSMContext, locale: str
) -> None:
    await state.set_state(Compose.versions)
    await state.update_data(lang=None)
    have = ", ".join(
        views.language_name(code, locale) for code in SUPPORTED_LOCALES if code in broadcast.texts
    )
    text = _(
        "Versions per language: members get the one in their language, the others the "
        "{default} one. Written so far: {have}. Add another?"
    ).format(default=views.language_name(broadcast.default_locale, locale), have=have)
    kb = InlineKeyboardBuilder()
    for code in SUPPORTED_LOCALES:
        if code != broadcast.default_locale:
            mark = "✏️" if code in broadcast.texts else "➕"
            kb.button(
                text=f"{mark} {LANGUAGE_NAMES[code]}",
                callback_data=BcCb(id=broadcast.id, action="lang", value=code),
            )
    kb.button(text="➡️ " + _("Next"), callback_data=BcCb(id=broadcast.id, action="audience"))
    kb.adjust(2, 1)
    await message.answer(text, reply_markup=kb.as_markup())


# -- the audience ----------------------------------------------------------------------------


async def _audience_view(
    session: AsyncSession, broadcast: Broadcast, scope: Scope, locale: str
) -> tuple[str, InlineKeyboardMarkup]:
    """Who gets it, in words, with the count; toggles to narrow it down."""
    audience = broadcasts.audience_of(broadcast)
    named = await broadcasts.names(session, audience, locale)
    reach = await broadcasts.reach(session, audience, broadcast.kind, scope)
    lines = ["👥 <b>" + _("Who gets it?") + "</b>", *views.audience_lines(audience, named), ""]
    lines.append(views.reach_line(reach, locale))
    b = broadcast.id
    kb = InlineKeyboardBuilder()
    sizes: list[int] = []

    def toggle(label: str, on: bool, action: str, value: str) -> None:
        mark = "✅" if on else "▫️"
        kb.button(text=f"{mark} {label}", callback_data=BcCb(id=b, action=action, value=value))

    allowed = await roles.regions_in(session, scope)
    for region in allowed:
        toggle(region.name, region.code in audience.regions, "region", region.code)
    sizes += [2] * (len(allowed) // 2) + ([1] if len(allowed) % 2 else [])
    toggle(_("members"), "member" in audience.member_kinds, "mkind", "member")
    toggle(_("sympathisers"), "sympathiser" in audience.member_kinds, "mkind", "sympathiser")
    for code in SUPPORTED_LOCALES:
        toggle(code, code in audience.locales, "alang", code)
    for label, action in (
        ("🎯 " + _("Learning wishes…"), "wishes"),
        ("🎓 " + _("Talents…"), "talents"),
        ("✍️ " + _("Signed up for a workshop…"), "signedup"),
        ("🧭 " + _("Took part in a track…"), "track"),
    ):
        kb.button(text=label, callback_data=BcCb(id=b, action=action))
    kb.button(text="🧹 " + _("Everyone again"), callback_data=BcCb(id=b, action="clear"))
    kb.button(text="👁 " + _("Preview"), callback_data=BcCb(id=b, action="preview"))
    kb.adjust(*sizes, 2, 3, 2, 2, 1, 1)
    return "\n".join(lines), kb.as_markup()


async def _show_audience(
    target: Message, session: AsyncSession, broadcast: Broadcast, scope: Scope, i18n: I18n,
    state: FSMContext, *, edit: bool = False,
) -> None:  # fmt: skip
    await state.set_state(Compose.audience)
    text, markup = await _audience_view(session, broadcast, scope, i18n.current_locale)
    if edit:
        with contextlib.suppress(TelegramBadRequest):  # the same view again: not modified
            await target.edit_text(text, reply_markup=markup)
        return
    await target.answer(text, reply_markup=markup)


def _toggled(values: tuple[str, ...], value: str) -> tuple[str, ...]:
    return tuple(v for v in values if v != value) if value in values else (*values, value)


async def _change_audience(
    callback: CallbackQuery, session: AsyncSession, broadcast: Broadcast, scope: Scope,
    changed: Audience, i18n: I18n, state: FSMContext,
) -> None:  # fmt: skip
    try:
        await broadcasts.set_audience(session, broadcast, changed, scope)
    except OutOfScope:
        await callback.answer(
            _("You can only address members of your own region."), show_alert=True
        )
        return
    await callback.answer()
    await _show_audience(callback.message, session, broadcast, scope, i18n, state, edit=True)  # type: ignore[arg-type]


async def on_skills(
    message: Message,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
) -> None:
    """Wishes or talents typed as members would, matched with the skills catalogue."""
    found = await _typed(message, grants, session, state)
    if found is None:
        return
    broadcast, scope = found[0], roles.organiser_scope(grants) or Scope(None)
    matcher = await catalogue.matcher(session)
    ids: list[int] = []
    unknown: list[str] = []
    for word in split_input(message.text or "")[:10]:
        hits = matcher.match(word, limit=1)
        if hits:
            ids.append(hits[0].skill_id)
        else:
            unknown.append(word)
    if unknown:
        await message.answer(
            _("Not in the skills list: {words}").format(words=escape(", ".join(unknown)))
        )
    audience = broadcasts.audience_of(broadcast)
    kind = (await state.get_data()).get("skills")
    key = "talents" if kind == "talents" else "wishes"
    audience = Audience(**{**audience.as_json(), key: tuple(dict.fromkeys(ids))})
    await broadcasts.set_audience(session, broadcast, Audience.from_json(audience.as_json()), scope)
    await _show_audience(message, session, broadcast, scope, i18n, state)


async def on_filter_number(
    message: Message,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
) -> None:
    """'12 +' or '12 -': signed up (took part) or not, for a workshop (track); '0' clears."""
    found = await _typed(message, grants, session, state)
    if found is None:
        return
    broadcast, scope = found[0], roles.organiser_scope(grants) or Scope(None)
    is_track = await state.get_state() == Compose.track.state
    parts = (message.text or "").replace("#", "").split()
    audience = broadcasts.audience_of(broadcast).as_json()
    id_key, flag_key = ("track_id", "in_track") if is_track else ("workshop_id", "signed_up")
    if parts == ["0"]:
        audience.update({id_key: None, flag_key: None})
    elif len(parts) == 2 and parts[0].isdecimal() and parts[1] in ("+", "-"):
        number = int(parts[0])
        exists = (
            await broadcasts.track_exists(session, number)
            if is_track
            else await broadcasts.workshop_in_scope(session, number, scope, upcoming=False)
        )
        if not exists:
            await message.answer(_("I know of nothing with that number. Send another, or 0."))
            return
        audience.update({id_key: number, flag_key: parts[1] == "+"})
    else:
        await message.answer(_("Please send a number and + or -, like 12 +; or 0 for none."))
        return
    await broadcasts.set_audience(session, broadcast, Audience.from_json(audience), scope)
    await _show_audience(message, session, broadcast, scope, i18n, state)


# -- preview, confirm, schedule -------------------------------------------------------------


async def _preview(
    bot: Bot, chat_id: int, session: AsyncSession, broadcast: Broadcast, scope: Scope,
    i18n: I18n, settings: Settings, state: FSMContext,
) -> None:  # fmt: skip
    """The letter exactly as members get it, in each language written, then the count."""
    locale = i18n.current_locale
    written = [code for code in SUPPORTED_LOCALES if code in broadcast.texts]
    sending_as.set(Priority.PERSONAL)  # several messages at once: spaced as Telegram wants
    for code in written:
        with i18n.use_locale(code):
            letter = views.letter(broadcast, code)
        await views.send_letter(bot, chat_id, letter)
    audience = broadcasts.audience_of(broadcast)
    named = await broadcasts.names(session, audience, locale)
    reach = await broadcasts.reach(session, audience, broadcast.kind, scope)
    languages = ", ".join(views.language_name(code, locale) for code in written)
    lines = [
        "👁 "
        + _("Above: the announcement as members get it ({languages}).").format(languages=languages),
        "",
        views.kind_label(broadcast.kind),
        *views.audience_lines(audience, named),
        "",
        views.reach_line(reach, locale),
    ]
    over = reach.recipients > settings.broadcast_approval_over
    if over:
        lines.append(
            _("More than {limit}: a second organiser or an admin must approve it first.").format(
                limit=views.number(settings.broadcast_approval_over, locale)
            )
        )
    b = broadcast.id
    kb = InlineKeyboardBuilder()
    send = "📨 " + _("Ask for approval") if over else "✅ " + _("Send now")
    kb.button(text=send, callback_data=BcCb(id=b, action="send"))
    kb.button(text="🗓 " + _("Schedule…"), callback_data=BcCb(id=b, action="schedule"))
    kb.button(text="↩️ " + _("Change the audience"), callback_data=BcCb(id=b, action="audience"))
    kb.button(text="❌ " + _("Discard"), callback_data=BcCb(id=b, action="discard"))
    kb.adjust(1, 1, 2)
    await state.set_state(Compose.confirm)
    await bot.send_message(chat_id, "\n".join(lines), reply_markup=kb.as_markup())


async def _submit(
    bot: Bot, chat_id: int, session: AsyncSession, broadcast: Broadcast, i18n: I18n,
    settings: Settings, state: FSMContext, send_at: datetime | None = None,
) -> None:  # fmt: skip
    try:
        status = await broadcasts.submit(
            session, broadcast, views.renderer(i18n), SUPPORTED_LOCALES,
            settings.broadcast_approval_over, send_at,
        )  # fmt: skip
    except BroadcastError:
        await bot.send_message(chat_id, _("This announcement can no longer be changed."))
        return
    await state.clear()
    log.info("broadcast %s submitted: %s", broadcast.id, status)
    locale = i18n.current_locale
    if status == "sending":
        await send_progress(bot, session, broadcast, chat_id, locale)
    elif status == "scheduled":
        when = short_when(broadcast.send_at, locale, settings.tz)  # type: ignore[arg-type]
        await bot.send_message(
            chat_id,
            _("Scheduled: it goes out on {when}.").format(when=escape(when)),
            reply_markup=views.controls(broadcast),
        )
    else:
        await bot.send_message(
            chat_id,
            ngettext(
                "It goes to {count} member: a second organiser or an admin must approve it. "
                "I have asked them; it goes out once one of them says yes.",
                "It goes to {count} members: a second organiser or an admin must approve it. "
                "I have asked them; it goes out once one of them says yes.",
                broadcast.recipients,
            ).format(count=views.number(broadcast.recipients, locale)),
            reply_markup=views.controls(broadcast),
        )
        if not await ask_approval(bot, session, broadcast, i18n, settings):
            await bot.send_message(
                chat_id,
                _(
                    "There is nobody I could ask: no other organiser of these regions and no "
                    "admin has a chat with me. An admin can approve it with /goedkeuren {id}."
                ).format(id=broadcast.id),
            )


async def send_progress(
    bot: Bot, session: AsyncSession, broadcast: Broadcast, chat_id: int, locale: str
) -> None:
    """The live progress message, kept on the broadcast so that it is edited in place."""
    progress = await broadcasts.progress(session, broadcast, clock.now())
    text, markup = views.progress_view(broadcast, progress, locale)
    sent = await bot.send_message(chat_id, text, reply_markup=markup)
    await broadcasts.set_progress_message(session, broadcast, chat_id, sent.message_id)


async def ask_approval(
    bot: Bot, session: AsyncSession, broadcast: Broadcast, i18n: I18n, settings: Settings
) -> int:
    """Everyone who may approve it gets the preview and an Approve button, in their
    language; how many were reached."""
    asked = 0
    author = await broadcasts.author_name(session, broadcast.author_id or 0)
    for approver in await broadcasts.approvers(session, broadcast, settings.admin_ids):
        locale = await broadcasts.locale_of(session, approver, settings.default_locale)
        with i18n.use_locale(locale):
            with i18n.use_locale(broadcast.default_locale):
                letter = views.letter(broadcast, broadcast.default_locale)
            kb = InlineKeyboardBuilder()
            kb.button(
                text="✅ " + _("Approve"),
                callback_data=views.ControlCb(broadcast_id=broadcast.id, action="approve"),
            )
            text = ngettext(
                "{name} asks to send announcement #{id} to {count} member. Approve it here "
                "or with /goedkeuren {id}. It is this one:",
                "{name} asks to send announcement #{id} to {count} members. Approve it here "
                "or with /goedkeuren {id}. It is this one:",
                broadcast.recipients,
            ).format(
                name=escape(author),
                id=broadcast.id,
                count=views.number(broadcast.recipients, locale),
            )
            try:
                await bot.send_message(approver, text, reply_markup=kb.as_markup())
                await views.send_letter(bot, approver, letter)
                asked += 1
            except TelegramAPIError as exc:  # one approver out of reach must not stop the rest
                log.info("approval request for %s: %s", broadcast.id, type(exc).__name__)
    return asked


# -- the dialog's buttons ------------------------------------------------------------------


async def on_button(
    callback: CallbackQuery,
    callback_data: BcCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    found = await _pressed(callback, callback_data, grants, session, state)
    if found is None:
        return
    broadcast, scope = found
    action, value = callback_data.action, callback_data.value
    chat_id = callback.from_user.id
    message: Message = callback.message  # type: ignore[assignment]
    audience = broadcasts.audience_of(broadcast)
    if action == "region":
        changed = Audience(**{**audience.as_json(), "regions": _toggled(audience.regions, value)})
        return await _change_audience(callback, session, broadcast, scope, changed, i18n, state)
    if action == "mkind" and value in ("member", "sympathiser"):
        kinds = _toggled(audience.member_kinds, value)
        changed = Audience.from_json({**audience.as_json(), "member_kinds": list(kinds)})
        return await _change_audience(callback, session, broadcast, scope, changed, i18n, state)
    if action == "alang" and value in SUPPORTED_LOCALES:
        changed = Audience.from_json(
            {**audience.as_json(), "locales": list(_toggled(audience.locales, value))}
        )
        return await _change_audience(callback, session, broadcast, scope, changed, i18n, state)
    if action == "clear":
        return await _change_audience(callback, session, broadcast, scope, Audience(), i18n, state)
    if action == "wspage" and value.isdecimal():
        await callback.answer()
        text, markup = await _workshop_page(session, broadcast, scope, int(value), i18n, settings)
        with contextlib.suppress(TelegramBadRequest):
            await message.edit_text(text, reply_markup=markup)
        return
    if action == "ws" and value.isdecimal():
        workshop = await broadcasts.workshop_in_scope(session, int(value), scope)
        if workshop is None:
            await callback.answer(_("That button is no longer valid."), show_alert=True)
            return
        await callback.answer()
        await broadcasts.set_buttons(session, broadcast, workshop.id, broadcasts.links(broadcast))
        await close_question(callback, f"#{workshop.id} {workshop.title}")
        return await _ask_buttons(message, broadcast, state)
    await callback.answer()
    if action == "nophoto":
        await close_question(callback, _("Skip"))
        await _ask_buttons(message, broadcast, state)
    elif action == "signup":
        await state.set_state(Compose.workshop)
        text, markup = await _workshop_page(session, broadcast, scope, 0, i18n, settings)
        await bot.send_message(chat_id, text, reply_markup=markup)
    elif action == "link":
        await state.set_state(Compose.link)
        await bot.send_message(
            chat_id,
            _(
                "Send the button's label and its link, like: Programme https://example.org/programme"
            ),
        )
    elif action == "nobuttons":
        await broadcasts.set_buttons(session, broadcast, None, ())
        await _ask_buttons(message, broadcast, state)
    elif action == "versions":
        await _ask_versions(message, broadcast, state, i18n.current_locale)
    elif action == "lang" and value in SUPPORTED_LOCALES and value != broadcast.default_locale:
        await state.set_state(Compose.version_text)
        await state.update_data(lang=value)
        await bot.send_message(
            chat_id,
            _("Send the {language} text.").format(
                language=views.language_name(value, i18n.current_locale)
            ),
        )
    elif action == "audience":
        await _show_audience(message, session, broadcast, scope, i18n, state)
    elif action in ("wishes", "talents"):
        await state.set_state(Compose.skills)
        await state.update_data(skills=action)
        await bot.send_message(
            chat_id,
            _(
                "Send the skills, separated by commas, like: debating, reading a budget. "
                "Members with any of them get it."
            ),
        )
    elif action == "signedup":
        await state.set_state(Compose.signed_up)
        await bot.send_message(
            chat_id,
            _(
                "Send the workshop's number and + for those signed up, or - for those not "
                "signed up, like 12 +. Send 0 for no such condition."
            ),
        )
    elif action == "track":
        await state.set_state(Compose.track)
        await bot.send_message(
            chat_id,
            _(
                "Send the track's number and + for those who took part, or - for those who "
                "did not, like 2 -. Send 0 for no such condition."
            ),
        )
    elif action == "preview":
        await _preview(bot, chat_id, session, broadcast, scope, i18n, settings, state)
    elif action == "send":  # once only: the draft's status changes in the database
        await close_question(callback, _("Send now"))
        await _submit(bot, chat_id, session, broadcast, i18n, settings, state)
    elif action == "schedule":
        await state.set_state(Compose.when)
        example = short_example(i18n.current_locale)
        await bot.send_message(
            chat_id,
            _("When should it go out? Send the date and time, like {example}.").format(
                example=example
            ),
        )
    elif action == "discard":
        await state.clear()
        await close_question(callback, _("Discard"))
        await bot.send_message(chat_id, _("Discarded; nothing was sent."))


DATE_FORMATS = {
    "nl": ("%d-%m-%Y %H:%M", "%d-%m-%y %H:%M"),
    "en": ("%d/%m/%Y %H:%M", "%d/%m/%y %H:%M"),
    "sv": ("%Y-%m-%d %H:%M",),
}


def short_example(locale: str) -> str:
    moment = datetime(2027, 3, 14, 10, 0)
    return moment.strftime(DATE_FORMATS.get(locale, ("%Y-%m-%d %H:%M",))[0])


def parse_when(text: str, locale: str, settings: Settings) -> datetime | None:
    """A date and time typed in the organiser's way (or ISO), local to the organisation."""
    for fmt in (*DATE_FORMATS.get(locale, ()), "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(" ".join(text.split()), fmt).replace(tzinfo=settings.tz)
        except ValueError:
            continue
    return None


async def on_when(
    message: Message,
    grants: frozenset[Grant],
    session: AsyncSession,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    found = await _typed(message, grants, session, state)
    if found is None:
        return
    when = parse_when(message.text or "", i18n.current_locale, settings)
    if when is None or when <= clock.now():
        await message.answer(
            _("That is not a future date and time, like {example}.").format(
                example=short_example(i18n.current_locale)
            )
        )
        return
    await _submit(bot, message.chat.id, session, found[0], i18n, settings, state, when)


# -- approval and the live buttons ----------------------------------------------------------


async def on_approve_command(
    message: Message,
    command: CommandObject,
    grants: frozenset[Grant],
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    scope = roles.organiser_scope(grants)
    if scope is None:
        await message.answer(_("This command is for organisers only."))
        return
    arg = (command.args or "").strip().lstrip("#")
    if not arg.isdecimal():
        await message.answer(
            _("Which announcement? Send /goedkeuren and its number, like /goedkeuren 12.")
        )
        return
    text, approved = await _approve(session, int(arg), message.chat.id, scope, i18n, settings)
    await message.answer(text)
    if approved is not None:
        await _progress_to_author(bot, session, approved, i18n, settings)


async def _approve(
    session: AsyncSession, broadcast_id: int, approver: int, scope: Scope, i18n: I18n,
    settings: Settings,
) -> tuple[str, Broadcast | None]:  # fmt: skip
    """Approve, and say what came of it (with the broadcast when it started)."""
    try:
        broadcast = await broadcasts.approve(
            session, broadcast_id, approver, scope, views.renderer(i18n), SUPPORTED_LOCALES
        )
    except NotYours as refused:
        if refused.status == "author":
            text = _("You wrote this announcement: another organiser or an admin must approve it.")
            return text, None
        return _("You cannot approve that announcement."), None
    except BroadcastError as error:
        text = _("Announcement #{id} is not waiting for approval (it is {status}).").format(
            id=broadcast_id, status=views.status_label(error.status)
        )
        return text, None
    log.info("broadcast %s approved", broadcast_id)  # by whom: approved_by on the row
    if broadcast.status == "sending":
        return _("Approved: announcement #{id} is going out now.").format(id=broadcast_id), (
            broadcast
        )
    when = short_when(broadcast.send_at, i18n.current_locale, settings.tz)  # type: ignore[arg-type]
    text = _("Approved: announcement #{id} goes out on {when}.").format(id=broadcast_id, when=when)
    return text, None


async def _progress_to_author(
    bot: Bot, session: AsyncSession, broadcast: Broadcast, i18n: I18n, settings: Settings
) -> None:
    """The author gets the live progress message of their approved broadcast."""
    if not broadcast.author_id:
        return
    locale = await broadcasts.locale_of(session, broadcast.author_id, settings.default_locale)
    with i18n.use_locale(locale):
        await send_progress(bot, session, broadcast, broadcast.author_id, locale)


async def on_control(
    callback: CallbackQuery,
    callback_data: views.ControlCb,
    grants: frozenset[Grant],
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    """Pause, resume, cancel or approve: the presser's role and scope and the broadcast's
    state are checked again, and the tap is answered with what happened."""
    scope = roles.organiser_scope(grants)
    action = callback_data.action
    if action == "approve" and scope is not None:
        text, approved = await _approve(
            session, callback_data.broadcast_id, callback.from_user.id, scope, i18n, settings
        )
        await callback.answer(text[:200], show_alert=True)
        if approved is not None:
            await _progress_to_author(bot, session, approved, i18n, settings)
        return
    try:
        broadcast = await broadcasts.handled(session, callback_data.broadcast_id, scope)
        if action == "pause":
            await broadcasts.pause(session, broadcast)
            toast = _("Paused. Nothing more goes out until you resume.")
        elif action == "resume":
            await broadcasts.resume(session, broadcast)
            toast = _("Resumed.")
        elif action == "cancel":
            stopped = await broadcasts.cancel(session, broadcast)
            toast = ngettext(
                "Cancelled: {count} message will not be sent.",
                "Cancelled: {count} messages will not be sent.",
                stopped,
            ).format(count=views.number(stopped, i18n.current_locale))
        else:
            raise NotYours("action")
    except NotYours:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    except BroadcastError as error:
        await callback.answer(
            _("Not possible now: the announcement is {status}.").format(
                status=views.status_label(error.status)
            ),
            show_alert=True,
        )
        return
    log.info("broadcast %s: %s", broadcast.id, action)
    await callback.answer(toast)
    progress = await broadcasts.progress(session, broadcast, clock.now())
    text, markup = views.progress_view(broadcast, progress, i18n.current_locale)
    if isinstance(callback.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await callback.message.edit_text(text, reply_markup=markup)


# -- /berichten ---------------------------------------------------------------------------


async def history_page(
    session: AsyncSession, scope: Scope, offset: int, locale: str, settings: Settings
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Past broadcasts, newest first: as many of the next few as fit one message."""
    offset = max(0, offset)
    found = await broadcasts.history(session, scope, offset, HISTORY_PAGE + 1)
    head = "📣 <b>" + _("Announcements") + "</b>"
    if not found:
        return head + "\n" + _("No announcements yet."), None
    text, shown = head, 0
    for past in found[:HISTORY_PAGE]:
        entry = await _history_entry(session, past, locale, settings)
        if len(text) + len(entry) + 2 > TEXT_LIMIT:  # with its markup: on the safe side
            break
        text, shown = f"{text}\n\n{entry}", shown + 1
    more = len(found) > shown
    kb = InlineKeyboardBuilder()
    if offset:
        kb.button(text="◀️", callback_data=HistoryCb(offset=max(0, offset - HISTORY_PAGE)))
    if more:
        kb.button(text="▶️", callback_data=HistoryCb(offset=offset + shown))
    return text, kb.as_markup() if (offset or more) else None


async def _history_entry(
    session: AsyncSession, past: broadcasts.Past, locale: str, settings: Settings
) -> str:
    """Who, when, what kind, to whom in words, and what came of it."""
    b = past.broadcast
    when = b.started_at or b.send_at or b.created_at
    audience = broadcasts.audience_of(b)
    named = await broadcasts.names(session, audience, locale)
    lines = [
        f"<b>#{b.id}</b> · {views.kind_label(b.kind)} · {views.status_label(b.status)}",
        f"{escape(past.author)} · {escape(short_when(when, locale, settings.tz))}",
        " · ".join(views.audience_lines(audience, named)),
        "👥 "
        + ngettext("{count} recipient", "{count} recipients", b.recipients).format(
            count=views.number(b.recipients, locale)
        )
        + " · "
        + views.counts_line(past.counts, locale),
    ]
    if b.muted:
        lines.append(
            "🔕 "
            + ngettext(
                "{count} turned these announcements off from it",
                "{count} turned these announcements off from it",
                b.muted,
            ).format(count=views.number(b.muted, locale))
        )
    if past.signed_up is not None:
        lines.append(
            "✍️ "
            + ngettext(
                "{count} of them signed up for {title} after receiving it",
                "{count} of them signed up for {title} after receiving it",
                past.signed_up,
            ).format(count=views.number(past.signed_up, locale), title=escape(past.workshop or "?"))
        )
    return "\n".join(lines)


async def on_history(
    message: Message, grants: frozenset[Grant], session: AsyncSession, i18n: I18n,
    settings: Settings,
) -> None:  # fmt: skip
    scope = roles.organiser_scope(grants)
    if scope is None:
        await message.answer(_("This command is for organisers only."))
        return
    text, markup = await history_page(session, scope, 0, i18n.current_locale, settings)
    await message.answer(text, reply_markup=markup)


async def on_history_page(
    callback: CallbackQuery, callback_data: HistoryCb, grants: frozenset[Grant],
    session: AsyncSession, i18n: I18n, settings: Settings,
) -> None:  # fmt: skip
    scope = roles.organiser_scope(grants)
    if scope is None:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    text, markup = await history_page(
        session, scope, callback_data.offset, i18n.current_locale, settings
    )
    if isinstance(callback.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await callback.message.edit_text(text, reply_markup=markup)


# -- a member's side: "no more of these", /instellingen ----------------------------------------


class SettingsCb(CallbackData, prefix="mset"):
    kind: str


def settings_view(member: Member) -> tuple[str, InlineKeyboardMarkup]:
    muted = {"training": member.mute_training, "news": member.mute_news}
    lines = [
        "⚙️ <b>" + _("Announcements") + "</b>",
        _(
            "Organisers send announcements of training days and general news. Turn off what "
            "you do not want: you then no longer get that kind. Messages about workshops you "
            "signed up for still reach you."
        ),
        "",
    ]
    kb = InlineKeyboardBuilder()
    for kind in broadcasts.KINDS:
        state = _("off") if muted[kind] else _("on")
        lines.append(f"{views.kind_label(kind)}: <b>{state}</b>")
        action = _("Turn on") if muted[kind] else _("Turn off")
        kb.button(
            text=f"{'🔔' if muted[kind] else '🔕'} {action}: {views.kind_label(kind)}",
            callback_data=SettingsCb(kind=kind),
        )
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


async def on_settings(message: Message, member: Member | None) -> None:
    if member is None:
        await message.answer(_("Please give your consent first: send /start."))
        return
    text, markup = settings_view(member)
    await message.answer(text, reply_markup=markup)


async def on_settings_toggle(
    callback: CallbackQuery, callback_data: SettingsCb, member: Member | None,
    session: AsyncSession,
) -> None:  # fmt: skip
    if member is None or callback_data.kind not in broadcasts.KINDS:
        await callback.answer(_("Please give your consent first: send /start."), show_alert=True)
        return
    muted = member.mute_news if callback_data.kind == "news" else member.mute_training
    await broadcasts.set_muted(session, member, callback_data.kind, not muted)
    await callback.answer(_("Saved."))
    text, markup = settings_view(member)
    if isinstance(callback.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await callback.message.edit_text(text, reply_markup=markup)


async def on_mute(
    callback: CallbackQuery, callback_data: views.MuteCb, member: Member | None,
    session: AsyncSession,
) -> None:  # fmt: skip
    """'No more of these' under an announcement: that kind is muted at once."""
    if member is None or callback_data.kind not in broadcasts.KINDS:
        await callback.answer(_("Please give your consent first: send /start."), show_alert=True)
        return
    await broadcasts.set_muted(
        session, member, callback_data.kind, True, from_broadcast=callback_data.broadcast_id
    )
    log.info("member %s muted %s announcements", member.id, callback_data.kind)
    text = (
        _("Done: no more training-day announcements. Changed your mind? /instellingen")
        if callback_data.kind == "training"
        else _("Done: no more general news. Changed your mind? /instellingen")
    )
    await callback.answer(text, show_alert=True)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("broadcasts")
    router.message.register(on_compose, Command("bericht", "announce", "utskick"))
    router.message.register(on_history, Command("berichten", "announcements", "utskicken"))
    router.message.register(on_approve_command, Command("goedkeuren", "approve", "godkann"))
    router.message.register(on_settings, Command("instellingen", "settings", "installningar"))
    router.message.register(on_stop, Command("stop"), StateFilter(Compose))
    router.message.register(on_text, StateFilter(Compose.text, Compose.version_text))
    router.message.register(on_photo, StateFilter(Compose.photo))
    router.message.register(on_link, StateFilter(Compose.link), F.text)
    router.message.register(on_workshop_number, StateFilter(Compose.workshop), F.text)
    router.message.register(on_skills, StateFilter(Compose.skills), F.text)
    router.message.register(on_filter_number, StateFilter(Compose.signed_up, Compose.track), F.text)
    router.message.register(on_when, StateFilter(Compose.when), F.text)
    router.callback_query.register(on_kind, BcCb.filter(F.action == "kind"))
    router.callback_query.register(on_button, BcCb.filter())
    router.callback_query.register(on_control, views.ControlCb.filter())
    router.callback_query.register(on_history_page, HistoryCb.filter())
    router.callback_query.register(on_settings_toggle, SettingsCb.filter())
    router.callback_query.register(on_mute, views.MuteCb.filter())
    return router
