"""The outbox: every message to members is kept in the database until Telegram has it.

`post` writes one row per message in the caller's transaction, so a message and the change
it tells about are committed together or not at all. A `Sender` delivers the rows, the most
urgent first (`budget.Priority`), within Telegram's limits (`budget.SendBudget`), several
in flight at once so that the network's round trip does not set the rate, and one at a time
per chat so that a chat gets its messages in order.

The rule that makes a crash safe: a row is marked `sending` (committed) before its API call,
and `sent` — or unreachable, failed, queued again — after it. A crash between the two leaves
it `sending`; it is sent again when the sender starts again (on PostgreSQL, with several
workers, once its claim is older than `CLAIM_LEASE`). So no recipient is lost, and a crash
costs each recipient at most one duplicate (only rows in flight at that moment can have one).
The other order — marking first and never looking back — would lose the messages in flight
instead; Telegram cannot be asked whether a message arrived, so it must be one of the two.

Failures: 429 pauses every send for `retry_after` (`budget.BudgetMiddleware`); 5xx and
network errors retry with backoff, `ATTEMPTS` times; 403 marks the member unreachable; 400
("chat not found" and the like) fails the row at once.

Sealed rows (`post_sealed`) carry a confidential relay: the row's `chat_id` is 0, its
payload says only `{"sealed": kind}`, and what to send to whom is sealed with
CONFIDENTIAL_KEY (`Purpose.PENDING_MESSAGE`, bound to the row's id). The sender opens it and
hands it to the function registered for its kind (`SEALED_SENDERS`); 5xx retries go on until
`expires_at`; once sent, the sealed bytes are cleared.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import clock
from bot.budget import Priority, sending_as
from bot.sealing import Keyring, Purpose, SealBroken, keyring
from bot.services import reachability
from storage.repositories import outbox as repo
from storage.repositories.outbox import FINAL, QUEUED, Claimed, Outcome

log = logging.getLogger(__name__)

ATTEMPTS = 4
BACKOFF = 0.5  # seconds before the second attempt after a 5xx or a timeout; doubled each time
CLAIM_LEASE = timedelta(seconds=60)  # a claim older than this belongs to a sender that died
IDLE_POLL = 1.0  # seconds between looks at the outbox when nobody wakes the sender
KEPT = timedelta(days=14)  # a personal message's row, once done: then it is deleted
PRUNE_EVERY = timedelta(hours=1)
SEALED_BACKOFF_MOST = timedelta(minutes=5)  # a sealed relay retries this often at the slowest

# What sends a sealed row's contents, per kind: (bot, sessions, the opened envelope).
SealedSend = Callable[[Bot, async_sessionmaker[AsyncSession], dict[str, Any]], Awaitable[None]]
SEALED_SENDERS: dict[str, SealedSend] = {}
# What keeps the message ids a routed letter got in its chat, per kind of route (a question's
# thread: a reply to the copy continues it): (session, chat id, message ids, the route's id).
RouteKeep = Callable[[AsyncSession, int, list[int], int], Awaitable[None]]
ROUTE_KEEPERS: dict[str, RouteKeep] = {}
# The CONFIDENTIAL_KEY of each bot whose sender may open sealed rows (set by the feature).
_sealing_keys: weakref.WeakKeyDictionary[Bot, str] = weakref.WeakKeyDictionary()


def enable_sealed(bot: Bot, key: str) -> None:
    """Let this bot's sender open sealed rows (the key text; the keyring is made on use)."""
    _sealing_keys[bot] = key


def sealing_key_of(bot: Bot) -> str | None:
    return _sealing_keys.get(bot)


def sealed_context(row_id: int) -> bytes:
    return f"outbox:{row_id}".encode()


async def post_sealed(
    session: AsyncSession,
    ring: Keyring,
    kind: str,
    envelope: Mapping[str, Any],
    priority: Priority,
    expires_at: datetime,
) -> int:
    """Keep a confidential relay in the outbox, sealed (in the caller's transaction)."""
    [row_id] = await repo.add_many(
        session,
        [{
            "priority": int(priority), "state": QUEUED, "chat_id": 0, "member_id": None,
            "broadcast_id": None, "payload": {"sealed": kind}, "attachment": None,
            "attempts": 0, "parts_done": 0, "created_at": clock.now(), "sealed": b"",
            "expires_at": expires_at,
        }],
    )  # fmt: skip
    body = json.dumps({**envelope, "kind": kind}).encode()
    sealed = ring.seal(Purpose.PENDING_MESSAGE, body, sealed_context(row_id))
    await repo.set_sealed(session, row_id, sealed)
    return row_id


