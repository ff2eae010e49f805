"""The member's questions: /vraag (/question, /fraga), with or without the question after it,
and the menu's "Ask a question"; a known answer first, then the volunteers; adding to an
open question, closing it, rating the answer.

Thin: the service (bot/services/questions.py) decides and stores, bot/question_views.py
words it, bot/question_cards.py tells the volunteers (after the service has committed).
Conversation state: `Ask.text` waits for a question (and holds one typed but not stored yet:
the unsafe-words pointer, the identity choice); `Ask.thread` adds messages to one question.
"""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InaccessibleMessage, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import clock, question_cards
from bot import question_views as views
from bot.keyboards import MenuCb
from bot.question_keys import QuestionCb
from bot.services import questions as qs
from bot.settings import Settings
from handlers.common import consent_first, private_router
from storage.models import Member

log = logging.getLogger(__name__)


class Ask(StatesGroup):
    text = State()  # waiting for a question; data "pending": one typed, not stored yet
    thread = State()  # data "qid": the member's messages go to this question


async def not_a_command(message: Message) -> bool:
    return not (message.text or "").startswith("/")


async def _send(bot: Bot, chat_id: int, screen: views.Screen) -> None:
    text, markup = screen
    await bot.send_message(chat_id, text, reply_markup=markup)


async def _buttons_off(callback: CallbackQuery, chosen: str | None = None) -> None:
    """Take the buttons off the message tapped, so a choice is not made twice."""
    message = callback.message
    if message is None or isinstance(message, InaccessibleMessage):
        return
    with contextlib.suppress(TelegramBadRequest):
        if chosen:
            await message.edit_text(f"{message.html_text}\n\n<b>✔️ {chosen}</b>")
        else:
            await message.edit_reply_markup(reply_markup=None)


async def _refused(callback: CallbackQuery, error: qs.Refused) -> None:
    text = views.not_yours() if isinstance(error, qs.NotYours) else views.not_now()
    await callback.answer(text, show_alert=True)


# -- asking --------------------------------------------------------------------------------


async def on_ask_command(
    message: Message,
    command: CommandObject,
    member: Member | None,
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
    bot: Bot,
) -> None:
    if member is None:
        await message.answer(_("Please give your consent first: send /start."))
        return
    typed = (command.args or "").strip()
    if typed:
        await take_question(message.chat.id, typed, member, session, state, i18n, bot)
        return
    await _prompt(message.chat.id, member, session, state, bot)


async def on_ask_button(
    callback: CallbackQuery, member: Member | None, session: AsyncSession, state: FSMContext
) -> None:
    if member is None:
        await consent_first(callback)
        return
    await callback.answer()
    await _prompt(callback.from_user.id, member, session, state, callback.bot)  # type: ignore[arg-type]


async def _prompt(
    chat_id: int, member: Member, session: AsyncSession, state: FSMContext, bot: Bot
) -> None:
    await state.set_state(Ask.text)
    await state.set_data({})
    await _send(bot, chat_id, views.ask_prompt(await qs.open_questions(session, member)))


async def on_question(
    message: Message,
    member: Member | None,
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
    bot: Bot,
) -> None:
    typed = (message.text or "").strip()
    if not typed:  # a sticker, a photo, a voice message
        await message.answer(views.type_it())
        return
    await take_question(message.chat.id, typed, member, session, state, i18n, bot)


async def take_question(
    chat_id: int,
    typed: str,
    member: Member | None,
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
    bot: Bot,
    *,
    pointed: bool = False,
) -> None:
    """A typed question: the confidential pointer first if it needs one (nothing stored),
    then a known answer (stored as suggested), else the identity choice (not stored yet)."""
    if member is None:
        await bot.send_message(chat_id, _("Please give your consent first: send /start."))
        return
    if not pointed and qs.unsafe(typed):
        await state.set_state(Ask.text)
        await state.set_data({"pending": typed})
        await _send(bot, chat_id, views.unsafe_pointer())
        return
    shown = await qs.suggest(session, member, typed, i18n.current_locale, clock.now())
    if shown is not None:
        await state.clear()
        log.info("question %s: a known answer suggested", shown.qid)
        await _send(bot, chat_id, views.suggestion(shown.qid, shown.entry))
        return
    await state.set_state(Ask.text)
    await state.set_data({"pending": typed})
    await _send(bot, chat_id, views.identity_question(0, member.first_name))


