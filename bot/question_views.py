"""What a member reads and taps about their questions: each screen a text and its buttons,
readable top to bottom and previewable without a bot (handlers/questions.py sends them).

All buttons are `QuestionCb` (bot/question_keys.py). qid 0 means "the question typed in this
conversation and not stored yet" (the unsafe-words pointer, the identity choice without a
known answer); the handler reads it from the conversation state.
"""

from __future__ import annotations

from datetime import timedelta
from html import escape

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_timedelta

from bot.question_keys import QuestionCb
from bot.services.knowledge_match import KnowledgeEntry
from bot.services.questions import Identity
from storage.repositories.questions import Question

Screen = tuple[str, InlineKeyboardMarkup | None]

#: The identity choice: the button's action -> what the volunteers see.
IDENTITY_ACTIONS = {
    "as_name": Identity.NAME,
    "as_anonymous": Identity.ANONYMOUS,
    "as_contact": Identity.CONTACT,
}


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


def _button(kb: InlineKeyboardBuilder, text: str, action: str, qid: int) -> None:
    kb.button(text=text, callback_data=QuestionCb(action=action, qid=qid))


def ask_prompt(listed: list[tuple[Question, str]]) -> Screen:
    """/vraag or the menu's button: what to type; their open questions to add to, if any."""
    intro = _(
        "What is your question? Type it in one message. I first look for a known answer; "
        "otherwise a volunteer answers you, here in this chat."
    )
    if not listed:
        return "❓ " + intro, None
    kb = InlineKeyboardBuilder()
    for question, text in listed:
        _button(kb, f"➕ #{question.id} · {_short(text, 30)}", "more", question.id)
    kb.adjust(1)
    lines = [
        _("Your open questions: tap one to add something to it."),
        "",
        "❓ " + _("Or ask a new question: type it in one message."),
    ]
    return "\n".join(lines), kb.as_markup()


def type_it() -> str:
    return _("Please type your question in words (a photo or a file can follow once it is sent).")


def unsafe_pointer() -> Screen:
    """Before anything is stored: the confidential path, or asking here anyway."""
    text = "\n\n".join(
        [
            "🤝 "
            + _(
                "It sounds as if your question may be about harassment or not feeling safe. "
                "You can also talk about that in confidence with a counsellor: nobody else in "
                "the organisation sees that you write, or what."
            ),
            _("I have not stored your question. What would you like to do?"),
        ]
    )
    kb = InlineKeyboardBuilder()
    _button(kb, "🔒 " + _("Talk to a counsellor in confidence"), "confidential", 0)
    _button(kb, "❓ " + _("Ask the volunteers here anyway"), "ask", 0)
    kb.adjust(1)
    return text, kb.as_markup()


def suggestion(qid: int, entry: KnowledgeEntry) -> Screen:
    """A known answer, and "did this help?"."""
    text = "\n".join(
        [
            "💡 " + _("Maybe this answers your question:"),
            "",
            f"<b>{escape(entry.question)}</b>",
            escape(entry.answer),
            "",
            _("Did this help?"),
        ]
    )
    kb = InlineKeyboardBuilder()
    _button(kb, "✅ " + _("Yes, thanks"), "helped", qid)
    _button(kb, "🙋 " + _("No, ask a volunteer"), "ask", qid)
    kb.adjust(2)
    return text, kb.as_markup()


def identity_question(qid: int, first_name: str | None) -> Screen:
    """Before queueing: how the volunteers will see the member."""
    text = _(
        "I will pass your question on to the volunteers. How may they see you? They never see "
        "your Telegram account unless you choose so."
    )
    named = _("With my first name ({name})").format(name=first_name) if first_name else None
    kb = InlineKeyboardBuilder()
    _button(kb, "🙂 " + (named or _("With my first name")), "as_name", qid)
    _button(kb, "🕶 " + _("Anonymously (“a member”)"), "as_anonymous", qid)
    _button(kb, "📇 " + _("First name and my Telegram contact"), "as_contact", qid)
    kb.adjust(1)
    return text, kb.as_markup()


def identity_label(identity: Identity) -> str:
    return {
        Identity.NAME: _("With my first name"),
        Identity.ANONYMOUS: _("Anonymously (“a member”)"),
        Identity.CONTACT: _("First name and my Telegram contact"),
    }[identity]


def wait_text(wait: timedelta | None, locale: str) -> str:
    if wait is None:
        return _("A volunteer usually answers within a day.")
    shown = format_timedelta(max(wait, timedelta(minutes=1)), locale=locale, threshold=1.5)
    return _("Lately a volunteer answered within about {duration}.").format(duration=shown)


def received(qid: int, wait: timedelta | None, locale: str) -> Screen:
    """Queued: the number, roughly when, where the answer comes."""
    text = "\n".join(
        [
            "✅ " + _("Your question has been received (#{id}).").format(id=qid),
            wait_text(wait, locale),
            _("The answer comes here, in this chat."),
        ]
    )
    return text, thread_buttons(qid)


def thread_buttons(qid: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    _button(kb, "➕ " + _("Add something"), "more", qid)
    _button(kb, _("Close my question"), "close", qid)
    kb.adjust(2)
    return kb.as_markup()


def reply_button(qid: int) -> InlineKeyboardMarkup:
    """Under a follow-up prompt: the way out of the thread."""
    kb = InlineKeyboardBuilder()
    _button(kb, "✔️ " + _("Done"), "done", qid)
    return kb.as_markup()


def thread_prompt(qid: int) -> Screen:
    text = _(
        "Write what you want to add to question #{id}: text, a photo or a file. Tap Done when "
        "you have finished."
    ).format(id=qid)
    return text, reply_button(qid)


def added(qid: int) -> Screen:
    return "✓ " + _("Added to your question #{id}.").format(id=qid), reply_button(qid)


def thread_kinds() -> str:
    return _("I can pass on text, photos and files.")


def thread_done(qid: int) -> str:
    return _("Fine. Question #{id} stays open; the answer comes here.").format(id=qid)


def helped() -> str:
    return _("Glad it helped! Ask again any time with /vraag.")


def closed(qid: int) -> str:
    return _("Your question #{id} is closed. Thank you!").format(id=qid)


def rated(useful: bool, changed: bool) -> str:
    """The one-tap rating, answered at once (a second, different tap changes it)."""
    if not changed:
        return _("Already noted, thank you.")
    if useful:
        return "👍 " + _("Thank you! Glad the answer helped.")
    return "👎 " + _("Thank you for telling us. Tap Reply to ask more.")


def not_yours() -> str:
    return _("That question is not yours, or no longer exists.")


def not_now() -> str:
    return _("That question has already been dealt with.")


def not_rateable() -> str:
    return _("You can rate the answer once a volunteer has answered.")


def no_longer_waiting() -> str:
    return _("That question is no longer waiting. Send /vraag to ask it again.")


def closed_for_messages() -> str:
    return _("That question is closed. Send /vraag to ask a new one.")