def open_sealed(ring: Keyring, row_id: int, sealed: bytes) -> dict[str, Any] | None:
    """A sealed row's envelope, or None if it does not open (another key, tampered)."""
    try:
        return dict(
            json.loads(ring.unseal(Purpose.PENDING_MESSAGE, sealed, sealed_context(row_id)))
        )
    except SealBroken:
        return None


@dataclass(frozen=True, slots=True)
class Letter:
    """One message for one chat: a text (HTML) with buttons, or a file with a caption, or a
    photo (a Telegram file id) with a caption."""

    chat_id: int
    text: str | None = None
    reply_markup: InlineKeyboardMarkup | None = None
    document: BufferedInputFile | None = None
    photo: str | None = None
    document_id: str | None = None  # a file Telegram already holds (an announcement's)
    caption: str | None = None
    member_id: int | None = None
    route: tuple[str, int] | None = None  # e.g. ("question", 12): see ROUTE_KEEPERS


def parts_of(letter: Letter) -> list[dict[str, Any]]:
    """The API calls a letter takes, in order: a photo (with the caption when there is no
    text), the text, a file with its caption. The buttons go under the text, or else under
    the first message."""
    parts: list[dict[str, Any]] = []
    if letter.photo is not None:
        parts.append({"photo": letter.photo, "caption": None if letter.text else letter.caption})
    if letter.document_id is not None:
        caption = None if letter.text else letter.caption
        parts.append({"document_id": letter.document_id, "caption": caption})
    if letter.text is not None:
        parts.append({"text": letter.text})
    if letter.document is not None:
        parts.append({"document": letter.document.filename, "caption": letter.caption})
    if letter.reply_markup is not None and parts:
        carrier = next((p for p in parts if "text" in p), parts[0])
        carrier["reply_markup"] = letter.reply_markup.model_dump(mode="json", exclude_none=True)
    return parts


def _row(letter: Letter, priority: Priority, broadcast_id: int | None) -> dict[str, Any]:
    return {
        "priority": int(priority),
        "state": QUEUED,
        "chat_id": letter.chat_id,
        "member_id": letter.member_id,
        "broadcast_id": broadcast_id,
        "payload": {"parts": parts_of(letter)}
        | ({"route": list(letter.route)} if letter.route else {}),
        "attachment": letter.document.data if letter.document is not None else None,
        "attempts": 0,
        "parts_done": 0,
        "created_at": clock.now(),
    }


async def post(
    session: AsyncSession,
    letters: Sequence[Letter],
    priority: Priority,
    *,
    broadcast_id: int | None = None,
) -> list[int]:
    """Keep the letters in the outbox (in the caller's transaction); their row ids."""
    return await repo.add_many(
        session, [_row(letter, priority, broadcast_id) for letter in letters]
    )


async def post_rows(
    session: AsyncSession,
    rows: Sequence[Mapping[str, Any]],
    priority: Priority,
    *,
    broadcast_id: int | None = None,
) -> None:
    """Keep rows made by the caller (`chat_id`, `member_id`, `payload`): a broadcast's, whose
    payload names the letter of the broadcast (`{"letter": "nl"}`) instead of holding it."""
    now = clock.now()
    fixed = {"priority": int(priority), "state": QUEUED, "broadcast_id": broadcast_id,
             "attachment": None, "attempts": 0, "parts_done": 0, "created_at": now}  # fmt: skip
    for start in range(0, len(rows), 5_000):  # keeps each statement's parameters in bounds
        await repo.insert_many(session, [{**fixed, **row} for row in rows[start : start + 5_000]])


def window_for(rate: float) -> int:
    """Sends claimed at once for a rate: 200 ms of sending (a 50 ms round trip, the wait for
    a token and the write of the outcome), and at least 8."""
    return max(8, int(rate * 0.2))


