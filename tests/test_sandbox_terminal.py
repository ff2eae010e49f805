"""The terminal chat client, driven by a scripted person against a real aiogram bot."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable, Iterable

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder

from sandbox import Limits, Sandbox
from sandbox.terminal import render_message, run_terminal

TOKEN = "123456:terminal-test"


class QuickSession(AiohttpSession):
    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def demo_router() -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        keyboard = InlineKeyboardBuilder()
        keyboard.button(text="Ja, ik geef toestemming", callback_data="yes")
        keyboard.button(text="Nee, liever niet", callback_data="no")
        await message.answer(
            f"Welkom {message.from_user.first_name}!\nMag ik je gegevens bewaren?",
            reply_markup=keyboard.as_markup(),
        )

    @router.callback_query(F.data.in_({"yes", "no"}))
    async def consent(query: CallbackQuery) -> None:
        await query.answer("Opgeslagen")
        await query.message.edit_text(f"Keuze: {query.data}")

    @router.message(Command("waar"))
    async def where(message: Message) -> None:
        keyboard = ReplyKeyboardMarkup(
            keyboard=[
                [
                    KeyboardButton(text="📍 Deel mijn locatie", request_location=True),
                    KeyboardButton(text="Overslaan"),
                ]
            ],
            resize_keyboard=True,
        )
        await message.answer("Waar woon je?", reply_markup=keyboard)

    @router.message(F.location)
    async def located(message: Message) -> None:
        loc = message.location
        await message.answer(
            f"Dank je, {loc.latitude:.2f} {loc.longitude:.2f}", reply_markup=ReplyKeyboardRemove()
        )

    @router.message(Command("agenda"))
    async def agenda(message: Message) -> None:
        ics = BufferedInputFile(b"BEGIN:VCALENDAR\nEND:VCALENDAR\n", filename="workshop.ics")
        await message.answer_document(ics, caption="Zet hem in je agenda")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text)

    @router.message(F.sticker)
    async def sticker(message: Message) -> None:
        await message.answer("Ik kan nog niets met stickers.")

    return router


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(limits=Limits.relaxed()) as sandbox:
        dp = Dispatcher()
        dp.include_router(demo_router())
        bot = Bot(TOKEN, session=QuickSession(api=TelegramAPIServer.from_base(sandbox.base_url)))
        task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=5))
        await sandbox.wait_polling(TOKEN)
        yield sandbox
        await dp.stop_polling()
        await task


def script(lines: Iterable[str]) -> Callable[[str], str]:
    """An input() that types the given lines, then presses Ctrl-D."""
    remaining = iter(lines)

    def typed(prompt: str) -> str:
        try:
            return next(remaining)
        except StopIteration:
            raise EOFError from None

    return typed


async def chat(sb: Sandbox, lines: list[str], start: str = "anna") -> str:
    personas = {
        "anna": sb.user(1001, "Anna", label="member", location=(52.37, 4.9)),
        "bob": sb.user(1002, "Bob", label="organiser", language_code="en"),
    }
    out = io.StringIO()
    await run_terminal(
        personas,
        start=start,
        input_func=script(lines),
        output=out,
        settle=0.1,
        echo=True,
        handle_sigint=False,
    )
    return out.getvalue()


async def test_a_scripted_session_reads_like_a_transcript(sb: Sandbox) -> None:
    transcript = await chat(sb, ["/start", "1", ":as bob", "hallo", ":quit", "not read"])
    assert transcript.splitlines() == [
        "Chatting with the bot as anna (member). Type :help for help.",
        "anna (member)> /start",
        "ledenbot: Welkom Anna!",
        "          Mag ik je gegevens bewaren?",
        "  [1] Ja, ik geef toestemming  [2] Nee, liever niet",
        "anna (member)> 1",
        "(notice) Opgeslagen",
        "ledenbot (edited): Keuze: yes",
        "anna (member)> :as bob",
        "--- now chatting as bob (organiser) ---",
        "(no messages yet)",
        "bob (organiser)> hallo",
        "ledenbot: hallo",
        "bob (organiser)> :quit",
        "(bye)",
    ]


async def test_keyboards_locations_files_and_end_of_input(sb: Sandbox) -> None:
    transcript = await chat(
        sb, ["/waar", "a", ":loc 51.44 5.48", ":sticker", ":text 1", "7", ":nonsense", "/agenda"]
    )
    lines = transcript.splitlines()
    assert "  (keyboard) [a] 📍 Deel mijn locatie  [b] Overslaan" in lines
    assert "(sharing location 52.37, 4.9)" in lines
    assert "ledenbot: Dank je, 52.37 4.90" in lines
    assert "  (keyboard removed)" in lines
    assert "ledenbot: Dank je, 51.44 5.48" in lines
    assert "ledenbot: Ik kan nog niets met stickers." in lines
    assert lines.count("ledenbot: 1") == 1 and "ledenbot: 7" in lines  # no buttons: plain text
    assert "(unknown command :nonsense; :help lists them)" in lines
    assert "ledenbot: [file] workshop.ics (30 bytes)" in lines
    assert "          Zet hem in je agenda" in lines
    assert lines[-1] == "(bye)"  # Ctrl-D ends the session cleanly


async def test_other_personas_are_nudged_and_caught_up(sb: Sandbox) -> None:
    bob = sb.user(1002, "Bob", label="organiser", language_code="en")
    sb.register_bot(TOKEN)
    anna_first = await chat(sb, [":who"], start="anna")
    assert "* anna (member): Anna, id 1001" in anna_first
    assert "  bob (organiser): Bob, id 1002" in anna_first
    await bob.send_text("ben je er?")
    await sb.idle(quiet=0.1)
    transcript = await chat(sb, [":as bob"], start="anna")
    assert "(bob has 1 new message(s); :as bob to read)" in transcript
    assert transcript.index("--- now chatting as bob") < transcript.index("ledenbot: ben je er?")


def test_render_message_shows_links_and_media() -> None:
    from sandbox.state import InlineButton, SandboxFile, StoredMessage

    stored = StoredMessage(
        message_id=3,
        chat_id=1,
        from_bot=True,
        sender_id=9,
        json={"message_id": 3, "date": 0, "caption": "Kaart", "photo": [{}]},
        markup={
            "inline_keyboard": [
                [{"text": "Site", "url": "https://example.org"}],
                [{"text": "Meer", "callback_data": "more"}],
            ]
        },
        file=SandboxFile("f", "u", "photos/1.jpg", b"x", width=4, height=3),
    )
    message = stored.snapshot()
    assert message.buttons[0] == InlineButton("Site", None, "https://example.org")
    assert render_message(message, "bot") == [
        "bot: [photo] 4x3",
        "     Kaart",
        "  [1] Site -> https://example.org",
        "  [2] Meer",
    ]


def test_an_edit_that_only_appends_shows_just_the_addition() -> None:
    from sandbox.state import SandboxMessage
    from sandbox.terminal import render_message

    question = "Question 1 of 3\nAre you a member, or a sympathiser (not, or not yet, a member)?"

    def message(text: str) -> SandboxMessage:
        return SandboxMessage(
            message_id=5, chat_id=1, from_bot=True, sender_id=9, date=0, text=text, raw=text,
            parse_mode=None, entities=[], inline_keyboard=[], reply_keyboard=None,
            remove_keyboard=False, force_reply=False, document=None, photo=None, location=None,
            sticker=None, contact=None, reply_to=None, edited=True, deleted=False, json={},
        )  # fmt: skip

    closed = message(question + "\n\n✔️ I am a member")
    assert render_message(closed, "bot", kind="edit", previous=question) == [
        "bot (edited): … ✔️ I am a member"
    ]
    rewritten = message("Something else entirely, long enough to be shown in full again.")
    lines = render_message(rewritten, "bot", kind="edit", previous=question)
    assert lines == [
        "bot (edited): Something else entirely, long enough to be shown in full again."
    ]
