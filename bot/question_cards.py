"""What the volunteers see of a question: its card in the volunteers' group, a member's
follow-up relayed to whoever holds the question, the notice that the member closed it; the
thread in the volunteer's private chat; the answer as the member receives it; rotation.

The member's side (bot/services/questions.py, handlers/questions.py) calls `announce`,
`follow_up` and `closed` after its own transaction has committed. The decisions are in
bot/services/question_desk.py; this module renders and talks to Telegram.

A volunteer sees the member's first name (or "a member"), never their Telegram id or
username, unless the member chose to be contacted directly (identity "contact").
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from functools import cache
from html import escape

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.context import get_i18n
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import outbox
from bot.budget import Priority
from bot.formatting import short_when
from bot.question_keys import QuestionCb, answered_markup
from bot.services import question_desk as desk
from bot.services import regions
from bot.settings import Settings
from storage.engine import create_session_factory
from storage.repositories import members as members_repo
from storage.repositories import question_desk as desk_repo
from storage.repositories import questions as questions_repo
from storage.repositories.outbox import CANCELLED, FAILED, QUEUED, SENT, UNREACHABLE
from storage.repositories.questions import Message, Question

log = logging.getLogger(__name__)

PURPOSE = desk.GROUP_PURPOSE
ROUTE = "question"  # the outbox's route kind: where a relayed copy landed, for replies


async def keep_routes(
    session: AsyncSession, chat_id: int, message_ids: list[int], qid: int
) -> None:
    """The outbox sent a question's copy: a reply to any of its messages continues it."""
    for message_id in message_ids:
        await questions_repo.add_route(session, chat_id, message_id, qid)


outbox.ROUTE_KEEPERS[ROUTE] = keep_routes
FLAGS = {"nl": "🇳🇱", "en": "🇬🇧", "sv": "🇸🇪"}
CARD_CHARS = 3000  # of the member's words on a card (Telegram's limit is 4,096)
THREAD_CHARS = 3700  # a thread view, with its header, within one message
MESSAGE_CHARS = 1200  # of one message in a thread view
TEXT_CHARS = 3900  # of an answer in one message, with its header
CAPTION_CHARS = 1024  # Telegram's limit for a caption
PATIENCE = 6.0  # seconds a volunteer waits to hear that an answer arrived (5xx retries)


@cache
def _fallback_i18n(default_locale: str) -> I18n:
    from bot.i18n import create_i18n

    return create_i18n(default_locale)


def i18n_of(settings: Settings) -> I18n:
    """The bot's catalogues: the running update's, else (a scheduler, a test) our own."""
    try:
        return get_i18n()
    except LookupError:
        return _fallback_i18n(settings.default_locale)


def sessions_of(session: AsyncSession) -> async_sessionmaker[AsyncSession]:
    """A handler's session's factory: for work after the handler's own transaction."""
    return create_session_factory(session.bind)  # type: ignore[arg-type]


def flag(language: str) -> str:
    return FLAGS.get(language, language)


def cut(text: str | None, limit: int) -> str:
    """Plain text cut to `limit` characters (with an ellipsis), then escaped for HTML."""
    text = (text or "").strip()
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


def cut_plain(text: str | None, limit: int) -> str:
    """Plain text cut to `limit` characters (a button's label)."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def who(question: Question) -> str:
    """The member as volunteers may see them (escaped HTML)."""
    if question.identity == "anonymous" or not question.first_name:
        return _("a member")
    name = escape(question.first_name)
    if question.identity == "contact":
        if question.username:
            return f"{name} (@{escape(question.username)})"
        return f'<a href="tg://user?id={question.telegram_id}">{name}</a>'
    return name


async def region_name(session: AsyncSession, code: str | None) -> str | None:
    if code is None:
        return None
    for region in await regions.configured(session):
        if region.code == code:
            return region.name
    return code


def about(question: Question) -> str:
    """'#12 (Fatima)': a question as a volunteer's confirmations name it."""
    return f"#{question.id} ({who(question)})"


def _about(question: Question, region: str | None) -> str:
    """'#12 · 🇳🇱 · Noord · Fatima'."""
    parts = [f"#{question.id}", flag(question.language)]
    if region:
        parts.append(escape(region))
    parts.append(who(question))
    return " · ".join(parts)


def _kind_mark(message: Message) -> str:
    return {"photo": "📷 ", "document": "📎 "}.get(message.kind, "")


# -- the card (group, or a volunteer's private notice) --------------------------------------


