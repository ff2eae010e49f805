"""The last resort: the person hears that something went wrong; the log gets internal ids
(the update's and the member's), never Telegram ids or text.

Exception messages can quote what a member typed (a database error lists its parameters),
so the log keeps the exception's type and where it happened, never its message.
"""

from __future__ import annotations

import logging
import traceback

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import gettext as _

log = logging.getLogger("ledenbot.errors")


def where(exc: BaseException) -> str:
    """The traceback's frames (file, line, function), without any values or messages."""
    frames = traceback.extract_tb(exc.__traceback__)[-8:]
    return " <- ".join(
        f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}" for f in reversed(frames)
    )


async def on_error(event: ErrorEvent, bot: Bot, sender_member_id: int | None = None) -> None:
    update = event.update
    user = getattr(update.event, "from_user", None)
    log.error(
        "update %s (%s) from member %s failed: %s at %s",
        update.update_id,
        update.event_type,
        sender_member_id if sender_member_id is not None else "-",
        type(event.exception).__name__,
        where(event.exception),
    )
    if user is None:
        return
    text = _("Sorry, something went wrong on my side. Please try again in a moment.")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        else:
            await bot.send_message(user.id, text)
    except TelegramAPIError:
        log.warning("could not tell the sender of update %s about the error", update.update_id)


def build_router() -> Router:
    """A fresh router, so every Dispatcher (and every test) gets its own."""
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
