"""The Bot API sandbox, exercised by a real aiogram bot over HTTP and by raw requests."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from io import BytesIO

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from sandbox import Limits, NoReply, Sandbox
from sandbox.media import tiny_png

pytestmark = pytest.mark.e2e

TOKEN = "123456:sandbox-test"
OTHER_TOKEN = "654321:other-bot"


class QuickSession(AiohttpSession):
    """aiogram waits 0.25 s on close for TLS connections to wind down; plain local HTTP needn't."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(sb: Sandbox, token: str = TOKEN) -> Bot:
    return Bot(token, session=QuickSession(api=TelegramAPIServer.from_base(sb.base_url)))


@asynccontextmanager
async def polling(sb: Sandbox, dp: Dispatcher, bot: Bot) -> AsyncIterator[Bot]:
    """Run the dispatcher's polling loop as a task for the duration of the block."""
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=5))
    try:
        await sb.wait_polling(bot.token)
        yield bot
    finally:
        if not task.done():
            await dp.stop_polling()
        await task


def echo_router() -> Router:
    """A tiny bot: /start with consent buttons, a location question, files, an echo."""
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        keyboard = InlineKeyboardBuilder()
        keyboard.button(text="Ja, ik geef toestemming", callback_data="consent:yes")
        keyboard.button(text="Nee, liever niet", callback_data="consent:no")
        await message.answer(
            f"Welkom {message.from_user.first_name}! start={command.args}",
            reply_markup=keyboard.as_markup(),
        )

    @router.callback_query(F.data.startswith("consent:"))
    async def consent(query: CallbackQuery) -> None:
        choice = query.data.split(":", 1)[1]
        await query.answer("Opgeslagen" if choice == "yes" else "Jammer", show_alert=choice == "no")
        await query.message.edit_text(f"Keuze: {choice}")

    @router.message(Command("waar"))
    async def where(message: Message) -> None:
        keyboard = ReplyKeyboardMarkup(
            keyboard=[
                [KeyboardButton(text="📍 Deel mijn locatie", request_location=True)],
                [KeyboardButton(text="Overslaan")],
            ],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
        await message.answer("Waar woon je?", reply_markup=keyboard)

    @router.message(F.location)
    async def location(message: Message) -> None:
        loc = message.location
        await message.answer(
            f"Locatie {loc.latitude:.2f},{loc.longitude:.2f}", reply_markup=ReplyKeyboardRemove()
        )

    @router.message(Command("rapport"))
    async def report(message: Message) -> None:
        data = BufferedInputFile(b"naam,regio\nAnna,oost\n", filename="leden.csv")
        await message.answer_document(data, caption="Het <b>rapport</b>", parse_mode="HTML")

    @router.message(F.document)
    async def document(message: Message, bot: Bot) -> None:
        buffer = await bot.download(message.document)
        data = buffer.read()
        lines = data.count(b"\n")
        await message.answer(f"{message.document.file_name}: {len(data)} bytes, {lines} regels")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text)

    return router


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(limits=Limits.relaxed()) as sandbox:
        yield sandbox
    assert sandbox.internal_errors == []


@pytest.fixture
async def echo_bot(sb: Sandbox) -> AsyncIterator[Bot]:
    dp = Dispatcher()
    dp.include_router(echo_router())
    async with polling(sb, dp, make_bot(sb)) as bot:
        yield bot


@pytest.fixture
async def api_bot(sb: Sandbox) -> AsyncIterator[Bot]:
    """A bot that only calls methods (nobody polls)."""
    bot = make_bot(sb)
    sb.register_bot(TOKEN)
    yield bot
    await bot.session.close()