def card_text(
    question: Question, asked: Sequence[Message], region: str | None, holder: str | None
) -> str:
    """The member's words (cut to fit), who and where, and the state."""
    words = [m for m in asked if m.author == "member"]
    lines = ["❓ <b>" + _("Question {about}").format(about=_about(question, region)) + "</b>"]
    room = CARD_CHARS
    for message in words:
        if room <= 0:
            lines.append("…")
            break
        body = cut(message.text, room) if message.text else ""
        room -= len(message.text or "")
        lines.append(_kind_mark(message) + body)
    lines.append("")
    if question.state == "open":
        lines.append("🟢 " + _("Waiting for a volunteer."))
    elif question.state == "claimed":
        lines.append("🙋 " + _("Taken by {name}.").format(name=holder or _("a volunteer")))
    else:
        lines.append("✅ " + _("Closed."))
    return "\n".join(lines)


def card_markup(question: Question) -> InlineKeyboardMarkup | None:
    if question.state != "open":
        return None
    kb = InlineKeyboardBuilder()
    kb.button(text="🙋 " + _("Claim"), callback_data=QuestionCb(action="claim", qid=question.id))
    return kb.as_markup()


async def _card(session: AsyncSession, question: Question, holder: str | None) -> str:
    asked = await questions_repo.messages(session, question.id, notes=False)
    return card_text(question, asked, await region_name(session, question.region_code), holder)


async def card_for(
    session: AsyncSession, settings: Settings, question: Question, holder: str | None, locale: str
) -> str:
    i18n = i18n_of(settings)
    with i18n.context(), i18n.use_locale(locale):
        return await _card(session, question, holder)


async def first_words(session: AsyncSession, question_id: int, limit: int) -> str:
    """The start of the member's question (escaped), for a list line."""
    for message in await questions_repo.messages(session, question_id, notes=False):
        if message.author == "member":
            return _kind_mark(message) + escape(cut_plain(message.text, limit))
    return ""


async def refresh_card(
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
    question: Question,
    holder: str | None = None,
) -> None:
    """Show the question's state on its card in the group (if it has one there)."""
    group = await questions_repo.linked_chat(session, PURPOSE)
    if group is None or question.card_message_id is None:
        return
    i18n = i18n_of(settings)
    with i18n.context(), i18n.use_locale(settings.default_locale):
        text = await _card(session, question, holder)
        markup = card_markup(question)
    with contextlib.suppress(TelegramAPIError):  # deleted, unchanged, or another group now
        await bot.edit_message_text(
            text, chat_id=group, message_id=question.card_message_id, reply_markup=markup
        )


async def holder_name(bot: Bot, session: AsyncSession, volunteer_id: int | None) -> str | None:
    """A volunteer's first name (escaped): as a member, else as Telegram tells it (they have
    a private chat with the bot); the bot keeps no names of its own for them."""
    if volunteer_id is None:
        return None
    member = await members_repo.by_telegram_id(session, volunteer_id)
    if member is not None and member.first_name:
        return escape(member.first_name)
    try:
        chat = await bot.get_chat(volunteer_id)
    except TelegramAPIError:
        return None
    return escape(chat.first_name) if chat.first_name else None


async def locale_of(session: AsyncSession, telegram_id: int, settings: Settings) -> str:
    member = await members_repo.by_telegram_id(session, telegram_id)
    return member.locale if member is not None else settings.default_locale


async def announce(
    bot: Bot, sessions: async_sessionmaker[AsyncSession], settings: Settings, qid: int
) -> None:
    """A question was queued: its card in the volunteers' group with [Claim]; without a
    group (or if the group cannot be reached), each volunteer is told privately."""
    async with sessions() as session:
        question = await questions_repo.get(session, qid)
        if question is None or question.state != "open":
            return
        group = await questions_repo.linked_chat(session, PURPOSE)
        i18n = i18n_of(settings)
        if group is not None:
            with i18n.context(), i18n.use_locale(settings.default_locale):
                text = await _card(session, question, None)
                markup = card_markup(question)
            try:
                sent = await bot.send_message(group, text, reply_markup=markup)
            except TelegramAPIError as exc:
                log.warning("question %s: no card in the volunteers' group: %s", qid,
                            type(exc).__name__)  # fmt: skip
            else:
                await desk_repo.set_card(session, qid, sent.message_id)
                await session.commit()
                return
        letters = []
        for volunteer in await desk_repo.volunteers(session):
            locale = await locale_of(session, volunteer.telegram_id, settings)
            with i18n.context(), i18n.use_locale(locale):
                text = "🔔 " + _("A new question is waiting.") + "\n\n"
                text += await _card(session, question, None)
                letters.append(outbox.Letter(volunteer.telegram_id, text, card_markup(question)))
        if letters:
            await outbox.post(session, letters, Priority.PERSONAL)
            await session.commit()
            outbox.sender_for(bot, sessions).wake()