class Sender:
    """Delivers the outbox: `run` in the background, `deliver_now` for rows a caller waits for.

    Both send through the bot, whose session keeps the budget (`budget.BudgetMiddleware`):
    whatever is sent goes within the limits, the most urgent first. `window` is how many
    sends may be claimed and in flight at once; claims are made when half of it is free, so
    that a busy outbox costs one claim per half window, not one per message.
    """

    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        *,
        window: int = 16,
        single_process: bool = True,
    ) -> None:
        self.bot, self.sessions = bot, sessions
        self.window = max(2, window)
        self.single_process = single_process
        self._wake = asyncio.Event()
        self._chat_tail: dict[int, asyncio.Task[Outcome]] = {}
        self._recording: list[Outcome] = []
        self._recorder: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._letters: dict[tuple[int, str], list[dict[str, Any]]] = {}
        # One of our writes at a time: on SQLite a claim and a record competing for the write
        # lock would each wait in SQLite's busy handler (sleeps of up to 100 ms), and every
        # outcome not yet written is a duplicate after a crash.
        self._writing = asyncio.Lock()
        # Sends begun whose outcome is not yet written: a crash can duplicate only these, so
        # they are held to half the window (4 at 30 a second, 100 at 1,000).
        self._unsettled = 0
        self.unsettled_most = max(4, self.window // 2)
        self._room = asyncio.Event()  # set when a send may begin
        self.sent = 0

    # -- the background loop -------------------------------------------------------------

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="outbox-sender")
        _senders[self.bot] = self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._flush()
        if _senders.get(self.bot) is self:
            del _senders[self.bot]
        log.info("outbox sender stopping; it sent %s messages", self.sent)

    def wake(self) -> None:
        """Something was posted: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Claim what is ready, the most urgent first, and keep up to `window` in flight."""
        now = clock.now()
        async with self.sessions() as session:
            # One process on SQLite: whatever is `sending` now was left by a crash.
            released = await repo.release_stale(
                session, now if self.single_process else now - CLAIM_LEASE
            )
        if released:
            log.info("outbox: %s messages in flight at the last stop go out again", released)
        in_flight: set[asyncio.Task[Outcome]] = set()
        last_release, last_prune = now, now - PRUNE_EVERY
        while True:
            if clock.now() - last_prune >= PRUNE_EVERY:
                last_prune = clock.now()
                async with self._writing, self.sessions() as session:
                    pruned = await repo.prune(session, last_prune - KEPT)
                if pruned:
                    log.info("outbox: %s messages done before %s days ago forgotten",
                             pruned, KEPT.days)  # fmt: skip
            in_flight = {task for task in in_flight if not task.done()}
            free = self.window - len(in_flight)
            if free >= self.window // 2:
                claimed = await self._claim(free)
                in_flight.update(self._start(row) for row in claimed)
                if not in_flight:
                    await self._idle()
                    continue
                if len(claimed) == free:  # more may be ready: claim again when half is free
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    continue
            # Nothing more ready for now: wait for a send to finish, a wake or a poll.
            self._wake.clear()
            waiter = asyncio.create_task(self._wake.wait())
            await asyncio.wait(
                {*in_flight, waiter}, timeout=IDLE_POLL, return_when=asyncio.FIRST_COMPLETED
            )
            waiter.cancel()
            if not self.single_process and clock.now() - last_release > CLAIM_LEASE / 2:
                last_release = clock.now()
                async with self.sessions() as session:
                    await repo.release_stale(session, last_release - CLAIM_LEASE)

    async def _claim(self, most: int, ids: Collection[int] | None = None) -> list[Claimed]:
        async with self._writing, self.sessions() as session:
            return await repo.claim(session, clock.now(), most, ids)

    async def _idle(self) -> None:
        """Nothing ready: wait to be woken, or until a held-back row is due, or a poll."""
        async with self.sessions() as session:
            due = await repo.next_ready_at(session)
        timeout = IDLE_POLL
        if due is not None:
            timeout = max(0.0, min(timeout, (due - clock.now()).total_seconds()))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    # -- rows a caller waits for --------------------------------------------------------

    async def deliver_now(self, ids: Collection[int], patience: float = 20.0) -> dict[int, str]:
        """Send these rows now (those nobody else holds) and wait for their outcomes: each
        row's final state, or `queued` for those still waiting for a retry after `patience`
        seconds. 5xx retries are waited for within that time, as a caller expects."""
        pending = set(ids)
        states: dict[int, str] = {}
        deadline = asyncio.get_running_loop().time() + patience
        while pending:
            claimed = await self._claim(len(pending), pending)
            results = await asyncio.gather(*(self._start(row) for row in claimed))
            await self._flush()
            for outcome in results:
                if outcome.state in FINAL:
                    states[outcome.id] = outcome.state
                    pending.discard(outcome.id)
            if not pending:
                break
            async with self.sessions() as session:
                now_states = await repo.states(session, pending)
                due = await repo.next_ready_at(session)
            for row_id, state in now_states.items():
                if state in FINAL:
                    states[row_id] = state
                    pending.discard(row_id)
            for row_id in pending - now_states.keys():  # erased in the meantime
                pending.discard(row_id)
            if not pending:
                break
            left = deadline - asyncio.get_running_loop().time()
            wait = (due - clock.now()).total_seconds() if due is not None else 0.2
            if left <= max(0.0, wait):
                break
            await asyncio.sleep(max(0.05, wait))
        for row_id in pending:
            states[row_id] = QUEUED
        return states

    # -- one row ------------------------------------------------------------------------

    def _start(self, row: Claimed) -> asyncio.Task[Outcome]:
        """Send `row` after whatever this chat is still being sent (its order holds)."""
        before = self._chat_tail.get(row.chat_id)
        task = asyncio.create_task(self._send_after(before, row))
        self._chat_tail[row.chat_id] = task
        task.add_done_callback(lambda t, chat=row.chat_id: self._forget_tail(chat, t))
        return task

    def _forget_tail(self, chat_id: int, task: asyncio.Task[Outcome]) -> None:
        if self._chat_tail.get(chat_id) is task:
            del self._chat_tail[chat_id]

    async def _send_after(self, before: asyncio.Task[Outcome] | None, row: Claimed) -> Outcome:
        if before is not None:
            await asyncio.wait([before])  # its outcome is its own: only its end matters
        while self._unsettled >= self.unsettled_most:
            self._room.clear()
            await self._room.wait()
        self._unsettled += 1
        try:
            outcome = await self._send(row)
            if outcome.state == repo.UNREACHABLE and row.member_id is not None:
                async with self._writing, self.sessions() as session:
                    await reachability.mark_unreachable(session, row.chat_id)
        except BaseException:
            self._settle(1)
            raise
        self._recording.append(outcome)
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._flush())
        return outcome

    async def _flush(self) -> None:
        """Write the outcomes gathered so far in one transaction: while one write runs, the
        next outcomes gather for the one after (a group commit at 1,000 a second)."""
        while self._recording:
            async with self._writing, self.sessions() as session:
                batch, self._recording = self._recording, []
                try:
                    await repo.record(session, batch, clock.now())
                except Exception as exc:  # the database away for a moment: keep them, retry
                    log.error("outbox: could not write %s outcomes: %s", len(batch),
                              type(exc).__name__)  # fmt: skip
                    self._recording[:0] = batch
                    await asyncio.sleep(1.0)
                    continue
            self._settle(len(batch))
            self.sent += sum(1 for outcome in batch if outcome.state == repo.SENT)

    def _settle(self, count: int) -> None:
        self._unsettled -= count
        self._room.set()

    async def _send(self, row: Claimed) -> Outcome:
        """The row's parts from where the last try stopped; what became of it."""
        sending_as.set(Priority(row.priority))
        if row.payload.get("sealed"):
            return await self._send_sealed(row)
        parts = await self._parts(row)
        done = row.parts_done
        sent: list[int] = []
        try:
            while done < len(parts):
                sent.append(await self._call(row, parts[done]))
                done += 1
        except TelegramForbiddenError:
            log.info("outbox row %s: %s unreachable (403)", row.id, _who(row))
            return Outcome(row.id, repo.UNREACHABLE, "403")
        except TelegramRetryAfter as exc:  # longer than the budget waits out: later
            later = clock.now() + timedelta(seconds=exc.retry_after)
            return Outcome(row.id, QUEUED, "429", later, row.attempts, done)
        except (TelegramServerError, TelegramNetworkError, TimeoutError) as exc:
            attempts = row.attempts + 1
            if attempts >= ATTEMPTS:
                log.warning("outbox row %s failed after %s attempts", row.id, attempts)
                return Outcome(row.id, repo.FAILED, type(exc).__name__[:40])
            later = clock.now() + timedelta(seconds=BACKOFF * 2 ** (attempts - 1))
            return Outcome(row.id, QUEUED, type(exc).__name__[:40], later, attempts, done)
        except TelegramAPIError as exc:  # 400 and the like: this message cannot be sent
            log.warning("outbox row %s failed: %s", row.id, type(exc).__name__)
            return Outcome(row.id, repo.FAILED, type(exc).__name__[:40])
        finally:
            if sent and row.payload.get("route"):
                await self._keep_route(row, sent)
        return Outcome(row.id, repo.SENT)

    async def _keep_route(self, row: Claimed, message_ids: list[int]) -> None:
        """Remember where a routed letter's messages lie; a failure here loses only that."""
        kind, route_id = row.payload["route"]
        keep = ROUTE_KEEPERS.get(str(kind))
        if keep is None:
            return
        try:
            async with self.sessions() as session:
                await keep(session, row.chat_id, message_ids, int(route_id))
                await session.commit()
        except Exception as exc:  # the message went; only a reply to it will not be linked
            log.warning("outbox row %s: route not kept: %s", row.id, type(exc).__name__)

    async def _send_sealed(self, row: Claimed) -> Outcome:
        """Open a sealed row and let its kind's function send it; retried until it expires."""
        now = clock.now()
        if row.expires_at is not None and now >= row.expires_at:
            return Outcome(row.id, repo.FAILED, "expired")
        key = _sealing_keys.get(self.bot)
        ring = keyring(key) if key else None
        envelope = open_sealed(ring, row.id, row.sealed or b"") if ring else None
        send = SEALED_SENDERS.get(str(envelope.get("kind"))) if envelope else None
        if envelope is None or send is None:
            log.warning("outbox row %s: a sealed row that cannot be opened", row.id)
            return Outcome(row.id, repo.FAILED, "sealed")
        try:
            await send(self.bot, self.sessions, envelope)
        except TelegramForbiddenError:
            return Outcome(row.id, repo.UNREACHABLE, "403")
        except TelegramRetryAfter as exc:
            later = now + timedelta(seconds=exc.retry_after)
            return Outcome(row.id, QUEUED, "429", later, row.attempts, 0)
        except (TelegramServerError, TelegramNetworkError, TimeoutError) as exc:
            attempts = row.attempts + 1
            wait = min(timedelta(seconds=BACKOFF * 2 ** min(attempts - 1, 20)), SEALED_BACKOFF_MOST)
            return Outcome(row.id, QUEUED, type(exc).__name__[:40], now + wait, attempts, 0)
        except TelegramAPIError as exc:
            log.warning("outbox row %s failed: %s", row.id, type(exc).__name__)
            return Outcome(row.id, repo.FAILED, type(exc).__name__[:40])
        return Outcome(row.id, repo.SENT)

    async def _parts(self, row: Claimed) -> list[dict[str, Any]]:
        """A row's own parts, or its broadcast's letter in the row's language (read once)."""
        if "parts" in row.payload or row.broadcast_id is None:
            return list(row.payload.get("parts", ()))
        key = (row.broadcast_id, str(row.payload.get("letter")))
        parts = self._letters.get(key)
        if parts is None:
            async with self.sessions() as session:
                letters = await repo.broadcast_letters(session, row.broadcast_id)
            for locale, found in letters.items():
                self._letters[(row.broadcast_id, locale)] = found
            parts = self._letters.get(key, [])
        return parts

    async def _call(self, row: Claimed, part: dict[str, Any]) -> int:
        return await send_part(self.bot, row.chat_id, part, row.attachment)