async def on_helped(
    callback: CallbackQuery, callback_data: QuestionCb, member: Member | None, session: AsyncSession
) -> None:
    try:
        await qs.helped(session, member, callback_data.qid)
    except qs.Refused as error:
        await _refused(callback, error)
        return
    await callback.answer(views.helped())
    await _buttons_off(callback, _("Yes, thanks"))
    log.info("question %s helped by a known answer", callback_data.qid)


async def on_ask_volunteers(
    callback: CallbackQuery,
    callback_data: QuestionCb,
    member: Member | None,
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
) -> None:
    """ "No, ask a volunteer" under a known answer; or, with qid 0, "ask here anyway" under
    the confidential pointer (the question typed is still only in the conversation)."""
    bot: Bot = callback.bot  # type: ignore[assignment]
    if member is None:
        await consent_first(callback)
        return
    if callback_data.qid == 0:
        typed = (await state.get_data()).get("pending")
        if not typed:
            await callback.answer(views.no_longer_waiting(), show_alert=True)
            return
        await callback.answer()
        await _buttons_off(callback)
        await take_question(
            callback.from_user.id, typed, member, session, state, i18n, bot, pointed=True
        )
        return
    try:
        await qs.suggested_question(session, member, callback_data.qid)
    except qs.Refused as error:
        await _refused(callback, error)
        return
    await callback.answer()
    await _buttons_off(callback, _("No, ask a volunteer"))
    await _send(
        bot, callback.from_user.id, views.identity_question(callback_data.qid, member.first_name)
    )