# -- the thread in the volunteer's private chat -----------------------------------------------


def thread_markup(qid: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="✍️ " + _("Answer"), callback_data=QuestionCb(action="answer", qid=qid))
    kb.button(text="📚 " + _("Canned answer"), callback_data=QuestionCb(action="canned", qid=qid))
    kb.button(text="📝 " + _("Note"), callback_data=QuestionCb(action="note", qid=qid))
    kb.button(text="↩️ " + _("Release"), callback_data=QuestionCb(action="release", qid=qid))
    kb.button(text="✅ " + _("Resolve"), callback_data=QuestionCb(action="resolve", qid=qid))
    kb.adjust(2, 1, 2)
    return kb.as_markup()


def _line(message: Message, locale: str, settings: Settings) -> str:
    when = short_when(message.created_at, locale, settings.tz)
    label = {
        "member": "💬 " + _("Member"),
        "volunteer": "🙋 " + _("Answer"),
        "note": "📝 " + _("Note (only volunteers see this)"),
    }.get(message.author, message.author)
    body = _kind_mark(message) + cut(message.text, MESSAGE_CHARS)
    return f"<i>{label}, {escape(when)}</i>\n{body}"


def thread_text(
    question: Question,
    thread: Sequence[Message],
    region: str | None,
    locale: str,
    settings: Settings,
) -> str:
    """The whole thread, notes included, the newest kept when it is long."""
    head = "🧵 <b>" + _("Question {about}").format(about=_about(question, region)) + "</b>"
    lines = [_line(m, locale, settings) for m in thread]
    kept: list[str] = []
    size = len(head)
    for line in reversed(lines[1:]):
        if size + len(line) + len(lines[0]) > THREAD_CHARS:
            break
        kept.insert(0, line)
        size += len(line) + 2
    skipped = len(lines) - 1 - len(kept)
    body = lines[:1]
    if skipped:
        body.append("… " + _("{count} earlier messages").format(count=skipped))
    return "\n\n".join([head, *body, *kept])


async def send_thread(
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
    question: Question,
    volunteer_id: int,
    intro: str | None = None,
    locale: str | None = None,
) -> bool:
    """The thread to the volunteer's private chat, with its buttons, and the member's photos
    and files after it; every copy routed (a reply to it answers). False if they cannot be
    reached there (no private chat with the bot yet). `locale`: the volunteer's, when they
    just tapped (else as a member, else the default)."""
    locale = locale or await locale_of(session, volunteer_id, settings)
    thread = await questions_repo.messages(session, question.id, notes=True)
    region = await region_name(session, question.region_code)
    i18n = i18n_of(settings)
    with i18n.context(), i18n.use_locale(locale):
        text = thread_text(question, thread, region, locale, settings)
        if intro:
            text = intro + "\n\n" + text
        markup = thread_markup(question.id)
    try:
        sent = await bot.send_message(volunteer_id, text, reply_markup=markup)
    except TelegramAPIError as exc:
        log.info("question %s: volunteer not reachable in private: %s", question.id,
                 type(exc).__name__)  # fmt: skip
        return False
    await desk.route(session, volunteer_id, sent.message_id, question.id)
    for message in thread:
        if message.author == "member" and message.file_id:
            with contextlib.suppress(TelegramAPIError):
                copy = await _send_file(bot, volunteer_id, message, None)
                await desk.route(session, volunteer_id, copy, question.id)
    return True


async def _send_file(bot: Bot, chat_id: int, message: Message, header: str | None) -> int:
    caption = _caption(header, message.text)
    if message.kind == "photo":
        sent = await bot.send_photo(chat_id, message.file_id or "", caption=caption)
    else:
        sent = await bot.send_document(chat_id, message.file_id or "", caption=caption)
    return sent.message_id


def _caption(header: str | None, text: str | None) -> str | None:
    if not header:
        return cut(text, CAPTION_CHARS) if text else None
    room = CAPTION_CHARS - len(header) - 2
    return header + ("\n\n" + cut(text, room) if text else "")


