"""Small helpers the feature routers share."""

from __future__ import annotations

from html import escape

from aiogram.types import CallbackQuery, InaccessibleMessage


def shorten(text: str, limit: int = 40) -> str:
    """Echo a bit of what someone typed, safely: short, and HTML-escaped."""
    text = " ".join(text.split())
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


async def close_question(callback: CallbackQuery, chosen: str) -> None:
    """Replace the buttons of an answered question by the answer, so they cannot be reused."""
    message = callback.message
    if message is None or isinstance(message, InaccessibleMessage):
        return
    text = f"{message.html_text}\n\n<b>✔️ {escape(chosen)}</b>"
    await message.edit_text(text, reply_markup=None)
