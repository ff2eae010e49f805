"""The member's side of the confidential path: /vertrouwelijk, choosing a counsellor, the
case code, the conversation itself, sharing one's name, wiping the chat, erasing the case.

While a member is in the conversation (state `Talk.talking`) every text, photo or file they
send is copied to the counsellor at once; the bot keeps nothing of it (see
bot/confidential_relay.py). Conversation state holds only the case id, sealed to the account.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from html import escape
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.formatting import long_date
from bot.keyboards import MenuCb
from bot.lazy import lazy_module
from bot.sealing import Keyring
from bot.services import onboarding
from bot.settings import Settings
from handlers.common import private_router
from storage.engine import create_session_factory
from storage.models import ConfidentialCase, Counsellor

# Loaded at first use (bot/lazy.py): a rare path, and off without CONFIDENTIAL_KEY.
confidential_relay = lazy_module("bot.confidential_relay")
conf = lazy_module("bot.services.confidential")

log = logging.getLogger(__name__)
TEXT_BUDGET = 4000  # characters of a message, under Telegram's 4,096
MOST_CHOICES = 40  # counsellors offered as buttons (Telegram allows 100)


class Talk(StatesGroup):
    code = State()
    talking = State()


class ConfCb(CallbackData, prefix="vt"):
    action: str  # new pick code mine go share wipe purge purge_yes leave ho
    case: int = 0
    ref: int = 0  # a counsellor's id (pick), or 1/0 (ho: yes/no)
    # Before a case exists: the member's /vertrouwelijk and the explanation, so that "remove
    # this conversation" removes them too (only ever deleted in the presser's own chat).
    cmd: int = 0
    intro: int = 0


def kind_label(kind: str) -> str:
    return {
        "internal": _("internal"),
        "external": _("external"),
        "committee": _("complaints committee"),
    }.get(kind, kind)


def not_available() -> str:
    return _(
        "Confidential conversations are not available in this bot at the moment. Please "
        "contact your organisation's confidential counsellor in another way."
    )


def _ring(settings: Settings, bot: Bot) -> Keyring | None:
    try:
        return confidential_relay.ring(settings, bot)
    except conf.Unavailable:
        return None


# -- the entrance --------------------------------------------------------------------------


async def explanation(session: AsyncSession) -> str:
    lines = [
        "🔒 <b>" + _("A confidential conversation") + "</b>",
        "",
        _(
            "Are you being harassed or treated unfairly, or is something bothering you? Here "
            "you can talk to a confidential counsellor. Nobody else in the organisation — "
            "organisers, volunteers, administrators — can see that you write, or what."
        ),
        "",
        _(
            "What happens to your messages: I pass them on to the counsellor straight away "
            "and keep nothing of them. You may stay anonymous: the counsellor sees only a case "
            "code, unless you choose to tell them who you are."
        ),
    ]
    counsellors = await conf.reachable(session)
    if counsellors:
        lines += ["", "<b>" + _("The counsellors") + "</b>"]
    budget = TEXT_BUDGET - 40 - sum(len(line) + 1 for line in lines)
    for n, counsellor in enumerate(counsellors):  # within Telegram's limit, however many
        about = f" — {escape(counsellor.about)}" if counsellor.about else ""
        line = f"• {escape(counsellor.display_name)} ({kind_label(counsellor.kind)})"
        if len(line) + 1 > budget:
            lines.append(_("…and {count} more").format(count=len(counsellors) - n))
            break
        with_about = line + about
        line = with_about if len(with_about) < budget // (len(counsellors) - n) else line
        lines.append(line)
        budget -= len(line) + 1
    return "\n".join(lines)


async def on_entry(
    message: Message, session: AsyncSession, state: FSMContext, settings: Settings, bot: Bot
) -> None:
    await show_entry(message.chat.id, session, state, settings, bot, message.message_id)


async def on_entry_button(
    callback: CallbackQuery, session: AsyncSession, state: FSMContext, settings: Settings, bot: Bot
) -> None:
    await callback.answer()
    await show_entry(callback.from_user.id, session, state, settings, bot)


async def show_entry(
    chat_id: int,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
    command_id: int = 0,
) -> None:
    ring = _ring(settings, bot)
    if ring is None:
        await bot.send_message(chat_id, not_available())
        return
    await state.clear()
    kb = InlineKeyboardBuilder()
    kb.button(
        text="✍️ " + _("Start a conversation"), callback_data=ConfCb(action="new", cmd=command_id)
    )
    kb.button(text="🔑 " + _("I have a case code"), callback_data=ConfCb(action="code"))
    if await conf.cases_of_member(session, ring, chat_id):
        kb.button(text="📂 " + _("My conversations"), callback_data=ConfCb(action="mine"))
    kb.adjust(1)
    await bot.send_message(chat_id, await explanation(session), reply_markup=kb.as_markup())


async def on_new(
    callback: CallbackQuery, callback_data: ConfCb, session: AsyncSession, settings: Settings
) -> None:
    counsellors = await conf.reachable(session)
    if not counsellors:
        await callback.answer(
            _("No counsellor can be reached through the bot at the moment."), show_alert=True
        )
        return
    await callback.answer()
    kb = InlineKeyboardBuilder()
    intro = callback.message.message_id if callback.message else 0
    before = {"cmd": callback_data.cmd, "intro": intro}
    for counsellor in counsellors[:MOST_CHOICES]:
        label = f"{counsellor.display_name} ({kind_label(counsellor.kind)})"
        kb.button(text=label, callback_data=ConfCb(action="pick", ref=counsellor.id, **before))
    kb.button(text=_("Whoever is available"), callback_data=ConfCb(action="pick", ref=0, **before))
    kb.adjust(1)
    await callback.bot.send_message(  # type: ignore[union-attr]
        callback.from_user.id,
        _("Whom would you like to talk to?"),
        reply_markup=kb.as_markup(),
    )


async def on_pick(
    callback: CallbackQuery,
    callback_data: ConfCb,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    ring = _ring(settings, bot)
    if ring is None:
        await callback.answer(not_available(), show_alert=True)
        return
    user_id = callback.from_user.id
    try:
        opened = await conf.open_case(
            session, ring, user_id, callback_data.ref or None, i18n.current_locale
        )
    except conf.NoCounsellor:
        await callback.answer(
            _("That counsellor cannot be reached through the bot."), show_alert=True
        )
        return
    await callback.answer()
    log.info("confidential case %s opened", opened.case_id)
    text = "\n\n".join(
        [
            _("Your case code is <code>{code}</code>.").format(code=conf.shown(opened.code)),
            _(
                "Write it down somewhere safe: with it you can continue this conversation "
                "later, also from another phone. I show it only this once."
            ),
            _(
                "Now write your message to {name}: text, a photo or a file. Everything you "
                "send here goes to them until you press Stop."
            ).format(name=escape(opened.counsellor.display_name)),
        ]
    )
    sent = await bot.send_message(user_id, text, reply_markup=talking_buttons(opened.case_id))
    earlier = [i for i in (callback_data.cmd, callback_data.intro) if i]
    await conf.remember(session, ring, opened.case_id, [*earlier, *_ids(callback.message, sent)])
    await _talk(state, ring, opened.case_id, user_id)
    await _tell_counsellor_new(bot, session, opened, i18n)


async def _tell_counsellor_new(
    bot: Bot, session: AsyncSession, opened: conf.Opened, i18n: I18n
) -> None:
    await tell_counsellor(
        bot,
        session,
        i18n,
        opened.counsellor,
        lambda: (
            "🔒 "
            + _(
                "New confidential conversation <code>{code}</code>. The member has not said who "
                "they are. Reply to their messages to answer them (or /antwoord {code} and your "
                "text); /zaken lists your open cases."
            ).format(code=conf.shown(opened.code))
        ),
    )


async def tell_counsellor(
    bot: Bot, session: AsyncSession, i18n: I18n, counsellor: Counsellor, text: Callable[[], str]
) -> None:
    """A notice to a counsellor, written in their language. Sent directly, not through the
    outbox: it names a case code, which the outbox would keep readable."""
    with i18n.context(), i18n.use_locale(await _locale_of(session, counsellor, i18n)):
        rendered = text()
    with contextlib.suppress(TelegramAPIError):
        await bot.send_message(counsellor.telegram_id, rendered)


async def _locale_of(session: AsyncSession, counsellor: Counsellor, i18n: I18n) -> str:
    if counsellor.locale:
        return counsellor.locale
    member = await onboarding.member_of(session, counsellor.telegram_id)
    return member.locale if member is not None else i18n.default_locale


def _ids(*messages: Any) -> list[int]:
    return [m.message_id for m in messages if m is not None and hasattr(m, "message_id")]


async def _talk(state: FSMContext, ring: Keyring, case_id: int, user_id: int) -> None:
    await state.set_state(Talk.talking)
    await state.set_data({"case": conf.seal_case_ref(ring, case_id, user_id)})


def talking_buttons(case_id: int, *, shared: bool = True) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if not shared:
        kb.button(
            text="🪪 " + _("Share my name and Telegram contact with the counsellor"),
            callback_data=ConfCb(action="share", case=case_id),
        )
    kb.button(
        text="🧹 " + _("Remove this conversation from my phone"),
        callback_data=ConfCb(action="wipe", case=case_id),
    )
    kb.button(text="⏹ " + _("Stop"), callback_data=ConfCb(action="leave", case=case_id))
    kb.adjust(1)
    return kb.as_markup()


def reply_buttons(case_id: int) -> InlineKeyboardMarkup:
    """Under a counsellor's message in the member's chat."""
    kb = InlineKeyboardBuilder()
    kb.button(text="✍️ " + _("Reply"), callback_data=ConfCb(action="go", case=case_id))
    kb.button(
        text="🧹 " + _("Remove this conversation from my phone"),
        callback_data=ConfCb(action="wipe", case=case_id),
    )
    kb.adjust(1)
    return kb.as_markup()


# -- continuing: a code, or one's own list -------------------------------------------------


async def on_code_button(callback: CallbackQuery, state: FSMContext) -> None:
    await callback.answer()
    await state.set_state(Talk.code)
    await callback.bot.send_message(  # type: ignore[union-attr]
        callback.from_user.id, _("Type your case code (it looks like K7QM-3XTD).")
    )


async def on_code(
    message: Message,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    ring = _ring(settings, bot)
    if ring is None:
        await message.answer(not_available())
        return
    user_id = message.chat.id
    try:
        case_id = await conf.enter_code(
            session, ring, user_id, message.text or "", i18n.current_locale
        )
    except conf.TooManyTries:
        await state.clear()
        await message.answer(_("Too many codes tried. Please try again in an hour."))
        return
    except conf.WrongCode:
        await message.answer(
            _("I cannot open a conversation with that code. Check it and try again.")
        )
        return
    case = await conf.member_case(session, ring, case_id, user_id)
    await _back_in(message.bot, session, state, ring, case, user_id, [message.message_id])  # type: ignore[arg-type]


async def on_code_expected(message: Message) -> None:
    await message.answer(_("Type your case code (it looks like K7QM-3XTD)."))


async def on_mine(
    callback: CallbackQuery, session: AsyncSession, settings: Settings, bot: Bot, i18n: I18n
) -> None:
    ring = _ring(settings, bot)
    if ring is None:
        await callback.answer(not_available(), show_alert=True)
        return
    cases = await conf.cases_of_member(session, ring, callback.from_user.id)
    if not cases:
        await callback.answer(_("You have no conversations here."), show_alert=True)
        return
    await callback.answer()
    kb = InlineKeyboardBuilder()
    for case in cases[:20]:
        when = long_date(conf.opened_at(case), i18n.current_locale, settings.tz)
        status = _("closed") if case.status == "closed" else _("open")
        kb.button(text=f"{when} · {status}", callback_data=ConfCb(action="go", case=case.id))
    kb.adjust(1)
    await bot.send_message(
        callback.from_user.id, _("Your conversations:"), reply_markup=kb.as_markup()
    )


async def on_go(
    callback: CallbackQuery,
    callback_data: ConfCb,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
) -> None:
    found = await _pressed_case(callback, callback_data, session, settings, bot)
    if found is None:
        return
    ring, case = found
    await callback.answer()
    await _back_in(bot, session, state, ring, case, callback.from_user.id, [])


async def _back_in(
    bot: Bot,
    session: AsyncSession,
    state: FSMContext,
    ring: Keyring,
    case: ConfidentialCase,
    user_id: int,
    ids: list[int],
) -> None:
    kb = InlineKeyboardBuilder()
    kb.button(
        text="🗑 " + _("Erase this conversation"), callback_data=ConfCb(action="purge", case=case.id)
    )
    if case.status == "closed":
        text = _(
            "This conversation was closed by the counsellor. You can erase it now; otherwise "
            "it is erased automatically some time after closing."
        )
        await state.clear()
    else:
        text = _(
            "You are back in your conversation. Write your message: it goes to the counsellor."
        )
        await _talk(state, ring, case.id, user_id)
        kb.button(text="⏹ " + _("Stop"), callback_data=ConfCb(action="leave", case=case.id))
    kb.adjust(1)
    sent = await bot.send_message(user_id, text, reply_markup=kb.as_markup())
    await conf.remember(session, ring, case.id, [*ids, sent.message_id])


# -- the conversation ----------------------------------------------------------------------


async def not_a_command(message: Message) -> bool:
    text = message.text or ""
    return not text.startswith("/")


async def on_talk(
    message: Message,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
) -> None:
    ring = _ring(settings, bot)
    user_id = message.chat.id
    case = await _current(session, state, ring, user_id) if ring else None
    if ring is None or case is None or case.status != "open":
        await state.clear()
        await message.answer(
            _("This conversation is no longer open. Start again with /vertrouwelijk.")
        )
        return
    if not (message.text or message.photo or message.document):
        await message.answer(_("I can pass on text, photos and files."))
        return
    counsellor = await conf.counsellor_by_id(session, case.counsellor_id)
    if counsellor is None:
        await message.answer(_("Your counsellor can no longer be reached through the bot."))
        return
    code = conf.code_of(ring, case)
    outcome = await confidential_relay.relay(
        bot,
        create_session_factory(session.bind),  # type: ignore[arg-type]
        settings,
        {
            "to": counsellor.telegram_id, "from": user_id, "mid": message.message_id,
            "markup": _dump(case_button(case.id, code)), "route": counsellor.id,
            "case": case.id, "back": user_id,
            "locale": conf.link_of(ring, case)[1],
        },
    )  # fmt: skip
    if outcome == confidential_relay.QUEUED:
        text = "⏳ " + _(
            "The counsellor cannot be reached this moment. Your message is on its way; if it "
            "cannot be delivered within 7 days, I will tell you."
        )
    elif outcome == confidential_relay.FAILED:
        text = "⚠️ " + _("Your message could not be delivered. Please try again later.")
    else:
        text = "✓ " + _("Passed on to {name}.").format(name=escape(counsellor.display_name))
    sent = await message.answer(
        text, reply_markup=talking_buttons(case.id, shared=case.identity_shared)
    )
    await conf.remember(session, ring, case.id, [message.message_id, sent.message_id])


def case_button(case_id: int, code: str) -> InlineKeyboardMarkup:
    """Under a relayed message in the counsellor's chat: the case code, opening the case."""
    from handlers.counsellor import CaseCb

    kb = InlineKeyboardBuilder()
    kb.button(text=f"🔒 {conf.shown(code)}", callback_data=CaseCb(action="view", case=case_id))
    return kb.as_markup()


