"""Relaying a confidential message from one chat to the other, and what happens when it
cannot go at once.

A relay is a `copyMessage` from the writer's chat: the text, photo or file never passes
through the bot's storage. When Telegram answers 5xx, a long 429 or not at all, the copy
instruction (which chat, which message; never the contents, except an `/antwoord` text)
waits in the outbox sealed (`outbox.post_sealed`) for at most `PATIENCE`, and the writer is
told it is on its way; if it expires or fails, they are told it could not be delivered
(`report_undelivered`, from the scheduler).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import clock, outbox
from bot.budget import Priority
from bot.sealing import Keyring, keyring
from bot.services import confidential as conf
from bot.settings import Settings
from storage.repositories import outbox as outbox_repo

log = logging.getLogger(__name__)

PATIENCE = timedelta(days=7)
SENT, QUEUED, FAILED = "sent", "queued", "failed"
KIND = "confidential"


async def relay(
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    envelope: dict[str, Any],
) -> str:
    """Copy now, or keep it sealed in the outbox: `sent`, `queued` or `failed`.

    The envelope: `to` (chat), `from` and `mid` (the message to copy) or `text`; `markup`
    (buttons, as JSON); `route` (counsellor id: remember the copy for their replies) or
    `wipe` (a member's case: remember the copy for "remove this conversation"); `case`;
    `back` and `locale` (whom to tell if it never arrives)."""
    try:
        await deliver(bot, sessions, envelope)
        return SENT
    except (TelegramServerError, TelegramNetworkError, TelegramRetryAfter, TimeoutError) as exc:
        log.info("confidential relay for case %s waits in the outbox: %s",
                 envelope.get("case"), type(exc).__name__)  # fmt: skip
    except TelegramAPIError as exc:
        log.warning("confidential relay for case %s failed: %s",
                    envelope.get("case"), type(exc).__name__)  # fmt: skip
        return FAILED
    keys = ring(settings, bot)
    async with sessions() as session:
        await outbox.post_sealed(
            session, keys, KIND, envelope, Priority.ANSWER, clock.now() + PATIENCE
        )
        await session.commit()
    outbox.sender_for(bot, sessions).wake()
    return QUEUED


async def deliver(
    bot: Bot, sessions: async_sessionmaker[AsyncSession], envelope: dict[str, Any]
) -> None:
    """One relay, now (Telegram's errors go to the caller); its route or wipe id kept."""
    markup = envelope.get("markup")
    reply_markup = InlineKeyboardMarkup.model_validate(markup) if markup else None
    if "text" in envelope:
        sent = await bot.send_message(
            envelope["to"], envelope["text"], reply_markup=reply_markup, parse_mode=None
        )
        message_id = sent.message_id
    else:
        copied = await bot.copy_message(
            envelope["to"], envelope["from"], envelope["mid"], reply_markup=reply_markup
        )
        message_id = copied.message_id
    async with sessions() as session:
        if envelope.get("route"):
            await conf.add_route(session, envelope["route"], message_id, envelope["case"])
        elif envelope.get("wipe") and (ring := _ring_for(bot)) is not None:
            await conf.remember(session, ring, envelope["case"], [message_id])


outbox.SEALED_SENDERS[KIND] = deliver


def _ring_for(bot: Bot) -> Keyring | None:
    return keyring(outbox.sealing_key_of(bot))


def ring(settings: Settings, bot: Bot) -> Keyring:
    """The keyring of the configured key (raises conf.Unavailable without one); this bot's
    sender may now open sealed relays."""
    found = conf.ring_of(settings.confidential_key)
    outbox.enable_sealed(bot, settings.confidential_key.get_secret_value())  # type: ignore[union-attr]
    return found


async def report_undelivered(
    bot: Bot, sessions: async_sessionmaker[AsyncSession], i18n: I18n, settings: Settings
) -> int:
    """Tell the writers of relays that failed or expired, then forget those rows."""
    if settings.confidential_key is None:
        return 0
    async with sessions() as session:
        rows = await outbox_repo.sealed_undelivered(session, clock.now())
        if not rows:  # the usual pass: no keyring made, `cryptography` not loaded
            return 0
        keys = ring(settings, bot)
        for row_id, sealed in rows:
            envelope = outbox.open_sealed(keys, row_id, sealed) or {}
            if envelope.get("back"):
                await _tell_undelivered(bot, i18n, envelope)
        await outbox_repo.delete_rows(session, [row_id for row_id, _ in rows])
        await session.commit()
    return len(rows)


async def _tell_undelivered(bot: Bot, i18n: I18n, envelope: dict[str, Any]) -> None:
    with i18n.context(), i18n.use_locale(str(envelope.get("locale") or i18n.default_locale)):
        text = "⚠️ " + _(
            "A message in your confidential conversation could not be delivered. "
            "Please send it again, or try later."
        )
    try:
        await bot.send_message(envelope["back"], text)
    except TelegramAPIError as exc:
        log.info("could not tell a writer about an undelivered relay: %s", type(exc).__name__)


async def periodic(
    bot: Bot, sessions: async_sessionmaker[AsyncSession], i18n: I18n, settings: Settings
) -> None:
    """The scheduler's pass: cases past retention purged; undelivered relays reported."""
    if settings.confidential_key is None:
        return
    async with sessions() as session:
        purged = await conf.purge_expired(session, settings.confidential_retention_days)
    if purged:
        log.info("confidential: %s closed cases purged after retention", purged)
    await report_undelivered(bot, sessions, i18n, settings)
