"""The counsellor's side of the confidential path, and the admins' view of counsellors.

A counsellor answers by replying to a relayed message (or `/antwoord CODE text`); the answer
is copied to the member. `/zaken` lists their open cases (paged): close one, or hand it over
to the external counsellor or the complaints committee (the member is asked first). Admins
configure counsellors with `/vertrouwenspersonen` and see counts per month, never cases.
"""

from __future__ import annotations

import contextlib
import logging
from html import escape

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.context import get_i18n
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.formatting import long_date, split_lines
from bot.keyboards import pager
from bot.lazy import lazy_module
from bot.sealing import Keyring
from bot.services.roles import Grant, NotAdmin, RoleName, has_role
from bot.settings import Settings
from handlers.common import private_router
from handlers.confidential import ConfCb, _dump, kind_label, reply_buttons
from storage.engine import create_session_factory
from storage.models import ConfidentialCase, Counsellor

# Loaded at first use (bot/lazy.py): a rare path, and off without CONFIDENTIAL_KEY.
confidential_relay = lazy_module("bot.confidential_relay")
conf = lazy_module("bot.services.confidential")

log = logging.getLogger(__name__)


class CaseCb(CallbackData, prefix="vz"):
    action: str  # view close ext com page
    case: int = 0
    page: int = 0


def key_missing() -> str:
    return _(
        "The confidential path is off: set CONFIDENTIAL_KEY in the bot's environment (make "
        "one with <code>ledenbot confidential-key</code>) and restart the bot."
    )


async def _counsellor(
    session: AsyncSession, grants: frozenset[Grant], telegram_id: int
) -> Counsellor | None:
    """The counsellor writing, if they are one; their language remembered for the
    messages they get unasked (a new case, a hand-over)."""
    if not has_role(grants, RoleName.COUNSELLOR):
        return None
    found = await conf.counsellor_of(session, telegram_id)
    if found is not None:
        await conf.note_locale(session, found, get_i18n().current_locale)
    return found


def _ring(settings: Settings, bot: Bot) -> Keyring | None:
    try:
        return confidential_relay.ring(settings, bot)
    except conf.Unavailable:
        return None


# -- answering -----------------------------------------------------------------------------


async def is_counsellor_reply(message: Message, grants: frozenset[Grant] | None = None) -> bool:
    """A reply by someone with the counsellor role (cheap: no query)."""
    return message.reply_to_message is not None and has_role(
        grants or frozenset(), RoleName.COUNSELLOR
    )


async def on_reply(
    message: Message,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
) -> None:
    ring = _ring(settings, bot)
    counsellor = await _counsellor(session, grants, message.chat.id)
    if ring is None or counsellor is None or message.reply_to_message is None:
        raise SkipHandler
    case = await conf.routed_case(session, message.reply_to_message.message_id, counsellor)
    if case is None:
        raise SkipHandler  # a reply to something else: not ours
    if case.counsellor_id != counsellor.id:
        await message.answer(_("That case is no longer yours, or no longer exists."))
        return
    if not (message.text or message.photo or message.document):
        await message.answer(_("I can pass on text, photos and files."))
        return
    copy = {"from": message.chat.id, "mid": message.message_id}
    await _answer(message, session, ring, case, settings, bot, copy)


async def on_answer_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
) -> None:
    counsellor = await _counsellor(session, grants, message.chat.id)
    if counsellor is None:
        await message.answer(_("This command is for confidential counsellors only."))
        return
    ring = _ring(settings, bot)
    if ring is None:
        await message.answer(key_missing())
        return
    code, _sep, text = (command.args or "").strip().partition(" ")
    if not code or not text.strip():
        await message.answer(
            _("Write /antwoord, the case code and your answer: /antwoord K7QM-3XTD Hello…")
        )
        return
    try:
        case = await conf.counsellor_case_by_code(session, ring, counsellor, code)
    except conf.NotYours:
        await message.answer(_("You have no open case with that code."))
        return
    await _answer(message, session, ring, case, settings, bot, {"text": text.strip()})