def _dump(markup: InlineKeyboardMarkup) -> dict[str, Any]:
    return markup.model_dump(mode="json", exclude_none=True)


async def _current(
    session: AsyncSession, state: FSMContext, ring: Keyring, user_id: int
) -> ConfidentialCase | None:
    ref = (await state.get_data()).get("case")
    case_id = conf.open_case_ref(ring, str(ref), user_id) if ref else None
    if case_id is None:
        return None
    try:
        return await conf.member_case(session, ring, case_id, user_id)
    except conf.NotYours:
        return None


async def _pressed_case(
    callback: CallbackQuery,
    callback_data: ConfCb,
    session: AsyncSession,
    settings: Settings,
    bot: Bot,
) -> tuple[Keyring, ConfidentialCase] | None:
    """The case a member's button refers to, if it is still theirs (else an alert)."""
    ring = _ring(settings, bot)
    if ring is None:
        await callback.answer(not_available(), show_alert=True)
        return None
    try:
        case = await conf.member_case(session, ring, callback_data.case, callback.from_user.id)
    except conf.NotYours:
        await callback.answer(_("That conversation no longer exists."), show_alert=True)
        return None
    return ring, case


async def on_leave(callback: CallbackQuery, state: FSMContext) -> None:
    await callback.answer()
    await _left(callback.bot, state, callback.from_user.id)  # type: ignore[arg-type]