async def on_identity(
    callback: CallbackQuery,
    callback_data: QuestionCb,
    member: Member | None,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    """How the volunteers see them, chosen: the question is queued and announced."""
    bot: Bot = callback.bot  # type: ignore[assignment]
    identity = views.IDENTITY_ACTIONS[callback_data.action]
    language, now = i18n.current_locale, clock.now()
    try:
        if callback_data.qid:
            queued = await qs.queue_suggested(session, member, callback_data.qid, identity, now)
        else:
            typed = (await state.get_data()).get("pending")
            if not typed:
                await callback.answer(views.no_longer_waiting(), show_alert=True)
                return
            queued = await qs.queue_new(session, member, typed, language, identity, now)
            await state.clear()
    except qs.Refused as error:
        await _refused(callback, error)
        return
    await callback.answer()
    log.info("question %s queued", queued.qid)
    await _buttons_off(callback, views.identity_label(identity))
    await _send(bot, callback.from_user.id, views.received(queued.qid, queued.wait, language))
    await question_cards.announce(bot, qs.sessions_like(session), settings, queued.qid)


async def on_confidential(
    callback: CallbackQuery, session: AsyncSession, state: FSMContext, settings: Settings
) -> None:
    """The pointer's "talk in confidence": the typed question is dropped, never stored."""
    from handlers.confidential import show_entry

    await callback.answer()
    await _buttons_off(callback)
    await state.clear()
    await show_entry(callback.from_user.id, session, state, settings, callback.bot)  # type: ignore[arg-type]


# -- the thread ------------------------------------------------------------------------------


async def on_more(
    callback: CallbackQuery,
    callback_data: QuestionCb,
    member: Member | None,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    """[↩️ Reply] under an answer, [➕] in /vraag's list: the next messages go to it."""
    try:
        await qs.thread_question(session, member, callback_data.qid)
    except qs.NotNow:
        await callback.answer(views.closed_for_messages(), show_alert=True)
        return
    except qs.Refused as error:
        await _refused(callback, error)
        return
    await callback.answer()
    await state.set_state(Ask.thread)
    await state.set_data({"qid": callback_data.qid})
    await _send(callback.bot, callback.from_user.id, views.thread_prompt(callback_data.qid))  # type: ignore[arg-type]


async def replying_to_question(message: Message, session: AsyncSession) -> bool | dict[str, int]:
    """A filter: the member replies (Telegram's reply) to a message of a question's thread,
    such as a relayed answer; gives the handler `replied_qid`."""
    reply = message.reply_to_message
    if reply is None or (message.text or "").startswith("/"):
        return False
    qid = await qs.replied_to(session, message.chat.id, reply.message_id)
    return {"replied_qid": qid} if qid else False


async def on_reply(
    message: Message,
    replied_qid: int,
    member: Member | None,
    session: AsyncSession,
    settings: Settings,
    bot: Bot,
) -> None:
    """A reply to an answer goes to its question, in whatever state the chat is."""
    await add_to_thread(message, replied_qid, member, session, settings, bot)


async def on_thread_message(
    message: Message,
    member: Member | None,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
) -> None:
    qid = int((await state.get_data()).get("qid") or 0)
    if not await add_to_thread(message, qid, member, session, settings, bot):
        await state.clear()


async def add_to_thread(
    message: Message,
    qid: int,
    member: Member | None,
    session: AsyncSession,
    settings: Settings,
    bot: Bot,
) -> bool:
    """Store the member's text, photo or file in the question and hand it to the volunteers'
    side; False when the question no longer takes messages."""
    if message.photo:
        kind, file_id = qs.Kind.PHOTO, message.photo[-1].file_id
    elif message.document:
        kind, file_id = qs.Kind.DOCUMENT, message.document.file_id
    elif message.text and message.text.strip():
        kind, file_id = qs.Kind.TEXT, None
    else:
        await message.answer(views.thread_kinds())
        return True
    text = message.text if kind == qs.Kind.TEXT else message.caption
    try:
        row_id = await qs.follow_up(session, member, qid, kind, text, file_id, clock.now())
    except qs.Refused:
        await message.answer(views.closed_for_messages())
        return False
    await _send(bot, message.chat.id, views.added(qid))
    await question_cards.follow_up(bot, qs.sessions_like(session), settings, qid, row_id)
    return True


async def on_done(callback: CallbackQuery, callback_data: QuestionCb, state: FSMContext) -> None:
    await callback.answer()
    if await state.get_state() == Ask.thread:
        await state.clear()
    await _buttons_off(callback)
    await callback.bot.send_message(  # type: ignore[union-attr]
        callback.from_user.id, views.thread_done(callback_data.qid)
    )


async def on_close(
    callback: CallbackQuery,
    callback_data: QuestionCb,
    member: Member | None,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
) -> None:
    qid = callback_data.qid
    try:
        await qs.close(session, member, qid, clock.now())
    except qs.Refused as error:
        await _refused(callback, error)
        return
    await callback.answer(views.closed(qid))
    if (await state.get_data()).get("qid") == qid:
        await state.clear()
    log.info("question %s closed by its member", qid)
    await callback.bot.send_message(callback.from_user.id, views.closed(qid))  # type: ignore[union-attr]
    await question_cards.closed(callback.bot, qs.sessions_like(session), settings, qid)  # type: ignore[arg-type]


async def on_rate(
    callback: CallbackQuery, callback_data: QuestionCb, member: Member | None, session: AsyncSession
) -> None:
    useful = callback_data.action == "rate_yes"
    try:
        changed = await qs.rate(session, member, callback_data.qid, useful)
    except qs.NotNow:
        await callback.answer(views.not_rateable(), show_alert=True)
        return
    except qs.Refused as error:
        await _refused(callback, error)
        return
    await callback.answer(views.rated(useful, changed))


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = private_router("questions")
    router.message.register(on_ask_command, Command("vraag", "question", "fraga"))
    router.message.register(on_reply, replying_to_question)  # before the states: its thread
    router.message.register(on_question, StateFilter(Ask.text), not_a_command)
    router.message.register(on_thread_message, StateFilter(Ask.thread), not_a_command)
    router.callback_query.register(on_ask_button, MenuCb.filter(F.action == "ask"))
    router.callback_query.register(on_helped, QuestionCb.filter(F.action == "helped"))
    router.callback_query.register(on_ask_volunteers, QuestionCb.filter(F.action == "ask"))
    router.callback_query.register(
        on_identity, QuestionCb.filter(F.action.in_(tuple(views.IDENTITY_ACTIONS)))
    )
    router.callback_query.register(on_confidential, QuestionCb.filter(F.action == "confidential"))
    router.callback_query.register(on_more, QuestionCb.filter(F.action == "more"))
    router.callback_query.register(on_done, QuestionCb.filter(F.action == "done"))
    router.callback_query.register(on_close, QuestionCb.filter(F.action == "close"))
    router.callback_query.register(
        on_rate, QuestionCb.filter(F.action.in_(("rate_yes", "rate_no")))
    )
    return router
