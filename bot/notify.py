"""The one sending path for messages to a list of members.

Every notice that goes to more than one person — a workshop moved or cancelled, a place that
came free, reminders, feedback questions, lottery results — goes through `deliver`:

- each member gets the notice in their own language (`compose` runs in their locale);
- members marked unreachable are skipped and counted; a 403 (blocked, deleted account)
  marks them unreachable and the rest go on;
- a 429 is waited out (`retry_after`) and a 5xx or network error is retried with backoff, a
  few times, then counted as failed — one member's failure never stops the others;
- the counts (sent, unreachable, failed) come back for the organiser to see.

A persistent outbox with Telegram's rate limits and priorities will live behind this same
interface (callers already say which priority a notice has).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import Enum, IntEnum

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import reachability
from storage.models import Member
from storage.repositories import members as member_repo

log = logging.getLogger(__name__)

ATTEMPTS = 4
BACKOFF = 0.5  # seconds before the second attempt; doubled each time
LONGEST_WAIT = 60.0  # a longer retry_after is not waited out here: counted as failed


class Priority(IntEnum):
    """Who waits for whom once an outbox orders the sending: lower goes first."""

    ANSWER = 0  # a member's own answer (a relayed reply)
    PERSONAL = 1  # a notice about the member's own place, workshop or draw
    BULK = 2  # announcements


class Outcome(Enum):
    SENT = "sent"
    UNREACHABLE = "unreachable"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Notice:
    """What one member receives: a text (HTML), perhaps buttons, perhaps a file after it
    (with a caption, so the member knows what the file is for)."""

    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    document: BufferedInputFile | None = None
    caption: str | None = None


@dataclass(slots=True)
class Delivery:
    """The counts an organiser sees after a notice went out."""

    sent: int = 0
    unreachable: int = 0
    failed: int = 0

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)


Compose = Callable[[Member], Notice | None]
OnOutcome = Callable[[Member, Outcome], Awaitable[None]]


async def deliver(
    bot: Bot,
    session: AsyncSession,
    member_ids: Iterable[int],
    compose: Compose,
    i18n: I18n,
    *,
    priority: Priority = Priority.PERSONAL,
    on_outcome: OnOutcome | None = None,
) -> Delivery:
    """Send `compose(member)` to every member in `member_ids`, each in their own language.

    `compose` returning None skips that member silently (nothing to tell them). `on_outcome`
    hears each member's outcome (to mark a reminder sent, say). Never raises for one member.
    `priority` is declared by every caller now and orders the sending once an outbox does;
    today each call sends in order.
    """
    delivery = Delivery()
    order = list(dict.fromkeys(member_ids))  # each member once, in the given order
    found = await member_repo.by_ids(session, order)
    for member_id in order:
        member = found.get(member_id)
        if member is None:
            continue  # erased in the meantime: nobody to tell
        outcome = await _deliver_one(bot, session, member, compose, i18n)
        if outcome is None:
            continue
        delivery.count(outcome)
        if on_outcome is not None:
            await on_outcome(member, outcome)
    return delivery


async def _deliver_one(
    bot: Bot,
    session: AsyncSession,
    member: Member,
    compose: Compose,
    i18n: I18n,
) -> Outcome | None:
    if member.unreachable_since is not None:
        return Outcome.UNREACHABLE
    with i18n.context(), i18n.use_locale(member.locale):
        notice = compose(member)
    if notice is None:
        return None
    try:
        await _send(bot, member.telegram_id, notice)
    except TelegramForbiddenError:
        await reachability.mark_unreachable(session, member.telegram_id)
        log.info("member %s unreachable (403)", member.id)
        return Outcome.UNREACHABLE
    except _Failed as failed:
        log.warning("notice to member %s failed: %s", member.id, failed.reason)
        return Outcome.FAILED
    return Outcome.SENT


class _Failed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _send(bot: Bot, chat_id: int, notice: Notice) -> None:
    await _with_retries(
        lambda: bot.send_message(chat_id, notice.text, reply_markup=notice.reply_markup)
    )
    if notice.document is not None:
        document, caption = notice.document, notice.caption
        await _with_retries(lambda: bot.send_document(chat_id, document, caption=caption))


async def _with_retries(call: Callable[[], Awaitable[object]]) -> None:
    """429: wait `retry_after` (Telegram did nothing, so repeating cannot duplicate);
    5xx and network errors: back off and try again. 403 and 400 are not retried."""
    delay = BACKOFF
    for attempt in range(1, ATTEMPTS + 1):
        try:
            await call()
            return
        except TelegramRetryAfter as exc:
            if attempt == ATTEMPTS or exc.retry_after > LONGEST_WAIT:
                raise _Failed("429") from None
            await asyncio.sleep(exc.retry_after)
        except (TelegramServerError, TelegramNetworkError) as exc:
            if attempt == ATTEMPTS:
                raise _Failed(type(exc).__name__) from None
            await asyncio.sleep(delay)
            delay *= 2
        except TelegramForbiddenError:
            raise
        except TelegramAPIError as exc:  # a 400 and the like: this notice cannot be sent
            raise _Failed(type(exc).__name__) from None
