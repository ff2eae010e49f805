"""Simulated people and groups: they send realistic updates and see what the bot shows them.

A test reads like a conversation::

    anna = sb.user(1001, "Anna", language_code="nl")
    await anna.send_command("/start")
    welcome = await anna.next()
    await anna.press("Ja")
    assert "toestemming" in (await anna.next()).text

``next()`` hands out each bot event (new message or edit) once, in order; ``messages`` is
the chat as it looks now.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from typing import TYPE_CHECKING

from sandbox.clock import now
from sandbox.markup import utf16_len
from sandbox.media import image_size, tiny_png
from sandbox.state import (
    Alert,
    BotState,
    CallbackRecord,
    ChatState,
    GroupInfo,
    InlineButton,
    Json,
    Person,
    ReplyButton,
    SandboxMessage,
    StoredMessage,
    reply_rows,
)

if TYPE_CHECKING:
    from sandbox.server import Sandbox

COMMAND_AT_START = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")
TEXT_LIMIT = 4096


class NoReply(AssertionError, TimeoutError):
    """The bot did not say what was expected in time (both an assertion and a timeout)."""


def text_content(text: str) -> Json:
    """A text message's fields, with the bot_command entity Telegram adds to "/command"."""
    content: Json = {"text": text}
    command = COMMAND_AT_START.match(text)
    if command:
        content["entities"] = [
            {"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}
        ]
    return content


def _split(text: str) -> list[str]:
    """Telegram apps split long texts into 4096-character messages; so do we."""
    return [text[i : i + TEXT_LIMIT] for i in range(0, len(text), TEXT_LIMIT)] or [text]


def _find_reply_button(rows: list[list[ReplyButton]], label: str) -> ReplyButton:
    buttons = [b for row in rows for b in row]
    exact = [b for b in buttons if b.text == label]
    if exact:
        return exact[0]
    partial = [b for b in buttons if label.casefold() in b.text.casefold()]
    if len(partial) == 1:
        return partial[0]
    what = "several" if partial else "no"
    raise AssertionError(
        f"{what} reply keyboard buttons match {label!r}; buttons: {[b.text for b in buttons]}"
    )


class ChatView:
    """What is shared by a person's private chat and a group: seeing and waiting."""

    def __init__(self, sandbox: Sandbox, token: str | None) -> None:
        self.sandbox = sandbox
        self._token = token
        self._pos = 0

    # subclasses say which chat
    def _chat(self, bot: BotState) -> ChatState:
        raise NotImplementedError

    @property
    def name(self) -> str:
        raise NotImplementedError

    def _bot(self) -> BotState | None:
        try:
            bot = self.sandbox.bot(self._token)
        except LookupError:
            return None
        self._token = bot.token
        return bot

    def _require_bot(self) -> BotState:
        bot = self._bot()
        if bot is None:
            raise RuntimeError("no bot has called the sandbox yet; start the bot first")
        return bot

    async def _abot(self, timeout: float = 5.0) -> BotState:  # noqa: ASYNC109
        bot = await self.sandbox.wait_bot(self._token, timeout)
        self._token = bot.token
        return bot

    def _state(self) -> ChatState | None:
        bot = self._bot()
        return self._chat(bot) if bot is not None else None

    @property
    def messages(self) -> list[SandboxMessage]:
        """The whole chat as it looks now, both sides, deleted messages flagged."""
        state = self._state()
        return [m.snapshot() for m in state.messages.values()] if state else []

    @property
    def bot_messages(self) -> list[SandboxMessage]:
        """The bot's messages still shown (not deleted), oldest first."""
        return [m for m in self.messages if m.from_bot and not m.deleted]

    @property
    def last(self) -> SandboxMessage | None:
        """The bot's most recent message still shown."""
        shown = self.bot_messages
        return shown[-1] if shown else None

    @property
    def reply_keyboard(self) -> list[list[ReplyButton]] | None:
        """The reply keyboard currently shown under the input field, if any."""
        state = self._state()
        return reply_rows(state.reply_keyboard) if state else None

    def drain(self) -> None:
        """Mark every event so far as seen: ``next()`` waits for new ones only."""
        state = self._state()
        self._pos = len(state.events) if state else 0

    @property
    def unseen(self) -> list[SandboxMessage]:
        """New messages and edits not yet taken with ``next()``."""
        state = self._state()
        if state is None:
            return []
        return [
            e.message
            for e in state.events[self._pos :]
            if e.kind in ("new", "edit") and e.message is not None
        ]

    async def next(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        include_deleted: bool = False,
    ) -> SandboxMessage:
        """The next bot message or edit (edits come back with ``edited=True``)."""
        deadline = time.monotonic() + timeout
        bot = await self._abot(timeout)
        chat = self._chat(bot)
        kinds = {"new", "edit", "delete"} if include_deleted else {"new", "edit"}
        while True:
            while self._pos < len(chat.events):
                event = chat.events[self._pos]
                self._pos += 1
                if event.kind in kinds and event.message is not None:
                    return event.message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NoReply(self._explain(bot, f"no new bot message within {timeout:g}s"))
            await chat.signal.wait(remaining)

    async def expect_text(self, substring: str, timeout: float = 5.0) -> SandboxMessage:  # noqa: ASYNC109
        """The next bot message or edit whose text contains ``substring`` (others are skipped)."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while True:
            try:
                message = await self.next(max(0.0, deadline - time.monotonic()))
            except NoReply:
                raise NoReply(
                    f"{self.name}: no bot message containing {substring!r} within {timeout:g}s; "
                    f"saw {seen}"
                ) from None
            if substring in message.text:
                return message
            seen.append(message.text)

    async def expect_silence(self, quiet: float = 0.3, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the sandbox is idle, then assert the bot said nothing new here."""
        await self.sandbox.idle(quiet=quiet, timeout=timeout)
        unseen = self.unseen
        if unseen:
            raise AssertionError(f"{self.name}: expected silence, got {[m.text for m in unseen]}")

    def place_bot_message(
        self, text: str, buttons: list[list[InlineButton]] | None = None
    ) -> SandboxMessage:
        """A fixture: a bot message already in this chat, as if the bot had sent it earlier,
        with no flood limit taken and nothing counted as sent. A benchmark gives thousands
        of members the button they will press without the bot pacing 30 messages a second.
        """
        bot = self._require_bot()
        chat = self._chat(bot)
        message_json: Json = {
            "message_id": chat.new_id(),
            "from": bot.user_json(),
            "chat": chat.chat_json,
            "date": now(),
            "text": text,
        }
        markup: Json | None = None
        if buttons:
            rows = [
                [
                    {"text": b.text, "url": b.url}
                    if b.url is not None
                    else {"text": b.text, "callback_data": b.data}
                    for b in row
                ]
                for row in buttons
            ]
            markup = {"inline_keyboard": rows}
            message_json["reply_markup"] = markup
        stored = StoredMessage(
            message_id=message_json["message_id"],
            chat_id=chat.chat_id,
            from_bot=True,
            sender_id=bot.id,
            json=message_json,
            raw_text=text,
            markup=markup,
        )
        chat.add(stored)
        return stored.snapshot()

    def _latest_with_buttons(self, chat: ChatState) -> StoredMessage:
        for message in reversed(chat.messages.values()):
            if message.from_bot and not message.deleted and (message.json.get("reply_markup")):
                return message
        shown = [m.text[:50] for m in chat.messages.values() if m.from_bot and not m.deleted]
        raise AssertionError(
            f"{self.name}: no bot message with inline buttons; bot messages: {shown[-5:]}"
        )

    def _explain(self, bot: BotState, problem: str) -> str:
        shown = [m.text[:60] for m in self.bot_messages[-3:]]
        failed = [
            f"{r.method} {r.status} {r.description}"
            for r in self.sandbox.requests[-50:]
            if r.bot_id == bot.id and r.failed
        ][-5:]
        polling = "polling" if bot.polling else ("webhook" if bot.webhook else "NOT polling")
        return (
            f"{self.name}: {problem}. Last bot messages: {shown}. "
            f"Updates pending: {len(bot.pending)} (bot {polling}). Recent errors: {failed}"
        )


class SandboxUser(ChatView):
    """A person in their private chat with the bot."""

    def __init__(
        self,
        sandbox: Sandbox,
        person: Person,
        token: str | None,
        *,
        label: str | None = None,
        location: tuple[float, float] | None = None,
    ) -> None:
        super().__init__(sandbox, token)
        self.person = person
        self.label = label
        self.location = location

    def __repr__(self) -> str:
        return f"<SandboxUser {self.person.id} {self.person.first_name!r}>"

    @property
    def id(self) -> int:
        return self.person.id

    chat_id = id

    @property
    def name(self) -> str:
        return self.person.first_name

    @property
    def first_name(self) -> str:
        return self.person.first_name

    @property
    def username(self) -> str | None:
        return self.person.username

    @property
    def language_code(self) -> str | None:
        return self.person.language_code

    def _chat(self, bot: BotState) -> ChatState:
        return self.sandbox.private_chat(bot, self.person.id)

    # --- what the person sees besides messages ----------------------------------------------

    @property
    def callback_answers(self) -> list[Alert]:
        """Every answerCallbackQuery for this person's presses (also the silent ones)."""
        bot = self._bot()
        return list(bot.alerts.get(self.id, [])) if bot else []

    @property
    def alerts(self) -> list[str]:
        """Texts of the toasts and alerts shown after pressing buttons."""
        return [a.text for a in self.callback_answers if a.text]

    async def answered(self, count: int, timeout: float = 5.0) -> list[str]:  # noqa: ASYNC109
        """Wait until `count` of this person's presses have been answered (also silently),
        then the alert texts: a tap's outcome without guessing how long the bot takes."""
        deadline = time.monotonic() + timeout
        while len(self.callback_answers) < count:
            if time.monotonic() >= deadline:
                done = len(self.callback_answers)
                raise NoReply(
                    f"{self.label or self.id}: {done} of {count} presses answered within "
                    f"{timeout:g}s"
                )
            await asyncio.sleep(0.01)
        return self.alerts

    @property
    def commands(self) -> list[tuple[str, str]]:
        """The command menu this person sees (their chat, their language)."""
        bot = self._bot()
        if bot is None:
            return []
        return self.sandbox.commands_for(self.id, self.language_code, token=bot.token)

    @property
    def blocked(self) -> bool:
        bot = self._bot()
        return bool(bot and self.id in bot.blocked)

    # --- sending ----------------------------------------------------------------------------

    async def _send(
        self,
        content: Json,
        *,
        chat: ChatState | None = None,
        reply_to: SandboxMessage | int | None = None,
        file: object = None,
    ) -> SandboxMessage:
        bot = await self._abot()
        chat = chat or self._chat(bot)
        if not chat.is_group and self.id in bot.blocked:
            raise AssertionError(f"{self.name} blocked the bot; call unblock() first")
        target = None
        if reply_to is not None:
            message_id = reply_to if isinstance(reply_to, int) else reply_to.message_id
            target = chat.find(message_id)
            if target is None:
                raise AssertionError(f"no message {message_id} to reply to")
        stored = self.sandbox.post_user_message(
            bot, chat, self.person, content, reply_to=target, file=file
        )
        return stored.snapshot()

    async def send_text(
        self, text: str, *, reply_to: SandboxMessage | int | None = None
    ) -> SandboxMessage:
        """Type and send a text ("/command …" gets its bot_command entity)."""
        sent = None
        for part in _split(text):
            sent = await self._send(text_content(part), reply_to=reply_to)
        assert sent is not None
        return sent

    async def send_command(self, command: str, payload: str | None = None) -> SandboxMessage:
        """Send ``/command`` (with a deep-link ``payload``, as ``/start w_12`` arrives)."""
        command = command if command.startswith("/") else f"/{command}"
        return await self.send_text(f"{command} {payload}" if payload else command)

    async def send_location(self, latitude: float, longitude: float) -> SandboxMessage:
        return await self._send({"location": {"latitude": latitude, "longitude": longitude}})

    async def send_contact(self, phone_number: str | None = None) -> SandboxMessage:
        """Share one's own phone number (what a request_contact button sends)."""
        contact = {
            "phone_number": phone_number or self.person.phone or "+31600000000",
            "first_name": self.person.first_name,
            "user_id": self.id,
        }
        return await self._send({"contact": contact})

    async def send_sticker(self, emoji: str = "👍") -> SandboxMessage:
        bot = await self._abot()
        file = bot.store_file(tiny_png(), kind="stickers", mime_type="image/webp")
        sticker = {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "SandboxStickers",
            "file_size": file.size,
        }
        return await self._send({"sticker": sticker}, file=file)

    async def send_photo(
        self, data: bytes | None = None, *, caption: str | None = None
    ) -> SandboxMessage:
        """Send a photo (a small generated PNG unless ``data`` is given)."""
        bot = await self._abot()
        data = data if data is not None else tiny_png()
        width, height = image_size(data) or (512, 512)
        file = bot.store_file(
            data, kind="photos", mime_type="image/jpeg", width=width, height=height
        )
        content: Json = {
            "photo": [
                {
                    "file_id": file.file_id,
                    "file_unique_id": file.file_unique_id,
                    "file_size": file.size,
                    "width": width,
                    "height": height,
                }
            ]
        }
        if caption:
            content["caption"] = caption
        return await self._send(content, file=file)

    async def send_document(
        self,
        filename: str,
        data: bytes,
        mime: str = "text/csv",
        *,
        caption: str | None = None,
    ) -> SandboxMessage:
        """Send a file; the bot can getFile and download it."""
        bot = await self._abot()
        file = bot.store_file(data, kind="documents", filename=filename, mime_type=mime)
        content: Json = {
            "document": {
                "file_id": file.file_id,
                "file_unique_id": file.file_unique_id,
                "file_name": filename,
                "mime_type": mime,
                "file_size": file.size,
            }
        }
        if caption:
            content["caption"] = caption
        return await self._send(content, file=file)

    async def send_text_in(
        self, group: SandboxGroup, text: str, *, reply_to: SandboxMessage | int | None = None
    ) -> SandboxMessage:
        """Write in a group (with privacy mode the bot only sees commands, replies, mentions)."""
        bot = await group._abot()
        return await self._send(text_content(text), chat=group._chat(bot), reply_to=reply_to)

    # --- buttons -----------------------------------------------------------------------------

    def _callback(self, bot: BotState, chat: ChatState, message_id: int, data: str) -> str:
        if not chat.is_group and self.id in bot.blocked:
            raise AssertionError(f"{self.name} blocked the bot; call unblock() first")
        stored = chat.find(message_id)
        if stored is not None and not stored.deleted:
            message_json = stored.json
        else:
            message_json = {"chat": chat.chat_json, "message_id": message_id, "date": 0}
        query_id = str(secrets.randbits(62))
        bot.callback_queries[query_id] = CallbackRecord(
            user_id=self.id,
            chat_id=chat.chat_id,
            message_id=message_id,
            data=data,
            created=self.sandbox.clock(),
        )
        self.sandbox.push_update(
            bot,
            "callback_query",
            {
                "id": query_id,
                "from": self.person.user_json(),
                "message": message_json,
                "chat_instance": self.sandbox.chat_instance(bot, chat.chat_id),
                "data": data,
            },
        )
        return query_id

    def _chat_of(self, bot: BotState, chat_id: int) -> ChatState:
        if chat_id == self.id:
            return self._chat(bot)
        if chat_id in self.sandbox.groups:
            return self.sandbox.group_chat(bot, chat_id)
        raise AssertionError(f"{self.name} cannot see chat {chat_id}")

    async def press(self, label_or_data: str, *, message: SandboxMessage | None = None) -> str:
        """Press an inline button of the latest bot message with buttons (or of ``message``).

        Matches the button text exactly, then the callback data, then a unique part of the
        text; returns the callback query id.
        """
        bot = await self._abot()
        if message is None:
            chat = self._chat(bot)
            stored = self._latest_with_buttons(chat)
        else:
            chat = self._chat_of(bot, message.chat_id)
            found = chat.find(message.message_id)
            if found is None or found.deleted:
                raise AssertionError(f"message {message.message_id} is gone; cannot press on it")
            stored = found
        button = stored.snapshot().find_button(label_or_data)
        if button.data is None:
            raise AssertionError(f"button {button.text!r} opens {button.url!r}; it has no callback")
        return self._callback(bot, chat, stored.message_id, button.data)

    async def press_in(self, group: SandboxGroup, label_or_data: str) -> str:
        """Press a button on the group's latest bot message with buttons."""
        bot = await group._abot()
        stored = group._latest_with_buttons(group._chat(bot))
        return await self.press(label_or_data, message=stored.snapshot())

    async def press_raw(
        self, message_id: int, data: str, *, chat: SandboxGroup | None = None
    ) -> str:
        """Send any callback data for any message id: stale or forged buttons."""
        bot = await self._abot()
        state = chat._chat(bot) if chat is not None else self._chat(bot)
        return self._callback(bot, state, message_id, data)

    async def reply_button(
        self, label: str, location: tuple[float, float] | None = None
    ) -> SandboxMessage:
        """Tap a reply keyboard button: its text, or a location/contact if it requests one."""
        bot = await self._abot()
        chat = self._chat(bot)
        rows = reply_rows(chat.reply_keyboard)
        if not rows:
            raise AssertionError(f"{self.name} has no reply keyboard shown")
        button = _find_reply_button(rows, label)
        one_time = bool((chat.reply_keyboard or {}).get("one_time_keyboard"))
        if button.request_location:
            place = location or self.location
            if place is None:
                raise AssertionError(f"{button.text!r} shares a location: pass location=(lat, lon)")
            sent = await self.send_location(*place)
        elif button.request_contact:
            sent = await self.send_contact()
        else:
            sent = await self.send_text(button.text)
        if one_time:
            chat.reply_keyboard = None
        return sent

    # --- blocking ----------------------------------------------------------------------------

    def _member_update(self, bot: BotState, old: str, new: str) -> None:
        bot_user = bot.user_json()
        new_member: Json = {"status": new, "user": bot_user}
        if new == "kicked":
            new_member["until_date"] = 0
        old_member: Json = {"status": old, "user": bot_user}
        if old == "kicked":
            old_member["until_date"] = 0
        self.sandbox.push_update(
            bot,
            "my_chat_member",
            {
                "chat": self.person.chat_json(),
                "from": self.person.user_json(),
                "date": now(),
                "old_chat_member": old_member,
                "new_chat_member": new_member,
            },
        )

    def block(self) -> None:
        """Block the bot: sends answer 403, and the bot gets a my_chat_member update."""
        bot = self._require_bot()
        if self.id not in bot.blocked:
            bot.blocked.add(self.id)
            self._member_update(bot, "member", "kicked")

    def unblock(self) -> None:
        """Unblock (Telegram's "Restart"): the bot gets my_chat_member kicked → member."""
        bot = self._require_bot()
        if self.id in bot.blocked:
            bot.blocked.discard(self.id)
            self._member_update(bot, "kicked", "member")

    def deactivate(self) -> None:
        """Delete the account: sends answer 403 "user is deactivated"."""
        self._require_bot().deactivated.add(self.id)


class SandboxGroup(ChatView):
    """A group chat with the bot in it, seen from the outside."""

    def __init__(self, sandbox: Sandbox, info: GroupInfo, token: str | None) -> None:
        super().__init__(sandbox, token)
        self.info = info

    def __repr__(self) -> str:
        return f"<SandboxGroup {self.info.id} {self.info.title!r}>"

    @property
    def id(self) -> int:
        return self.info.id

    chat_id = id

    @property
    def name(self) -> str:
        return self.info.title

    @property
    def title(self) -> str:
        return self.info.title

    @property
    def privacy_mode(self) -> bool:
        return self.info.privacy_mode

    @privacy_mode.setter
    def privacy_mode(self, value: bool) -> None:
        self.info.privacy_mode = value

    def _chat(self, bot: BotState) -> ChatState:
        return self.sandbox.group_chat(bot, self.info.id)

    def add_member(self, user: SandboxUser, *, admin: bool = False) -> None:
        self.info.members.add(user.id)
        if admin:
            self.info.admins.add(user.id)
