"""The Bot API methods the sandbox implements, one small function each.

Each takes the sandbox, the calling bot's state and the call's parameters, and returns the
``result`` or raises ``ApiError`` with Telegram's own error text. Checks run in Telegram's
order as far as it is observable: the chat exists, the bot may write there, the content is
valid, and only then the flood limit is consulted (so a refused message costs no quota).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sandbox import markup as fmt
from sandbox.clock import now
from sandbox.media import guess_mime, image_size
from sandbox.params import Params, Upload
from sandbox.state import (
    Alert,
    ApiError,
    BotState,
    ChatState,
    Json,
    SandboxFile,
    StoredMessage,
    Webhook,
    bad_request,
)

if TYPE_CHECKING:
    from sandbox.server import Sandbox

Method = Callable[["Sandbox", BotState, Params], Awaitable[Any]]
METHODS: dict[str, Method] = {}

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_POLLING = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
CONTENT_KEYS = ("text", "entities", "caption", "caption_entities", "document", "photo")
CONTENT_KEYS += ("location", "sticker", "contact", "venue")


def api(*names: str) -> Callable[[Method], Method]:
    """Register a function as the implementation of Bot API method(s)."""

    def register(func: Method) -> Method:
        for name in names:
            METHODS[name.lower()] = func
        return func

    return register


# --- shared checks ------------------------------------------------------------------------


def target_chat(sb: Sandbox, bot: BotState, p: Params, name: str = "chat_id") -> ChatState:
    raw = p.raw(name)
    if raw is None or raw == "":
        raise bad_request(f"{name} is empty")
    return sb.chat_for(bot, raw)


def check_reachable(bot: BotState, chat: ChatState) -> None:
    """The 403s: the person blocked the bot or is gone."""
    if chat.is_group:
        return
    if chat.chat_id in bot.deactivated:
        raise ApiError(403, "Forbidden: user is deactivated")
    if chat.chat_id in bot.blocked:
        raise ApiError(403, "Forbidden: bot was blocked by the user")


def formatted(
    sb: Sandbox, p: Params, field: str = "text", *, caption: bool = False
) -> tuple[str, str, list[Json], str | None]:
    """(raw, plain, entities, parse_mode) of a text or caption, validated like Telegram."""
    raw = p.text(field) or ""
    parse_mode = p.text("parse_mode") or None
    if parse_mode and parse_mode.strip().lower() == "none":
        parse_mode = None
    if parse_mode:
        try:
            plain, entities = fmt.parse(raw, parse_mode)
        except fmt.EntityParseError as e:
            raise ApiError(400, e.description) from None
    else:
        plain = raw
        entities = p.obj("caption_entities" if caption else "entities") or []
    limits = sb.limits
    if caption:
        if len(plain) > limits.max_caption_length:
            raise bad_request("message caption is too long")
    else:
        if not plain.strip():
            raise bad_request("message text is empty")
        if len(plain) > limits.max_text_length:
            raise bad_request("message is too long")
    return raw, plain, entities, parse_mode


def _check_inline(sb: Sandbox, rows: Any) -> list[list[Json]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'can\'t parse inline keyboard button: field "inline_keyboard" must be an Array'
        )
    count = 0
    for row in rows:
        for button in row:
            count += 1
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request("can't parse inline keyboard button: Text must be a String")
            actions = [a for a in INLINE_ACTIONS if a in button]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            if "callback_data" in button:
                size = len(str(button["callback_data"]).encode("utf-8"))
                if not 1 <= size <= sb.limits.max_callback_data:
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button:
                url = str(button["url"])
                if not re.match(r"^(https?|tg)://\S+$|^[\w.-]+\.[a-z]{2,}(/\S*)?$", url):
                    raise bad_request("BUTTON_URL_INVALID")
    if count > sb.limits.max_buttons:
        raise bad_request("reply markup is too long")
    return rows


def _check_keyboard(rows: Any) -> list[list[Json]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('can\'t parse keyboard: field "keyboard" must be an Array')
    normal: list[list[Json]] = []
    for row in rows:
        out: list[Json] = []
        for button in row:
            if isinstance(button, str):
                button = {"text": button}
            if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                raise bad_request("can't parse keyboard button: Text must be non-empty")
            out.append(button)
        normal.append(out)
    return normal


def reply_markup(sb: Sandbox, p: Params, *, inline_only: bool = False) -> Json | None:
    """The validated reply_markup, or None when there is none."""
    markup = p.obj("reply_markup", "reply keyboard markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return {**markup, "inline_keyboard": _check_inline(sb, markup["inline_keyboard"])}
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        return {**markup, "keyboard": _check_keyboard(markup["keyboard"])}
    if markup.get("remove_keyboard") or markup.get("force_reply"):
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def reply_target(chat: ChatState, p: Params) -> StoredMessage | None:
    """The message replied to (reply_parameters or the older reply_to_message_id)."""
    params = p.obj("reply_parameters")
    allow = False
    message_id: Any = None
    if isinstance(params, dict):
        message_id = params.get("message_id")
        allow = bool(params.get("allow_sending_without_reply"))
    elif "reply_to_message_id" in p:
        message_id = p.integer("reply_to_message_id")
        allow = p.flag("allow_sending_without_reply")
    if message_id is None:
        return None
    target = chat.find(int(message_id))
    if target is None or target.deleted:
        if allow:
            return None
        raise bad_request("message to be replied not found")
    return target


def take_send_quota(sb: Sandbox, bot: BotState, chat: ChatState) -> None:
    retry = sb.limiter.send(bot.id, chat.chat_id, chat.is_group, sb.clock())
    if retry is not None:
        sb.rate_limited[chat.chat_id] += 1
        raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)


def take_edit_quota(sb: Sandbox, bot: BotState, chat: ChatState) -> None:
    retry = sb.limiter.edit(bot.id, chat.chat_id, sb.clock())
    if retry is not None:
        raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)


def _quoted(message: StoredMessage) -> Json:
    return {k: v for k, v in message.json.items() if k != "reply_to_message"}


def post(
    sb: Sandbox,
    bot: BotState,
    chat: ChatState,
    content: Json,
    *,
    raw: str = "",
    parse_mode: str | None = None,
    markup: Json | None = None,
    file: SandboxFile | None = None,
    reply_to: StoredMessage | None = None,
) -> StoredMessage:
    """Create a bot message in a chat: the user sees it, the counters count it."""
    message_json: Json = {
        "message_id": chat.new_id(),
        "from": bot.user_json(),
        "chat": chat.chat_json,
        "date": now(),
        **content,
    }
    if reply_to is not None:
        message_json["reply_to_message"] = _quoted(reply_to)
    if markup and "inline_keyboard" in markup:
        message_json["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
    message = StoredMessage(
        message_id=message_json["message_id"],
        chat_id=chat.chat_id,
        from_bot=True,
        sender_id=bot.id,
        json=message_json,
        raw_text=raw,
        parse_mode=parse_mode,
        markup=markup,
        file=file,
    )
    chat.add(message)
    bot.sent[chat.chat_id] += 1
    sb.sent[chat.chat_id] += 1
    return message


def _text_content(plain: str, entities: list[Json], *, caption: bool = False) -> Json:
    key = "caption" if caption else "text"
    content: Json = {key: plain} if plain or not caption else {}
    if entities:
        content["caption_entities" if caption else "entities"] = entities
    return content


async def file_source(
    sb: Sandbox, bot: BotState, p: Params, field: str
) -> SandboxFile | tuple[bytes, str | None, str | None]:
    """An existing file (by file_id) or the bytes, name and type of a new one."""
    value = p.file(field)
    if value is None:
        raise bad_request(f"there is no {field} in the request")
    if isinstance(value, Upload):
        if len(value.data) > sb.limits.max_upload_bytes:
            raise ApiError(413, "Request Entity Too Large")
        if not value.data:
            raise bad_request("file must be non-empty")
        return value.data, value.filename, value.content_type
    if value in bot.files:
        return bot.files[value]
    if value.startswith(("http://", "https://")):
        data = await sb.fetch_url(value)
        return data, value.rsplit("/", 1)[-1] or None, None
    raise bad_request("wrong file identifier/HTTP URL specified")


# --- identity, updates, webhooks ----------------------------------------------------------


@api("getMe")
async def get_me(sb: Sandbox, bot: BotState, p: Params) -> Json:
    return bot.me_json()


@api("getUpdates")
async def get_updates(sb: Sandbox, bot: BotState, p: Params) -> list[Json]:
    """Long polling: confirm by offset, wait up to ``timeout`` s; a newer poll ends this one."""
    if bot.webhook is not None:
        raise ApiError(409, CONFLICT_WEBHOOK)
    allowed = p.obj("allowed_updates")
    if allowed is not None:
        bot.allowed_updates = [str(a) for a in allowed] or None
        sb.drop_unwanted(bot)
    offset = p.integer("offset")
    if offset is not None:
        if offset < 0:
            while len(bot.pending) > -offset:
                bot.pending.popleft()
        else:
            while bot.pending and bot.pending[0]["update_id"] < offset:
                bot.pending.popleft()
    limit = min(max(p.integer("limit", 100) or 100, 1), 100)
    timeout = max(0.0, p.number("timeout", 0.0) or 0.0)
    bot.poll_generation += 1
    generation = bot.poll_generation
    bot.updates_signal.fire()
    deadline = sb.clock() + timeout
    bot.polling += 1
    try:
        while True:
            if bot.pending:
                sb.touch()
                return list(bot.pending)[:limit]
            remaining = deadline - sb.clock()
            if sb.closing or remaining <= 0:
                return []
            await bot.updates_signal.wait(remaining)
            if bot.webhook is not None:
                raise ApiError(409, CONFLICT_WEBHOOK)
            if generation != bot.poll_generation:
                raise ApiError(409, CONFLICT_POLLING)
    finally:
        bot.polling -= 1


@api("setWebhook")
async def set_webhook(sb: Sandbox, bot: BotState, p: Params) -> bool:
    url = (p.text("url") or "").strip()
    if not url:
        await sb.stop_webhook(bot)
        return True
    if not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
    secret = p.text("secret_token")
    if secret is not None and not SECRET_RE.match(secret):
        raise bad_request("secret token contains unallowed characters")
    allowed = p.obj("allowed_updates")
    if allowed is not None:
        bot.allowed_updates = [str(a) for a in allowed] or None
        sb.drop_unwanted(bot)
    if p.flag("drop_pending_updates"):
        bot.pending.clear()
    await sb.stop_webhook(bot)
    bot.webhook = Webhook(
        url=url,
        secret_token=secret or None,
        max_connections=p.integer("max_connections", 40) or 40,
        allowed_updates=bot.allowed_updates,
    )
    sb.start_webhook(bot)
    bot.updates_signal.fire()
    return True


@api("deleteWebhook")
async def delete_webhook(sb: Sandbox, bot: BotState, p: Params) -> bool:
    await sb.stop_webhook(bot)
    if p.flag("drop_pending_updates"):
        bot.pending.clear()
    return True


@api("getWebhookInfo")
async def get_webhook_info(sb: Sandbox, bot: BotState, p: Params) -> Json:
    info: Json = {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": len(bot.pending),
    }
    hook = bot.webhook
    if hook is not None:
        info.update(url=hook.url, max_connections=hook.max_connections, ip_address="127.0.0.1")
        if hook.allowed_updates:
            info["allowed_updates"] = hook.allowed_updates
        if hook.last_error_date:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
    return info


# --- sending --------------------------------------------------------------------------------


@api("sendMessage")
async def send_message(sb: Sandbox, bot: BotState, p: Params) -> Json:
    chat = target_chat(sb, bot, p)
    check_reachable(bot, chat)
    raw, plain, entities, parse_mode = formatted(sb, p)
    markup = reply_markup(sb, p)
    reply_to = reply_target(chat, p)
    take_send_quota(sb, bot, chat)
    message = post(
        sb,
        bot,
        chat,
        _text_content(plain, entities),
        raw=raw,
        parse_mode=parse_mode,
        markup=markup,
        reply_to=reply_to,
    )
    return message.json


async def _send_file(sb: Sandbox, bot: BotState, p: Params, field: str) -> Json:
    chat = target_chat(sb, bot, p)
    check_reachable(bot, chat)
    raw, plain, entities, parse_mode = formatted(sb, p, "caption", caption=True)
    markup = reply_markup(sb, p)
    reply_to = reply_target(chat, p)
    source = await file_source(sb, bot, p, field)
    size: tuple[int, int] | None = None
    if field == "photo":
        data = source.data if isinstance(source, SandboxFile) else source[0]
        size = image_size(data)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        if len(data) > sb.limits.max_photo_bytes:
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
    take_send_quota(sb, bot, chat)
    if isinstance(source, SandboxFile):
        stored = source
    else:
        data, filename, declared = source
        if field == "photo":
            stored = (
                bot.store_file(
                    data, kind="photos", mime_type="image/jpeg", width=size[0], height=size[1]
                )
                if size
                else bot.store_file(data, kind="photos")
            )
        else:
            name = filename or "document"
            stored = bot.store_file(
                data, kind="documents", filename=name, mime_type=guess_mime(name, declared)
            )
    if field == "photo":
        media: Json = {
            "photo": [
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": stored.size,
                    "width": stored.width or 512,
                    "height": stored.height or 512,
                }
            ]
        }
    else:
        media = {
            "document": {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": stored.filename or "document",
                "mime_type": stored.mime_type or "application/octet-stream",
                "file_size": stored.size,
            }
        }
    content = {**media, **_text_content(plain, entities, caption=True)}
    message = post(
        sb,
        bot,
        chat,
        content,
        raw=raw,
        parse_mode=parse_mode,
        markup=markup,
        file=stored,
        reply_to=reply_to,
    )
    return message.json


@api("sendDocument")
async def send_document(sb: Sandbox, bot: BotState, p: Params) -> Json:
    return await _send_file(sb, bot, p, "document")


@api("sendPhoto")
async def send_photo(sb: Sandbox, bot: BotState, p: Params) -> Json:
    return await _send_file(sb, bot, p, "photo")


@api("sendLocation")
async def send_location(sb: Sandbox, bot: BotState, p: Params) -> Json:
    chat = target_chat(sb, bot, p)
    check_reachable(bot, chat)
    latitude = p.number("latitude")
    longitude = p.number("longitude")
    if latitude is None or not -90 <= latitude <= 90:
        raise bad_request("wrong latitude")
    if longitude is None or not -180 <= longitude <= 180:
        raise bad_request("wrong longitude")
    markup = reply_markup(sb, p)
    reply_to = reply_target(chat, p)
    take_send_quota(sb, bot, chat)
    location: Json = {"latitude": latitude, "longitude": longitude}
    if "horizontal_accuracy" in p:
        location["horizontal_accuracy"] = p.number("horizontal_accuracy")
    if "live_period" in p:
        location["live_period"] = p.integer("live_period")
    message = post(sb, bot, chat, {"location": location}, markup=markup, reply_to=reply_to)
    return message.json


def _source_message(sb: Sandbox, bot: BotState, p: Params, what: str) -> StoredMessage:
    source_chat = target_chat(sb, bot, p, "from_chat_id")
    message = source_chat.find(p.required_int("message_id"))
    if message is None or message.deleted:
        raise bad_request(f"message to {what} not found")
    return message


@api("copyMessage")
async def copy_message(sb: Sandbox, bot: BotState, p: Params) -> Json:
    chat = target_chat(sb, bot, p)
    check_reachable(bot, chat)
    source = _source_message(sb, bot, p, "copy")
    content = {k: v for k, v in source.json.items() if k in CONTENT_KEYS}
    raw, parse_mode = source.raw_text, source.parse_mode
    if "caption" in p and "text" not in content:
        raw, plain, entities, parse_mode = formatted(sb, p, "caption", caption=True)
        content.pop("caption_entities", None)
        content.update(_text_content(plain, entities, caption=True))
    markup = reply_markup(sb, p)
    reply_to = reply_target(chat, p)
    take_send_quota(sb, bot, chat)
    message = post(
        sb,
        bot,
        chat,
        content,
        raw=raw,
        parse_mode=parse_mode,
        markup=markup,
        file=source.file,
        reply_to=reply_to,
    )
    return {"message_id": message.message_id}


@api("forwardMessage")
async def forward_message(sb: Sandbox, bot: BotState, p: Params) -> Json:
    chat = target_chat(sb, bot, p)
    check_reachable(bot, chat)
    source = _source_message(sb, bot, p, "forward")
    content = {k: v for k, v in source.json.items() if k in CONTENT_KEYS}
    sender = source.json.get("from") or bot.user_json()
    content["forward_origin"] = {
        "type": "user",
        "sender_user": sender,
        "date": source.json.get("date", now()),
    }
    take_send_quota(sb, bot, chat)
    message = post(
        sb, bot, chat, content, raw=source.raw_text, parse_mode=source.parse_mode, file=source.file
    )
    return message.json


# --- editing and deleting ------------------------------------------------------------------


def editable(sb: Sandbox, bot: BotState, p: Params) -> tuple[ChatState, StoredMessage]:
    if "inline_message_id" in p and "chat_id" not in p:
        raise bad_request("message to edit not found")
    chat = target_chat(sb, bot, p)
    message = chat.find(p.required_int("message_id"))
    if message is None or message.deleted or not message.from_bot:
        raise bad_request("message to edit not found")
    check_reachable(bot, chat)
    return chat, message


def _inline_only(markup: Json | None) -> Json | None:
    if markup and markup.get("inline_keyboard"):
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None


def _apply_edit(
    sb: Sandbox,
    bot: BotState,
    chat: ChatState,
    message: StoredMessage,
    content: Json,
    markup: Json | None,
    **extra: Any,
) -> Json:
    """Replace content and inline keyboard (absent keyboard = removed, like Telegram)."""
    new_markup = _inline_only(markup)
    current = {k: v for k, v in message.json.items() if k in content}
    if current == content and new_markup == message.json.get("reply_markup"):
        raise bad_request(NOT_MODIFIED)
    take_edit_quota(sb, bot, chat)
    drop = {*content, "reply_markup", "edit_date"}
    kept = {k: v for k, v in message.json.items() if k not in drop}
    message.json = {**kept, **{k: v for k, v in content.items() if v not in (None, [])}}
    message.json["edit_date"] = now()
    if new_markup:
        message.json["reply_markup"] = new_markup
    message.markup = new_markup
    message.edited = True
    for key, value in extra.items():
        setattr(message, key, value)
    chat.emit("edit", message)
    return message.json


@api("editMessageText")
async def edit_message_text(sb: Sandbox, bot: BotState, p: Params) -> Json:
    chat, message = editable(sb, bot, p)
    raw, plain, entities, parse_mode = formatted(sb, p)
    markup = reply_markup(sb, p, inline_only=True)
    if "text" not in message.json:
        raise bad_request("there is no text in the message to edit")
    content: Json = {"text": plain, "entities": entities or None}
    if message.json.get("entities") is None and not entities:
        content.pop("entities")
    return _apply_edit(sb, bot, chat, message, content, markup, raw_text=raw, parse_mode=parse_mode)


@api("editMessageReplyMarkup")
async def edit_message_reply_markup(sb: Sandbox, bot: BotState, p: Params) -> Json:
    chat, message = editable(sb, bot, p)
    markup = reply_markup(sb, p, inline_only=True)
    return _apply_edit(sb, bot, chat, message, {}, markup)


def mark_deleted(chat: ChatState, message: StoredMessage) -> None:
    message.deleted = True
    chat.emit("delete", message)


@api("deleteMessage")
async def delete_message(sb: Sandbox, bot: BotState, p: Params) -> bool:
    chat = target_chat(sb, bot, p)
    message = chat.find(p.required_int("message_id"))
    if message is None or message.deleted:
        raise bad_request("message to delete not found")
    if chat.is_group and not message.from_bot and not sb.groups[chat.chat_id].bot_is_admin:
        raise bad_request("message can't be deleted")
    mark_deleted(chat, message)
    return True


# --- callbacks ------------------------------------------------------------------------------


@api("answerCallbackQuery")
async def answer_callback_query(sb: Sandbox, bot: BotState, p: Params) -> bool:
    query_id = p.required_text("callback_query_id", QUERY_INVALID)
    record = bot.callback_queries.get(query_id)
    ttl = sb.limits.callback_query_ttl
    arrived = sb.clock()
    if record is None or record.answered:
        raise bad_request(QUERY_INVALID)
    if ttl is not None and arrived - record.created > ttl:
        record.too_late += 1
        raise bad_request(QUERY_INVALID)
    text = p.text("text") or ""
    if len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    record.answered = True
    record.answered_at = arrived
    alert = Alert(
        text=text,
        show_alert=p.flag("show_alert"),
        url=p.text("url"),
        user_id=record.user_id,
        message_id=record.message_id,
        data=record.data,
    )
    bot.alerts.setdefault(record.user_id, []).append(alert)
    sb.private_chat(bot, record.user_id).emit_alert(alert)
    return True


# --- commands ----------------------------------------------------------------------------------


def scope_key(sb: Sandbox, bot: BotState, scope: Any) -> tuple[object, ...]:
    if not scope:
        return ("default",)
    if not isinstance(scope, dict):
        raise bad_request("can't parse BotCommandScope JSON object")
    kind = scope.get("type")
    if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
        return (kind,)
    if kind in ("chat", "chat_administrators", "chat_member"):
        chat = sb.chat_for(bot, scope.get("chat_id"))
        if kind != "chat_member":
            return (kind, chat.chat_id)
        user_id = scope.get("user_id")
        if user_id is None:
            raise bad_request("user_id is empty")
        return (kind, chat.chat_id, int(user_id))
    raise bad_request("wrong bot command scope type specified")


def _language(p: Params) -> str:
    language = (p.text("language_code") or "").strip().lower()
    if language and not re.match(r"^[a-z]{2}$", language):
        raise bad_request("invalid language code specified")
    return language


@api("setMyCommands")
async def set_my_commands(sb: Sandbox, bot: BotState, p: Params) -> bool:
    commands = p.obj("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    clean: list[Json] = []
    for item in commands:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand JSON object")
        command = str(item.get("command", "")).strip().removeprefix("/")
        description = str(item.get("description", "")).strip()
        if not COMMAND_RE.match(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        clean.append({"command": command, "description": description})
    key = (scope_key(sb, bot, p.obj("scope")), _language(p))
    if clean:
        bot.commands[key] = clean
    else:
        bot.commands.pop(key, None)
    return True


@api("getMyCommands")
async def get_my_commands(sb: Sandbox, bot: BotState, p: Params) -> list[Json]:
    return bot.commands.get((scope_key(sb, bot, p.obj("scope")), _language(p)), [])


@api("deleteMyCommands")
async def delete_my_commands(sb: Sandbox, bot: BotState, p: Params) -> bool:
    bot.commands.pop((scope_key(sb, bot, p.obj("scope")), _language(p)), None)
    return True


# --- chats and files -----------------------------------------------------------------------


@api("getChat")
async def get_chat(sb: Sandbox, bot: BotState, p: Params) -> Json:
    chat = target_chat(sb, bot, p)
    info: Json = {
        **chat.chat_json,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }
    return info


@api("getFile")
async def get_file(sb: Sandbox, bot: BotState, p: Params) -> Json:
    file = bot.files.get(p.required_text("file_id"))
    if file is None:
        raise bad_request("invalid file_id")
    if file.size > sb.limits.max_download_bytes:
        raise bad_request("file is too big")
    return {
        "file_id": file.file_id,
        "file_unique_id": file.file_unique_id,
        "file_size": file.size,
        "file_path": file.file_path,
    }
