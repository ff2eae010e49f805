"""The volunteers' side of members' questions: link the volunteers' group (`/koppel
vrijwilligers`, by an admin, in the group), Claim (in the group, a private notice or the
queue), the thread in private chat with Answer / Canned answer / Note / Release / Resolve,
answers by replying to a relayed message, `/mijnvragen` and `/wachtrij`.

Thin: the desk (bot/services/question_desk.py) decides, bot/question_cards.py renders and
talks to Telegram. Every button re-reads the question and checks who pressed it.
"""

from __future__ import annotations

import contextlib
import logging
from html import escape

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.context import get_i18n
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot import question_cards as cards
from bot.formatting import short_when
from bot.keyboards import pager
from bot.lazy import lazy_module
from bot.question_keys import QuestionCb
from bot.services import question_desk as desk
from bot.services import regions
from bot.services.question_desk import Question
from bot.services.roles import Grant
from bot.settings import SUPPORTED_LOCALES, Settings
from handlers.common import private_router

# Loaded at first use (bot/lazy.py): the knowledge base is for canned answers only here.
knowledge = lazy_module("bot.services.knowledge")

log = logging.getLogger(__name__)

LINK_WORDS = {"vrijwilligers", "volunteers", "volontarer", "volontärer"}
ALL = "-"  # "no filter" in the queue's buttons


class Desk(StatesGroup):
    answering = State()  # the next message is the answer to data["qid"]
    noting = State()  # the next text is a private note on data["qid"]


async def not_a_command(message: Message) -> bool:
    return not (message.text or "").startswith("/")


def _refusal(error: desk.DeskError) -> str:
    if isinstance(error, desk.NotVolunteer):
        return _("Only volunteers can take questions. An administrator can give you the role.")
    if isinstance(error, desk.Gone):
        return _("That question no longer exists.")
    if isinstance(error, desk.AtCap):
        return _(
            "You already have {cap} open questions: answer or release one of them first."
        ).format(cap=error.cap)
    if isinstance(error, desk.Taken) and error.question.state == "closed":
        return _("That question is closed.")
    return _("That question is not yours (any more).")


# -- linking the group ---------------------------------------------------------------------


async def on_link(
    message: Message, command: CommandObject, session: AsyncSession, grants: frozenset[Grant]
) -> None:
    if message.chat.type == ChatType.PRIVATE:
        await message.answer(
            _(
                "Add me to the volunteers' Telegram group, then send there: "
                "<code>/koppel vrijwilligers</code>"
            )
        )
        return
    if (command.args or "").strip().casefold() not in LINK_WORDS:
        await message.answer(_("To link this group for volunteers: /koppel vrijwilligers"))
        return
    user = message.from_user
    try:
        await desk.link_group(session, grants, message.chat.id, message.chat.title,
                              user.id if user else 0)  # fmt: skip
    except desk.NotAdmin:
        await message.answer(_("Only an administrator can link this group."))
        return
    log.info("volunteers' group linked: chat %s", message.chat.id)
    await message.answer(
        "✅ "
        + _(
            "This is now the volunteers' group: new questions appear here with a Claim "
            "button. Volunteers need the role (/rol ID vrijwilliger) and a private chat with "
            "me, where they answer."
        )
    )


# -- claiming --------------------------------------------------------------------------------


