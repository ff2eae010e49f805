"""What the sandbox remembers: people, groups, each bot's updates, chats, messages and files.

Telegram keeps this per bot (message ids count per chat, file ids are valid for one bot),
so does the sandbox. ``SandboxMessage`` is the immutable picture of one message version
that tests and the terminal look at.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sandbox.markup import entities_to_html

Json = dict[str, Any]


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def body(self) -> Json:
        body: Json = {"ok": False, "error_code": self.error_code, "description": self.description}
        parameters: Json = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        if parameters:
            body["parameters"] = parameters
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


class Signal:
    """Wakes every waiter once; cheaper to reason about than a Condition for "something changed"."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float | None) -> bool:  # noqa: ASYNC109
        """True when fired before ``timeout`` seconds passed."""
        event = self._event
        if timeout is not None and timeout <= 0:
            return False
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True


@dataclass
class Person:
    """A Telegram user, the same for every bot."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    phone: str | None = None

    def user_json(self) -> Json:
        user: Json = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def chat_json(self) -> Json:
        chat: Json = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass
class GroupInfo:
    """A group chat. With ``privacy_mode`` (Telegram's default) the bot sees only commands,
    replies to its own messages and mentions of it."""

    id: int
    title: str
    username: str | None = None
    privacy_mode: bool = True
    members: set[int] = field(default_factory=set)
    admins: set[int] = field(default_factory=set)
    bot_is_admin: bool = False

    @property
    def type(self) -> str:
        return "supergroup" if str(self.id).startswith("-100") else "group"

    def chat_json(self) -> Json:
        chat: Json = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass
class SandboxFile:
    """A stored file: what the bot can getFile/download and what a person sees."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    filename: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int:
        return len(self.data)


class InlineButton(NamedTuple):
    """One inline keyboard button as a person sees it."""

    text: str
    data: str | None = None
    url: str | None = None


class ReplyButton(NamedTuple):
    """One reply keyboard button."""

    text: str
    request_location: bool = False
    request_contact: bool = False


@dataclass(frozen=True)
class Alert:
    """An answerCallbackQuery: the toast or alert the person who pressed sees."""

    text: str
    show_alert: bool
    url: str | None
    user_id: int
    message_id: int | None
    data: str | None


def _inline_rows(markup: Json | None) -> list[list[InlineButton]]:
    rows = (markup or {}).get("inline_keyboard") or []
    return [
        [InlineButton(b.get("text", ""), b.get("callback_data"), b.get("url")) for b in row]
        for row in rows
    ]


def reply_rows(markup: Json | None) -> list[list[ReplyButton]] | None:
    """The reply keyboard rows of a markup, or None when it has none."""
    if not markup or "keyboard" not in markup:
        return None
    return [
        [
            ReplyButton(
                b.get("text", ""), bool(b.get("request_location")), bool(b.get("request_contact"))
            )
            for b in row
        ]
        for row in markup["keyboard"]
    ]


@dataclass(frozen=True)
class SandboxMessage:
    """One version of one message, as the people in the chat see it."""

    message_id: int
    chat_id: int
    from_bot: bool
    sender_id: int
    date: int
    text: str
    """Plain text (or caption), tags stripped."""
    raw: str
    """The text exactly as the bot sent it (with its HTML or Markdown)."""
    parse_mode: str | None
    entities: list[Json]
    inline_keyboard: list[list[InlineButton]]
    reply_keyboard: list[list[ReplyButton]] | None
    remove_keyboard: bool
    force_reply: bool
    document: SandboxFile | None
    photo: SandboxFile | None
    location: tuple[float, float] | None
    sticker: str | None
    contact: Json | None
    reply_to: int | None
    edited: bool
    deleted: bool
    json: Json

    @property
    def html(self) -> str:
        """The text as Telegram HTML: as sent when sent as HTML, else rebuilt from entities."""
        if (self.parse_mode or "").lower() == "html":
            return self.raw
        return entities_to_html(self.text, self.entities)

    @property
    def buttons(self) -> list[InlineButton]:
        """Every inline button, row by row."""
        return [button for row in self.inline_keyboard for button in row]

    @property
    def button_texts(self) -> list[str]:
        return [button.text for button in self.buttons]

    def find_button(self, label: str) -> InlineButton:
        """The button whose text is ``label``, or whose data is, or whose text contains it."""
        buttons = self.buttons
        for matches in (
            [b for b in buttons if b.text == label],
            [b for b in buttons if b.data is not None and b.data == label],
            [b for b in buttons if label.casefold() in b.text.casefold()],
        ):
            if len(matches) == 1 or (matches and matches[0].text == label):
                return matches[0]
            if len(matches) > 1:
                raise AssertionError(
                    f"{label!r} matches several buttons of message {self.message_id}: "
                    f"{[b.text for b in matches]}"
                )
        raise AssertionError(
            f"no button {label!r} in message {self.message_id} ({self.text[:60]!r}); "
            f"buttons: {self.button_texts}"
        )

    def __str__(self) -> str:
        return self.text


@dataclass
class StoredMessage:
    """The current version of a message, with what Telegram does not echo back."""

    message_id: int
    chat_id: int
    from_bot: bool
    sender_id: int
    json: Json
    raw_text: str = ""
    parse_mode: str | None = None
    markup: Json | None = None
    file: SandboxFile | None = None
    deleted: bool = False
    edited: bool = False

    @property
    def text(self) -> str:
        return str(self.json.get("text", self.json.get("caption", "")))

    @property
    def entities(self) -> list[Json]:
        return list(self.json.get("entities", self.json.get("caption_entities", [])))

    def snapshot(self) -> SandboxMessage:
        j = self.json
        markup = self.markup or {}
        location = j.get("location")
        return SandboxMessage(
            message_id=self.message_id,
            chat_id=self.chat_id,
            from_bot=self.from_bot,
            sender_id=self.sender_id,
            date=int(j.get("date", 0)),
            text=self.text,
            raw=self.raw_text or self.text,
            parse_mode=self.parse_mode,
            entities=self.entities,
            inline_keyboard=_inline_rows(markup),
            reply_keyboard=reply_rows(markup),
            remove_keyboard=bool(markup.get("remove_keyboard")),
            force_reply=bool(markup.get("force_reply")),
            document=self.file if "document" in j else None,
            photo=self.file if "photo" in j else None,
            location=(location["latitude"], location["longitude"]) if location else None,
            sticker=j["sticker"].get("emoji", "") if "sticker" in j else None,
            contact=j.get("contact"),
            reply_to=(j.get("reply_to_message") or {}).get("message_id"),
            edited=self.edited,
            deleted=self.deleted,
            json=j,
        )


@dataclass(frozen=True)
class ChatEvent:
    """Something a person in the chat notices: a new bot message, an edit, a deletion, a toast."""

    kind: str  # "new", "edit", "delete", "alert"
    message: SandboxMessage | None = None
    alert: Alert | None = None


class ChatState:
    """One bot's view of one chat: the message sequence, events, and the shown reply keyboard."""

    def __init__(self, chat_id: int, chat_json: Json, is_group: bool) -> None:
        self.chat_id = chat_id
        self.chat_json = chat_json
        self.is_group = is_group
        self.next_message_id = 1
        self.messages: dict[int, StoredMessage] = {}
        self.events: list[ChatEvent] = []
        self.reply_keyboard: Json | None = None
        self.signal = Signal()

    def new_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def add(self, message: StoredMessage) -> None:
        """Store a new message; a bot message is an event, and may change the reply keyboard."""
        self.messages[message.message_id] = message
        if message.from_bot:
            markup = message.markup or {}
            if "keyboard" in markup:
                self.reply_keyboard = markup
            elif markup.get("remove_keyboard"):
                self.reply_keyboard = None
            self.emit("new", message)

    def emit(self, kind: str, message: StoredMessage) -> None:
        self.events.append(ChatEvent(kind, message.snapshot()))
        self.signal.fire()

    def emit_alert(self, alert: Alert) -> None:
        self.events.append(ChatEvent("alert", alert=alert))
        self.signal.fire()

    def find(self, message_id: int) -> StoredMessage | None:
        return self.messages.get(message_id)


@dataclass
class Webhook:
    """A webhook registration (setWebhook) and how delivery went."""

    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class CallbackRecord:
    """A callback query the bot has to answer, once, in time."""

    user_id: int
    chat_id: int | None
    message_id: int | None
    data: str | None
    created: float
    """When the person pressed (the update was made), on the sandbox's clock: the age that
    makes an answer "too old" counts from here, however long the update waited."""
    answered: bool = False
    answered_at: float | None = None
    """When the answer arrived, on the same clock."""
    too_late: int = 0
    """Answers refused because the query was too old."""


_ids = itertools.count(1)


def new_file_ids(kind: str) -> tuple[str, str]:
    """A file_id and file_unique_id shaped like Telegram's (opaque URL-safe strings)."""
    prefix = {"documents": "BQACAgQAAx", "photos": "AgACAgQAAx", "stickers": "CAACAgIAAx"}
    return (
        prefix.get(kind, "BQACAgQAAx") + secrets.token_urlsafe(40)[:56],
        "AgAD" + secrets.token_urlsafe(12)[:12],
    )


class BotState:
    """Everything one bot token has: its update queue, chats, files, commands and settings."""

    ALL_UPDATES_EXCEPT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

    def __init__(self, token: str, username: str, first_name: str = "ledenbot") -> None:
        self.token = token
        self.id = int(token.split(":", 1)[0])
        self.username = username
        self.first_name = first_name
        self.pending: deque[Json] = deque()
        self.next_update_id = 1
        self.allowed_updates: list[str] | None = None
        self.updates_signal = Signal()
        self.poll_generation = 0
        self.polling = 0
        self.webhook: Webhook | None = None
        self.webhook_task: asyncio.Task[None] | None = None
        self.webhook_busy = 0
        """Webhook deliveries in flight."""
        self.chats: dict[int, ChatState] = {}
        self.files: dict[str, SandboxFile] = {}
        self.files_by_path: dict[str, SandboxFile] = {}
        self.commands: dict[tuple[tuple[object, ...], str], list[Json]] = {}
        self.blocked: set[int] = set()
        self.deactivated: set[int] = set()
        self.callback_queries: dict[str, CallbackRecord] = {}
        self.alerts: dict[int, list[Alert]] = {}
        self.sent: Counter[int] = Counter()
        self.dropped_updates: list[Json] = []

    def user_json(self) -> Json:
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def me_json(self) -> Json:
        return {
            **self.user_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def chat(self, chat_id: int, chat_json: Json, is_group: bool) -> ChatState:
        state = self.chats.get(chat_id)
        if state is None:
            state = self.chats[chat_id] = ChatState(chat_id, chat_json, is_group)
        return state

    def allows(self, update_type: str) -> bool:
        if not self.allowed_updates:
            return update_type not in self.ALL_UPDATES_EXCEPT
        return update_type in self.allowed_updates

    def store_file(
        self,
        data: bytes,
        *,
        kind: str,
        filename: str | None = None,
        mime_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> SandboxFile:
        file_id, unique_id = new_file_ids(kind)
        ext = ""
        if filename and "." in filename:
            ext = "." + filename.rsplit(".", 1)[1]
        elif kind == "photos":
            ext = ".jpg"
        path = f"{kind}/file_{next(_ids)}{ext}"
        stored = SandboxFile(file_id, unique_id, path, data, filename, mime_type, width, height)
        self.files[file_id] = stored
        self.files_by_path[path] = stored
        return stored