async def follow_up(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    qid: int,
    message_row_id: int,
) -> None:
    """The member added a message (a question_messages row) to an open or claimed question:
    to the volunteer holding it (a reply to the copy answers), or onto the card."""
    async with sessions() as session:
        question = await questions_repo.get(session, qid)
        message = await desk.member_message(session, qid, message_row_id)
        if question is None or message is None:
            return
        if question.state == "open":
            await refresh_card(bot, session, settings, question)
            return
        if question.state != "claimed" or question.volunteer_id is None:
            return
        volunteer_id = question.volunteer_id
        locale = await locale_of(session, volunteer_id, settings)
        i18n = i18n_of(settings)
        with i18n.context(), i18n.use_locale(locale):
            header = "💬 <b>" + _("More from {about}:").format(about=_about(question, None))
            header += "</b>"
            markup = _answer_button(qid)
            hint = _("Reply to this message to answer.")
        try:
            if message.file_id:
                copy = await _send_file(bot, volunteer_id, message, header)
            else:
                text = f"{header}\n{cut(message.text, TEXT_CHARS - len(header))}\n\n<i>{hint}</i>"
                copy = (await bot.send_message(volunteer_id, text, reply_markup=markup)).message_id
        except TelegramAPIError as exc:  # kept in the thread; they see it in /mijnvragen
            log.info("question %s: follow-up not passed on now: %s", qid, type(exc).__name__)
            text = f"{header}\n{cut(message.text, 3000)}"
            letter = outbox.Letter(volunteer_id, text, markup, route=(ROUTE, qid))
            await outbox.post(session, [letter], Priority.PERSONAL)
            await session.commit()
            outbox.sender_for(bot, sessions).wake()
            return
        await desk.route(session, volunteer_id, copy, qid)


def _answer_button(qid: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="✍️ " + _("Answer"), callback_data=QuestionCb(action="answer", qid=qid))
    kb.button(text="🧵 " + _("Whole thread"), callback_data=QuestionCb(action="view", qid=qid))
    return kb.as_markup()


async def closed(
    bot: Bot, sessions: async_sessionmaker[AsyncSession], settings: Settings, qid: int
) -> None:
    """The member closed their question: tell whoever held it, update the card."""
    async with sessions() as session:
        question = await questions_repo.get(session, qid)
        if question is None:
            return
        await refresh_card(bot, session, settings, question)
        if question.volunteer_id is None:
            return
        locale = await locale_of(session, question.volunteer_id, settings)
        i18n = i18n_of(settings)
        with i18n.context(), i18n.use_locale(locale):
            text = "✅ " + _("{about} closed their question. Thank you for your help!").format(
                about=_about(question, None)
            )
        await outbox.post(session, [outbox.Letter(question.volunteer_id, text)], Priority.PERSONAL)
        await session.commit()
        outbox.sender_for(bot, sessions).wake()


# -- the answer as the member receives it ----------------------------------------------------


async def deliver(bot: Bot, sessions: async_sessionmaker[AsyncSession], ids: list[int]) -> str:
    """Send an answer's outbox rows now (5xx retried within `patience`): `sent`, `queued`
    (still being retried: it will go), `unreachable` (blocked) or `failed`."""
    states = set((await outbox.sender_for(bot, sessions).deliver_now(ids, PATIENCE)).values())
    for outcome in (UNREACHABLE, QUEUED, FAILED, CANCELLED):
        if outcome in states:
            return FAILED if outcome == CANCELLED else outcome
    return SENT


