"""A local Telegram Bot API server: the real bot talks to it over HTTP, tests act as people.

Start it, point aiogram at it with ``TelegramAPIServer.from_base(sandbox.base_url)`` (or the
``BOT_API_URL`` setting), and create people with ``sandbox.user(...)``::

    async with Sandbox() as sb:
        anna = sb.user(1001, "Anna")
        await anna.send_command("/start")
        reply = await anna.next()

Any token ``<digits>:<secret>`` works and names its own bot; one sandbox serves several.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.clock import now
from sandbox.faults import DROPPED, Faults
from sandbox.limits import Limits, RateLimiter
from sandbox.methods import METHODS
from sandbox.params import Params, read_multipart_reply, read_params
from sandbox.state import (
    ApiError,
    BotState,
    ChatState,
    GroupInfo,
    Json,
    Person,
    Signal,
    StoredMessage,
    Webhook,
    bad_request,
)
from sandbox.users import SandboxGroup, SandboxUser

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
METHOD_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z0-9_]+)/?$")
FILE_PATH = re.compile(r"^/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
COMMAND_RE = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,32}))?(?:\s|$)")
DEFAULT_USERNAME = "ledenbot_sandbox_bot"
# idle() waits this long (seconds, the sandbox's clock) for a press to be answered.
TAP_ANSWER_WAIT = 3.0
NOT_FOUND: Json = {"ok": False, "error_code": 404, "description": "Not Found"}


def make_token(bot_id: int = 100000) -> str:
    """A fresh token the sandbox accepts (``<bot id>:<random secret>``)."""
    return f"{bot_id}:{secrets.token_urlsafe(24)}"


@dataclass
class RequestRecord:
    """One call (file bytes left out), logged when it arrives and completed when answered."""

    method: str
    params: dict[str, Any]
    time: float
    """Arrival, as time.time()."""
    bot_id: int
    status: int | None = None
    """HTTP status of the answer; None while the call is in flight (a waiting long poll)."""
    duration: float | None = None
    description: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def failed(self) -> bool:
        """Answered with an error (499: the client hung up first)."""
        return self.status is not None and self.status != 200


class Sandbox:
    """The Bot API emulator: HTTP server, per-bot state, people and groups, limits and faults."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: Limits | None = None,
        *,
        default_token: str | None = None,
        webhook_retry_delay: float = 0.2,
        webhook_timeout: float = 10.0,
        rtt: float = 0.0,
    ) -> None:
        """``rtt``: the network round trip to Telegram in seconds; every call (and every
        webhook delivery) takes that much longer, half on the way there, half on the way back,
        so a call takes effect mid-way, as it does over the internet."""
        if rtt < 0:
            raise ValueError("rtt is a duration: 0 or more seconds")
        self.host = host
        self.rtt = rtt
        self.port = port
        self._limits = limits or Limits()
        self.limiter = RateLimiter(self._limits)
        self.faults = Faults()
        self.default_token = default_token
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self.base_url = ""
        self.bots: dict[str, BotState] = {}
        self.people: dict[int, Person] = {}
        self.groups: dict[int, GroupInfo] = {}
        self.requests: list[RequestRecord] = []
        self.sent: Counter[int] = Counter()
        """Messages delivered per chat id (all bots)."""
        self.rate_limited: Counter[int] = Counter()
        """429 answers per chat id."""
        self.internal_errors: list[str] = []
        self.closing = False
        self._closed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._in_flight = 0
        self._last_activity = time.monotonic()
        self._bots_signal = Signal()
        self._users: dict[tuple[int, str | None], SandboxUser] = {}
        self._group_views: dict[tuple[int, str | None], SandboxGroup] = {}
        self._usernames = itertools.count(2)
        if default_token:
            self.register_bot(default_token)

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def limits(self) -> Limits:
        return self._limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        """Change the limits mid-test; the buckets start afresh."""
        self._limits = limits
        self.limiter = RateLimiter(limits)

    async def start(self) -> str:
        """Listen on host:port (port 0: any free port) and return the base URL."""
        app = web.Application(client_max_size=self._limits.max_upload_bytes + 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._route)
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.port = port
        self.base_url = f"http://{self.host if self.host != '0.0.0.0' else '127.0.0.1'}:{port}"
        self.closing = False
        self._closed = asyncio.Event()
        return self.base_url

    async def stop(self) -> None:
        """Release every waiting request, stop webhook delivery, close the server."""
        self.closing = True
        self._closed.set()
        for bot in self.bots.values():
            bot.updates_signal.fire()
            await self.stop_webhook(bot)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- bots ---------------------------------------------------------------------------

    def register_bot(
        self, token: str, *, username: str | None = None, first_name: str = "ledenbot"
    ) -> BotState:
        """Make a bot known before it calls (people created later then talk to it)."""
        bot = self.bots.get(token)
        if bot is None:
            if not TOKEN_RE.match(token):
                raise ValueError(f"not a bot token: {token!r} (expected <digits>:<secret>)")
            if username is None:
                username = (
                    DEFAULT_USERNAME
                    if not self.bots
                    else f"ledenbot_sandbox{next(self._usernames)}_bot"
                )
            bot = self.bots[token] = BotState(token, username, first_name)
            self._bots_signal.fire()
        return bot

    def bot(self, token: str | None = None) -> BotState:
        """The bot for ``token``; without one the default token's, else the first bot seen."""
        token = token or self.default_token
        if token:
            return self.register_bot(token)
        if not self.bots:
            raise LookupError("no bot has called the sandbox yet")
        return next(iter(self.bots.values()))

    async def wait_bot(self, token: str | None = None, timeout: float = 5.0) -> BotState:  # noqa: ASYNC109
        """Like ``bot()``, but waits for the first bot to call when none has yet."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.bot(token)
            except LookupError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LookupError(
                        f"no bot called the sandbox within {timeout:g}s "
                        "(is the bot polling this sandbox's URL?)"
                    ) from None
                await self._bots_signal.wait(remaining)

    async def wait_polling(self, token: str | None = None, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Return once the bot has a getUpdates request waiting (polling has started)."""
        deadline = time.monotonic() + timeout
        bot = await self.wait_bot(token, timeout)
        while bot.polling == 0:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"bot {bot.id} did not start polling within {timeout:g}s")
            await asyncio.sleep(0.01)

    # --- people and chats ----------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "Anna",
        *,
        last_name: str | None = None,
        language_code: str | None = "nl",
        username: str | None = None,
        token: str | None = None,
        label: str | None = None,
        location: tuple[float, float] | None = None,
        phone: str | None = None,
    ) -> SandboxUser:
        """A person (created on first use) in their private chat with a bot."""
        if user_id <= 0:
            raise ValueError("user ids are positive; groups have negative ids")
        key = (user_id, token)
        if key not in self._users:
            person = self.people.get(user_id)
            if person is None:
                person = self.people[user_id] = Person(
                    user_id, first_name, last_name, username, language_code, phone
                )
            self._users[key] = SandboxUser(self, person, token, label=label, location=location)
        return self._users[key]

    def group(
        self,
        chat_id: int,
        title: str = "Groep",
        *,
        token: str | None = None,
        privacy_mode: bool = True,
        admins: tuple[int, ...] = (),
        username: str | None = None,
        bot_is_admin: bool = False,
    ) -> SandboxGroup:
        """A group chat the bot is a member of (negative id; -100… ids are supergroups)."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        info = self.groups.get(chat_id)
        if info is None:
            info = self.groups[chat_id] = GroupInfo(
                chat_id,
                title,
                username,
                privacy_mode,
                admins=set(admins),
                bot_is_admin=bot_is_admin,
            )
        key = (chat_id, token)
        if key not in self._group_views:
            self._group_views[key] = SandboxGroup(self, info, token)
        return self._group_views[key]

    def chat_for(self, bot: BotState, raw: Any) -> ChatState:
        """The chat a chat_id parameter names, or "chat not found"."""
        if isinstance(raw, str):
            text = raw.strip()
            if text.startswith("@"):
                for info in self.groups.values():
                    if info.username and info.username.lower() == text[1:].lower():
                        return self.group_chat(bot, info.id)
                raise bad_request("chat not found")
            try:
                raw = int(text)
            except ValueError:
                raise bad_request("chat not found") from None
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise bad_request("chat not found")
        if raw > 0 and raw in self.people:
            return self.private_chat(bot, raw)
        if raw < 0 and raw in self.groups:
            return self.group_chat(bot, raw)
        raise bad_request("chat not found")

    def private_chat(self, bot: BotState, user_id: int) -> ChatState:
        return bot.chat(user_id, self.people[user_id].chat_json(), is_group=False)

    def group_chat(self, bot: BotState, chat_id: int) -> ChatState:
        return bot.chat(chat_id, self.groups[chat_id].chat_json(), is_group=True)

    @staticmethod
    def chat_instance(bot: BotState, chat_id: int) -> str:
        return str((bot.id * 1_000_003 + chat_id) % (2**63))

    def post_user_message(
        self,
        bot: BotState,
        chat: ChatState,
        person: Person,
        content: Json,
        *,
        reply_to: StoredMessage | None = None,
        file: Any = None,
    ) -> StoredMessage:
        """A person's message: stored in the chat and, if the bot may see it, an update."""
        message_json: Json = {
            "message_id": chat.new_id(),
            "from": person.user_json(),
            "chat": chat.chat_json,
            "date": now(),
            **content,
        }
        if reply_to is not None:
            message_json["reply_to_message"] = {
                k: v for k, v in reply_to.json.items() if k != "reply_to_message"
            }
        message = StoredMessage(
            message_id=message_json["message_id"],
            chat_id=chat.chat_id,
            from_bot=False,
            sender_id=person.id,
            json=message_json,
            raw_text=str(content.get("text", content.get("caption", ""))),
            file=file,
        )
        chat.add(message)
        if self._bot_sees(bot, chat, person, message_json, reply_to):
            self.push_update(bot, "message", message_json)
        return message

    def _bot_sees(
        self,
        bot: BotState,
        chat: ChatState,
        person: Person,
        message_json: Json,
        reply_to: StoredMessage | None,
    ) -> bool:
        if not chat.is_group:
            return True
        info = self.groups[chat.chat_id]
        info.members.add(person.id)
        if not info.privacy_mode or info.bot_is_admin:
            return True
        text = str(message_json.get("text", message_json.get("caption", "")))
        command = COMMAND_RE.match(text)
        if command and (
            command.group(2) is None or command.group(2).lower() == bot.username.lower()
        ):
            return True
        if reply_to is not None and reply_to.from_bot:
            return True
        return f"@{bot.username}".lower() in text.lower()

    # --- updates ----------------------------------------------------------------------------

    def push_update(self, bot: BotState, kind: str, payload: Json) -> Json | None:
        """Queue an update for the bot (dropped, as Telegram does, if it did not ask for it)."""
        update: Json = {"update_id": bot.next_update_id, kind: payload}
        bot.next_update_id += 1
        self.touch()
        if not bot.allows(kind):
            bot.dropped_updates.append(update)
            return None
        bot.pending.append(update)
        bot.updates_signal.fire()
        return update

    def drop_unwanted(self, bot: BotState) -> None:
        """Forget queued updates of types the bot's allowed_updates now excludes (called when
        it changes: push_update already drops what the bot did not ask for)."""
        if any(not bot.allows(_kind(u)) for u in bot.pending):
            keep = [u for u in bot.pending if bot.allows(_kind(u))]
            bot.dropped_updates.extend(u for u in bot.pending if not bot.allows(_kind(u)))
            bot.pending.clear()
            bot.pending.extend(keep)

    # --- webhooks ---------------------------------------------------------------------------

    def start_webhook(self, bot: BotState) -> None:
        hook = bot.webhook
        if hook is not None:
            bot.webhook_task = asyncio.create_task(self._webhook_loop(bot, hook))

    async def stop_webhook(self, bot: BotState) -> None:
        bot.webhook = None
        task, bot.webhook_task = bot.webhook_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.wait([task])
        bot.webhook_busy = 0
        bot.updates_signal.fire()

    async def _webhook_loop(self, bot: BotState, hook: Webhook) -> None:
        """Deliver up to ``max_connections`` updates at once, as Telegram does, but never two
        of one chat: each chat's updates arrive in order, a failed one retried before the next.
        """
        in_flight: dict[object, asyncio.Task[None]] = {}

        def done(key: object) -> None:
            in_flight.pop(key, None)
            bot.webhook_busy = len(in_flight)
            bot.updates_signal.fire()

        try:
            while bot.webhook is hook and not self.closing:
                for update in bot.pending:  # nothing here awaits: the queue cannot change
                    if len(in_flight) >= hook.max_connections:
                        break
                    key = _chat_key(update)
                    if key in in_flight:
                        continue  # that chat's earlier update is still on its way
                    task = asyncio.create_task(self._deliver_until_accepted(bot, hook, update))
                    in_flight[key] = task
                    task.add_done_callback(lambda _, key=key: done(key))
                bot.webhook_busy = len(in_flight)
                await bot.updates_signal.wait(1.0)
        finally:
            tasks = list(in_flight.values())
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)

    async def _deliver_until_accepted(self, bot: BotState, hook: Webhook, update: Json) -> None:
        """Post one update until the URL accepts it (backing off), then run its reply."""
        delay = self.webhook_retry_delay
        while bot.webhook is hook and not self.closing:
            try:
                delivered, reply = await self._deliver(hook, update)
            finally:
                self.touch()
            if delivered:
                with contextlib.suppress(ValueError):  # dropped meanwhile (drop_pending_updates)
                    bot.pending.remove(update)
                if reply is not None:
                    await self._execute(bot, reply[0], reply[1])
                self.touch()
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _deliver(self, hook: Webhook, update: Json) -> tuple[bool, tuple[str, Params] | None]:
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            await self._travel()  # the update on its way to the bot
            async with self.http().post(
                hook.url,
                data=json.dumps(update, ensure_ascii=False).encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
            ) as resp:
                if not 200 <= resp.status < 300:
                    hook.last_error_date = now()
                    hook.last_error_message = (
                        f"Wrong response from the webhook: {resp.status} {resp.reason}"
                    )
                    return False, None
                reply = await _webhook_reply(resp)
            await self._travel()  # the bot's answer on its way back
            return True, reply
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            hook.last_error_date = now()
            hook.last_error_message = f"Connection failed: {type(e).__name__}: {e}"
            return False, None

    def http(self) -> aiohttp.ClientSession:
        """The sandbox's own HTTP client (webhook delivery, files sent by URL)."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        return self._http

    async def fetch_url(self, url: str) -> bytes:
        try:
            async with self.http().get(url, timeout=aiohttp.ClientTimeout(total=10)) as resp:
                if resp.status != 200:
                    raise bad_request("failed to get HTTP URL content")
                return await resp.read()
        except (aiohttp.ClientError, TimeoutError):
            raise bad_request("failed to get HTTP URL content") from None

    # --- HTTP ---------------------------------------------------------------------------------

    async def _route(self, request: web.Request) -> web.StreamResponse:
        match = METHOD_PATH.match(request.path)
        if match:
            return await self._handle_method(request, match["token"], match["method"])
        match = FILE_PATH.match(request.path)
        if match and request.method in ("GET", "HEAD"):
            return self._handle_file(match["token"], match["path"])
        return web.json_response(NOT_FOUND, status=404)

    async def _handle_method(self, request: web.Request, token: str, method: str) -> web.Response:
        if not TOKEN_RE.match(token):
            return web.json_response(NOT_FOUND, status=404)
        bot = self.register_bot(token)
        polling = method.lower() == "getupdates"
        if not polling:
            self._in_flight += 1
            self.touch()
        started = time.monotonic()
        record: RequestRecord | None = None
        status, description = 499, "client went away"
        try:
            await self._travel()  # the request on its way to Telegram
            try:
                params = await read_params(request)
            except ApiError as e:
                status, body = e.error_code, e.body()
                record = self._begin(bot, method, {})
            else:
                record = self._begin(bot, method, params.loggable())
                try:
                    status, body = await self._execute(bot, method, params, faults=True, log=False)
                except _Dropped:  # the line went dead before Telegram saw the call
                    status, description = 499, "dropped"
                    if request.transport is not None:
                        request.transport.close()
                    return web.Response(status=499)
            description = body.get("description")
            await self._travel()  # the answer on its way back
            return web.json_response(body, status=status, dumps=_dumps)
        finally:
            if not polling:
                self._in_flight -= 1
                self.touch()
            if record is not None:
                self._finish(record, status, started, description)

    async def _execute(
        self,
        bot: BotState,
        method: str,
        params: Params,
        *,
        faults: bool = False,
        log: bool = True,
    ) -> tuple[int, Json]:
        """Run one method call: injected faults first, then the method; (status, body)."""
        started = time.monotonic()
        record = self._begin(bot, method, params.loggable()) if log else None
        chat_id = params.raw("chat_id") if "chat_id" in params else None
        failure, delay = self.faults.take(method, chat_id) if faults else (None, None)
        if delay is not None and not delay.execute_first:
            await self._pause(delay.seconds)
        if failure is not None and failure.error_code == DROPPED:
            raise _Dropped
        try:
            if failure is not None:
                raise ApiError(
                    failure.error_code, failure.description, retry_after=failure.retry_after
                )
            impl = METHODS.get(method.lower())
            if impl is None:
                raise ApiError(404, "Not Found")
            result = await impl(self, bot, params)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as e:
            status, body = e.error_code, e.body()
        except Exception as e:  # a sandbox bug must not look like Telegram's answer
            log.exception("sandbox failed on %s", method)
            self.internal_errors.append(f"{method}: {type(e).__name__}: {e}")
            status = 500
            body = {"ok": False, "error_code": 500, "description": f"Internal Server Error: {e}"}
        if delay is not None and delay.execute_first:
            await self._pause(delay.seconds)
        if record is not None:
            self._finish(record, status, started, body.get("description"))
        return status, body

    def _handle_file(self, token: str, path: str) -> web.Response:
        bot = self.bots.get(token)
        stored = bot.files_by_path.get(path) if bot else None
        if stored is None:
            return web.json_response(NOT_FOUND, status=404)
        self.touch()
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _travel(self) -> None:
        """Half the round trip: a request or an answer crossing the network."""
        if self.rtt > 0:
            await self._pause(self.rtt / 2)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), seconds)

    def _begin(self, bot: BotState, method: str, params: dict[str, Any]) -> RequestRecord:
        record = RequestRecord(method=method, params=params, time=time.time(), bot_id=bot.id)
        self.requests.append(record)
        return record

    @staticmethod
    def _finish(
        record: RequestRecord, status: int, started: float, description: str | None
    ) -> None:
        record.status = status
        record.duration = time.monotonic() - started
        record.description = description

    # --- observing ----------------------------------------------------------------------------

    def touch(self) -> None:
        """Note activity (a request, an update): idle() waits for a quiet spell after it."""
        self._last_activity = time.monotonic()

    def clock(self) -> float:
        return time.monotonic()

    def calls(self, method: str | None = None, *, token: str | None = None) -> list[RequestRecord]:
        """Logged calls, optionally only of one method (case-insensitive) or one bot."""
        bot_id = self.bot(token).id if token else None
        return [
            r
            for r in self.requests
            if (method is None or r.method.lower() == method.lower())
            and (bot_id is None or r.bot_id == bot_id)
        ]

    def unanswered_callbacks(self, token: str | None = None) -> list[str]:
        """Data of button presses the bot never answered with answerCallbackQuery."""
        bot = self.bot(token)
        return [r.data or "" for r in bot.callback_queries.values() if not r.answered]

    def commands_for(
        self,
        chat_id: int,
        language_code: str | None = None,
        *,
        user_id: int | None = None,
        token: str | None = None,
    ) -> list[tuple[str, str]]:
        """The command menu a person sees in a chat, by Telegram's scope resolution order."""
        bot = self.bot(token)
        scopes: list[tuple[object, ...]]
        if chat_id > 0:
            scopes = [("chat", chat_id), ("all_private_chats",), ("default",)]
        else:
            info = self.groups.get(chat_id)
            admin = bool(info and user_id in info.admins)
            scopes = [("chat_member", chat_id, user_id)] if user_id is not None else []
            if admin:
                scopes.append(("chat_administrators", chat_id))
            scopes.append(("chat", chat_id))
            if admin:
                scopes.append(("all_chat_administrators",))
            scopes += [("all_group_chats",), ("default",)]
        language = (language_code or "").lower()
        languages = [language, ""] if language else [""]
        for scope in scopes:
            for lang in languages:
                commands = bot.commands.get((scope, lang))
                if commands:
                    return [(c["command"], c["description"]) for c in commands]
        return []

    def _busy(self) -> list[str]:
        reasons = []
        if self._in_flight:
            reasons.append(f"{self._in_flight} request(s) in flight")
        for bot in self.bots.values():
            if bot.pending:
                how = "webhook" if bot.webhook else ("polling" if bot.polling else "nobody polling")
                reasons.append(f"bot {bot.id}: {len(bot.pending)} update(s) pending ({how})")
            if bot.webhook_busy:
                reasons.append(f"bot {bot.id}: webhook delivery in progress")
            # A tap is answered at once (answerCallbackQuery): until it is, the bot is still at
            # work on it, however quiet the line, for a while (a bot may leave one unanswered).
            since = self.clock() - TAP_ANSWER_WAIT
            waiting = sum(
                1 for r in bot.callback_queries.values() if not r.answered and r.created > since
            )
            if waiting:
                reasons.append(f"bot {bot.id}: {waiting} button press(es) not answered yet")
        return reasons

    async def idle(self, quiet: float = 0.2, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Return when no update is pending, no call is in flight and none came for ``quiet`` s.

        Lets a test assert that the bot has nothing more to say. Raises TimeoutError (naming
        what is still busy) after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            current = time.monotonic()
            reasons = self._busy()
            quiet_for = current - self._last_activity
            if not reasons and quiet_for >= quiet:
                return
            if current >= deadline:
                what = "; ".join(reasons) or f"calls kept arriving (last {quiet_for:.2f}s ago)"
                raise TimeoutError(f"sandbox not idle after {timeout:g}s: {what}")
            step = 0.01 if reasons else max(0.005, quiet - quiet_for)
            await asyncio.sleep(min(step, max(0.005, deadline - current)))


class _Dropped(Exception):
    """An injected fault: close the connection without an answer (nothing was done)."""


def _chat_key(update: Json) -> object:
    """What an update's order is kept within: its chat, else its sender, else itself."""
    payload = update[_kind(update)]
    if isinstance(payload, dict):
        chat = payload.get("chat") or (payload.get("message") or {}).get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return ("chat", chat["id"])
        sender = payload.get("from") or payload.get("user")
        if isinstance(sender, dict) and "id" in sender:
            return ("user", sender["id"])
    return ("update", update["update_id"])


def _kind(update: Json) -> str:
    return next(k for k in update if k != "update_id")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def _webhook_reply(resp: aiohttp.ClientResponse) -> tuple[str, Params] | None:
    """A method the webhook answered with (JSON or aiogram's multipart), if any."""
    if resp.content_type.startswith("multipart/"):
        params = await read_multipart_reply(aiohttp.MultipartReader.from_response(resp))
    else:
        raw = await resp.read()
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        params = Params(body)
    method = params.text("method")
    if not method:
        return None
    params.values.pop("method", None)
    return method, params