async def send_part(
    bot: Bot, chat_id: int, part: Mapping[str, Any], attachment: bytes | None = None
) -> int:
    """One part of a letter as one API call (the sender's, and a preview's); its message id."""
    markup = part.get("reply_markup")
    reply_markup = InlineKeyboardMarkup.model_validate(markup) if markup else None
    caption = part.get("caption")
    if "document" in part:  # a file of ours: its bytes are the row's attachment
        document = BufferedInputFile(attachment or b"", str(part["document"]))
        sent = await bot.send_document(
            chat_id, document, caption=caption, reply_markup=reply_markup
        )
    elif "document_id" in part:
        sent = await bot.send_document(
            chat_id, part["document_id"], caption=caption, reply_markup=reply_markup
        )
    elif "photo" in part:
        sent = await bot.send_photo(
            chat_id, part["photo"], caption=caption, reply_markup=reply_markup
        )
    else:
        sent = await bot.send_message(chat_id, part["text"], reply_markup=reply_markup)
    return sent.message_id


def _who(row: Claimed) -> str:
    return f"member {row.member_id}" if row.member_id is not None else f"row {row.id}"


# The sender running for each bot (the App starts it); `sender_for` makes one for a bot that
# has none (a command-line tool, a test), with the same rules.
_senders: weakref.WeakKeyDictionary[Bot, Sender] = weakref.WeakKeyDictionary()


def sender_for(bot: Bot, sessions: async_sessionmaker[AsyncSession]) -> Sender:
    found = _senders.get(bot)
    if found is None:
        found = _senders[bot] = Sender(bot, sessions)
    return found