async def _answer(
    message: Message,
    session: AsyncSession,
    ring: Keyring,
    case: ConfidentialCase,
    settings: Settings,
    bot: Bot,
    what: dict[str, object],
) -> None:
    code = conf.shown(conf.code_of(ring, case))
    if case.status != "open":
        await message.answer(_("Case <code>{code}</code> is closed.").format(code=code))
        return
    member_id, locale = conf.link_of(ring, case)
    i18n = _i18n_of(bot)
    with i18n.context(), i18n.use_locale(locale or i18n.default_locale):
        markup = _dump(reply_buttons(case.id))
    outcome = await confidential_relay.relay(
        bot,
        create_session_factory(session.bind),  # type: ignore[arg-type]
        settings,
        {**what, "to": member_id, "markup": markup, "wipe": True, "case": case.id,
         "back": message.chat.id, "locale": i18n.current_locale},
    )  # fmt: skip
    if outcome == confidential_relay.QUEUED:
        text = "⏳ " + _("The member cannot be reached this moment; your answer is on its way.")
    elif outcome == confidential_relay.FAILED:
        text = "⚠️ " + _("Your answer could not be delivered to case <code>{code}</code>.")
    else:
        text = "✓ " + _("Passed on to case <code>{code}</code>.")
    await message.answer(text.format(code=code))


def _i18n_of(bot: Bot) -> I18n:
    """The bot's catalogues (set for every update by the locale middleware)."""
    return get_i18n()


# -- /zaken --------------------------------------------------------------------------------