async def on_claim(
    callback: CallbackQuery,
    callback_data: QuestionCb,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    question = await _claim(callback, callback_data.qid, session, grants, settings, bot)
    if question is None:
        return
    holder = escape(callback.from_user.first_name)
    message = callback.message
    if message is not None and not isinstance(message, InaccessibleMessage):
        private = message.chat.type == ChatType.PRIVATE
        locale = i18n.current_locale if private else settings.default_locale
        text = await cards.card_for(session, settings, question, holder, locale)
        with contextlib.suppress(TelegramAPIError):
            await message.edit_text(text, reply_markup=None)
        if message.message_id == question.card_message_id:
            return
    await cards.refresh_card(bot, session, settings, question, holder)


async def _claim(
    callback: CallbackQuery,
    qid: int,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
) -> Question | None:
    """Claim, tell the volunteer privately, answer the tap; None if refused."""
    user = callback.from_user
    try:
        question = await desk.claim(session, grants, qid, user.id, settings.question_claim_cap)
    except desk.Taken as taken:
        if taken.question.state == "claimed":
            name = await cards.holder_name(bot, session, taken.question.volunteer_id)
            await callback.answer(
                _("Already taken by {name}.").format(name=name or _("another volunteer")),
                show_alert=True,
            )
            return None
        await callback.answer(_refusal(taken), show_alert=True)
        return None
    except desk.DeskError as refused:
        await callback.answer(_refusal(refused), show_alert=True)
        return None
    locale = get_i18n().current_locale
    if not await cards.send_thread(bot, session, settings, question, user.id, locale=locale):
        await desk.unclaim(session, qid, user.id)
        await callback.answer(
            _(
                "I cannot write to you privately yet: open a chat with me first (tap my name, "
                "then Start), then claim again."
            ),
            show_alert=True,
        )
        return None
    log.info("question %s claimed", qid)
    await callback.answer(_("It is yours: the question is in your private chat with me."))
    return question


# -- the thread ------------------------------------------------------------------------------


async def _held(
    callback: CallbackQuery, qid: int, session: AsyncSession, grants: frozenset[Grant]
) -> Question | None:
    try:
        return await desk.held(session, grants, qid, callback.from_user.id)
    except desk.DeskError as refused:
        await callback.answer(_refusal(refused), show_alert=True)
        return None


async def _strip_buttons(
    callback: CallbackQuery, outcome: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """The tapped message keeps its text, loses its buttons (or gets `markup`), and says
    what became of it."""
    message = callback.message
    if message is None or isinstance(message, InaccessibleMessage):
        return
    with contextlib.suppress(TelegramAPIError):
        text = f"{message.html_text}\n\n<b>{outcome}</b>"  # outcome: our HTML, escaped
        await message.edit_text(text, reply_markup=markup)


async def on_view(
    callback: CallbackQuery,
    callback_data: QuestionCb,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
) -> None:
    question = await _held(callback, callback_data.qid, session, grants)
    if question is None:
        return
    await callback.answer()
    locale = get_i18n().current_locale
    await cards.send_thread(bot, session, settings, question, callback.from_user.id, locale=locale)


async def on_answer_button(
    callback: CallbackQuery,
    callback_data: QuestionCb,
    session: AsyncSession,
    grants: frozenset[Grant],
    state: FSMContext,
) -> None:
    question = await _held(callback, callback_data.qid, session, grants)
    if question is not None:
        prompt = _(
            "Write your answer to {about}: a text, a photo or a file. It goes to the member "
            "as you write it. /stop to cancel."
        )
        await _write(callback, state, Desk.answering, question, "✍️ " + prompt)


async def on_note_button(
    callback: CallbackQuery,
    callback_data: QuestionCb,
    session: AsyncSession,
    grants: frozenset[Grant],
    state: FSMContext,
) -> None:
    question = await _held(callback, callback_data.qid, session, grants)
    if question is not None:
        prompt = _(
            "Write your note on {about}. Only volunteers see it, never the member. /stop to cancel."
        )
        await _write(callback, state, Desk.noting, question, "📝 " + prompt)


async def _write(
    callback: CallbackQuery, state: FSMContext, writing: State, question: Question, prompt: str
) -> None:
    """The volunteer's next messages are an answer or a note on this question: say so."""
    await state.set_state(writing)
    await state.set_data({"qid": question.id})
    await callback.answer()
    await callback.bot.send_message(  # type: ignore[union-attr]
        callback.from_user.id, prompt.format(about=cards.about(question))
    )


async def on_stop(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Stopped. Nothing was sent."))


async def on_note(
    message: Message, state: FSMContext, session: AsyncSession, grants: frozenset[Grant]
) -> None:
    qid = int((await state.get_data()).get("qid", 0))
    if not message.text:
        await message.answer(_("A note is text only. Write it, or /stop."))
        return
    await state.clear()
    try:
        await desk.note(session, grants, qid, message.chat.id, message.text)
    except desk.DeskError as refused:
        await message.answer(_refusal(refused))
        return
    await message.answer(
        "📝 " + _("Note kept on #{qid}. The member does not see it.").format(qid=qid)
    )


async def on_answer(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    qid = int((await state.get_data()).get("qid", 0))
    if await _relay_message(message, qid, session, grants, settings, bot, i18n):
        await state.clear()


async def is_desk_reply(message: Message, grants: frozenset[Grant] | None = None) -> bool:
    """A reply by someone who may answer questions (cheap: no query)."""
    return message.reply_to_message is not None and desk.may_act(grants or frozenset())


async def on_reply(
    message: Message,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
    i18n: I18n,
    state: FSMContext,
) -> None:
    assert message.reply_to_message is not None
    question = await desk.routed(session, message.chat.id, message.reply_to_message.message_id)
    if question is None or question.telegram_id == message.chat.id:
        raise SkipHandler  # not a copy of ours, or their own question as a member
    if await _relay_message(message, question.id, session, grants, settings, bot, i18n):
        await state.clear()


def _reply_of(message: Message) -> tuple[desk.Reply, str | None] | None:
    if message.text:
        return desk.Reply("text", message.text), message.html_text
    if message.photo:
        return desk.Reply("photo", message.caption, message.photo[-1].file_id), None
    if message.document:
        return desk.Reply("document", message.caption, message.document.file_id), None
    return None


async def _relay_message(
    message: Message,
    qid: int,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> bool:
    """Relay what the volunteer sent; False when there was nothing to relay."""
    found = _reply_of(message)
    if found is None:
        await message.answer(_("I can pass on text, photos and files."))
        return False
    reply, html = found
    name = message.from_user.first_name if message.from_user else "?"
    source = (message.chat.id, message.message_id)
    outcome = await _relay(session, grants, settings, bot, i18n, qid, reply, html, name, source)
    if outcome is None:
        return True
    sent = await message.answer(outcome)
    await desk.route(session, message.chat.id, sent.message_id, qid)
    return True


async def _relay(
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
    i18n: I18n,
    qid: int,
    reply: desk.Reply,
    html: str | None,
    name: str,
    source: tuple[int, int],
) -> str | None:
    """The answer kept and delivered (retried through the outbox); what to tell the
    volunteer, or None for a duplicate delivery of the same message."""
    try:
        question, ids = await desk.answer(
            session, grants, qid, source[0], reply, source,
            lambda q: cards.answer_letters(q, reply, html, name, i18n),
        )  # fmt: skip
    except desk.Duplicate:
        return None
    except desk.DeskError as refused:
        return _refusal(refused)
    log.info("question %s: answer relayed (%s messages)", qid, len(ids))
    outcome = await cards.deliver(bot, cards.sessions_of(session), ids)
    about = cards.about(question)
    if outcome == "sent":
        return "✓ " + _("Sent to {about}. Reply to this message to write more.").format(about=about)
    if outcome == "unreachable":
        return "⚠️ " + _(
            "{about} has blocked the bot, so your answer could not be delivered."
        ).format(about=about)
    if outcome == "failed":
        return "⚠️ " + _("Your answer to {about} could not be delivered.").format(about=about)
    return "⏳ " + _("{about} cannot be reached this moment; your answer is on its way.").format(
        about=about
    )


async def on_release(
    callback: CallbackQuery,
    callback_data: QuestionCb,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
    state: FSMContext,
) -> None:
    try:
        question = await desk.release(session, grants, callback_data.qid, callback.from_user.id)
    except desk.DeskError as refused:
        await callback.answer(_refusal(refused), show_alert=True)
        return
    await _forget(state, question.id)
    log.info("question %s released", question.id)
    await callback.answer(_("Released: the question is back in the queue."))
    await _strip_buttons(callback, "↩️ " + _("Released."))
    await cards.refresh_card(bot, session, settings, question)


async def on_resolve(
    callback: CallbackQuery,
    callback_data: QuestionCb,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
    i18n: I18n,
    state: FSMContext,
) -> None:
    name = callback.from_user.first_name
    try:
        question, _rows = await desk.resolve(
            session, grants, callback_data.qid, callback.from_user.id,
            lambda q: cards.rate_letters(q, name, i18n),
        )  # fmt: skip
    except desk.DeskError as refused:
        await callback.answer(_refusal(refused), show_alert=True)
        return
    await _forget(state, question.id)
    log.info("question %s resolved", question.id)
    outbox.sender_for(bot, cards.sessions_of(session)).wake()
    await callback.answer(_("Resolved. The member is asked whether the answer helped."))
    await _strip_buttons(callback, "✅ " + _("Resolved."), _propose_button(question.id))
    await cards.refresh_card(bot, session, settings, question)


def _propose_button(qid: int) -> InlineKeyboardMarkup:
    """The resolved answer, for the knowledge base: an organiser approves it (/kennisbank)."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text="💡 " + _("Propose this answer for the knowledge base"),
        callback_data=QuestionCb(action="kb", qid=qid),
    )
    return kb.as_markup()


async def on_propose(
    callback: CallbackQuery,
    callback_data: QuestionCb,
    session: AsyncSession,
    grants: frozenset[Grant],
) -> None:
    try:
        found = await desk.proposal(session, grants, callback_data.qid, callback.from_user.id)
    except desk.DeskError as refused:
        await callback.answer(_refusal(refused), show_alert=True)
        return
    if found is None:
        await callback.answer(_("Only a text answer can be proposed."), show_alert=True)
        return
    await knowledge.propose(
        session, found.language, found.question, found.answer, callback.from_user.id
    )
    log.info("question %s: answer proposed for the knowledge base", callback_data.qid)
    await callback.answer(_("Thank you! An organiser checks it before members see it."))
    await _strip_buttons(callback, "💡 " + _("Proposed for the knowledge base."))


async def _forget(state: FSMContext, qid: int) -> None:
    """A released or resolved question is no longer what the next message answers."""
    if int((await state.get_data()).get("qid", 0)) == qid:
        await state.clear()


# -- canned answers --------------------------------------------------------------------------


async def _canned_page(
    session: AsyncSession, question: Question, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    entries = await knowledge.entries(session, question.language)
    pages = max(1, (len(entries) + desk.PAGE - 1) // desk.PAGE)
    page = min(max(0, page), pages - 1)
    kb = InlineKeyboardBuilder()
    shown = entries[page * desk.PAGE : (page + 1) * desk.PAGE]
    listed = 0
    for entry in shown:
        data = QuestionCb(action=f"cv.{entry.entry_id}", qid=question.id)
        try:
            data.pack()
        except ValueError:  # an id too long for a button's 64 bytes (send it from its card)
            continue
        kb.button(text=cards.cut_plain(entry.question, 60), callback_data=data)
        listed += 1
    nav = []
    if page > 0:
        nav.append(("‹", page - 1))
    if page + 1 < pages:
        nav.append(("›", page + 1))
    for label, target in nav:
        kb.button(text=label, callback_data=QuestionCb(action=f"cp.{target}", qid=question.id))
    kb.adjust(*([1] * listed), len(nav) or 1)
    text = "📚 " + _(
        "Canned answers for {about}, page {page} of {pages}. Tap one to see it first."
    ).format(about=cards.about(question), page=page + 1, pages=pages)
    if not entries:
        text = _("There are no known answers in this language yet.")
    return text, kb.as_markup()


async def on_canned(
    callback: CallbackQuery,
    callback_data: QuestionCb,
    session: AsyncSession,
    grants: frozenset[Grant],
) -> None:
    question = await _held(callback, callback_data.qid, session, grants)
    if question is None:
        return
    await callback.answer()
    if callback_data.action == "canned":
        text, markup = await _canned_page(session, question, 0)
        await callback.bot.send_message(callback.from_user.id, text, reply_markup=markup)  # type: ignore[union-attr]
        return
    page = _number(callback_data.action.removeprefix("cp."))
    text, markup = await _canned_page(session, question, page)
    await _edit(callback, text, markup)


async def on_canned_view(
    callback: CallbackQuery,
    callback_data: QuestionCb,
    session: AsyncSession,
    grants: frozenset[Grant],
) -> None:
    question = await _held(callback, callback_data.qid, session, grants)
    if question is None:
        return
    entry_id = callback_data.action.removeprefix("cv.")
    entry = await knowledge.entry(session, question.language, entry_id)
    if entry is None:
        await callback.answer(_("That answer is no longer in the knowledge base."), show_alert=True)
        return
    await callback.answer()
    kb = InlineKeyboardBuilder()
    kb.button(
        text="📤 " + _("Send this answer"),
        callback_data=QuestionCb(action=f"cs.{entry.entry_id}", qid=question.id),
    )
    kb.button(
        text="‹ " + _("Back to the list"), callback_data=QuestionCb(action="cp.0", qid=question.id)
    )
    kb.adjust(1)
    text = f"<b>{escape(entry.question)}</b>\n\n{escape(entry.answer)}\n\n" + _(
        "Send this to {about}?"
    ).format(about=cards.about(question))
    await _edit(callback, text, kb.as_markup())


async def on_canned_send(
    callback: CallbackQuery,
    callback_data: QuestionCb,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    question = await _held(callback, callback_data.qid, session, grants)
    if question is None or callback.message is None:
        return
    entry = await knowledge.entry(session, question.language, callback_data.action[3:])
    if entry is None:
        await callback.answer(_("That answer is no longer in the knowledge base."), show_alert=True)
        return
    await callback.answer()
    source = (callback.from_user.id, callback.message.message_id)  # one send per preview
    reply = desk.Reply("text", entry.answer)
    outcome = await _relay(
        session, grants, settings, bot, i18n, question.id, reply, escape(entry.answer),
        callback.from_user.first_name, source,
    )  # fmt: skip
    if outcome is not None:
        await _strip_buttons(callback, outcome)


# -- /mijnvragen and /wachtrij ----------------------------------------------------------------


def _number(text: str) -> int:
    return int(text) if text.isdecimal() and len(text) < 6 else 0


async def _edit(
    callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    message = callback.message
    if message is None or isinstance(message, InaccessibleMessage):
        return
    with contextlib.suppress(TelegramAPIError):
        await message.edit_text(text, reply_markup=markup)


async def _mine_page(
    session: AsyncSession, volunteer_id: int, page: int, settings: Settings, locale: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    threads, total = await desk.my_threads(session, volunteer_id, page)
    if total == 0:
        return _("You hold no open questions. See the queue: /wachtrij"), None
    pages = (total + desk.PAGE - 1) // desk.PAGE
    kb = InlineKeyboardBuilder()
    for question in threads:
        since = short_when(question.claimed_at or question.created_at, locale, settings.tz)
        kb.button(
            text=cards.cut_plain(f"#{question.id} · {cards.flag(question.language)} · {since}", 60),
            callback_data=QuestionCb(action="view", qid=question.id),
        )
    kb.adjust(1)
    if nav := pager(page, pages, lambda n: QuestionCb(action=f"mp.{n}", qid=0)):
        kb.row(*nav)
    text = "🧵 " + _("Your open questions ({count}), page {page} of {pages}:").format(
        count=total, page=min(page, pages - 1) + 1, pages=pages
    )
    return text, kb.as_markup()


async def on_mine(
    message: Message,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    i18n: I18n,
    state: FSMContext,
) -> None:
    if not desk.may_act(grants):
        await message.answer(_("This command is for volunteers."))
        return
    await state.clear()
    text, markup = await _mine_page(session, message.chat.id, 0, settings, i18n.current_locale)
    await message.answer(text, reply_markup=markup)


async def on_mine_page(
    callback: CallbackQuery,
    callback_data: QuestionCb,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    i18n: I18n,
) -> None:
    if not desk.may_act(grants):
        await callback.answer(_("This command is for volunteers."), show_alert=True)
        return
    await callback.answer()
    page = _number(callback_data.action.removeprefix("mp."))
    text, markup = await _mine_page(
        session, callback.from_user.id, page, settings, i18n.current_locale
    )
    await _edit(callback, text, markup)


def _queue_data(action: str, language: str | None, region: str | None, page: int) -> str:
    return f"{action}.{language or ALL}.{region or ALL}.{page}"


def _parse_filter(action: str) -> tuple[str | None, str | None, int]:
    parts = action.split(".")
    if len(parts) != 4:
        return None, None, 0
    language = parts[1] if parts[1] in SUPPORTED_LOCALES else None
    region = parts[2] if parts[2] != ALL else None
    return language, region, _number(parts[3])


async def _queue_page(
    session: AsyncSession,
    language: str | None,
    region: str | None,
    page: int,
    settings: Settings,
    locale: str,
) -> tuple[str, InlineKeyboardMarkup]:
    waiting, total = await desk.queue(session, language, region, page)
    configured = await regions.configured(session)
    names = {r.code: r.name for r in configured}
    pages = max(1, (total + desk.PAGE - 1) // desk.PAGE)
    shown = [cards.flag(language) if language else "🌐"]
    if region:
        shown.append(escape(names.get(region, region)))
    lines = [
        "📥 "
        + _("Open questions, oldest first: {count} ({filter}), page {page} of {pages}").format(
            count=total, filter=" · ".join(shown), page=min(page, pages - 1) + 1, pages=pages
        )
    ]
    if total == 0:
        lines.append(_("Nobody is waiting for an answer. 🎉"))
    kb = InlineKeyboardBuilder()
    for question in waiting:
        first = await cards.first_words(session, question.id, 80)
        since = short_when(question.queued_at or question.created_at, locale, settings.tz)
        place = (
            f" · {escape(names.get(question.region_code, question.region_code))}"
            if (question.region_code)
            else ""
        )
        lines.append(
            f"\n<b>#{question.id}</b> · {cards.flag(question.language)}{place} · "
            f"{escape(since)} · {cards.who(question)}\n{first}"
        )
        kb.button(
            text="🙋 " + _("Claim #{qid}").format(qid=question.id),
            callback_data=QuestionCb(
                action=_queue_data("qc", language, region, page), qid=question.id
            ),
        )
    sizes = [2] * ((len(waiting) + 1) // 2)
    for code in (None, *SUPPORTED_LOCALES):
        mark = "• " if code == language else ""
        kb.button(
            text=mark + (cards.flag(code) if code else "🌐"),
            callback_data=QuestionCb(action=_queue_data("w", code, region, 0), qid=0),
        )
    sizes.append(1 + len(SUPPORTED_LOCALES))
    region_buttons = [(None, _("All regions"))] + [(r.code, r.name) for r in configured[:11]]
    for code, name in region_buttons:
        if code is not None and len(_queue_data("qc", "nl", code, 99)) > 40:
            continue  # a code too long for a button's data
        mark = "• " if code == region else ""
        kb.button(
            text=mark + cards.cut_plain(name, 20),
            callback_data=QuestionCb(action=_queue_data("w", language, code, 0), qid=0),
        )
    sizes += [3] * ((len(region_buttons) + 2) // 3)
    kb.adjust(*sizes)
    data = lambda n: QuestionCb(action=_queue_data("w", language, region, n), qid=0)  # noqa: E731
    if nav := pager(page, pages, data):
        kb.row(*nav)
    return "\n".join(lines), kb.as_markup()


async def on_queue(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    i18n: I18n,
    state: FSMContext,
) -> None:
    if not desk.may_act(grants):
        await message.answer(_("This command is for volunteers."))
        return
    await state.clear()
    language, region = None, None
    configured = await regions.configured(session)
    for word in (command.args or "").casefold().split():
        if word in SUPPORTED_LOCALES:
            language = word
        for known in configured:
            if word in (known.code.casefold(), known.name.casefold()):
                region = known.code
    text, markup = await _queue_page(session, language, region, 0, settings, i18n.current_locale)
    await message.answer(text, reply_markup=markup)


async def on_queue_page(
    callback: CallbackQuery,
    callback_data: QuestionCb,
    session: AsyncSession,
    grants: frozenset[Grant],
    settings: Settings,
    i18n: I18n,
    bot: Bot,
) -> None:
    if not desk.may_act(grants):
        await callback.answer(_("This command is for volunteers."), show_alert=True)
        return
    language, region, page = _parse_filter(callback_data.action)
    if callback_data.action.startswith("qc."):
        question = await _claim(callback, callback_data.qid, session, grants, settings, bot)
        if question is not None:
            holder = escape(callback.from_user.first_name)
            await cards.refresh_card(bot, session, settings, question, holder)
    else:
        await callback.answer()
    text, markup = await _queue_page(session, language, region, page, settings, i18n.current_locale)
    await _edit(callback, text, markup)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own. The group part
    (linking, Claim on the group's cards) and the private part (threads, answers)."""
    router = Router(name="volunteers")
    router.message.register(on_link, Command("koppel", "link", "koppla"))
    router.callback_query.register(on_claim, QuestionCb.filter(F.action == "claim"))
    private = private_router("volunteers_private")
    private.message.register(on_stop, Command("stop"), StateFilter(Desk))
    private.message.register(on_reply, is_desk_reply)
    private.message.register(on_answer, StateFilter(Desk.answering), not_a_command)
    private.message.register(on_note, StateFilter(Desk.noting), not_a_command)
    private.message.register(on_mine, Command("mijnvragen", "myquestions", "minafragor"))
    private.message.register(on_queue, Command("wachtrij", "queue", "ko"))
    callbacks = private.callback_query
    callbacks.register(on_view, QuestionCb.filter(F.action == "view"))
    callbacks.register(on_answer_button, QuestionCb.filter(F.action == "answer"))
    callbacks.register(on_note_button, QuestionCb.filter(F.action == "note"))
    callbacks.register(on_release, QuestionCb.filter(F.action == "release"))
    callbacks.register(on_resolve, QuestionCb.filter(F.action == "resolve"))
    callbacks.register(on_propose, QuestionCb.filter(F.action == "kb"))
    callbacks.register(on_canned, QuestionCb.filter(F.action == "canned"))
    callbacks.register(on_canned, QuestionCb.filter(F.action.startswith("cp.")))
    callbacks.register(on_canned_view, QuestionCb.filter(F.action.startswith("cv.")))
    callbacks.register(on_canned_send, QuestionCb.filter(F.action.startswith("cs.")))
    callbacks.register(on_mine_page, QuestionCb.filter(F.action.startswith("mp.")))
    callbacks.register(on_queue_page, QuestionCb.filter(F.action.startswith(("w.", "qc."))))
    router.include_router(private)
    return router