async def on_leave_command(message: Message, state: FSMContext, bot: Bot) -> None:
    await _left(bot, state, message.chat.id)


async def _left(bot: Bot, state: FSMContext, chat_id: int) -> None:
    await state.clear()
    await bot.send_message(
        chat_id,
        _(
            "You have left the confidential conversation: your messages no longer go to the "
            "counsellor. Come back any time with /vertrouwelijk."
        ),
    )


async def on_share(
    callback: CallbackQuery,
    callback_data: ConfCb,
    session: AsyncSession,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    found = await _pressed_case(callback, callback_data, session, settings, bot)
    if found is None:
        return
    ring, case = found
    counsellor = await conf.counsellor_by_id(session, case.counsellor_id)
    if counsellor is None or not await conf.share_identity(session, case):
        await callback.answer(_("The counsellor already knows who you are."), show_alert=True)
        return
    await callback.answer(_("Shared: the counsellor now knows who you are."), show_alert=True)
    person = callback.from_user
    name = escape(" ".join(p for p in (person.first_name, person.last_name) if p))
    handle = f" (@{escape(person.username)})" if person.username else ""
    code = conf.shown(conf.code_of(ring, case))
    await tell_counsellor(
        bot,
        session,
        i18n,
        counsellor,
        lambda: (
            "🪪 "
            + _(
                "The member of case <code>{code}</code> shares who they are: {name}{handle}, "
                '<a href="tg://user?id={id}">open their chat</a>.'
            ).format(code=code, name=name, handle=handle, id=person.id)
        ),
    )


async def on_wipe(
    callback: CallbackQuery,
    callback_data: ConfCb,
    session: AsyncSession,
    settings: Settings,
    bot: Bot,
) -> None:
    found = await _pressed_case(callback, callback_data, session, settings, bot)
    if found is None:
        return
    ring, case = found
    await callback.answer(_("Removing the conversation from this chat…"))
    await wipe(bot, session, ring, case, callback.from_user.id, callback.message)


async def wipe(
    bot: Bot,
    session: AsyncSession,
    ring: Keyring,
    case: ConfidentialCase,
    chat_id: int,
    pressed: Any = None,
) -> int:
    """Delete the case's messages in the member's chats (Telegram allows it for 48 hours):
    this phone's, and another's the conversation was continued from."""
    targets = await conf.take_wipe(session, ring, case)
    if pressed is not None and hasattr(pressed, "message_id"):
        targets.append((chat_id, pressed.message_id))
    deleted = 0
    for chat, message_id in dict.fromkeys(targets):
        try:
            await bot.delete_message(chat, message_id)
            deleted += 1
        except TelegramAPIError:
            continue  # already gone, or too old
    return deleted


async def on_purge(
    callback: CallbackQuery,
    callback_data: ConfCb,
    session: AsyncSession,
    settings: Settings,
    bot: Bot,
) -> None:
    found = await _pressed_case(callback, callback_data, session, settings, bot)
    if found is None:
        return
    await callback.answer()
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("Yes, erase this conversation"),
        callback_data=ConfCb(action="purge_yes", case=callback_data.case),
    )
    kb.button(text=_("No"), callback_data=ConfCb(action="leave", case=callback_data.case))
    kb.adjust(1)
    await bot.send_message(
        callback.from_user.id,
        _(
            "Erase this conversation? The counsellor is told that it ended, and the case code "
            "no longer works. This cannot be undone."
        ),
        reply_markup=kb.as_markup(),
    )


