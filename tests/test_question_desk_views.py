"""What volunteers and members see, at Telegram's limits: a card and a thread of the
largest messages still fit one message; an answer of 4,096 characters reaches the member
whole (split, buttons under the last part); captions stay within 1,024; the member's
identity shows only as they chose."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from bot import question_cards as cards
from bot.i18n import create_i18n
from bot.services import question_desk as desk
from bot.settings import Settings
from storage.repositories.questions import Message, Question

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
I18N = create_i18n("nl")
SETTINGS = Settings(_env_file=None, bot_token="1:x")  # type: ignore[call-arg]
LONGEST = "ä<" * 2048  # 4,096 characters, and HTML to escape


def question(**changes: object) -> Question:
    base = Question(
        id=12, member_id=1, language="nl", region_code="noord", identity="name", state="open",
        knowledge_id=None, volunteer_id=None, claimed_how=None, created_at=NOW, queued_at=NOW,
        claimed_at=None, first_answer_at=None, escalated_at=None, closed_at=None,
        closed_by=None, rating=None, card_message_id=None, telegram_id=7001, locale="sv",
        first_name="Fatima", username="fatima_tg",
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def message(n: int, author: str = "member", text: str | None = LONGEST) -> Message:
    return Message(n, 12, author, None, "text", text, None, NOW + timedelta(minutes=n))


def visible(html: str) -> int:
    """Characters Telegram counts: the text after its HTML is parsed."""
    return len(unescape(re.sub(r"<[^>]+>", "", html)))


@pytest.fixture(autouse=True)
def dutch() -> object:
    with I18N.context(), I18N.use_locale("nl"):
        yield


def test_a_card_of_the_largest_messages_fits() -> None:
    asked = [message(n) for n in range(5)]
    text = cards.card_text(question(), asked, "Noord", None)
    assert visible(text) <= 4096 and "…" in text
    assert "&lt;" in text and "<ä" not in text  # the member's words never become markup
    assert "Fatima" in text and "fatima_tg" not in text and "7001" not in text


def test_the_member_is_shown_as_they_chose() -> None:
    assert cards.who(question()) == "Fatima"
    assert cards.who(question(identity="anonymous")) == "een lid"
    assert cards.who(question(first_name=None)) == "een lid"
    assert cards.who(question(identity="contact")) == "Fatima (@fatima_tg)"
    linked = cards.who(question(identity="contact", username=None))
    assert linked == '<a href="tg://user?id=7001">Fatima</a>'


def test_a_long_thread_keeps_the_question_and_the_newest() -> None:
    thread = [message(n, "volunteer" if n % 2 else "member") for n in range(30)]
    thread.append(message(31, "note", "laatste notitie"))
    text = cards.thread_text(question(), thread, "Noord", "nl", SETTINGS)
    assert visible(text) <= 4096
    assert "laatste notitie" in text and "eerdere berichten" in text


def test_the_longest_answer_reaches_the_member_whole() -> None:
    reply = desk.Reply("text", "x" * 4096)
    letters = cards.answer_letters(question(), reply, "x" * 4096, "Sanna", I18N)
    assert all(visible(letter.text or "") <= 4096 for letter in letters)
    assert "".join(letter.text or "" for letter in letters[1:]) == "x" * 4096
    assert "Sanna" in (letters[0].text or "") and letters[0].reply_markup is None
    assert letters[-1].reply_markup is not None
    assert {letter.chat_id for letter in letters} == {7001}
    short = cards.answer_letters(question(), desk.Reply("text", "ja"), "<b>ja</b>", "Sanna", I18N)
    assert len(short) == 1 and (short[0].text or "").endswith("<b>ja</b>")
    assert "Svar från Sanna" in (short[0].text or "")  # the member's language


def test_a_photo_answer_keeps_its_caption_within_the_limit() -> None:
    reply = desk.Reply("photo", "y" * 1024, "AgAD")
    [letter] = cards.answer_letters(question(), reply, None, "Sanna", I18N)
    assert letter.photo == "AgAD" and letter.text is None
    assert visible(letter.caption or "") <= 1024 and letter.reply_markup is not None
