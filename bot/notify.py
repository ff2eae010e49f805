"""The one sending path for messages to a list of members.

Every notice that goes to more than one person — a workshop moved or cancelled, a place that
came free, reminders, feedback questions, lottery results — goes through `deliver`:

- each member gets the notice in their own language (`compose` runs in their locale);
- members marked unreachable are skipped and counted;
- the messages are kept in the outbox (`bot/outbox.py`) in one transaction and sent from
  there within Telegram's limits, by priority: a 403 marks the member unreachable, a 429
  pauses all sending, a 5xx or a network error is retried with backoff; one member's
  failure never stops the others, and a crash loses none of them;
- the counts (sent, unreachable, failed, and any still on their way) come back for the
  organiser to see.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from aiogram import Bot
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.budget import Priority
from storage.engine import create_session_factory
from storage.models import Member
from storage.repositories import members as member_repo
from storage.repositories import outbox as outbox_repo

log = logging.getLogger(__name__)

__all__ = ["Priority"]  # callers name priorities as notify.Priority


class Outcome(Enum):
    SENT = "sent"
    UNREACHABLE = "unreachable"
    FAILED = "failed"
    QUEUED = "queued"  # kept in the outbox, still waiting for a retry: it will go


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
    queued: int = 0

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
    """Send `compose(member)` to every member in `member_ids`, each in their own language,
    and wait (a little) for the outcomes.

    `compose` returning None skips that member silently (nothing to tell them). `on_outcome`
    hears each member's outcome (to mark a reminder sent, say). Never raises for one member.
    Commits the session: the messages are in the outbox before the first is sent.
    """
    delivery = Delivery()
    order = list(dict.fromkeys(member_ids))  # each member once, in the given order
    found = await member_repo.by_ids(session, order)
    letters: list[outbox.Letter] = []
    told: list[Member] = []
    for member_id in order:
        member = found.get(member_id)
        if member is None:
            continue  # erased in the meantime: nobody to tell
        if member.unreachable_since is not None:
            await _settle(delivery, on_outcome, member, Outcome.UNREACHABLE)
            continue
        with i18n.context(), i18n.use_locale(member.locale):
            notice = compose(member)
        if notice is None:
            continue
        told.append(member)
        letters.append(_letter(member, notice))
    ids = await outbox.post(session, letters, priority)
    await session.commit()
    if not ids:
        return delivery
    sender = outbox.sender_for(bot, create_session_factory(session.bind))  # type: ignore[arg-type]
    states = await sender.deliver_now(ids)
    for row_id, member in zip(ids, told, strict=True):
        outcome = _OUTCOMES[states.get(row_id, outbox_repo.FAILED)]
        await _settle(delivery, on_outcome, member, outcome)
    return delivery


_OUTCOMES = {
    outbox_repo.SENT: Outcome.SENT,
    outbox_repo.UNREACHABLE: Outcome.UNREACHABLE,
    outbox_repo.FAILED: Outcome.FAILED,
    outbox_repo.CANCELLED: Outcome.FAILED,
    outbox_repo.QUEUED: Outcome.QUEUED,
}


async def _settle(
    delivery: Delivery, on_outcome: OnOutcome | None, member: Member, outcome: Outcome
) -> None:
    delivery.count(outcome)
    if on_outcome is not None:
        await on_outcome(member, outcome)


def _letter(member: Member, notice: Notice) -> outbox.Letter:
    """A notice is one outbox row: its text, then perhaps a file with its caption (a retry
    goes on from the part that failed, so the file never comes without the text)."""
    return outbox.Letter(
        member.telegram_id,
        notice.text,
        notice.reply_markup,
        document=notice.document,
        caption=notice.caption,
        member_id=member.id,
    )