async def call(sb: Sandbox, method: str, token: str = TOKEN, **kwargs: object) -> tuple[int, dict]:
    """A raw HTTP call: kwargs go straight to aiohttp (data=, json=, params=)."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{sb.base_url}/bot{token}/{method}", **kwargs) as resp,
    ):
        return resp.status, await resp.json()


# --- the HTTP surface ---------------------------------------------------------------------


async def test_get_me_tokens_and_unknown_methods(sb: Sandbox) -> None:
    status, body = await call(sb, "getMe")
    assert status == 200
    assert body["result"]["id"] == 123456
    assert body["result"]["is_bot"] is True
    assert body["result"]["username"] == "ledenbot_sandbox_bot"
    assert body["result"]["first_name"] == "ledenbot"

    _, other = await call(sb, "getme", token=OTHER_TOKEN)
    assert other["result"]["id"] == 654321
    assert other["result"]["username"] != "ledenbot_sandbox_bot"

    assert await call(sb, "noSuchMethod") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    status, body = await call(sb, "getMe", token="not-a-token")
    assert (status, body["description"]) == (404, "Not Found")


async def test_every_body_shape_is_understood(sb: Sandbox) -> None:
    sb.register_bot(TOKEN)
    anna = sb.user(1001, "Anna")
    keyboard = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}

    status, body = await call(
        sb,
        "sendMessage",
        data={
            "chat_id": "1001",
            "text": "123",
            "reply_markup": json.dumps(keyboard),
            "disable_notification": "true",
        },
    )
    assert status == 200 and body["result"]["text"] == "123"
    assert body["result"]["reply_markup"] == keyboard

    status, body = await call(
        sb, "sendMessage", json={"chat_id": 1001, "text": "true", "reply_markup": keyboard}
    )
    assert status == 200 and body["result"]["text"] == "true"

    status, body = await call(sb, "sendMessage", params={"chat_id": "1001", "text": "via query"})
    assert status == 200

    form = aiohttp.FormData()
    form.add_field("chat_id", "1001")
    form.add_field("document", "attach://f1")
    form.add_field("f1", b"a,b\n1,2\n", filename="lijst.csv", content_type="text/csv")
    status, body = await call(sb, "sendDocument", data=form)
    assert status == 200, body
    assert body["result"]["document"]["file_name"] == "lijst.csv"
    assert body["result"]["document"]["mime_type"] == "text/csv"

    form = aiohttp.FormData()
    form.add_field("chat_id", "1001")
    form.add_field("caption", "direct")
    form.add_field("document", b"%PDF-1.4", filename="folder.pdf")
    status, body = await call(sb, "sendDocument", data=form)
    assert status == 200 and body["result"]["caption"] == "direct"

    assert [m.text for m in anna.bot_messages] == ["123", "true", "via query", "", "direct"]
    assert anna.bot_messages[0].button_texts == ["OK"]
    assert anna.bot_messages[3].document.data == b"a,b\n1,2\n"
    assert anna.bot_messages[4].document.mime_type == "application/pdf"
    logged = sb.calls("sendDocument")[0].params
    assert logged["f1"] == "<file lijst.csv (8 bytes)>"
    assert sb.sent[1001] == 5


async def test_get_updates_confirms_by_offset_and_respects_limit(sb: Sandbox) -> None:
    sb.register_bot(TOKEN)
    anna = sb.user(1001, "Anna")
    for i in range(5):
        await anna.send_text(f"bericht {i}")

    _, first = await call(sb, "getUpdates", data={"limit": "2"})
    assert [u["update_id"] for u in first["result"]] == [1, 2]
    _, again = await call(sb, "getUpdates", data={"limit": "2"})
    assert again["result"] == first["result"]  # not confirmed yet: delivered again

    _, rest = await call(sb, "getUpdates", json={"offset": 3})
    assert [u["message"]["text"] for u in rest["result"]] == ["bericht 2", "bericht 3", "bericht 4"]
    assert [u["message"]["message_id"] for u in rest["result"]] == [3, 4, 5]
    _, done = await call(sb, "getUpdates", data={"offset": "6", "timeout": "0"})
    assert done["result"] == []
    message = rest["result"][0]["message"]
    assert message["chat"] == {"id": 1001, "type": "private", "first_name": "Anna"}
    assert message["from"]["language_code"] == "nl"
    assert message["from"]["is_bot"] is False


async def test_long_poll_waits_for_an_update_or_the_timeout(sb: Sandbox) -> None:
    sb.register_bot(TOKEN)
    anna = sb.user(1001, "Anna")
    started = time.monotonic()
    _, body = await call(sb, "getUpdates", data={"timeout": "1"})
    assert body["result"] == [] and 0.9 <= time.monotonic() - started < 2

    async def later() -> None:
        await asyncio.sleep(0.1)
        await anna.send_text("daar ben ik")

    started = time.monotonic()
    sender = asyncio.create_task(later())
    _, body = await call(sb, "getUpdates", data={"timeout": "5"})
    await sender
    assert time.monotonic() - started < 1
    assert body["result"][0]["message"]["text"] == "daar ben ik"


async def test_a_second_poller_ends_the_first_with_409(sb: Sandbox) -> None:
    sb.register_bot(TOKEN)
    first = asyncio.create_task(call(sb, "getUpdates", data={"timeout": "5"}))
    await sb.wait_polling(TOKEN)
    assert sb.calls("getUpdates")[0].status is None  # logged on arrival, still waiting
    second = await call(sb, "getUpdates", data={"timeout": "0"})
    status, body = await first
    assert status == 409
    assert body["description"].startswith("Conflict: terminated by other getUpdates request")
    assert second == (200, {"ok": True, "result": []})
    assert [r.status for r in sb.calls("getUpdates")] == [409, 200]


# --- conversations through aiogram --------------------------------------------------------


@pytest.mark.usefixtures("echo_bot")
async def test_polling_delivers_every_update_once(sb: Sandbox) -> None:
    anna, bob = sb.user(1001, "Anna"), sb.user(1002, "Bob", language_code="en")
    texts = [f"tekst {i}" for i in range(15)]
    for text in texts:
        await anna.send_text(text)
        await bob.send_text(text.upper())
    got_anna = [(await anna.next()).text for _ in texts]
    got_bob = [(await bob.next()).text for _ in texts]
    assert sorted(got_anna) == sorted(texts)
    assert sorted(got_bob) == sorted(t.upper() for t in texts)
    await anna.expect_silence(quiet=0.2)
    assert len(sb.calls("sendMessage")) == 30
    assert len(sb.bot(TOKEN).pending) == 0


@pytest.mark.usefixtures("echo_bot")
async def test_commands_carry_entities_and_deep_link_payloads(sb: Sandbox) -> None:
    anna = sb.user(1001, "Anna")
    sent = await anna.send_command("/start", "w_12")
    assert sent.json["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert (await anna.next()).text == "Welkom Anna! start=w_12"
    await anna.send_text("/start@ledenbot_sandbox_bot")
    assert (await anna.next()).text == "Welkom Anna! start=None"
    await anna.send_command("start")
    assert (await anna.expect_text("Welkom")).text.endswith("start=None")


@pytest.mark.usefixtures("echo_bot")
async def test_pressing_a_button_shows_the_alert_and_the_edit(sb: Sandbox) -> None:
    anna = sb.user(1001, "Anna")
    await anna.send_command("/start")
    welcome = await anna.next()
    assert welcome.button_texts == ["Ja, ik geef toestemming", "Nee, liever niet"]
    assert welcome.inline_keyboard[0][0].data == "consent:yes"

    await anna.press("Ja")
    edited = await anna.next()
    assert edited.edited and edited.message_id == welcome.message_id
    assert edited.text == "Keuze: yes"
    assert edited.inline_keyboard == []  # an edit without reply_markup drops the buttons
    assert anna.alerts == ["Opgeslagen"]
    assert [m.text for m in anna.bot_messages] == ["Keuze: yes"]

    await anna.send_command("/start")
    await anna.next()
    await anna.press("consent:no")
    await anna.expect_text("Keuze: no")
    assert anna.callback_answers[-1].show_alert is True
    assert sb.unanswered_callbacks() == []

    with pytest.raises(AssertionError, match="no bot message with inline buttons"):
        await anna.press("Ja")


@pytest.mark.usefixtures("echo_bot")
async def test_press_explains_which_buttons_exist(sb: Sandbox) -> None:
    anna = sb.user(1001, "Anna")
    await anna.send_command("/start")
    await anna.next()
    with pytest.raises(AssertionError, match="Ja, ik geef toestemming"):
        await anna.press("Misschien")


async def test_forged_presses_and_double_answers(sb: Sandbox, api_bot: Bot) -> None:
    anna = sb.user(1001, "Anna")
    query_id = await anna.press_raw(999, "workshop:42")
    update = sb.bot(TOKEN).pending[-1]["callback_query"]
    assert update["message"] == {
        "chat": {"id": 1001, "type": "private", "first_name": "Anna"},
        "message_id": 999,
        "date": 0,
    }
    assert sb.unanswered_callbacks() == ["workshop:42"]
    assert await api_bot.answer_callback_query(query_id, text="Verlopen")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await api_bot.answer_callback_query(query_id)
    assert anna.alerts == ["Verlopen"]


@pytest.mark.usefixtures("echo_bot")
async def test_reply_keyboard_with_a_location_button(sb: Sandbox) -> None:
    anna = sb.user(1001, "Anna")
    await anna.send_command("/waar")
    question = await anna.next()
    assert question.reply_keyboard is not None
    assert [[b.text for b in row] for row in anna.reply_keyboard] == [
        ["📍 Deel mijn locatie"],
        ["Overslaan"],
    ]
    assert anna.reply_keyboard[0][0].request_location

    with pytest.raises(AssertionError, match="pass location"):
        await anna.reply_button("locatie")
    await anna.reply_button("locatie", location=(52.0907, 5.1214))
    answer = await anna.next()
    assert answer.text == "Locatie 52.09,5.12"
    assert answer.remove_keyboard and anna.reply_keyboard is None

    await anna.send_command("/waar")
    await anna.next()
    await anna.reply_button("Overslaan")
    assert anna.reply_keyboard is None  # one_time_keyboard hides after use
    assert (await anna.next()).text == "Overslaan"


async def test_files_both_ways(sb: Sandbox, echo_bot: Bot) -> None:
    anna = sb.user(1001, "Anna")
    await anna.send_command("/rapport")
    report = await anna.next()
    assert report.document is not None
    assert report.document.filename == "leden.csv"
    assert report.document.mime_type == "text/csv"
    assert report.document.data == b"naam,regio\nAnna,oost\n"
    assert report.text == "Het rapport" and report.html == "Het <b>rapport</b>"

    file = await echo_bot.get_file(report.document.file_id)
    assert file.file_size == 21 and file.file_path.startswith("documents/")
    downloaded = await echo_bot.download_file(file.file_path, BytesIO())
    assert downloaded.getvalue() == report.document.data

    await anna.send_document("aanmeldingen.csv", b"naam\nAnna\nBob\n")
    assert (await anna.next()).text == "aanmeldingen.csv: 14 bytes, 3 regels"


async def test_photos_must_be_images(sb: Sandbox, api_bot: Bot) -> None:
    anna = sb.user(1001, "Anna")
    sent = await api_bot.send_photo(1001, BufferedInputFile(tiny_png(3, 2), "p.png"), caption="x")
    assert (sent.photo[-1].width, sent.photo[-1].height) == (3, 2)
    assert anna.last.photo is not None and anna.last.photo.data == tiny_png(3, 2)
    again = await api_bot.send_photo(1001, sent.photo[-1].file_id)
    assert again.photo[-1].file_id == sent.photo[-1].file_id
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await api_bot.send_photo(1001, BufferedInputFile(b"not an image", "p.png"))
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await api_bot.send_document(1001, "no-such-file-id")


async def test_validation_answers_like_telegram(sb: Sandbox, api_bot: Bot) -> None:
    anna = sb.user(1001, "Anna")
    bad = TelegramBadRequest

    assert (await api_bot.send_message(1001, "x" * 4096)).text == "x" * 4096
    with pytest.raises(bad, match="Bad Request: message is too long"):
        await api_bot.send_message(1001, "x" * 4097)
    tagged = await api_bot.send_message(1001, "<b>" + "y" * 4096 + "</b>", parse_mode="HTML")
    assert len(tagged.text) == 4096  # the limit counts the text after parsing
    with pytest.raises(bad, match="Bad Request: message text is empty"):
        await api_bot.send_message(1001, "")
    with pytest.raises(bad, match='can\'t parse entities: Unsupported start tag "anna"'):
        await api_bot.send_message(1001, "Hoi <Anna>", parse_mode="HTML")
    with pytest.raises(bad, match="Character '!' is reserved"):
        await api_bot.send_message(1001, "Hoi!", parse_mode="MarkdownV2")

    def buttons(data: str) -> InlineKeyboardMarkup:
        button = InlineKeyboardButton(text="Aanmelden", callback_data=data)
        return InlineKeyboardMarkup(inline_keyboard=[[button]])

    await api_bot.send_message(1001, "ok", reply_markup=buttons("w" * 64))
    with pytest.raises(bad, match="Bad Request: BUTTON_DATA_INVALID"):
        await api_bot.send_message(1001, "te lang", reply_markup=buttons("w" * 65))
    with pytest.raises(bad, match="BUTTON_DATA_INVALID"):
        await api_bot.send_message(1001, "bytes tellen", reply_markup=buttons("é" * 33))
    with pytest.raises(bad, match="message caption is too long"):
        await api_bot.send_document(1001, BufferedInputFile(b"x", "a.txt"), caption="c" * 1025)
    with pytest.raises(bad, match="Bad Request: chat not found"):
        await api_bot.send_message(424242, "wie?")

    own = await anna.send_text("mijn bericht")
    with pytest.raises(bad, match="message to edit not found"):
        await api_bot.edit_message_text("nee", chat_id=1001, message_id=own.message_id)
    with pytest.raises(bad, match="message to edit not found"):
        await api_bot.edit_message_text("nee", chat_id=1001, message_id=9999)
    sent = await api_bot.send_message(1001, "Hallo <i>Anna</i>", parse_mode="HTML")
    with pytest.raises(bad, match="Bad Request: message is not modified"):
        await api_bot.edit_message_text(
            "Hallo <i>Anna</i>", chat_id=1001, message_id=sent.message_id, parse_mode="HTML"
        )
    await api_bot.edit_message_text("Hallo Anna", chat_id=1001, message_id=sent.message_id)
    assert anna.last.text == "Hallo Anna" and anna.last.entities == [] and anna.last.edited


async def test_formatting_is_stored_raw_and_plain(sb: Sandbox, api_bot: Bot) -> None:
    anna = sb.user(1001, "Anna")
    await api_bot.send_message(1001, "*Welkom* bij _de_ training\\!", parse_mode="MarkdownV2")
    shown = await anna.next()
    assert shown.text == "Welkom bij de training!"
    assert shown.raw == "*Welkom* bij _de_ training\\!"
    assert shown.html == "<b>Welkom</b> bij <i>de</i> training!"
    assert [e["type"] for e in shown.entities] == ["bold", "italic"]


async def test_delete_copy_and_forward(sb: Sandbox, api_bot: Bot) -> None:
    anna, counsellor = sb.user(1001, "Anna"), sb.user(2001, "Vera")
    sent = await api_bot.send_message(1001, "Tijdelijk")
    assert await api_bot.delete_message(1001, sent.message_id)
    gone = await anna.next(include_deleted=True)
    assert gone.message_id == sent.message_id
    gone = await anna.next(include_deleted=True)
    assert gone.deleted and anna.last is None and anna.messages[0].deleted
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await api_bot.delete_message(1001, sent.message_id)

    question = await anna.send_text("Ik heb een vertrouwelijke vraag")
    copy = await api_bot.copy_message(2001, from_chat_id=1001, message_id=question.message_id)
    assert counsellor.last.text == "Ik heb een vertrouwelijke vraag"
    assert counsellor.last.message_id == copy.message_id
    assert "forward_origin" not in counsellor.last.json
    forwarded = await api_bot.forward_message(2001, 1001, question.message_id)
    assert forwarded.forward_origin.sender_user.id == 1001


# --- limits and faults --------------------------------------------------------------------


async def test_private_chat_limit_answers_429(sb: Sandbox, api_bot: Bot) -> None:
    sb.limits = Limits(private_per_second=1, private_burst=3)
    anna, bob = sb.user(1001, "Anna"), sb.user(1002, "Bob")
    first = await api_bot.send_message(1001, "0")
    await api_bot.send_message(1001, "1")
    await api_bot.send_message(1001, "2")
    with pytest.raises(TelegramRetryAfter) as caught:
        await api_bot.send_message(1001, "te veel")
    assert caught.value.retry_after >= 1
    assert caught.value.message.endswith(
        f"Too Many Requests: retry after {caught.value.retry_after}"
    )
    await api_bot.send_message(1002, "Bob mag nog")
    await api_bot.edit_message_text("bewerkt", chat_id=1001, message_id=first.message_id)
    assert [m.text for m in anna.bot_messages] == ["bewerkt", "1", "2"]
    assert bob.last.text == "Bob mag nog"
    assert sb.rate_limited[1001] == 1 and sb.sent[1001] == 3


async def test_global_limit_answers_429_and_refills(sb: Sandbox, api_bot: Bot) -> None:
    sb.limits = Limits(bot_per_second=5, bot_burst=5)
    for user_id in range(1, 7):
        sb.user(user_id, f"Lid {user_id}")
    for user_id in range(1, 6):
        await api_bot.send_message(user_id, "nieuws")
    status, body = await call(sb, "sendMessage", json={"chat_id": 6, "text": "nieuws"})
    assert status == 429
    assert body["error_code"] == 429 and body["parameters"]["retry_after"] >= 1
    await asyncio.sleep(0.25)  # 5 per second: a token is back after 0.2 s
    await api_bot.send_message(6, "nieuws")


async def test_group_limit_is_per_minute(sb: Sandbox, api_bot: Bot) -> None:
    sb.limits = Limits(group_per_minute=3, group_burst=3)
    sb.group(-100123, "Vrijwilligers")
    for _ in range(3):
        await api_bot.send_message(-100123, "vraag")
    with pytest.raises(TelegramRetryAfter) as caught:
        await api_bot.send_message(-100123, "nog een vraag")
    assert caught.value.retry_after == 20


async def test_injected_failures(sb: Sandbox, api_bot: Bot) -> None:
    anna = sb.user(1001, "Anna")
    sb.faults.fail_next("sendMessage", 500)
    with pytest.raises(TelegramServerError):
        await api_bot.send_message(1001, "verloren")
    assert anna.messages == []

    sb.faults.fail_next("sendMessage", 429, retry_after=3, count=2)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as caught:
            await api_bot.send_message(1001, "later")
        assert caught.value.retry_after == 3
    await api_bot.send_message(1001, "gelukt")
    assert [m.text for m in anna.messages] == ["gelukt"]

    sb.faults.fail_next("*", 502, description="Bad Gateway")
    sb.faults.clear()
    assert sb.faults.pending == 0
    await api_bot.send_message(1001, "weer gewoon")


async def test_delayed_answers_time_out_the_client(sb: Sandbox, api_bot: Bot) -> None:
    anna = sb.user(1001, "Anna")
    sb.faults.delay_next("sendMessage", 1.1)
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await api_bot.send_message(1001, "dubbel?", request_timeout=1)
    assert [m.text for m in anna.messages] == ["dubbel?"]  # sent, though the bot never heard

    sb.faults.delay_next("sendMessage", 1.1, execute_first=False)
    with pytest.raises(TelegramNetworkError):
        await api_bot.send_message(1001, "nooit", request_timeout=1)
    await sb.idle(quiet=0.3)
    assert [m.text for m in anna.messages] == ["dubbel?"]  # the client hung up first


async def test_blocking_answers_403_and_tells_the_bot(sb: Sandbox) -> None:
    changes: list[tuple[str, str]] = []
    router = Router()

    @router.my_chat_member()
    async def member(update: ChatMemberUpdated) -> None:
        changes.append((update.old_chat_member.status, update.new_chat_member.status))

    dp = Dispatcher()
    dp.include_router(router)
    async with polling(sb, dp, make_bot(sb)) as bot:
        anna = sb.user(1001, "Anna")
        anna.block()
        await sb.idle()
        assert changes == [("member", "kicked")]
        with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
            await bot.send_message(1001, "Nieuwe workshop!")
        with pytest.raises(AssertionError, match="unblock"):
            await anna.send_text("hallo")
        anna.unblock()
        await sb.idle()
        assert changes[-1] == ("kicked", "member")
        await bot.send_message(1001, "Welkom terug")
        sb.user(1002, "Bob").deactivate()
        with pytest.raises(TelegramForbiddenError, match="user is deactivated"):
            await bot.send_message(1002, "hallo")


@pytest.mark.usefixtures("echo_bot")
async def test_updates_the_bot_did_not_ask_for_are_dropped(sb: Sandbox) -> None:
    anna = sb.user(1001, "Anna")
    anna.block()  # the echo bot has no my_chat_member handler
    await sb.idle(quiet=0.1)
    assert [next(k for k in u if k != "update_id") for u in sb.bot(TOKEN).dropped_updates] == [
        "my_chat_member"
    ]


# --- webhooks -----------------------------------------------------------------------------


@asynccontextmanager
async def web_server(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_webhook_delivers_in_order_with_secret_and_retries(sb: Sandbox, api_bot: Bot) -> None:
    seen: list[tuple[int, str, str]] = []

    async def receive(request: web.Request) -> web.Response:
        update = await request.json()
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        seen.append((update["update_id"], update["message"]["text"], secret))
        return web.Response(status=500 if len(seen) == 1 else 200)

    app = web.Application()
    app.router.add_post("/hook", receive)
    async with web_server(app) as url:
        anna = sb.user(1001, "Anna")
        await api_bot.set_webhook(f"{url}/hook", secret_token="s3cret-token")
        for text in ("een", "twee", "drie"):
            await anna.send_text(text)
        await sb.idle(quiet=0.1)
        assert seen == [
            (1, "een", "s3cret-token"),
            (1, "een", "s3cret-token"),  # the 500 made the sandbox retry
            (2, "twee", "s3cret-token"),
            (3, "drie", "s3cret-token"),
        ]
        info = await api_bot.get_webhook_info()
        assert info.url == f"{url}/hook" and info.pending_update_count == 0
        assert "500" in (info.last_error_message or "")
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await api_bot.get_updates()
        await api_bot.delete_webhook(drop_pending_updates=True)
        assert await api_bot.get_updates(timeout=0) == []


async def test_webhook_replies_are_executed(sb: Sandbox) -> None:
    router = Router()

    @router.message()
    async def reply(message: Message) -> object:
        return message.answer(f"webhook: {message.text}")

    dp = Dispatcher()
    dp.include_router(router)
    bot = make_bot(sb)
    app = web.Application()
    SimpleRequestHandler(dp, bot, handle_in_background=False, secret_token="geheim").register(
        app, path="/tg"
    )
    async with web_server(app) as url:
        await bot.set_webhook(f"{url}/tg", secret_token="geheim")
        anna = sb.user(1001, "Anna")
        await anna.send_text("hoi")
        assert (await anna.next()).text == "webhook: hoi"
        await bot.delete_webhook()
    await bot.session.close()


# --- commands, idle, groups, several bots ---------------------------------------------------


async def test_command_menus_resolve_by_scope_and_language(sb: Sandbox, api_bot: Bot) -> None:
    anna = sb.user(1001, "Anna", language_code="nl")
    bob = sb.user(1002, "Bob", language_code="nl")
    carl = sb.user(1003, "Carl", language_code="en")
    dora = sb.user(1004, "Dora", language_code="sv")
    await api_bot.set_my_commands([BotCommand(command="start", description="Begin")])
    await api_bot.set_my_commands(
        [BotCommand(command="start", description="Start")], language_code="en"
    )
    await api_bot.set_my_commands(
        [BotCommand(command="vraag", description="Stel een vraag")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="nl",
    )
    await api_bot.set_my_commands(
        [BotCommand(command="beheer", description="Beheer")],
        scope=BotCommandScopeChat(chat_id=1001),
    )
    assert anna.commands == [("beheer", "Beheer")]
    assert bob.commands == [("vraag", "Stel een vraag")]
    assert carl.commands == [("start", "Start")]
    assert dora.commands == [("start", "Begin")]
    assert sb.commands_for(-100123, "nl") == [("start", "Begin")]

    exact = await api_bot.get_my_commands(scope=BotCommandScopeAllPrivateChats())
    assert exact == []  # getMyCommands is exact: that scope has only an "nl" list
    await api_bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=1001))
    assert anna.commands == [("vraag", "Stel een vraag")]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await api_bot.set_my_commands([BotCommand(command="Hoofdletters", description="x")])


async def test_idle_waits_for_the_bot_and_names_what_is_stuck(sb: Sandbox) -> None:
    sb.register_bot(TOKEN)
    anna = sb.user(1001, "Anna")
    await anna.send_text("is daar iemand?")
    with pytest.raises(TimeoutError, match="nobody polling"):
        await sb.idle(timeout=0.3)
    with pytest.raises(NoReply, match="bot NOT polling"):
        await anna.next(timeout=0.1)

    dp = Dispatcher()
    dp.include_router(echo_router())
    async with polling(sb, dp, make_bot(sb)):
        await sb.idle(quiet=0.2)
        assert [m.text for m in anna.unseen] == ["is daar iemand?"]
        await anna.send_text("nog iets")
        await anna.next()
        await anna.next()
        await anna.expect_silence(quiet=0.2)


async def test_groups_privacy_mode_and_presses_by_members(sb: Sandbox) -> None:
    router = Router()

    @router.message(Command("vraag"))
    async def question(message: Message) -> None:
        keyboard = InlineKeyboardBuilder()
        keyboard.button(text="Claim", callback_data="claim:7")
        await message.answer("Nieuwe vraag #7", reply_markup=keyboard.as_markup())

    @router.callback_query(F.data == "claim:7")
    async def claim(query: CallbackQuery) -> None:
        await query.answer("Jij hebt hem")
        await query.message.edit_text(f"Vraag #7: geclaimd door {query.from_user.first_name}")

    @router.message(F.text)
    async def heard(message: Message) -> None:
        await message.answer(f"gezien: {message.text}")

    dp = Dispatcher()
    dp.include_router(router)
    async with polling(sb, dp, make_bot(sb)):
        group = sb.group(-100123, "Vrijwilligers")
        anna, bob = sb.user(1001, "Anna"), sb.user(1002, "Bob")
        await anna.send_text_in(group, "hallo allemaal")
        await group.expect_silence(quiet=0.2)  # privacy mode: the bot does not see chatter

        await anna.send_text_in(group, "/vraag")
        posted = await group.next()
        assert posted.text == "Nieuwe vraag #7" and posted.chat_id == -100123
        await bob.press_in(group, "Claim")
        assert (await group.next()).text == "Vraag #7: geclaimd door Bob"
        assert bob.alerts == ["Jij hebt hem"] and anna.alerts == []

        await anna.send_text_in(group, "klopt dit?", reply_to=posted)  # replies reach the bot
        assert (await group.next()).text == "gezien: klopt dit?"
        group.privacy_mode = False
        await anna.send_text_in(group, "alles")
        assert (await group.expect_text("gezien")).text == "gezien: alles"
        assert next(m.text for m in group.messages if not m.from_bot) == "hallo allemaal"


async def test_two_bots_have_separate_chats(sb: Sandbox) -> None:
    dp1, dp2 = Dispatcher(), Dispatcher()
    dp1.include_router(echo_router())
    dp2.include_router(echo_router())
    async with polling(sb, dp1, make_bot(sb)), polling(sb, dp2, make_bot(sb, OTHER_TOKEN)):
        anna_one = sb.user(1001, "Anna", token=TOKEN)
        anna_two = sb.user(1001, "Anna", token=OTHER_TOKEN)
        await anna_one.send_text("voor bot een")
        await anna_two.send_text("voor bot twee")
        assert (await anna_one.next()).text == "voor bot een"
        assert (await anna_two.next()).text == "voor bot twee"
        assert [m.text for m in anna_one.messages] == ["voor bot een", "voor bot een"]
        assert anna_two.messages[1].sender_id == 654321