async def on_purge_yes(
    callback: CallbackQuery,
    callback_data: ConfCb,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    found = await _pressed_case(callback, callback_data, session, settings, bot)
    if found is None:
        return
    ring, case = found
    await callback.answer(_("The conversation has been erased."), show_alert=True)
    code = conf.code_of(ring, case)
    counsellor = await conf.counsellor_by_id(session, case.counsellor_id)
    await wipe(bot, session, ring, case, callback.from_user.id, callback.message)
    await conf.purge(session, case)
    await state.clear()
    log.info("a confidential case was erased by its member")
    await bot.send_message(callback.from_user.id, "🗑 " + _("The conversation has been erased."))
    if counsellor is not None:
        await tell_counsellor(
            bot,
            session,
            i18n,
            counsellor,
            lambda: _("Case <code>{code}</code> was ended and erased by the member.").format(
                code=conf.shown(code)
            ),
        )


async def on_handover_answer(
    callback: CallbackQuery,
    callback_data: ConfCb,
    session: AsyncSession,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    found = await _pressed_case(callback, callback_data, session, settings, bot)
    if found is None:
        return
    ring, case = found
    yes = callback_data.ref == 1
    try:
        before, after = await conf.answer_handover(session, case, yes)
    except conf.NotYours:
        await callback.answer(_("That question has already been answered."), show_alert=True)
        return
    await callback.answer()
    if callback.message is not None:
        with contextlib.suppress(TelegramAPIError):
            await bot.edit_message_reply_markup(
                chat_id=callback.from_user.id, message_id=callback.message.message_id
            )
    name = escape(after.display_name) if after else "?"
    if yes:
        reply = _("Done: from now on {name} receives your messages.").format(name=name)
    else:
        reply = _("Fine: your conversation stays with your counsellor.")
    sent = await bot.send_message(callback.from_user.id, reply)
    await conf.remember(session, ring, case.id, [sent.message_id])
    code = conf.shown(conf.code_of(ring, case))
    for person, role in ((before, "before"), (after, "after") if yes else (None, "")):
        if person is None:
            continue
        await tell_counsellor(
            bot,
            session,
            i18n,
            person,
            lambda role=role: _handover_note(role, yes).format(code=code, name=name),
        )


def _handover_note(role: str, yes: bool) -> str:
    if role == "after":
        return "🔒 " + _(
            "Case <code>{code}</code> was handed over to you, with the member's consent. "
            "Their next messages come here; reply to them to answer."
        )
    if yes:
        return _("The member agreed: case <code>{code}</code> now goes to {name}.")
    return _("The member prefers to keep case <code>{code}</code> with you.")


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("confidential")
    router.message.register(on_entry, Command("vertrouwelijk", "confidential", "fortroligt"))
    router.message.register(on_leave_command, Command("klaar", "done", "klar"))
    router.message.register(on_code, StateFilter(Talk.code), F.text, not_a_command)
    router.message.register(on_code_expected, StateFilter(Talk.code), not_a_command)
    router.message.register(on_talk, StateFilter(Talk.talking), not_a_command)
    router.callback_query.register(on_entry_button, MenuCb.filter(F.action == "confidential"))
    router.callback_query.register(on_new, ConfCb.filter(F.action == "new"))
    router.callback_query.register(on_pick, ConfCb.filter(F.action == "pick"))
    router.callback_query.register(on_code_button, ConfCb.filter(F.action == "code"))
    router.callback_query.register(on_mine, ConfCb.filter(F.action == "mine"))
    router.callback_query.register(on_go, ConfCb.filter(F.action == "go"))
    router.callback_query.register(on_leave, ConfCb.filter(F.action == "leave"))
    router.callback_query.register(on_share, ConfCb.filter(F.action == "share"))
    router.callback_query.register(on_wipe, ConfCb.filter(F.action == "wipe"))
    router.callback_query.register(on_purge, ConfCb.filter(F.action == "purge"))
    router.callback_query.register(on_purge_yes, ConfCb.filter(F.action == "purge_yes"))
    router.callback_query.register(on_handover_answer, ConfCb.filter(F.action == "ho"))
    router.startup.register(on_startup)
    return router


async def on_startup(bot: Bot, settings: Settings) -> None:
    """Without the key the path is off (said once); with it, the sender may open sealed
    relays. The keyring itself (and `cryptography`) is loaded on first use."""
    if settings.confidential_key is None:
        log.warning("CONFIDENTIAL_KEY is not set: the confidential path is off")
        return
    outbox.enable_sealed(bot, settings.confidential_key.get_secret_value())