async def on_cases(
    message: Message,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    counsellor = await _counsellor(session, grants, message.chat.id)
    if counsellor is None:
        await message.answer(_("This command is for confidential counsellors only."))
        return
    ring = _ring(settings, bot)
    if ring is None:
        await message.answer(key_missing())
        return
    text, markup = await cases_page(session, ring, counsellor, 0, i18n, settings)
    await message.answer(text, reply_markup=markup)


async def cases_page(
    session: AsyncSession,
    ring: Keyring,
    counsellor: Counsellor,
    page: int,
    i18n: I18n,
    settings: Settings,
) -> tuple[str, InlineKeyboardMarkup | None]:
    cases, total = await conf.counsellor_cases(session, counsellor, page)
    if total == 0:
        return _("You have no open cases."), None
    pages = (total + conf.PAGE - 1) // conf.PAGE
    kb = InlineKeyboardBuilder()
    for case in cases:
        when = long_date(conf.opened_at(case), i18n.current_locale, settings.tz)
        shared = " 🪪" if case.identity_shared else ""
        label = f"{conf.shown(conf.code_of(ring, case))} · {when}{shared}"
        kb.button(text=label, callback_data=CaseCb(action="view", case=case.id))
    kb.adjust(1)
    if nav := pager(page, pages, lambda n: CaseCb(action="page", page=n)):
        kb.row(*nav)
    text = _("Your open cases ({count}), page {page} of {pages}:").format(
        count=total, page=page + 1, pages=pages
    )
    return text, kb.as_markup()


async def on_page(
    callback: CallbackQuery,
    callback_data: CaseCb,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    counsellor = await _counsellor(session, grants, callback.from_user.id)
    ring = _ring(settings, bot)
    if counsellor is None or ring is None:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return
    await callback.answer()
    text, markup = await cases_page(session, ring, counsellor, callback_data.page, i18n, settings)
    if callback.message is not None:
        with contextlib.suppress(TelegramAPIError):
            await bot.edit_message_text(
                text,
                chat_id=callback.from_user.id,
                message_id=callback.message.message_id,
                reply_markup=markup,
            )


async def _pressed(
    callback: CallbackQuery,
    callback_data: CaseCb,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
) -> tuple[Keyring, ConfidentialCase] | None:
    counsellor = await _counsellor(session, grants, callback.from_user.id)
    ring = _ring(settings, bot)
    if counsellor is None or ring is None:
        await callback.answer(_("That button is no longer valid."), show_alert=True)
        return None
    try:
        case = await conf.counsellor_case(session, counsellor, callback_data.case)
    except conf.NotYours:
        await callback.answer(
            _("That case is no longer yours, or no longer exists."), show_alert=True
        )
        return None
    return ring, case


async def on_view(
    callback: CallbackQuery,
    callback_data: CaseCb,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    found = await _pressed(callback, callback_data, session, grants, settings, bot)
    if found is None:
        return
    ring, case = found
    await callback.answer()
    when = long_date(conf.opened_at(case), i18n.current_locale, settings.tz)
    lines = [
        _("Case <code>{code}</code>, opened on {date}.").format(
            code=conf.shown(conf.code_of(ring, case)), date=when
        ),
        _("The member has told you who they are.")
        if case.identity_shared
        else _("The member has not said who they are."),
    ]
    kb = InlineKeyboardBuilder()
    if case.status == "open":
        kb.button(
            text="✅ " + _("Close the case"), callback_data=CaseCb(action="close", case=case.id)
        )
        reachable = await conf.handover_kinds(session, case)
        if "external" in reachable:
            kb.button(
                text="↪️ " + _("Hand over to the external counsellor"),
                callback_data=CaseCb(action="ext", case=case.id),
            )
        if "committee" in reachable:
            kb.button(
                text="↪️ " + _("Hand over to the complaints committee"),
                callback_data=CaseCb(action="com", case=case.id),
            )
    else:
        lines.append(_("This case is closed."))
    kb.adjust(1)
    await bot.send_message(callback.from_user.id, "\n".join(lines), reply_markup=kb.as_markup())


async def on_close(
    callback: CallbackQuery,
    callback_data: CaseCb,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
) -> None:
    found = await _pressed(callback, callback_data, session, grants, settings, bot)
    if found is None:
        return
    ring, case = found
    code = conf.shown(conf.code_of(ring, case))
    await conf.close(session, case)
    log.info("confidential case %s closed", case.id)
    await callback.answer(_("Case {code} is closed.").format(code=code), show_alert=True)
    member_id, locale = conf.link_of(ring, case)
    i18n = _i18n_of(bot)
    with i18n.context(), i18n.use_locale(locale or i18n.default_locale):
        text = _(
            "Your counsellor has closed this conversation. It is erased after {days} days; "
            "you can erase it sooner with /vertrouwelijk. You can always start a new one."
        ).format(days=settings.confidential_retention_days)
    await _tell_member(bot, session, ring, case, member_id, text)


async def _tell_member(
    bot: Bot,
    session: AsyncSession,
    ring: Keyring,
    case: ConfidentialCase,
    member_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> bool:
    try:
        sent = await bot.send_message(member_id, text, reply_markup=markup)
    except TelegramAPIError:
        return False
    await conf.remember(session, ring, case.id, [sent.message_id])
    return True


async def on_handover(
    callback: CallbackQuery,
    callback_data: CaseCb,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
) -> None:
    found = await _pressed(callback, callback_data, session, grants, settings, bot)
    if found is None:
        return
    ring, case = found
    kind = "external" if callback_data.action == "ext" else "committee"
    try:
        target = await conf.propose_handover(session, case, kind)
    except conf.NoCounsellor:
        await callback.answer(
            _("Nobody of that kind is reachable through the bot."), show_alert=True
        )
        return
    member_id, locale = conf.link_of(ring, case)
    i18n = _i18n_of(bot)
    with i18n.context(), i18n.use_locale(locale or i18n.default_locale):
        text = _(
            "Your counsellor suggests handing your conversation over to {name} ({kind}). "
            "They would receive your next messages; they do not see earlier ones. Do you agree?"
        ).format(name=escape(target.display_name), kind=kind_label(target.kind))
        kb = InlineKeyboardBuilder()
        kb.button(
            text=_("Yes, hand it over"), callback_data=ConfCb(action="ho", case=case.id, ref=1)
        )
        kb.button(
            text=_("No, keep it as it is"), callback_data=ConfCb(action="ho", case=case.id, ref=0)
        )
        kb.adjust(1)
    asked = await _tell_member(bot, session, ring, case, member_id, text, kb.as_markup())
    if asked:
        await callback.answer(
            _("The member is asked first; you will hear their answer."), show_alert=True
        )
    else:
        await callback.answer(_("The member cannot be reached at the moment."), show_alert=True)


# -- admins ----------------------------------------------------------------------------------

NAME_WORDS = {"name", "naam", "namn"}
TEXT_WORDS = {"text", "tekst"}
KIND_WORDS = {
    "internal": "internal", "intern": "internal", "external": "external", "extern": "external",
    "committee": "committee", "commissie": "committee", "klachtencommissie": "committee",
    "kommitte": "committee", "kommitté": "committee",
}  # fmt: skip
ON_WORDS = {"on": True, "aan": True, "på": True, "off": False, "uit": False, "av": False}


def admin_usage() -> str:
    return "\n".join(
        [
            _("<b>Confidential counsellors</b>"),
            _("First give the role: /rol 12345 counsellor. Then:"),
            _("/vertrouwenspersonen 12345 naam Ineke Jansen — the name members see"),
            _("/vertrouwenspersonen 12345 tekst … — a short text about them"),
            _("/vertrouwenspersonen 12345 intern | extern | commissie — the kind"),
            _("/vertrouwenspersonen 12345 aan | uit — reachable through the bot or not"),
        ]
    )


async def on_admin(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
) -> None:
    if not has_role(grants, RoleName.ADMIN):
        await message.answer(_("This command is for administrators only."))
        return
    if settings.confidential_key is None:
        await message.answer(key_missing())
        return
    args = (command.args or "").split(maxsplit=2)
    if not args:
        for chunk in split_lines(await _overview(session, grants), 3800):
            await message.answer(chunk)
        return
    if not args[0].isdecimal() or len(args[0]) > 15 or len(args) < 2:
        await message.answer(_("I did not understand that.") + "\n\n" + admin_usage())
        return
    target, word, rest = int(args[0]), args[1].casefold(), (args[2] if len(args) > 2 else "")
    change: dict[str, object] = {}
    if word in NAME_WORDS and rest.strip():
        change["name"] = rest.strip()
    elif word in TEXT_WORDS:
        change["about"] = rest.strip()
    elif word in KIND_WORDS:
        change["kind"] = KIND_WORDS[word]
    elif word in ON_WORDS:
        change["reachable"] = ON_WORDS[word]
    else:
        await message.answer(_("I did not understand that.") + "\n\n" + admin_usage())
        return
    try:
        profile = await conf.configure(session, grants, target, **change)  # type: ignore[arg-type]
    except conf.NotACounsellor:
        await message.answer(
            _("That person does not have the counsellor role: /rol {id} counsellor").format(
                id=target
            )
        )
        return
    except NotAdmin:
        await message.answer(_("This command is for administrators only."))
        return
    await message.answer(_profile_line(target, profile))


def _profile_line(telegram_id: int, profile: Counsellor | None) -> str:
    if profile is None or not profile.display_name:
        return f"• {telegram_id}: " + _("no name yet, so members do not see them")
    reach = (
        _("reachable through the bot") if profile.reachable else _("not reachable through the bot")
    )
    about = f" — {escape(profile.about)}" if profile.about else ""
    name = escape(profile.display_name)
    return f"• {telegram_id}: {name} ({kind_label(profile.kind)}, {reach}){about}"


async def _overview(session: AsyncSession, grants: frozenset[Grant]) -> list[str]:
    lines = [admin_usage(), ""]
    listed = await conf.listing(session, grants)
    if not listed:
        lines.append(_("Nobody has the counsellor role yet."))
    lines += [_profile_line(item.telegram_id, item.profile) for item in listed]
    months = await conf.monthly(session, grants)
    lines += ["", _("<b>Conversations per month</b> (counts only; cases are never shown)")]
    if not months:
        lines.append(_("None yet."))
    for month, opened, closed in months:
        lines.append(
            _("{month}: {opened} opened, {closed} closed").format(
                month=month, opened=opened, closed=closed
            )
        )
    return lines


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("counsellor")
    router.message.register(on_reply, is_counsellor_reply)
    router.message.register(on_answer_command, Command("antwoord", "answer", "svara"))
    router.message.register(on_cases, Command("zaken", "cases", "arenden"))
    router.message.register(
        on_admin, Command("vertrouwenspersonen", "counsellors", "fortroendepersoner")
    )
    router.callback_query.register(on_page, CaseCb.filter(F.action == "page"))
    router.callback_query.register(on_view, CaseCb.filter(F.action == "view"))
    router.callback_query.register(on_close, CaseCb.filter(F.action == "close"))
    router.callback_query.register(on_handover, CaseCb.filter(F.action.in_({"ext", "com"})))
    return router