def member_markup(qid: int) -> InlineKeyboardMarkup:
    """Under an answer: rate, close (the shared buttons), and reply."""
    rows = [list(row) for row in answered_markup(qid).inline_keyboard]
    rows.insert(
        0,
        [
            InlineKeyboardButton(
                text="↩️ " + _("Reply"), callback_data=QuestionCb(action="more", qid=qid).pack()
            )
        ],
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def answer_letters(
    question: Question,
    reply: desk.Reply,
    html: str | None,
    volunteer_name: str,
    i18n: I18n,
) -> list[outbox.Letter]:
    """The answer in the member's language: a header ("Answer from Sanna"), the words (the
    volunteer's formatting kept when it fits one message), the buttons under the last."""
    with i18n.context(), i18n.use_locale(question.locale):
        header = "💬 <b>" + _("Answer from {name}").format(name=escape(volunteer_name)) + "</b>"
        markup = member_markup(question.id)
    to, route = question.telegram_id, (ROUTE, question.id)  # a reply to it continues the thread
    if reply.kind == "photo":
        caption = _caption(header, reply.text)
        return [
            outbox.Letter(to, photo=reply.file_id, caption=caption, reply_markup=markup,
                          route=route)
        ]  # fmt: skip
    if reply.kind == "document":
        caption = _caption(header, reply.text)
        return [
            outbox.Letter(to, document_id=reply.file_id, caption=caption, reply_markup=markup,
                          route=route)
        ]  # fmt: skip
    plain = reply.text or ""
    if html is not None and len(plain) + len(header) + 2 <= TEXT_CHARS:
        return [outbox.Letter(to, f"{header}\n\n{html}", markup, route=route)]
    chunks = [plain[i : i + TEXT_CHARS] for i in range(0, len(plain), TEXT_CHARS)]
    letters = [outbox.Letter(to, header, route=route)]
    letters += [outbox.Letter(to, escape(c), route=route) for c in chunks]
    letters[-1] = outbox.Letter(to, letters[-1].text, markup, route=route)
    return letters


def rate_letters(question: Question, volunteer_name: str, i18n: I18n) -> list[outbox.Letter]:
    """After the volunteer resolved it: the member is asked, in one tap, whether it helped."""
    with i18n.context(), i18n.use_locale(question.locale):
        text = "✅ " + _(
            "{name} marked your question as answered. Did the answer help you?"
        ).format(name=escape(volunteer_name))
        kb = InlineKeyboardBuilder()
        kb.button(
            text="👍 " + _("This helped"),
            callback_data=QuestionCb(action="rate_yes", qid=question.id),
        )
        kb.button(
            text="👎 " + _("Not really"),
            callback_data=QuestionCb(action="rate_no", qid=question.id),
        )
    return [outbox.Letter(question.telegram_id, text, kb.as_markup())]


# -- rotation --------------------------------------------------------------------------------


async def rotate(
    bot: Bot, sessions: async_sessionmaker[AsyncSession], i18n: I18n, settings: Settings
) -> int:
    """The scheduler's pass: a question nobody claimed within `question_rotate_minutes` goes
    to the volunteer with the fewest open threads (within the cap, the question's region
    first), who is told; one who cannot be reached is skipped. How many were assigned."""
    async with sessions() as session:
        due = await desk.due_for_rotation(session, settings.question_rotate_minutes)
    assigned = 0
    for qid in due:
        async with sessions() as session:
            assigned += await _rotate_one(bot, session, i18n, settings, qid)
    return assigned


async def _rotate_one(
    bot: Bot, session: AsyncSession, i18n: I18n, settings: Settings, qid: int
) -> int:
    question = await questions_repo.get(session, qid)
    if question is None or question.state != "open":
        return 0
    cap = settings.question_claim_cap
    for volunteer_id in await desk.candidates(session, question, cap):
        if not await desk.assign(session, qid, volunteer_id, cap):
            current = await questions_repo.get(session, qid)
            if current is None or current.state != "open":
                return 0  # someone claimed it meanwhile
            continue
        taken = await questions_repo.get(session, qid)
        assert taken is not None
        locale = await locale_of(session, volunteer_id, settings)
        with i18n.context(), i18n.use_locale(locale):
            intro = "🔄 " + _(
                "Nobody took this question for a while, so it is yours now (you have the "
                "fewest open questions). Not possible? Tap Release."
            )
        if await send_thread(bot, session, settings, taken, volunteer_id, intro):
            log.info("question %s rotated to a volunteer", qid)
            await refresh_card(
                bot, session, settings, taken, await holder_name(bot, session, volunteer_id)
            )
            return 1
        await desk.unclaim(session, qid, volunteer_id)
    return 0


# -- erasure -----------------------------------------------------------------------------------


async def erase_copies(
    bot: Bot, session: AsyncSession, settings: Settings, telegram_id: int
) -> int:
    """Before /vergeetmij erases a member's questions: their words leave the volunteers'
    chats too. The group's cards and the copies in volunteers' private chats are replaced by
    a line saying so (an edit has no time limit; deleting has 48 hours). How many."""
    member = await members_repo.by_telegram_id(session, telegram_id)
    if member is None:
        return 0
    cards, copies = await desk_repo.copies_of_member(session, member.id)
    group = await questions_repo.linked_chat(session, PURPOSE)
    targets = [(qid, group, message_id) for qid, message_id in cards if group is not None]
    targets += [(qid, chat, message_id) for qid, chat, message_id in copies if chat != telegram_id]
    i18n = i18n_of(settings)
    done = 0
    for qid, chat, message_id in targets:
        locale = (
            settings.default_locale if chat == group else await locale_of(session, chat, settings)
        )
        with i18n.context(), i18n.use_locale(locale):
            text = "🗑 " + _("Question #{qid}: erased at the member's request.").format(qid=qid)
        done += await _overwrite(bot, chat, message_id, text)
    return done


async def _overwrite(bot: Bot, chat_id: int, message_id: int, text: str) -> int:
    try:
        await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        return 1
    except TelegramAPIError:
        pass
    try:  # a photo or a file: its caption
        await bot.edit_message_caption(chat_id=chat_id, message_id=message_id, caption=text)
        return 1
    except TelegramAPIError:
        return 0
