"""The last resort: the person hears that something went wrong; the log gets ids, not text."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import gettext as _

log = logging.getLogger("ledenbot.errors")


async def on_error(event: ErrorEvent, bot: Bot) -> None:
    update = event.update
    inner = update.event
    user = getattr(inner, "from_user", None)
    log.error(
        "update %s (%s) from user %s failed: %s",
        update.update_id,
        update.event_type,
        user.id if user else "-",
        type(event.exception).__name__,
        exc_info=(type(event.exception), event.exception, event.exception.__traceback__),
    )
    if user is None:
        return
    try:
        await bot.send_message(
            user.id, _("Sorry, something went wrong on my side. Please try again in a moment.")
        )
    except TelegramAPIError:
        log.warning("could not tell user %s about the error", user.id)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
